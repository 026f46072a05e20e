//! `mirun sweep --launcher slurm`: the sweep's unfinished points as one Slurm job array (point
//! i ↔ array index i), each task the same `mirun run` a local sweep runs. The script lands in
//! `<out>/<name>/slurm/`, the job ids in `<out>/<name>/slurm/jobs.csv` (for `--status`).

use super::{summary_path, PlannedPoint, PointState, SweepOptions};
use crate::spec::LauncherSpec;
use crate::store::write_atomic;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Why a Slurm submission or query failed.
#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    #[error(
        "`{0}` was not found on PATH: `--launcher slurm` needs Slurm's client commands (run \
         it on a login node, or use --dry-run to see the script)"
    )]
    Missing(&'static str),
    #[error("Slurm refused the job (`sbatch {script}`): {message}")]
    Refused { script: String, message: String },
    #[error("`{command}` failed: {message}")]
    Failed { command: String, message: String },
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// `1-3,5,7-8`: sorted array indices as Slurm's ranges.
pub fn array_ranges(indices: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < indices.len() {
        let mut j = i;
        while j + 1 < indices.len() && indices[j + 1] == indices[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            indices[i].to_string()
        } else {
            format!("{}-{}", indices[i], indices[j])
        });
        i = j + 1;
    }
    parts.join(",")
}

fn quote(s: &str) -> String {
    shlex::try_quote(s).map_or_else(|_| format!("'{s}'"), |q| q.into_owned())
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The job-array script for `todo` (the points to run).
pub fn script(
    opts: &SweepOptions,
    launcher: &LauncherSpec,
    todo: &[&PlannedPoint],
) -> anyhow::Result<String> {
    let first = todo
        .first()
        .ok_or_else(|| anyhow::anyhow!("no points to submit"))?;
    let name = &first.spec.pipeline.name;
    let out = absolute(&opts.out);
    let logs = out.join(name).join("logs");
    let exe = match &launcher.mirun {
        Some(m) => m.clone(),
        None => absolute(&std::env::current_exe()?).display().to_string(),
    };
    let indices: Vec<usize> = todo.iter().map(|p| p.point.index + 1).collect();
    let mut array = array_ranges(&indices);
    if let Some(n) = launcher.max_parallel {
        array.push_str(&format!("%{n}"));
    }
    let mut s = String::from("#!/bin/bash\n");
    let mut sb = |opt: String| s.push_str(&format!("#SBATCH {opt}\n"));
    sb(format!("--job-name={}", quote(&format!("mirun-{name}"))));
    sb(format!("--array={array}"));
    sb(format!(
        "--output={}",
        quote(&logs.join("slurm-%A_%a.out").display().to_string())
    ));
    sb("--open-mode=append".into());
    sb("--requeue".into());
    if let Some(p) = &launcher.partition {
        sb(format!("--partition={p}"));
    }
    if let Some(t) = &launcher.time {
        sb(format!("--time={t}"));
    }
    if let Some(c) = launcher.cpus_per_task {
        sb(format!("--cpus-per-task={c}"));
    }
    if let Some(m) = &launcher.mem {
        sb(format!("--mem={m}"));
    }
    if let Some(g) = launcher.gpus {
        sb(format!("--gpus={g}"));
    }
    if let Some(a) = &launcher.account {
        sb(format!("--account={a}"));
    }
    if let Some(q) = &launcher.qos {
        sb(format!("--qos={q}"));
    }
    for e in &launcher.extra {
        sb(e.clone());
    }
    s.push_str(&format!(
        "# Written by mirun {} for `mirun sweep {}`: array index i is point i of \
         `mirun sweep --dry-run`.\n# A task killed by Slurm (scancel, time limit, preemption) \
         resumes from its checkpoint when it runs again;\n# a point that already finished is \
         skipped.\nset -uo pipefail\n",
        env!("CARGO_PKG_VERSION"),
        opts.file.display()
    ));
    for line in &launcher.setup {
        s.push_str(line);
        s.push('\n');
    }
    s.push_str("case \"$SLURM_ARRAY_TASK_ID\" in\n");
    for p in todo {
        let sets: Vec<String> = p
            .point
            .set_args()
            .iter()
            .flat_map(|a| ["--set".to_string(), quote(a)])
            .collect();
        s.push_str(&format!(
            "  {}) RUN={}; POINT=({}) ;;\n",
            p.point.index + 1,
            p.run_id,
            sets.join(" ")
        ));
    }
    s.push_str(
        "  *) echo \"mirun: array index $SLURM_ARRAY_TASK_ID is not a point of this sweep\" >&2; exit 2 ;;\nesac\n",
    );
    let cwd = absolute(Path::new("."));
    s.push_str(&format!("cd {}\n", quote(&cwd.display().to_string())));
    s.push_str("export RAYON_NUM_THREADS=\"${RAYON_NUM_THREADS:-${SLURM_CPUS_PER_TASK:-1}}\"\n");
    s.push_str(&format!(
        "LOG={}/\"$RUN\".log\n",
        quote(&logs.display().to_string())
    ));
    s.push_str(
        "echo \"== slurm job ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} on $(hostname) at $(date -u +%FT%TZ)\" >> \"$LOG\"\n",
    );
    let mut cmd = vec![
        quote(&exe),
        "run".into(),
        quote(&absolute(&opts.file).display().to_string()),
        "--sweep-point".into(),
        "--out".into(),
        quote(&out.display().to_string()),
    ];
    if opts.force {
        cmd.push("--fresh".into());
    }
    if let Some(b) = opts.backend {
        cmd.push("--device".into());
        cmd.push(b.name().into());
    }
    for set in &opts.sets {
        cmd.push("--set".into());
        cmd.push(quote(set));
    }
    cmd.push("\"${POINT[@]}\"".into());
    s.push_str(&format!("{} >> \"$LOG\" 2>&1\nrc=$?\n", cmd.join(" ")));
    s.push_str(&format!(
        "# {}: another mirun process holds this run and will finish it.\n\
         if [ \"$rc\" -eq {} ]; then exit 0; fi\nexit \"$rc\"\n",
        crate::pipeline::RunLocked::EXIT_CODE,
        crate::pipeline::RunLocked::EXIT_CODE
    ));
    Ok(s)
}

/// A submitted array: its job id and where its script is.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub job_id: String,
    pub script: PathBuf,
}

fn slurm_dir(opts: &SweepOptions, planned: &[PlannedPoint]) -> PathBuf {
    summary_path(&opts.out, &planned[0].spec)
        .parent()
        .map_or_else(|| opts.out.clone(), Path::to_path_buf)
        .join("slurm")
}

/// Writes the script and submits it with `sbatch`; on refusal nothing is left behind.
pub fn submit(
    opts: &SweepOptions,
    planned: &[PlannedPoint],
    script_text: &str,
) -> Result<Submitted, SlurmError> {
    let dir = slurm_dir(opts, planned);
    let logs = dir.with_file_name("logs");
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| SlurmError::Io { path, source }
    };
    // Slurm fails every task without a log when the --output folder is missing.
    std::fs::create_dir_all(&logs).map_err(io(&logs))?;
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let script = dir.join(format!("sweep-{stamp}.sh"));
    write_atomic(&script, script_text.as_bytes()).map_err(io(&script))?;
    let output = match Command::new("sbatch")
        .arg("--parsable")
        .arg(&script)
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            let _ = std::fs::remove_file(&script);
            return Err(if e.kind() == std::io::ErrorKind::NotFound {
                SlurmError::Missing("sbatch")
            } else {
                SlurmError::Failed {
                    command: "sbatch".into(),
                    message: e.to_string(),
                }
            });
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let job_id = stdout
        .trim()
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string();
    if !output.status.success() || job_id.is_empty() || !job_id.bytes().all(|b| b.is_ascii_digit())
    {
        let _ = std::fs::remove_file(&script);
        let message = String::from_utf8_lossy(&output.stderr).trim().to_string();
        return Err(SlurmError::Refused {
            script: script.display().to_string(),
            message: if message.is_empty() {
                format!("{} {}", output.status, stdout.trim())
            } else {
                message
            },
        });
    }
    let final_script = dir.join(format!("sweep-{job_id}.sh"));
    std::fs::rename(&script, &final_script).map_err(io(&final_script))?;
    record_job(&dir, &job_id).map_err(io(&dir.join("jobs.csv")))?;
    Ok(Submitted {
        job_id,
        script: final_script,
    })
}

/// Appends the job id to `jobs.csv` (one line per submission, written whole).
fn record_job(dir: &Path, job_id: &str) -> std::io::Result<()> {
    use std::io::Write;
    let path = dir.join("jobs.csv");
    let new = !path.exists();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut line = String::new();
    if new {
        line.push_str("job_id,submitted_unix\n");
    }
    line.push_str(&format!("{job_id},{stamp}\n"));
    f.write_all(line.as_bytes())
}

/// The job ids this sweep has submitted (from `jobs.csv`), oldest first.
pub fn known_jobs(opts: &SweepOptions, planned: &[PlannedPoint]) -> Vec<String> {
    if planned.is_empty() {
        return Vec::new();
    }
    std::fs::read_to_string(slurm_dir(opts, planned).join("jobs.csv"))
        .map(|t| {
            t.lines()
                .skip(1)
                .filter_map(|l| l.split(',').next())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Slurm's view of array tasks: point number → (state, `job_task` id), from `squeue`.
pub type Queue = BTreeMap<usize, (String, String)>;

/// The queued and running tasks of `jobs`, or `None` when `squeue` is not available.
pub fn queue(jobs: &[String]) -> Option<Queue> {
    if jobs.is_empty() {
        return Some(Queue::new());
    }
    let output = Command::new("squeue")
        .args(["-h", "-r", "-o", "%i|%T"])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(parse_queue(&String::from_utf8_lossy(&output.stdout), jobs))
}

/// Parses `squeue -h -r -o '%i|%T'` lines (`123_4|RUNNING`) of the given jobs.
pub fn parse_queue(text: &str, jobs: &[String]) -> Queue {
    let mut q = Queue::new();
    for line in text.lines() {
        let Some((id, state)) = line.trim().split_once('|') else {
            continue;
        };
        let Some((job, task)) = id.split_once('_') else {
            continue;
        };
        if !jobs.iter().any(|j| j == job) {
            continue;
        }
        if let Ok(i) = task.parse::<usize>() {
            q.insert(i, (state.to_string(), id.to_string()));
        }
    }
    q
}

/// Follows job `job_id` until Slurm lists none of its tasks, printing a line whenever the
/// counts change; returns the labels of the submitted points that did not finish.
pub fn wait(
    opts: &SweepOptions,
    planned: &[PlannedPoint],
    submitted: &[&PlannedPoint],
    job_id: &str,
) -> anyhow::Result<Vec<String>> {
    let p = opts.progress;
    let jobs = vec![job_id.to_string()];
    let mut last = String::new();
    loop {
        let q = queue(&jobs).ok_or(SlurmError::Missing("squeue"))?;
        let states = super::status::states(opts, planned, Some(&q))?;
        let count = |s: super::status::LiveState| {
            submitted
                .iter()
                .filter(|pp| states[pp.point.index] == s)
                .count()
        };
        use super::status::LiveState as L;
        let line = format!(
            "slurm job {job_id}: {} finished, {} running, {} pending, {} failed (of {})",
            count(L::Finished),
            count(L::Running),
            count(L::Pending),
            count(L::Failed),
            submitted.len()
        );
        if line != last {
            // stderr: stdout holds the job id alone, for scripts.
            if !p.quiet {
                eprintln!("{line}");
            }
            last = line;
        }
        if q.is_empty() {
            let failed = submitted
                .iter()
                .filter(|pp| states[pp.point.index] != L::Finished)
                .map(|pp| pp.point.label())
                .collect();
            return Ok(failed);
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// The points a Slurm submission runs: the unfinished ones (all with `--force`).
pub fn todo<'a>(opts: &SweepOptions, planned: &'a [PlannedPoint]) -> Vec<&'a PlannedPoint> {
    planned
        .iter()
        .filter(|p| opts.force || p.state != PointState::Finished)
        .collect()
}
