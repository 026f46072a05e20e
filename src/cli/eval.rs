//! `mirun eval`, `mirun score`.

use super::args::{EvalArgs, ScoreArgs};
use super::overrides;
use mirun::train::Progress;

/// `mirun eval RUN_DIR`: re-scores a run's saved weights without training.
pub fn eval(a: EvalArgs) -> anyhow::Result<()> {
    mirun::pipeline::eval_run(
        &a.run_dir,
        a.weights,
        a.device.backend(),
        overrides(&a.sets)?,
        mirun::pipeline::EvalExtras {
            grid: a.grid.map(|k| mirun::pipeline::Grid {
                k,
                errors_only: a.errors,
            }),
            neighbours: a.neighbours,
        },
        Progress::default(),
    )?;
    Ok(())
}

/// `mirun score FILE.csv`: scores any clustering given as (label, cluster) rows.
pub fn score(a: ScoreArgs) -> anyhow::Result<()> {
    let s = mirun::eval::score_csv(&a.file, &a.label_col, &a.cluster_col)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        println!("accuracy  {:.6}  (Hungarian, one-to-one)", s.accuracy);
        for c in mirun::eval::CLUSTER_SCORES {
            let note = c.note().map_or(String::new(), |n| format!("  ({n})"));
            println!("{:<10}{:.6}{note}", c.kind().name(), s.get(c.kind()));
        }
        println!("n {}  clusters {}  classes {}", s.n, s.clusters, s.classes);
    }
    Ok(())
}
