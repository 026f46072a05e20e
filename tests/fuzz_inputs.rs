//! Property-based fuzzing of the input readers: whatever the bytes, the config loader, the
//! sweep reader, the data fetcher (gzip + IDX checksum), the summary reader and the score
//! reader return a result — they never panic — and a config error says where (file, line,
//! key). `MIRUN_FUZZ_CASES` sets the cases per target
//! (default 64 in the test suite; the long runs in the closing note used far more).

use mirun::spec::{load, SpecSource, SweepSpec};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::path::Path;

fn cases() -> u32 {
    std::env::var("MIRUN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })
}

/// Edits of a real file: byte flips, insertions and cuts at random places.
fn mutated(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = base.len().max(1);
    prop::collection::vec((0..len, any::<u8>(), 0u8..4), 1..8).prop_map(move |edits| {
        let mut b = base.clone();
        for (at, byte, op) in edits {
            let at = at.min(b.len().saturating_sub(1));
            match op {
                0 if !b.is_empty() => b[at] = byte,
                1 => b.insert(at, byte),
                2 if !b.is_empty() => {
                    b.remove(at);
                }
                _ => b.truncate(at),
            }
        }
        b
    })
}

/// Config-looking text built from real keys, odd values and TOML punctuation.
fn toml_like() -> impl Strategy<Value = String> {
    let keys = prop::sample::select(vec![
        "[train]",
        "[dataset]",
        "[heads]",
        "[backbone]",
        "[sweep]",
        "[model]",
        "[loss]",
        "[evaluator]",
        "[augment.rotate]",
        "epochs",
        "batch_size",
        "lr",
        "count",
        "cfg",
        "kind",
        "extends",
        "grid",
        "seeds",
        "zip",
        "dim",
        "cov_xy",
        "latent_dim",
        "\"heads.count\"",
        "train_size",
        "sizes",
        "steps",
    ]);
    let values = prop::sample::select(vec![
        "1",
        "0",
        "-1",
        "1e309",
        "nan",
        "inf",
        "\"F\"",
        "\"gaussian\"",
        "[]",
        "[64, \"M\"]",
        "\"range(1, 6)\"",
        "{ \"heads.count\" = [1, 2] }",
        "\"../x.toml\"",
        "true",
        "\"\"",
        "[[1]]",
        "18446744073709551616",
        "\"mine_ema\"",
        "{}",
        "1.5",
    ]);
    prop::collection::vec((keys, values, prop::bool::ANY), 0..12).prop_map(|lines| {
        lines
            .into_iter()
            .map(|(k, v, header)| {
                if header || k.starts_with('[') {
                    format!("{k}\n")
                } else {
                    format!("{k} = {v}\n")
                }
            })
            .collect()
    })
}

/// Loads `bytes` as a pipeline file. An error must say where: it starts with the file's path
/// (`FILE:LINE:COL: …`, or `N problem(s) in FILE:` followed by one `- FILE:LINE:COL: `key`: …`
/// line per problem), or names the file that `extends` could not find.
fn load_config(dir: &Path, bytes: &[u8]) {
    let file = dir.join("fuzz.toml");
    std::fs::write(&file, bytes).unwrap();
    let shown = file.display().to_string();
    if let Err(e) = load(&SpecSource {
        file: Some(file.clone()),
        overrides: Vec::new(),
    }) {
        let msg = format!("{e:#}");
        let mut lines = msg.lines();
        let first = lines.next().unwrap_or("");
        if let Some(rest) = first.split_once(" problem(s) in ").map(|(_, r)| r) {
            assert_eq!(rest, format!("{shown}:"), "{msg}");
            for line in lines {
                let line = line.trim_start();
                assert!(
                    line.starts_with(&format!("- {shown}:")) && line.contains('`'),
                    "each problem names the file, its line and the key: {msg}"
                );
            }
        } else {
            assert!(
                first.starts_with(&shown),
                "the error starts with the file: {msg}"
            );
        }
    }
    match SweepSpec::from_file(&file) {
        Ok(Some(s)) => {
            let _ = s.points();
        }
        Ok(None) => {}
        Err(e) => assert!(e.to_string().contains(&shown), "{e}"),
    }
}

#[test]
fn config_loader_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for base in [
        "pipelines/iic_quick.toml",
        "pipelines/mine_gaussian.toml",
        "pipelines/iic_heads.toml",
    ] {
        let text = std::fs::read(repo.join(base)).unwrap();
        runner()
            .run(&mutated(text), |b| {
                load_config(dir.path(), &b);
                Ok(())
            })
            .unwrap();
    }
    runner()
        .run(&toml_like(), |t| {
            load_config(dir.path(), t.as_bytes());
            Ok(())
        })
        .unwrap();
}

#[test]
fn idx_and_gzip_reader_never_panics() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let labels = std::fs::read(repo.join("data/mnist/t10k-labels-idx1-ubyte.gz")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let i = std::sync::atomic::AtomicU64::new(0);
    let fetch = |gz: &[u8]| {
        // One data dir per case; the mutated bytes stand in for the first file checked, so no
        // mirror or download is ever consulted.
        let n = i.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let d = dir.path().join(n.to_string());
        let m = d.join("mnist");
        std::fs::create_dir_all(&m).unwrap();
        std::fs::write(m.join("train-images-idx3-ubyte.gz"), gz).unwrap();
        let r = mirun::data::fetch::ensure(mirun::spec::DatasetKind::Mnist, &d);
        assert!(r.is_err(), "a mutated file never verifies");
        let _ = std::fs::remove_dir_all(&d);
    };
    runner()
        .run(&mutated(labels), |b| {
            fetch(&b);
            Ok(())
        })
        .unwrap();
    runner()
        .run(&prop::collection::vec(any::<u8>(), 0..512), |b| {
            fetch(&b);
            Ok(())
        })
        .unwrap();
}

#[test]
fn csv_readers_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let summary = b"run_id,status,heads.count,pipeline.seed,selected_accuracy\n\
        a,finished,1,1,0.9\nb,finished,2,1,0.8\nc,failed,3,1,\n"
        .to_vec();
    let scores = b"label,cluster\n1,a\n2,b\n3,a\n\"x\",\"y\"\n".to_vec();
    runner()
        .run(&(mutated(summary), mutated(scores)), |(s, c)| {
            let p = dir.path().join("summary.csv");
            std::fs::write(&p, &s).unwrap();
            let _ = mirun::report::table::table(&p, &Default::default());
            let _ = mirun::report::diff::diff(&p, &p, &Default::default());
            let q = dir.path().join("scores.csv");
            std::fs::write(&q, &c).unwrap();
            let _ = mirun::eval::score_csv(&q, "label", "cluster");
            Ok(())
        })
        .unwrap();
}
