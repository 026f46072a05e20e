//! The bad-input corpus: generated wrong values for every key, corrupt and missing data files,
//! unwritable and full results folders, hand-broken CSVs, bad flags. Every case must exit
//! non-zero with a message naming the key, file, flag or line — never a panic — and leave no
//! partial output behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn mirun(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mirun"));
    c.args(args)
        .current_dir(dir)
        .env_remove("MIRUN_DATA_MIRROR")
        .env("MIRUN_DATA_DIR", repo().join("data"));
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run mirun")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Checks one case; returns a description of what went wrong, if anything.
fn judge(name: &str, o: &Output, needles: &[&str]) -> Option<String> {
    let t = text(o);
    let panicked =
        t.contains("panicked") || t.contains("internal error") || t.contains("RUST_BACKTRACE");
    let missing: Vec<_> = needles.iter().filter(|n| !t.contains(**n)).collect();
    if o.status.success() || panicked || !missing.is_empty() {
        Some(format!(
            "{name}: exit {:?}, panicked {panicked}, missing {missing:?} in:\n{t}",
            o.status.code()
        ))
    } else {
        None
    }
}

/// Temp files left by an interrupted atomic write.
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(leftovers(&p));
        } else if e.file_name().to_string_lossy().starts_with(".mirun-") {
            out.push(p);
        }
    }
    out
}

/// (key, context `--set`s, bad values) — wrong types, signs, ranges for every key.
fn value_cases() -> Vec<(&'static str, Vec<&'static str>, Vec<&'static str>)> {
    let iic: Vec<&str> = vec![];
    let gauss = vec!["dataset.kind=\"gaussian\"", "loss.kind=\"mine\""];
    let mine = vec!["loss.kind=\"mine\""];
    let ints = vec!["\"x\"", "-1", "1.5", "[1]"];
    let floats = vec!["\"x\"", "-1.0", "nan"];
    let mut v = Vec::new();
    for key in [
        "dataset.train_size",
        "dataset.test_size",
        "augment.size",
        "augment.rotate.max_degrees",
        "backbone.kernel_size",
        "heads.count",
        "heads.clusters",
        "train.epochs",
        "train.batch_size",
        "train.lr_decay_every",
    ] {
        v.push((key, iic.clone(), ints.clone()));
    }
    v.push(("pipeline.seed", iic.clone(), vec!["\"x\"", "-1", "1.5"]));
    v.push((
        "pipeline.name",
        iic.clone(),
        vec!["3", "\"a/b\"", "\".hidden\""],
    ));
    for key in [
        "train.lr",
        "train.lr_decay",
        "train.adam_eps",
        "loss.eps",
        "augment.rotate.weight",
        "augment.random_crop.weight",
        "augment.random_crop.centre_prob",
    ] {
        v.push((key, iic.clone(), floats.clone()));
    }
    for key in [
        "dataset.kind",
        "backbone.kind",
        "loss.kind",
        "evaluator.kind",
    ] {
        v.push((key, iic.clone(), vec!["\"nope\"", "3"]));
    }
    v.push(("backbone.batch_norm", iic.clone(), vec!["\"yes\"", "1"]));
    v.push(("train.precision", iic.clone(), vec!["\"fp16\"", "16"]));
    v.push(("train.precision", gauss.clone(), vec!["\"bf16\""]));
    v.push((
        "augment.copies",
        iic.clone(),
        vec!["0", "17", "-1", "\"x\""],
    ));
    v.push(("heads.overcluster", iic.clone(), vec!["1", "-5", "\"x\""]));
    v.push((
        "heads.aux_schedule",
        vec!["heads.overcluster=50"],
        vec!["\"sometimes\"", "3"],
    ));
    v.push((
        "augment.random_crop.sizes",
        iic.clone(),
        vec!["[0]", "[29]", "\"x\"", "[\"a\"]"],
    ));
    v.push((
        "backbone.cfg",
        iic.clone(),
        vec!["[]", "\"Z\"", "[64, \"X\"]", "[0]", "3"],
    ));
    v.push((
        "dataset.cov_xy",
        gauss.clone(),
        vec!["1.0", "-1.0", "\"x\"", "nan"],
    ));
    v.push(("dataset.dim", gauss.clone(), vec!["0", "-2", "\"x\""]));
    v.push(("dataset.marginal", gauss.clone(), vec!["\"nope\"", "3"]));
    v.push(("train.steps", gauss.clone(), vec!["0", "\"x\""]));
    v.push(("evaluator.bins", gauss.clone(), vec!["1", "\"x\""]));
    v.push(("evaluator.binned_samples", gauss.clone(), vec!["10", "-5"]));
    v.push(("model.latent_dim", mine.clone(), vec!["0", "\"x\"", "-3"]));
    v.push(("model.hidden", mine.clone(), vec!["0", "\"x\""]));
    v.push(("evaluator.probe_epochs", mine.clone(), vec!["0", "\"x\""]));
    v.push(("model.critic", mine.clone(), vec!["\"nope\"", "3"]));
    v.push(("model.critic", iic.clone(), vec!["\"cosine\""]));
    v.push(("model.critic", gauss.clone(), vec!["\"cosine\""]));
    let cosine = vec!["loss.kind=\"mine\"", "model.critic=\"cosine\""];
    v.push((
        "model.temperature",
        cosine.clone(),
        vec!["0.0", "-1.0", "11.0", "nan", "\"x\""],
    ));
    v.push(("model.temperature", mine.clone(), vec!["0.5"]));
    v.push(("model.hidden", cosine, vec!["16"]));
    v.push((
        "loss.entropy_weight",
        iic.clone(),
        vec!["0.0", "-1.0", "11.0", "nan", "\"x\""],
    ));
    v.push(("loss.entropy_weight", mine.clone(), vec!["2.0"]));
    v.push((
        "loss.ema_rate",
        vec!["loss.kind=\"mine_ema\""],
        vec!["0.0", "2.0", "\"x\""],
    ));
    v
}

#[test]
fn wrong_values_for_every_key() {
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut n = 0;
    for (key, context, bad) in value_cases() {
        for value in bad {
            let set = format!("{key}={value}");
            let mut args = vec![
                "check".to_string(),
                repo()
                    .join("pipelines/iic_quick.toml")
                    .display()
                    .to_string(),
            ];
            for c in context.iter().chain([&set.as_str()]) {
                args.push("--set".into());
                args.push(c.to_string());
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let o = mirun(tmp.path(), &args, &[]);
            let origin = format!("--set {set}");
            if let Some(f) = judge(&set, &o, &[key, &origin]) {
                failures.push(f);
            }
            n += 1;
        }
    }
    assert!(n >= 100, "{n} generated cases");
    assert!(
        failures.is_empty(),
        "{} of {n} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn corrupt_missing_and_truncated_data_files() {
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let src = repo().join("data/mnist");
    // (case, what to do to a fresh copy of the data dir, needles)
    type Break = fn(&Path, &str);
    let cases: Vec<(&str, Break, &[&str])> = vec![
        (
            "gz_missing",
            |d, f| std::fs::remove_file(d.join(format!("{f}.gz"))).unwrap(),
            &["could not obtain", ".gz"],
        ),
        (
            "gz_truncated",
            |d, f| {
                let p = d.join(format!("{f}.gz"));
                let b = std::fs::read(&p).unwrap();
                std::fs::write(&p, &b[..b.len() / 2]).unwrap();
            },
            &["not a valid gzip file", ".gz"],
        ),
        (
            "gz_not_gzip",
            |d, f| std::fs::write(d.join(format!("{f}.gz")), b"plain text, not gzip").unwrap(),
            &["not a valid gzip file"],
        ),
        (
            "gz_wrong_magic",
            |d, f| {
                let p = d.join(format!("{f}.gz"));
                let mut raw = gunzip(&std::fs::read(&p).unwrap());
                raw[..4].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
                std::fs::write(&p, gzip(&raw)).unwrap();
            },
            &["SHA-256", "expected"],
        ),
        (
            "gz_short_content",
            |d, f| {
                // A valid IDX gzip of fewer items (labels and images of different lengths).
                let p = d.join(format!("{f}.gz"));
                let raw = gunzip(&std::fs::read(&p).unwrap());
                std::fs::write(&p, gzip(&raw[..raw.len() - 1000])).unwrap();
            },
            &["decompresses to", "bytes"],
        ),
        (
            "raw_truncated",
            |d, f| {
                let raw = gunzip(&std::fs::read(d.join(format!("{f}.gz"))).unwrap());
                std::fs::write(d.join(f), &raw[..raw.len() / 3]).unwrap();
            },
            &["bytes, expected", "mirun data fetch"],
        ),
        (
            "raw_corrupt",
            |d, f| {
                let mut raw = gunzip(&std::fs::read(d.join(format!("{f}.gz"))).unwrap());
                let mid = raw.len() / 2;
                raw[mid] ^= 0xff;
                std::fs::write(d.join(f), raw).unwrap();
            },
            &["SHA-256 does not match", "mirun data fetch"],
        ),
    ];
    let mut n = 0;
    for (case, brk, needles) in &cases {
        for file in FILES {
            let data = tmp.path().join(format!("{case}-{file}"));
            let mnist = data.join("mnist");
            std::fs::create_dir_all(&mnist).unwrap();
            for f in FILES {
                std::fs::copy(src.join(format!("{f}.gz")), mnist.join(format!("{f}.gz"))).unwrap();
            }
            brk(&mnist, file);
            let broken_raw_before = mnist.join(file).exists();
            let o = mirun(
                tmp.path(),
                &["data", "fetch", "mnist", "--dir", data.to_str().unwrap()],
                &[],
            );
            let name = format!("{case}/{file}");
            let mut needles = needles.to_vec();
            needles.push(file);
            if let Some(f) = judge(&name, &o, &needles) {
                failures.push(f);
            }
            if !broken_raw_before && mnist.join(file).exists() {
                failures.push(format!("{name}: a raw file was written from a bad .gz"));
            }
            if !leftovers(&data).is_empty() {
                failures.push(format!("{name}: temp files left: {:?}", leftovers(&data)));
            }
            n += 1;
        }
    }
    assert_eq!(n, 28);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const SUMMARY: &str = "run_id,status,heads.count,pipeline.seed,selected_accuracy\n\
    a,finished,1,1,0.9\nb,finished,2,1,0.8\n";

#[test]
fn broken_csvs_and_bad_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let good = write(d, "good.csv", SUMMARY);
    let good = good.to_str().unwrap();
    let bad_cell = write(
        d,
        "bad_cell.csv",
        &format!("{SUMMARY}c,finished,3,1,high\n"),
    );
    let bad_quote = write(
        d,
        "bad_quote.csv",
        &format!("{SUMMARY}c,finished,3,1,\"0.5\n"),
    );
    let too_many = write(
        d,
        "too_many.csv",
        &format!("{SUMMARY}c,finished,3,1,0.5,extra\n"),
    );
    let scores = write(d, "scores.csv", "label,cluster\n1,a\n2,b\n3\n");
    let no_cols = write(d, "nocols.csv", "lbl,cl\n1,2\n");
    let empty = write(d, "empty.csv", "");
    let p = |x: &PathBuf| x.to_str().unwrap().to_string();
    let (bad_cell, bad_quote, too_many) = (p(&bad_cell), p(&bad_quote), p(&too_many));
    let (scores, no_cols, empty) = (p(&scores), p(&no_cols), p(&empty));
    let pipeline = repo()
        .join("pipelines/iic_quick.toml")
        .display()
        .to_string();
    let sweep = repo()
        .join("pipelines/iic_heads_quick.toml")
        .display()
        .to_string();
    let gaussian = repo()
        .join("pipelines/mine_gaussian.toml")
        .display()
        .to_string();
    let a_file = write(d, "not_a_dir", "x");
    let bf16_out = d.join("bf16_runs");
    let mut cases: Vec<(&str, Vec<&str>, Vec<&str>)> = vec![
        (
            "table_bad_cell",
            vec!["table", &bad_cell],
            vec!["bad_cell.csv", "line 4", "selected_accuracy"],
        ),
        (
            "table_bad_quote",
            vec!["table", &bad_quote],
            vec!["bad_quote.csv", "line"],
        ),
        (
            "table_too_many",
            vec!["table", &too_many],
            vec!["too_many.csv", "line 4"],
        ),
        (
            "table_missing",
            vec!["table", "no/such/dir"],
            vec!["no/such/dir"],
        ),
        (
            "table_unknown_by",
            vec!["table", good, "--by", "heads.cuont"],
            vec!["heads.cuont", "heads.count"],
        ),
        (
            "table_unknown_metric",
            vec!["table", good, "--metric", "acc"],
            vec!["acc", "selected_accuracy"],
        ),
        (
            "diff_bad_cell",
            vec!["diff", good, &bad_cell],
            vec!["bad_cell.csv", "line 4"],
        ),
        (
            "diff_missing",
            vec!["diff", good, "nope.csv"],
            vec!["nope.csv"],
        ),
        (
            "diff_bad_expr",
            vec!["diff", good, good, "--fail-if", "selected_accuracy ~ 3"],
            vec!["selected_accuracy ~ 3"],
        ),
        (
            "diff_bad_number",
            vec!["diff", good, good, "--fail-if", "selected_accuracy < x"],
            vec!["selected_accuracy < x"],
        ),
        (
            "diff_unknown_metric",
            vec!["diff", good, good, "--fail-if", "acc < 0"],
            vec!["acc"],
        ),
        (
            "score_short_row",
            vec!["score", &scores],
            vec!["scores.csv", "line 4"],
        ),
        (
            "score_no_columns",
            vec!["score", &no_cols],
            vec!["nocols.csv", "label"],
        ),
        ("score_empty", vec!["score", &empty], vec!["empty.csv"]),
        ("score_missing", vec!["score", "none.csv"], vec!["none.csv"]),
        (
            "sweep_grid_no_eq",
            vec!["sweep", &sweep, "--dry-run", "--grid", "heads.count"],
            vec!["--grid heads.count"],
        ),
        (
            "sweep_grid_empty",
            vec!["sweep", &sweep, "--dry-run", "--grid", "heads.count="],
            vec!["--grid heads.count="],
        ),
        (
            "sweep_seeds_text",
            vec!["sweep", &sweep, "--dry-run", "--seeds", "a,b"],
            vec!["--seeds a,b"],
        ),
        (
            "sweep_zip_lengths",
            vec![
                "sweep",
                &sweep,
                "--dry-run",
                "--zip",
                "train.lr=0.1,0.2",
                "--zip",
                "train.epochs=1",
            ],
            vec!["equal lengths"],
        ),
        (
            "sweep_no_jobs",
            vec!["sweep", &sweep, "--dry-run", "-j", "0"],
            vec!["-j", "expected at least 1"],
        ),
        (
            "sweep_unknown_key",
            vec!["sweep", &sweep, "--dry-run", "--grid", "heads.cuont=1,2"],
            vec!["heads.cuont", "did you mean `heads.count`"],
        ),
        (
            "sweep_missing_file",
            vec!["sweep", "nope.toml", "--dry-run"],
            vec!["nope.toml"],
        ),
        (
            "run_missing_file",
            vec!["run", "nope.toml"],
            vec!["nope.toml"],
        ),
        (
            "run_out_is_a_file",
            vec![
                "run",
                &pipeline,
                "--set",
                "train.epochs=1",
                "--out",
                a_file.to_str().unwrap(),
            ],
            vec!["not_a_dir"],
        ),
        (
            "run_bad_set",
            vec!["run", &pipeline, "--set", "train.epochs"],
            vec!["--set", "train.epochs"],
        ),
        ("run_sweep_file", vec!["run", &sweep], vec!["mirun sweep"]),
        (
            "bench_bf16_with_another_conv",
            vec![
                "bench",
                &pipeline,
                "--conv",
                "native",
                "--set",
                "train.precision=\"bf16\"",
            ],
            vec!["--conv", "bf16", "drop --conv"],
        ),
        (
            "bench_mine_pipeline",
            vec!["bench", &gaussian],
            vec![
                "mine_gaussian.toml",
                "`mirun bench` times IIC's training step",
            ],
        ),
        (
            "bench_no_steps",
            vec!["bench", &pipeline, "--steps", "0"],
            vec!["--steps", "expected at least 1"],
        ),
        (
            "eval_not_a_run",
            vec!["eval", d.to_str().unwrap()],
            vec!["not a run directory"],
        ),
        (
            "eval_grid_zero",
            vec!["eval", d.to_str().unwrap(), "--grid", "0"],
            vec!["--grid", "expected at least 1"],
        ),
        (
            "plot_missing",
            vec!["plot", "no/such/run"],
            vec!["no/such/run"],
        ),
        (
            "plot_bad_ext",
            vec!["plot", good, "-o", "x.pdf"],
            vec!["x.pdf", ".svg or .png"],
        ),
        (
            "plot_out_folder_missing",
            vec!["plot", good, "-o", "no/such/dir/x.svg"],
            vec!["no/such/dir/x.svg", "the folder no/such/dir does not exist"],
        ),
        (
            "table_not_a_summary",
            vec!["table", &no_cols],
            vec!["nocols.csv", "not a mirun summary", "`run_id`"],
        ),
        (
            "config_missing",
            vec!["config", "nope.toml"],
            vec!["nope.toml"],
        ),
        (
            "fetch_bad_dir",
            vec!["data", "fetch", "mnist", "--dir", a_file.to_str().unwrap()],
            vec!["not_a_dir"],
        ),
    ];
    // bf16 on flex is refused only where the CPU lacks AVX-512-BF16 (elsewhere it trains:
    // tests/end_to_end.rs).
    if !mirun::backend::flex_has_bf16() {
        cases.push((
            "run_bf16_on_flex",
            vec![
                "run",
                &pipeline,
                "--device",
                "flex",
                "--set",
                "train.precision=\"bf16\"",
                "--out",
                bf16_out.to_str().unwrap(),
            ],
            vec!["train.precision = \"bf16\"", "--device tch", "f32"],
        ));
    }
    let mut failures = Vec::new();
    for (name, args, needles) in &cases {
        let o = mirun(d, args, &[]);
        if let Some(f) = judge(name, &o, needles) {
            failures.push(f);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(!bf16_out.exists(), "a refused run writes nothing");
    assert_eq!(
        std::fs::read_to_string(&a_file).unwrap(),
        "x",
        "left untouched"
    );
}

/// A results folder or data folder on a full file system: a clear error naming the path,
/// no temp files, and no half-written CSV.
#[test]
fn full_disk_during_a_run_and_during_extraction() {
    let tmp = tempfile::tempdir().unwrap();
    let small = tmp.path().join("small");
    std::fs::create_dir_all(&small).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=48k", "tmpfs"])
        .arg(&small)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    }
    let pipeline = write(
        tmp.path(),
        "p.toml",
        "[dataset]\ntrain_size = 256\ntest_size = 128\n[backbone]\ncfg = [64, \"M\", 128]\n[train]\nepochs = 2\nbatch_size = 64\n",
    );
    let o = mirun(
        tmp.path(),
        &[
            "run",
            pipeline.to_str().unwrap(),
            "--out",
            small.to_str().unwrap(),
        ],
        &[],
    );
    let verdict = judge(
        "results on a full disk",
        &o,
        &["No space left", small.to_str().unwrap()],
    );
    let left = leftovers(&small);
    let metrics_ok = std::fs::read_dir(small.join("p"))
        .map(|it| {
            it.flatten().all(
                |e| match std::fs::read_to_string(e.path().join("metrics.csv")) {
                    Ok(t) => csv::Reader::from_reader(t.as_bytes())
                        .records()
                        .all(|r| r.is_ok()),
                    Err(_) => true,
                },
            )
        })
        .unwrap_or(true);

    let data = small.join("data");
    let o2 = mirun(
        tmp.path(),
        &["data", "fetch", "mnist", "--dir", data.to_str().unwrap()],
        &[("MIRUN_DATA_MIRROR", &repo().join("data"))],
    );
    let verdict2 = judge("data on a full disk", &o2, &["No space left"]);
    let raw_written = data.join("mnist/train-images-idx3-ubyte").exists();
    let left2 = leftovers(&data);
    let _ = Command::new("umount").arg(&small).status();
    assert!(verdict.is_none(), "{verdict:?}");
    assert!(left.is_empty(), "temp files left: {left:?}");
    assert!(metrics_ok, "metrics.csv parses");
    assert!(verdict2.is_none(), "{verdict2:?}");
    assert!(!raw_written, "no partial raw file");
    assert!(left2.is_empty(), "temp files left: {left2:?}");
}
