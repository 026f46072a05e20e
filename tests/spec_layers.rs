//! Config layering and rejection of bad keys.

use mirun::spec::{load, Override, SpecError, SpecSource, VggCfg};
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn env(pairs: &[(&str, &str)]) -> Vec<Override> {
    Override::from_env(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

#[test]
fn defaults_then_file_then_env_then_set() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "p.toml",
        "[train]\nepochs = 7\nbatch_size = 64\nlr = 0.01\n[heads]\ncount = 2\n",
    );
    let only_file = load(&SpecSource {
        file: Some(file.clone()),
        overrides: vec![],
    })
    .unwrap();
    assert_eq!(only_file.train.epochs, 7, "file beats defaults");
    assert_eq!(only_file.train.lr_decay, 0.8, "defaults fill the rest");
    assert_eq!(
        only_file.pipeline.name, "p",
        "name defaults to the file stem"
    );

    let mut overrides = env(&[
        ("MIRUN_TRAIN__EPOCHS", "5"),
        ("MIRUN_TRAIN__BATCH_SIZE", "32"),
    ]);
    let with_env = load(&SpecSource {
        file: Some(file.clone()),
        overrides: overrides.clone(),
    })
    .unwrap();
    assert_eq!(with_env.train.epochs, 5, "env beats file");
    assert_eq!(with_env.train.batch_size, 32);

    overrides.push(Override::from_set("train.epochs=3").unwrap());
    overrides.push(Override::from_set("backbone.cfg=[8, \"M\", 16]").unwrap());
    let with_set = load(&SpecSource {
        file: Some(file),
        overrides,
    })
    .unwrap();
    assert_eq!(with_set.train.epochs, 3, "--set beats env");
    assert_eq!(
        with_set.train.batch_size, 32,
        "env still applies where --set is silent"
    );
    assert_eq!(with_set.train.lr, 0.01);
    assert_eq!(with_set.heads.count, 2);
    assert!(matches!(with_set.backbone.cfg, VggCfg::Layers(ref l) if l.len() == 3));
}

#[test]
fn unrelated_mirun_env_vars_are_not_config() {
    let o = env(&[
        ("MIRUN_DATA_MIRROR", "/x"),
        ("PATH", "/bin"),
        ("MIRUN_DATA_DIR", "/d"),
    ]);
    assert_eq!(o.len(), 1);
    assert_eq!(o[0].key, "dataset.dir");
}

#[test]
fn unknown_key_is_rejected_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "typo.toml", "[train]\nepoch = 5\n");
    let err = load(&SpecSource {
        file: Some(file),
        overrides: vec![],
    })
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("epoch"), "{msg}");
    assert!(msg.contains("typo.toml"), "names the file: {msg}");

    let err = load(&SpecSource {
        file: None,
        overrides: vec![Override::from_set("heads.cont=3").unwrap()],
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("cont"), "{err}");
}

#[test]
fn impossible_values_are_all_reported() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "bad.toml",
        "[heads]\ncount = 0\n[train]\nbatch_size = 1\nlr = -1.0\n[augment.random_crop]\nsizes = [30]\n",
    );
    let err = load(&SpecSource {
        file: Some(file),
        overrides: vec![],
    })
    .unwrap_err();
    assert!(matches!(err, SpecError::Rules { .. }));
    let msg = err.to_string();
    for key in [
        "heads.count",
        "train.batch_size",
        "train.lr",
        "augment.random_crop.sizes",
    ] {
        assert!(msg.contains(key), "missing {key} in: {msg}");
    }
}

#[test]
fn extends_merges_tables_and_replaces_lists() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "base.toml",
        "[train]\nepochs = 9\nlr = 0.5\n[augment.random_crop]\nsizes = [16, 18]\n",
    );
    let child = write(
        dir.path(),
        "child.toml",
        "extends = \"base.toml\"\n[train]\nepochs = 2\n[augment.random_crop]\nsizes = [20]\n",
    );
    let s = load(&SpecSource {
        file: Some(child),
        overrides: vec![],
    })
    .unwrap();
    assert_eq!(s.train.epochs, 2, "the extending file wins");
    assert_eq!(s.train.lr, 0.5, "keys it does not set come from the base");
    assert_eq!(s.augment.random_crop.sizes, vec![20], "lists replace");

    let a = write(dir.path(), "a.toml", "extends = \"b.toml\"\n");
    write(dir.path(), "b.toml", "extends = \"a.toml\"\n");
    let err = load(&SpecSource {
        file: Some(a),
        overrides: vec![],
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("cycle"), "{err}");
}

#[test]
fn shipped_pipelines_resolve() {
    for entry in std::fs::read_dir("pipelines").unwrap() {
        let path = entry.unwrap().path();
        let spec = load(&SpecSource {
            file: Some(path.clone()),
            overrides: vec![],
        });
        assert!(spec.is_ok(), "{}: {}", path.display(), spec.unwrap_err());
    }
    let h3 = load(&SpecSource {
        file: Some("pipelines/iic_heads3.toml".into()),
        overrides: vec![],
    })
    .unwrap();
    assert_eq!(
        (h3.heads.count, h3.train.epochs, h3.train.batch_size),
        (3, 1200, 512)
    );
    assert_eq!(h3.pipeline.name, "iic_heads3");
}
