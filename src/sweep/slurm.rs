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

/// A `#SBATCH` value in double quotes (sbatch reads those in every version; `"` and `\`
/// escaped).
fn sbatch_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
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
    sb(format!(
        "--job-name={}",
        sbatch_quote(&format!("mirun-{name}"))
    ));
    sb(format!("--array={array}"));
    sb(format!(
        "--output={}",
        sbatch_quote(&logs.join("slurm-%A_%a.out").display().to_string())
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
         skipped.\n",
        env!("CARGO_PKG_VERSION"),
        opts.file.display()
    ));
    // Setup lines (module load, conda activate) run before `set -u`: their scripts often read
    // unset variables.
    for line in &launcher.setup {
        s.push_str(line);
        s.push('\n');
    }
    s.push_str("set -uo pipefail\n");
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
    if opts.starts_over() {
        // Start over on the first attempt only: a requeued task resumes what it began.
        s.push_str(
            "FRESH=(); if [ \"${SLURM_RESTART_COUNT:-0}\" -eq 0 ]; then FRESH=(--fresh); fi\n",
        );
        cmd.push("${FRESH[@]+\"${FRESH[@]}\"}".into());
    }
    if let Some(b) = opts.backend {
        cmd.push("--device".into());
        cmd.push(b.name().into());
    }
    for set in &opts.sets {
        cmd.push("--set".into());
        cmd.push(quote(set));
    }
    // `${A[@]+"${A[@]}"}`: an empty array under `set -u` in bash before 4.4 too.
    cmd.push("${POINT[@]+\"${POINT[@]}\"}".into());
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
    // Slurm fails every task without a log when the --output folder is missing. Folders made
    // here are removed again if Slurm refuses the job.
    let made: Vec<PathBuf> = [&logs, &dir]
        .into_iter()
        .filter(|d| !d.exists())
        .cloned()
        .collect();
    std::fs::create_dir_all(&logs).map_err(io(&logs))?;
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let undo = || {
        for d in &made {
            let _ = std::fs::remove_dir(d);
        }
    };
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
            undo();
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
        undo();
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
    // The job is in: from here on a failure to record it is a warning, not an error (an
    // error would hide the job id and invite a duplicate submission).
    let mut final_script = dir.join(format!("sweep-{job_id}.sh"));
    if let Err(e) = std::fs::rename(&script, &final_script) {
        eprintln!(
            "warning: job {job_id} submitted, but its script stays at {}: {e}",
            script.display()
        );
        final_script = script;
    }
    if let Err(e) = record_job(&dir, &job_id) {
        eprintln!(
            "warning: job {job_id} submitted, but {} could not record it ({e}); --status will \
             not see its queue state",
            dir.join("jobs.csv").display()
        );
    }
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

/// Which run each array index of each known job trains, read from the saved scripts (so a
/// `[sweep]` edited since a submission does not mislabel its tasks).
pub type Tasks = BTreeMap<(String, usize), String>;

/// The (job, array index) → run id map of `jobs`.
pub fn tasks(opts: &SweepOptions, planned: &[PlannedPoint], jobs: &[String]) -> Tasks {
    let mut map = Tasks::new();
    if planned.is_empty() {
        return map;
    }
    let dir = slurm_dir(opts, planned);
    for job in jobs {
        let Ok(text) = std::fs::read_to_string(dir.join(format!("sweep-{job}.sh"))) else {
            continue;
        };
        for line in text.lines() {
            // `  3) RUN=2014b12fb3be; POINT=(…) ;;`
            let Some((index, rest)) = line.trim().split_once(") RUN=") else {
                continue;
            };
            let (Ok(index), Some(run)) = (index.parse::<usize>(), rest.split(';').next()) else {
                continue;
            };
            map.insert((job.clone(), index), run.to_string());
        }
    }
    map
}

/// One array task as Slurm lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// `job_index`.
    pub id: String,
    /// `PENDING`, `RUNNING`, …
    pub state: String,
    /// Why it waits (`Resources`, `JobHeldAdmin`, …) or `None`.
    pub reason: String,
}

/// Slurm's view of this sweep's tasks, by run id.
pub type Queue = BTreeMap<String, Task>;

/// Parses `squeue -h -r -o '%i|%T|%r'` lines (`123_4|RUNNING|None`) of the known tasks.
pub fn parse_queue(text: &str, tasks: &Tasks) -> Queue {
    let mut q = Queue::new();
    for line in text.lines() {
        let mut fields = line.trim().splitn(3, '|');
        let (Some(id), Some(state)) = (fields.next(), fields.next()) else {
            continue;
        };
        let reason = fields.next().unwrap_or("").to_string();
        let Some((job, index)) = id.split_once('_') else {
            continue;
        };
        let Ok(index) = index.parse::<usize>() else {
            continue;
        };
        if let Some(run) = tasks.get(&(job.to_string(), index)) {
            q.insert(
                run.clone(),
                Task {
                    id: id.to_string(),
                    state: state.to_string(),
                    reason,
                },
            );
        }
    }
    q
}

/// The queued and running tasks among `tasks`: `Ok(None)` when `squeue` is not installed,
/// `Err` with its message when it fails (a busy controller).
pub fn queue(tasks: &Tasks) -> Result<Option<Queue>, String> {
    if tasks.is_empty() {
        return Ok(Some(Queue::new()));
    }
    let mut cmd = Command::new("squeue");
    cmd.args(["-h", "-r", "-o", "%i|%T|%r"]);
    if let Ok(user) = std::env::var("USER") {
        cmd.args(["-u", &user]);
    }
    let output = match cmd.output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).trim().to_string());
    }
    Ok(Some(parse_queue(
        &String::from_utf8_lossy(&output.stdout),
        tasks,
    )))
}

/// Whether a pending task will not start without someone's help (held, or asking for more
/// than its partition allows).
pub fn is_stuck(task: &Task) -> bool {
    task.state == "PENDING"
        && (task.reason.contains("Held")
            || task.reason.contains("held")
            || [
                "PartitionTimeLimit",
                "PartitionNodeLimit",
                "BadConstraints",
                "InvalidAccount",
                "InvalidQOS",
                "DependencyNeverSatisfied",
            ]
            .contains(&task.reason.as_str()))
}

/// Follows job `job_id` until Slurm lists none of its tasks (or only stuck ones), printing a
/// line whenever the counts change; returns the labels of the submitted points that did not
/// finish.
pub fn wait(
    opts: &SweepOptions,
    planned: &[PlannedPoint],
    submitted: &[&PlannedPoint],
    job_id: &str,
) -> anyhow::Result<Vec<String>> {
    use super::status::LiveState as L;
    let p = opts.progress;
    let tasks = tasks(opts, planned, &[job_id.to_string()]);
    let mut last = String::new();
    let (mut pause, mut failures) = (Duration::from_secs(2), 0);
    loop {
        let q = match queue(&tasks) {
            Ok(Some(q)) => {
                failures = 0;
                q
            }
            Ok(None) => return Err(SlurmError::Missing("squeue").into()),
            Err(message) => {
                // A busy controller times out now and then: try again, then give up.
                failures += 1;
                if failures > 5 {
                    return Err(SlurmError::Failed {
                        command: "squeue".into(),
                        message,
                    }
                    .into());
                }
                std::thread::sleep(pause);
                continue;
            }
        };
        let states = super::status::states(opts, planned, Some(&q))?;
        let count = |s: L| {
            submitted
                .iter()
                .filter(|pp| states[pp.point.index] == s)
                .count()
        };
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
            pause = Duration::from_secs(2);
        } else {
            pause = (pause * 3 / 2).min(Duration::from_secs(15));
        }
        let stuck: Vec<&Task> = q.values().filter(|t| is_stuck(t)).collect();
        if q.is_empty() || stuck.len() == q.len() {
            for t in stuck {
                p.warn(&format!(
                    "slurm task {} will not start ({}): not waiting for it",
                    t.id, t.reason
                ));
            }
            let failed = submitted
                .iter()
                .filter(|pp| states[pp.point.index] != L::Finished)
                .map(|pp| pp.point.label())
                .collect();
            return Ok(failed);
        }
        std::thread::sleep(pause);
    }
}

/// The points a Slurm submission runs: the unfinished ones (all with `--force`), less those an
/// earlier job of this sweep still runs or holds in the queue.
pub fn todo<'a>(
    opts: &SweepOptions,
    planned: &'a [PlannedPoint],
) -> anyhow::Result<Vec<&'a PlannedPoint>> {
    use super::status::LiveState as L;
    let jobs = known_jobs(opts, planned);
    let q = queue(&tasks(opts, planned, &jobs)).ok().flatten();
    let states = super::status::states(opts, planned, q.as_ref())?;
    Ok(planned
        .iter()
        .filter(|p| {
            let busy = matches!(states[p.point.index], L::Running | L::Pending);
            !busy && (opts.force || p.state != PointState::Finished)
        })
        .collect())
}
