//! End to end on real MNIST: the binary trains a small pipeline, writes its CSVs, learns well
//! above chance, and the same seed gives the same rows.

use std::path::{Path, PathBuf};
use std::process::Command;

const PIPELINE: &str = r#"
[pipeline]
name = "e2e"
seed = 3

[dataset]
kind = "mnist"
train_size = 3072
test_size = 1000

[backbone]
cfg = [16, "M", 32, "M", 64, "M", 128]

[heads]
count = 2

[train]
epochs = 3
batch_size = 128
"#;

/// Runs the binary with the data directory `data`, fetched from the repo's `data/` mirror.
pub(crate) fn mirun(args: &[&str], data: &Path) -> std::process::Output {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    Command::new(env!("CARGO_BIN_EXE_mirun"))
        .args(args)
        .env("MIRUN_DATA_DIR", data)
        // The repo's data/ has the mirror layout (<kind>/<file>.gz): fetch copies and verifies.
        .env("MIRUN_DATA_MIRROR", repo.join("data"))
        .output()
        .expect("run mirun")
}

fn only_dir(p: &Path) -> PathBuf {
    let dirs: Vec<_> = std::fs::read_dir(p)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "one run dir in {}", p.display());
    dirs[0].clone()
}

/// Runs the test `PIPELINE` (written to `dir/e2e.toml`) quietly into `out`, with one `--set`
/// per entry of `sets`; asserts it succeeded and returns its run folder.
fn run_e2e(dir: &Path, out: &Path, sets: &[&str], data: &Path) -> PathBuf {
    let file = dir.join("e2e.toml");
    std::fs::write(&file, PIPELINE).unwrap();
    let extra: Vec<&str> = sets.iter().flat_map(|s| ["--set", s]).collect();
    run_file(&file, "e2e", &extra, data, out)
}

/// `--set`s for a one-epoch run on 512 training and 256 test images, 128 per step.
pub(crate) const SMALL_RUN: [&str; 8] = [
    "--set",
    "dataset.train_size=512",
    "--set",
    "dataset.test_size=256",
    "--set",
    "train.epochs=1",
    "--set",
    "train.batch_size=128",
];

/// Runs the shipped `pipelines/<pipeline>` quietly into `out` with `extra` arguments, asserts
/// it succeeded and returns its run folder (the only one under `out/<pipeline name>`).
pub(crate) fn run_shipped(pipeline: &str, extra: &[&str], data: &Path, out: &Path) -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let file = repo.join("pipelines").join(pipeline);
    run_file(&file, pipeline.trim_end_matches(".toml"), extra, data, out)
}

/// Runs pipeline `file` (named `name`) quietly into `out` with `extra` arguments, asserts it
/// succeeded and returns its run folder (the only one under `out/<name>`).
fn run_file(file: &Path, name: &str, extra: &[&str], data: &Path, out: &Path) -> PathBuf {
    let mut args = vec![
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ];
    args.extend(extra);
    let o = mirun(&args, data);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    only_dir(&out.join(name))
}

/// `mirun eval RUN --weights last` (asserted to succeed) and the `eval-last.csv` it wrote.
pub(crate) fn eval_last(run: &Path, data: &Path) -> String {
    let o = mirun(&["eval", run.to_str().unwrap(), "--weights", "last"], data);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_to_string(run.join("eval-last.csv")).unwrap()
}

/// Metrics rows without the timing column.
fn rows_without_time(csv_text: &str) -> Vec<String> {
    csv_text
        .lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split(',').collect();
            f.remove(5); // seconds
            f.join(",")
        })
        .collect()
}

#[test]
fn trains_writes_results_and_is_reproducible() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = tmp.path().join("e2e.toml");
    std::fs::write(&file, PIPELINE).unwrap();
    let mut metrics = Vec::new();
    for out in ["out1", "out2"] {
        let out = tmp.path().join(out);
        let o = mirun(
            &[
                "run",
                file.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--plot",
            ],
            &data,
        );
        let stderr = String::from_utf8_lossy(&o.stderr);
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "mirun failed:\n{stdout}\n{stderr}");
        assert!(
            stdout.contains("epoch 3/3"),
            "per-epoch summary lines: {stdout}"
        );

        let run = only_dir(&out.join("e2e"));
        assert!(run.join("config.toml").is_file());
        let info = std::fs::read_to_string(run.join("run.toml")).unwrap();
        assert!(
            info.contains("backend = ")
                && info.contains("seed = 3")
                && info.contains("cpu = ")
                && info.contains(&format!(
                    "mirun_commit = \"{}\"",
                    mirun::store::BUILD_COMMIT
                ))
                && info.contains(&format!("simd = \"{}\"", mirun::backend::simd_level())),
            "run.toml records the seed, backend, build, CPU and SIMD level:\n{info}"
        );
        let mut summary = csv::Reader::from_path(out.join("e2e/summary.csv")).unwrap();
        let header = summary.headers().unwrap().clone();
        let row = summary.records().next().unwrap().unwrap();
        let cell = |name: &str| {
            header
                .iter()
                .position(|c| c == name)
                .and_then(|i| row.get(i))
        };
        assert!(
            cell("cpu").is_some_and(|c| !c.is_empty())
                && cell("simd") == Some(mirun::backend::simd_level()),
            "summary.csv rows name the CPU and SIMD level: {header:?} {row:?}"
        );
        let m = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
        assert_eq!(
            m.lines().count(),
            1 + 3 * 2,
            "header + epochs × heads:\n{m}"
        );
        assert!(run.join("weights-last.bpk").is_file() && run.join("weights-best.bpk").is_file());
        let confusion = std::fs::read_to_string(run.join("confusion.csv")).unwrap();
        let last_head0: u64 = confusion
            .lines()
            .skip(1)
            .filter(|l| l.starts_with("3,0,"))
            .map(|l| l.rsplit(',').next().unwrap().parse::<u64>().unwrap())
            .sum();
        assert_eq!(
            last_head0, 1000,
            "every test image counted once per epoch and head"
        );
        if metrics.is_empty() {
            // Reloading the saved weights reproduces the last epoch's accuracy of every head.
            let o = mirun(&["eval", run.to_str().unwrap(), "--weights", "last"], &data);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let eval = std::fs::read_to_string(run.join("eval-last.csv")).unwrap();
            let recorded: Vec<&str> = m
                .lines()
                .skip(1 + 2 * 2)
                .map(|l| l.split(',').nth(3).unwrap())
                .collect();
            let reloaded: Vec<&str> = eval
                .lines()
                .skip(1)
                .map(|l| l.split(',').nth(1).unwrap())
                .collect();
            assert_eq!(recorded, reloaded, "metrics:\n{m}\neval:\n{eval}");
            check_plots(&run, &out, &data);
        }
        metrics.push(m);

        let mut summary = csv::Reader::from_path(out.join("e2e/summary.csv")).unwrap();
        let header = summary.headers().unwrap().clone();
        let rows: Vec<_> = summary.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 1);
        let col = |name: &str| {
            let i = header
                .iter()
                .position(|h| h == name)
                .unwrap_or_else(|| panic!("no {name}"));
            rows[0][i].to_string()
        };
        assert_eq!(col("heads.count"), "2");
        assert_eq!(col("status"), "finished");
        let acc: f64 = col("selected_accuracy").parse().unwrap();
        assert!(acc > 0.3, "clearly above chance (0.1): {acc}");
    }
    assert_eq!(
        rows_without_time(&metrics[0]),
        rows_without_time(&metrics[1]),
        "same seed, same rows"
    );
}

#[test]
fn version_names_the_build_the_cpu_and_its_vector_level() {
    let tmp = tempfile::tempdir().unwrap();
    let long = mirun(&["--version"], tmp.path());
    let text = String::from_utf8_lossy(&long.stdout);
    assert!(
        long.status.success()
            && text.contains(&format!("(build {})", mirun::store::BUILD_COMMIT))
            && text.contains(&format!("cpu: {}", mirun::backend::cpu_model()))
            && text.contains(&format!("simd: {} ", mirun::backend::simd_level())),
        "`mirun --version` names the build, the CPU and vector level (scripts/bench/run reads them):\n{text}"
    );
    let short = mirun(&["-V"], tmp.path());
    assert_eq!(
        String::from_utf8_lossy(&short.stdout).trim(),
        format!("mirun {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_input_is_a_clear_error_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("bad.toml");
    std::fs::write(&file, "[train]\nepochs = \"many\"\n").unwrap();
    let o = mirun(&[file.to_str().unwrap()], tmp.path());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        stderr.contains("train.epochs") || stderr.contains("epochs"),
        "{stderr}"
    );
    assert!(stderr.contains("bad.toml"), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("internal error"),
        "{stderr}"
    );

    let o = mirun(&["run", "no/such/file.toml"], tmp.path());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && stderr.contains("no/such/file.toml"),
        "{stderr}"
    );
}

#[test]
fn corrupt_data_file_says_how_to_fix_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(data.join("mnist")).unwrap();
    std::fs::write(
        data.join("mnist/train-labels-idx1-ubyte"),
        b"\x00\x00\x08\x01garbage",
    )
    .unwrap();
    let file = tmp.path().join("p.toml");
    std::fs::write(&file, PIPELINE).unwrap();
    let o = mirun(
        &[
            file.to_str().unwrap(),
            "--out",
            tmp.path().join("o").to_str().unwrap(),
        ],
        &data,
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        stderr.contains("train-labels-idx1-ubyte") && stderr.contains("mirun data fetch"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Width and height of a PNG file.
fn png_size(path: &Path) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let reader = decoder.read_info().unwrap();
    let info = reader.info();
    (info.width, info.height)
}

/// `run --plot` wrote the run's charts; `plot` and `eval --grid` write PNGs of the right size.
fn check_plots(run: &Path, out: &Path, data: &Path) {
    let svg = std::fs::read_to_string(run.join("plot.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains(r#"width="1200""#) && svg.contains("head 1"),
        "{}",
        &svg[..200.min(svg.len())]
    );
    let heat = std::fs::read_to_string(run.join("plot-confusion.svg")).unwrap();
    assert!(heat.contains(r#"width="640""#) && heat.contains("<rect"));

    let png = out.join("curves.png");
    let o = mirun(
        &["plot", run.to_str().unwrap(), "-o", png.to_str().unwrap()],
        data,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(png_size(&png), (1200, 500));

    let sweep_png = out.join("sweep.png");
    let o = mirun(
        &[
            "plot",
            out.to_str().unwrap(),
            "-o",
            sweep_png.to_str().unwrap(),
        ],
        data,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(png_size(&sweep_png), (800, 500));

    let o = mirun(&["eval", run.to_str().unwrap(), "--grid", "4"], data);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // 10 clusters × 4 images of 28 px with 1-px separators.
    assert_eq!(
        png_size(&run.join("clusters-last-h0.png")),
        (4 * 29 + 1, 10 * 29 + 1)
    );

    // --errors keeps only the images each cluster gets wrong: a different picture, same size.
    let o = mirun(
        &["eval", run.to_str().unwrap(), "--grid", "4", "--errors"],
        data,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let errors = run.join("clusters-last-errors-h0.png");
    assert_eq!(png_size(&errors), (4 * 29 + 1, 10 * 29 + 1));
    assert_ne!(
        std::fs::read(&errors).unwrap(),
        std::fs::read(run.join("clusters-last-h0.png")).unwrap()
    );
    let o = mirun(&["eval", run.to_str().unwrap(), "--errors"], data);
    assert!(!o.status.success(), "--errors without --grid is refused");

    let o = mirun(&["plot", run.to_str().unwrap(), "-o", "x.pdf"], data);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("expected a .svg or .png"));

    // Damaged weights: one line naming the file, its cause said once.
    let damaged = out.parent().unwrap().join("damaged-run");
    std::fs::create_dir(&damaged).unwrap();
    for f in std::fs::read_dir(run).unwrap() {
        let f = f.unwrap().path();
        if f.is_file() {
            std::fs::copy(&f, damaged.join(f.file_name().unwrap())).unwrap();
        }
    }
    let weights = damaged.join("weights-last.bpk");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    let o = mirun(
        &["eval", damaged.to_str().unwrap(), "--weights", "last"],
        data,
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("weights-last.bpk: "), "{err}");
    // Each part of the cause once (the chain used to say `path: X: X`).
    let parts: Vec<&str> = err.trim().split(": ").collect();
    let mut seen = std::collections::HashSet::new();
    assert!(parts.iter().all(|p| seen.insert(*p)), "{err}");
}

#[test]
fn overclustering_heads_and_copies_train_and_reload() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = tmp.path().join("e2e.toml");
    std::fs::write(&file, PIPELINE).unwrap();
    let out = tmp.path().join("out");
    let mut metrics = Vec::new();
    for schedule in ["alternate", "joint"] {
        let o = mirun(
            &[
                "run",
                file.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "-q",
                "--set",
                "augment.copies=3",
                "--set",
                "heads.overcluster=20",
                "--set",
                &format!("heads.aux_schedule=\"{schedule}\""),
                "--set",
                "train.epochs=2",
                "--set",
                "evaluator.kind=[\"majority\", \"hungarian\", \"nmi\"]",
            ],
            &data,
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let runs: Vec<PathBuf> = std::fs::read_dir(out.join("e2e"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        let run = runs
            .into_iter()
            .find(|r| {
                std::fs::read_to_string(r.join("config.toml"))
                    .unwrap()
                    .contains(&format!("aux_schedule = \"{schedule}\""))
            })
            .expect("a run dir per schedule");
        let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
        assert!(config.contains("copies = 3") && config.contains("overcluster = 20"));
        let m = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
        assert_eq!(
            m.lines().count(),
            1 + 2 * 2,
            "only main heads are scored:\n{m}"
        );
        // The named scores are columns in the registry's order, whatever the list's order.
        assert!(
            m.starts_with("epoch,head,loss,accuracy,lr,seconds,selected,nmi,majority\n"),
            "{m}"
        );
        // The saved weights hold the over-clustering heads too and load back.
        let o = mirun(&["eval", run.to_str().unwrap(), "--weights", "last"], &data);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        metrics.push(m);
    }
    assert_ne!(
        rows_without_time(&metrics[0]),
        rows_without_time(&metrics[1]),
        "the two schedules train differently"
    );
}

/// `heads.merge` (both rules): a head with 14 clusters is scored as 10 groups, `merges.csv`
/// says which cluster joined which group, the confusion counts are per group, and `mirun eval`
/// merges the same way and reproduces the recorded accuracy.
#[test]
fn surplus_clusters_are_merged_down_to_the_classes_without_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    for rule in ["mi", "ward"] {
        let merge = format!("heads.merge=\"{rule}\"");
        let small = SMALL_RUN.iter().skip(1).step_by(2).copied();
        let sets: Vec<&str> = ["heads.clusters=14", &merge]
            .into_iter()
            .chain(small)
            .collect();
        let run = run_e2e(tmp.path(), &tmp.path().join(rule), &sets, &data);
        let merges = std::fs::read_to_string(run.join("merges.csv")).unwrap();
        let rows: Vec<Vec<usize>> = merges
            .lines()
            .skip(1)
            .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
            .collect();
        assert_eq!(rows.len(), 2 * 14, "a row per head and cluster:\n{merges}");
        for head in 0..2 {
            let groups: std::collections::BTreeSet<usize> =
                rows.iter().filter(|r| r[1] == head).map(|r| r[3]).collect();
            assert_eq!(
                groups,
                (0..10).collect(),
                "14 clusters in 10 groups:\n{merges}"
            );
        }
        let confusion = std::fs::read_to_string(run.join("confusion.csv")).unwrap();
        assert!(
            confusion.lines().skip(1).all(|l| l
                .split(',')
                .nth(2)
                .unwrap()
                .parse::<usize>()
                .unwrap()
                < 10),
            "confusion rows are per group:\n{confusion}"
        );
        // Column `n` of every data row.
        let column = |text: &str, n: usize| -> Vec<String> {
            let cell = |l: &str| l.split(',').nth(n).unwrap().to_string();
            text.lines().skip(1).map(cell).collect()
        };
        let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
        let eval = eval_last(&run, &data);
        assert_eq!(column(&metrics, 3), column(&eval, 1), "{metrics}\n{eval}");
    }
}

/// The committed `iic_quick` reference (made before mirun's own flex ops replaced burn's
/// composed convolution and batch norm) is still reproduced within a tolerance: the ops change
/// the rounding, not the maths. Per head and epoch, the loss stays within 0.06 nats and the
/// accuracy within 0.08 (measured: 0.028 and 0.039; three seeds of this 3-epoch run differ
/// by up to 0.25 in accuracy).
#[test]
fn iic_quick_stays_near_its_committed_reference() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let (data, out) = (tmp.path().join("data"), tmp.path().join("out"));
    let run = run_shipped("iic_quick.toml", &["--device", "flex"], &data, &out);
    assert_eq!(run, out.join("iic_quick/cab333ee26a0"));
    #[derive(serde::Deserialize)]
    struct Row {
        epoch: usize,
        head: usize,
        loss: f64,
        accuracy: f64,
    }
    let read = |p: &Path| -> Vec<Row> {
        csv::Reader::from_path(p)
            .unwrap()
            .deserialize()
            .map(Result::unwrap)
            .collect()
    };
    let reference = read(&repo.join("results/iic_quick/cab333ee26a0/metrics.csv"));
    let ours = read(&out.join("iic_quick/cab333ee26a0/metrics.csv"));
    assert_eq!(ours.len(), reference.len());
    for (a, b) in ours.iter().zip(&reference) {
        assert_eq!((a.epoch, a.head), (b.epoch, b.head));
        let at = format!("epoch {} head {}", a.epoch, a.head);
        assert!(
            (a.loss - b.loss).abs() < 0.06,
            "{at}: loss {} vs {}",
            a.loss,
            b.loss
        );
        assert!(
            (a.accuracy - b.accuracy).abs() < 0.08,
            "{at}: accuracy {} vs {}",
            a.accuracy,
            b.accuracy
        );
    }
}

/// `dataset.train_on = "train+test"` trains on both splits (and says so), and
/// `backbone.batch_norm_eval = "batch"` evaluates with each chunk's own statistics; neither key
/// appears in the config of a run that keeps the defaults (so run ids stay what they were).
#[test]
fn protocol_keys_train_on_test_images_and_evaluate_with_batch_statistics() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = tmp.path().join("e2e.toml");
    std::fs::write(&file, PIPELINE).unwrap();
    let out = tmp.path().join("out");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(SMALL_RUN);
        args.extend(extra);
        let o = mirun(&args, &data);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let both = run(&["--set", "dataset.train_on=\"train+test\""]);
    assert!(
        both.contains("768 train / 256 test") && both.contains("train + test"),
        "{both}"
    );
    let plain = run(&[]);
    assert!(plain.contains("512 train / 256 test"), "{plain}");
    let runs: Vec<PathBuf> = std::fs::read_dir(out.join("e2e"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(runs.len(), 2);
    let config = |r: &PathBuf| std::fs::read_to_string(r.join("config.toml")).unwrap();
    let plain_run = runs
        .iter()
        .find(|r| !config(r).contains("train_on"))
        .expect("the default run's config has no train_on");
    assert!(runs
        .iter()
        .any(|r| config(r).contains("train_on = \"train+test\"")));
    assert!(!config(plain_run).contains("batch_norm_eval"));
    // Re-score the default run's weights with batch statistics: other numbers, same run.
    let scores = |extra: &[&str]| {
        let mut args = vec!["eval", plain_run.to_str().unwrap(), "--weights", "last"];
        args.extend(extra);
        let o = mirun(&args, &data);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read_to_string(plain_run.join("eval-last.csv")).unwrap()
    };
    let running = scores(&[]);
    let batch = scores(&["--set", "backbone.batch_norm_eval=\"batch\""]);
    assert_ne!(running, batch, "batch statistics change the scores");
}

/// The sub-head lottery re-initialises lagging heads (recorded per head and epoch in
/// `metrics.csv`), and a rerun with the same seed re-initialises the same heads with the same
/// weights.
#[test]
fn the_sub_head_lottery_reinitialises_lagging_heads_reproducibly() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut metrics = Vec::new();
    for out in ["a", "b"] {
        let sets = [
            "dataset.train_size=1024",
            "dataset.test_size=256",
            "train.epochs=1",
            "heads.count=4",
            "heads.lottery_every=2",
            "heads.lottery_margin=0.0",
        ];
        let run = run_e2e(tmp.path(), &tmp.path().join(out), &sets, &data);
        metrics.push(std::fs::read_to_string(run.join("metrics.csv")).unwrap());
    }
    let m = &metrics[0];
    assert!(m.lines().next().unwrap().ends_with(",reinits"), "{m}");
    // 8 steps in windows of 2 with a zero margin: every head but each window's best is drawn
    // again, 4 windows × 3 heads in all.
    let reinits: usize = m
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse::<usize>().unwrap())
        .sum();
    assert_eq!(reinits, 12, "{m}");
    assert_eq!(
        rows_without_time(&metrics[0]),
        rows_without_time(&metrics[1])
    );
}

/// MINE with the cosine critic (`model.critic = "cosine"`): the run trains with no T weights,
/// its config records the critic and τ (and no hidden width), and `mirun eval` reloads the
/// encoder and reproduces the recorded probe.
#[test]
fn a_cosine_critic_trains_and_reloads() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, out) = (tmp.path().join("data"), tmp.path().join("out"));
    let run = run_shipped(
        "mine_mnist_quick.toml",
        &[
            &[
                "--set",
                "model.critic=\"cosine\"",
                "--set",
                "loss.kind=\"infonce\"",
            ][..],
            &SMALL_RUN,
        ]
        .concat(),
        &data,
        &out,
    );
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(
        config.contains("critic = \"cosine\"") && config.contains("temperature = 0.1"),
        "{config}"
    );
    assert!(!config.contains("hidden"), "{config}");
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let recorded: Vec<&str> = metrics.lines().nth(1).unwrap().split(',').collect();
    // InfoNCE never exceeds ln B = ln 128, and its loss is minus the bound.
    let loss: f64 = recorded[1].parse().unwrap();
    assert!(loss.is_finite() && -loss <= 128f64.ln() + 1e-6, "{metrics}");
    let eval = eval_last(&run, &data);
    let row: Vec<&str> = eval.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(
        row[3], recorded[3],
        "held-out probe reproduced: {eval}\n{metrics}"
    );
}

/// `mirun eval --neighbours`: the class's test images split into those the selected head keeps
/// and those it moves, with the share of 7s among their nearest training images in three
/// spaces; in pixel space most neighbours of a 7 are 7s (a broken distance would give ~10 %).
#[test]
fn the_neighbour_diagnostic_splits_a_class_and_finds_its_neighbours() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let small: Vec<&str> = SMALL_RUN.iter().skip(1).step_by(2).copied().collect();
    let run = run_e2e(tmp.path(), &tmp.path().join("out"), &small, &data);
    // A class no image has: refused before the evaluation writes anything.
    let o = mirun(
        &["eval", run.to_str().unwrap(), "--neighbours", "11"],
        &data,
    );
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("--neighbours 11: no test image has label 11 (labels 0–9)"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!run.join("eval-last.csv").exists());
    // A sweep's `--metric` on one run's plot.
    let o = mirun(&["plot", run.to_str().unwrap(), "--metric", "loss"], &data);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("`--metric` picks a sweep's metric"));
    let o = mirun(&["eval", run.to_str().unwrap(), "--neighbours"], &data);
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        said.contains("class 7: ") && said.contains("(selected)"),
        "{said}"
    );
    let csv = std::fs::read_to_string(run.join("neighbours-last.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 2 * 3 * 3, "groups × spaces × k:\n{csv}");
    // Every 7 of the first 256 test images is in one of the two groups (counted from the
    // IDX labels themselves: 8 header bytes, then one byte per image).
    let labels = std::fs::read(data.join("mnist/t10k-labels-idx1-ubyte")).unwrap();
    let mnist_sevens = labels[8..8 + 256].iter().filter(|&&l| l == 7).count();
    let images = |group: &str| -> usize {
        rows.iter()
            .find(|r| r[0] == group)
            .map_or(0, |r| r[3].parse().unwrap())
    };
    assert_eq!(images("moved") + images("kept"), mnist_sevens, "{csv}");
    assert!(mnist_sevens > 10, "{csv}");
    for r in rows.iter().filter(|r| r[3] != "0") {
        let (k, both): (f64, f64) = (r[2].parse().unwrap(), r[8].parse().unwrap());
        assert!(both <= k, "{csv}");
        // Empty where no image of the group shares a neighbour across the two spaces.
        if let Ok(share) = r[4].parse::<f64>() {
            assert!((0.0..=1.0).contains(&share), "{csv}");
        }
    }
    let pixel_share: f64 = rows
        .iter()
        .filter(|r| r[1] == "pixels" && r[2] == "5" && r[3] != "0")
        .map(|r| r[3].parse::<f64>().unwrap() * r[4].parse::<f64>().unwrap())
        .sum::<f64>()
        / mnist_sevens as f64;
    assert!(
        pixel_share > 0.5,
        "nearest images of a 7 in pixel space: {pixel_share}\n{csv}"
    );
}

/// `[[stages]]`: two stages in one run directory, the second (self-labelling) starting from the
/// first's trunk and selected head; a run killed between the stages resumes with the second
/// (the first is skipped) to the same rows; `mirun eval` scores the last stage.
#[test]
fn stages_chain_in_one_run_and_resume_between_stages() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = tmp.path().join("two.toml");
    std::fs::write(
        &file,
        format!(
            "{PIPELINE}\n[[stages]]\nname = \"cluster\"\n\n[[stages]]\nname = \"refine\"\n\
             set = {{ \"heads.count\" = 1, \"train.lr\" = 1e-4, \"loss.kind\" = \"selflabel\", \
             \"loss.threshold\" = 0.3 }}\n"
        ),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let small: Vec<&str> = SMALL_RUN.to_vec();
    let args = || {
        let mut a = vec![
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        a.extend(small.iter().copied());
        a
    };
    // Runs mirun, asserts it succeeded, and returns what it printed.
    let said = |args: &[&str]| {
        let o = mirun(args, &data);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let first = said(&args());
    assert!(
        first.contains("stage 2/2 `refine` starts from the trunk and its selected head"),
        "{first}"
    );
    let run = only_dir(&out.join("e2e"));
    let second = run.join("stage-2-refine");
    for f in [
        "stage-1-cluster/metrics.csv",
        "stage-1-cluster/stage.toml",
        "stage-2-refine/weights-last.bpk",
    ] {
        assert!(run.join(f).is_file(), "{f}");
    }
    let summary = std::fs::read_to_string(out.join("e2e/summary.csv")).unwrap();
    assert!(
        summary
            .lines()
            .next()
            .unwrap()
            .contains("stage_cluster_selected_accuracy"),
        "{summary}"
    );
    assert_eq!(
        summary.lines().count(),
        2,
        "one row for the whole run:\n{summary}"
    );
    let metrics = std::fs::read_to_string(second.join("metrics.csv")).unwrap();
    assert_eq!(
        metrics.lines().count(),
        2,
        "one head, one epoch:\n{metrics}"
    );
    // A cross-entropy (self-labelling), not IIC's minus mutual information.
    let loss: f64 = metrics
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    assert!(loss > 0.0, "{metrics}");

    // Killed between the stages: the second stage's folder and the summary row are missing.
    std::fs::remove_dir_all(&second).unwrap();
    std::fs::remove_file(out.join("e2e/summary.csv")).unwrap();
    let resumed = said(&args());
    assert!(
        resumed.contains("stage 1/2 `cluster`: finished before"),
        "{resumed}"
    );
    let again = std::fs::read_to_string(second.join("metrics.csv")).unwrap();
    assert_eq!(rows_without_time(&again), rows_without_time(&metrics));
    assert!(out.join("e2e/summary.csv").is_file());

    // Scored as its last stage, in that stage's folder.
    let o = mirun(&["eval", run.to_str().unwrap()], &data);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let eval = std::fs::read_to_string(second.join("eval-last.csv")).unwrap();

    // --fresh starts the whole run over, finished stages included.
    let mut fresh = args();
    fresh.push("--fresh");
    let rerun = said(&fresh);
    assert!(
        !rerun.contains("finished before") && rerun.contains("stage 1/2 `cluster` →"),
        "{rerun}"
    );
    let accuracy = |text: &str| {
        text.lines()
            .nth(1)
            .unwrap()
            .split(',')
            .nth(1)
            .unwrap()
            .to_string()
    };
    assert_eq!(
        accuracy(&eval)[..6],
        metrics.lines().nth(1).unwrap().split(',').nth(3).unwrap()[..6]
    );
}

/// `train.init_from`: a run starts from a finished run's trunk and heads. With a learning rate
/// too small to move a weight and BatchNorm evaluated on batch statistics, its first epoch
/// scores exactly what the source ended with, and a fresh start does not; a one-head run takes
/// the source's selected head. A folder that holds no run is refused before anything is
/// written.
#[test]
fn a_run_starts_from_a_finished_runs_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut small: Vec<&str> = SMALL_RUN.to_vec();
    small.extend(["--set", "backbone.batch_norm_eval=\"batch\""]);
    let source = run_file_in(tmp.path(), "a", &small, &data);
    // (head, accuracy, selected) of the last epoch.
    let heads = |run: &Path| -> Vec<(String, String, String)> {
        let text = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
        let rows: Vec<Vec<String>> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect();
        let last = rows.iter().map(|r| r[0].clone()).max().unwrap();
        rows.into_iter()
            .filter(|r| r[0] == last)
            .map(|r| (r[1].clone(), r[3].clone(), r[6].clone()))
            .collect()
    };
    let accuracies = |run: &Path| heads(run).into_iter().map(|h| h.1).collect::<Vec<_>>();
    let from = format!("train.init_from=\"{}\"", source.display());
    let mut still = small.clone();
    still.extend(["--set", "train.lr=1e-30"]);
    let mut started = still.clone();
    started.extend(["--set", &from]);
    let b = run_file_in(tmp.path(), "b", &started, &data);
    assert_eq!(accuracies(&b), accuracies(&source));
    let c = run_file_in(tmp.path(), "c", &still, &data);
    assert_ne!(
        accuracies(&c),
        accuracies(&source),
        "a fresh start scores otherwise"
    );
    assert!(std::fs::read_to_string(b.join("config.toml"))
        .unwrap()
        .contains("init_from"));

    // One head: the source's selected one, said in the log.
    let selected = heads(&source).into_iter().find(|h| h.2 == "1").unwrap();
    let mut one = started.clone();
    one.extend(["--set", "heads.count=1"]);
    let file = tmp.path().join("e2e.toml");
    let out_d = tmp.path().join("d");
    let mut args = vec![
        "run",
        file.to_str().unwrap(),
        "--out",
        out_d.to_str().unwrap(),
    ];
    args.extend(one.iter().copied());
    let o = mirun(&args, &data);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        said.contains(&format!(
            "starts from the trunk and its selected head {} of {}",
            selected.0,
            source.display()
        )),
        "{said}"
    );
    assert_eq!(accuracies(&only_dir(&out_d.join("e2e"))), vec![selected.1]);

    // Not a run: refused, and nothing written.
    let out_e = tmp.path().join("e");
    let nothing = format!("train.init_from=\"{}\"", tmp.path().join("nope").display());
    let mut args = vec![
        "run",
        file.to_str().unwrap(),
        "--out",
        out_e.to_str().unwrap(),
    ];
    args.extend(still.iter().copied());
    args.extend(["--set", &nothing]);
    let o = mirun(&args, &data);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("`train.init_from`") && err.contains("no such folder"),
        "{err}"
    );
    assert!(!out_e.join("e2e").exists(), "nothing written");

    // Another trunk: refused, naming what differs.
    let mut args = vec!["check", file.to_str().unwrap()];
    args.extend(started.iter().copied());
    args.extend(["--set", "backbone.kernel_size=5"]);
    let o = mirun(&args, &data);
    assert!(!o.status.success());
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        said.contains(
            "its backbone differs from this run's (`backbone.kernel_size` 3 there, 5 here)"
        ),
        "{said}"
    );
}

/// `heads.select = "fixed_pass"`: every head's IIC loss over one fixed augmented pass of the
/// training set is recorded, and the selected head is the one where it is lowest.
#[test]
fn the_fixed_pass_selects_the_head_of_lowest_pass_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let small = SMALL_RUN.iter().skip(1).step_by(2).copied();
    let sets: Vec<&str> = [
        "heads.count=3",
        "heads.select=\"fixed_pass\"",
        "train.epochs=2",
    ]
    .into_iter()
    .chain(small.filter(|s| !s.starts_with("train.epochs")))
    .collect();
    let run = run_e2e(tmp.path(), &tmp.path().join("out"), &sets, &data);
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let header: Vec<&str> = metrics.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|c| *c == name).unwrap();
    let (pass, selected, epoch) = (col("pass_loss"), col("selected"), col("epoch"));
    let rows: Vec<Vec<&str>> = metrics
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 2 * 3, "{metrics}");
    for e in ["1", "2"] {
        let of_epoch: Vec<&Vec<&str>> = rows.iter().filter(|r| r[epoch] == e).collect();
        let loss = |r: &Vec<&str>| r[pass].parse::<f64>().unwrap();
        assert!(
            of_epoch
                .iter()
                .all(|r| loss(r).is_finite() && loss(r) <= 0.0),
            "{metrics}"
        );
        let lowest = of_epoch
            .iter()
            .map(|r| loss(r))
            .fold(f64::INFINITY, f64::min);
        let chosen: Vec<&&Vec<&str>> = of_epoch.iter().filter(|r| r[selected] == "1").collect();
        assert_eq!(chosen.len(), 1, "{metrics}");
        assert_eq!(loss(chosen[0]), lowest, "{metrics}");
    }
}

/// `train.precision = "bf16"` on flex (CPUs with AVX-512-BF16): trains, records the precision,
/// gives the same rows for the same seed, and not the f32 rows (its products are rounded).
#[cfg(target_arch = "x86_64")]
#[test]
fn bf16_on_flex_trains_reproducibly_and_differs_from_f32() {
    if !mirun::backend::flex_has_bf16() {
        eprintln!("skipped: this CPU has no AVX-512-BF16 (the refusal is in bad_input_corpus)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let sets = |precision: &'static str| {
        [
            &SMALL_RUN[..],
            &["--device", "flex", "--set", precision][..],
        ]
        .concat()
    };
    let bf16 = sets("train.precision=\"bf16\"");
    let a = run_file_in(tmp.path(), "a", &bf16, &data);
    let b = run_file_in(tmp.path(), "b", &bf16, &data);
    let f = run_file_in(tmp.path(), "f", &sets("train.precision=\"f32\""), &data);
    let config = std::fs::read_to_string(a.join("config.toml")).unwrap();
    assert!(config.contains("precision = \"bf16\""), "{config}");
    let rows =
        |run: &Path| rows_without_time(&std::fs::read_to_string(run.join("metrics.csv")).unwrap());
    assert_eq!(rows(&a), rows(&b), "same seed, same rows in bf16");
    assert_ne!(rows(&a), rows(&f), "bf16 rounds the products");
}

/// The test `PIPELINE` run into `dir/<out>` with `extra` arguments; its run folder.
fn run_file_in(dir: &Path, out: &str, extra: &[&str], data: &Path) -> PathBuf {
    let file = dir.join("e2e.toml");
    std::fs::write(&file, PIPELINE).unwrap();
    run_file(&file, "e2e", extra, data, &dir.join(out))
}
