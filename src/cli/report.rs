//! `mirun table`, `mirun diff`, `mirun plot`.

use super::args::{DiffArgs, PlotArgs, TableArgs};

/// `mirun table`: one row per setting, seeds as mean ± std.
pub fn table(a: TableArgs) -> anyhow::Result<()> {
    use mirun::report::table::{table, Format, TableOptions};
    let format = if a.md {
        Format::Markdown
    } else if a.csv {
        Format::Csv
    } else {
        Format::Text
    };
    let opts = TableOptions {
        by: a.by,
        metrics: a.metrics,
        format,
        worst: a.worst,
    };
    let t = table(&a.input, &opts)?;
    print!("{}", t.render(format));
    if format == Format::Csv {
        if let Some(note) = t.skipped_note() {
            eprintln!("{note}");
        }
    }
    Ok(())
}

/// `mirun diff A B`: two result sets row by row; fails when a `--fail-if` condition is met.
pub fn diff(a: DiffArgs) -> anyhow::Result<()> {
    use mirun::report::diff::{diff, DiffOptions};
    let opts = DiffOptions {
        metrics: a.metrics,
        fail_if: a.fail_if,
    };
    let d = diff(&a.a, &a.b, &opts)?;
    print!("{}", d.render(a.md));
    if !d.violations.is_empty() {
        anyhow::bail!("{} change(s) met a --fail-if condition", d.violations.len());
    }
    Ok(())
}

/// `mirun plot TARGET`: the run's or the sweep's plots; prints the files written.
pub fn plot(a: PlotArgs) -> anyhow::Result<()> {
    for f in mirun::report::plot::plot(&a.target, a.output.as_deref(), a.metric.as_deref(), a.x)? {
        println!("{}", f.display());
    }
    Ok(())
}
