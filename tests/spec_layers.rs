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
    assert!(matches!(err, SpecError::Problems { .. }));
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

#[test]
fn extends_chain_of_three_with_relative_paths() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("shared/common")).unwrap();
    std::fs::create_dir_all(d.join("team")).unwrap();
    write(
        &d.join("shared/common"),
        "root.toml",
        "[dataset]\ndir = \"../../datasets\"\n[train]\nepochs = 9\nlr = 0.5\nbatch_size = 64\n",
    );
    write(
        &d.join("shared"),
        "mid.toml",
        "extends = \"common/root.toml\"\n[train]\nepochs = 4\n[heads]\ncount = 3\n",
    );
    let leaf = write(
        &d.join("team"),
        "leaf.toml",
        "extends = \"../shared/mid.toml\"\n[train]\nlr = 0.01\n",
    );
    let s = load(&SpecSource {
        file: Some(leaf),
        overrides: vec![],
    })
    .unwrap();
    assert_eq!(
        (
            s.train.epochs,
            s.train.lr,
            s.train.batch_size,
            s.heads.count
        ),
        (4, 0.01, 64, 3)
    );
    assert_eq!(
        s.dataset.dir.canonicalize().ok(),
        None,
        "the folder does not exist, but the path is resolved from root.toml's folder"
    );
    assert!(
        s.dataset.dir.ends_with("shared/common/../../datasets"),
        "{}",
        s.dataset.dir.display()
    );
}

#[test]
fn explain_names_the_layer_of_each_value() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "base.toml",
        "[train]\nepochs = 9\nlr = 0.5\nbatch_size = 64\n",
    );
    let file = write(
        dir.path(),
        "p.toml",
        "extends = \"base.toml\"\n\n[train]\nlr = 0.25\nbatch_size = 32\n",
    );
    let mut overrides = env(&[
        ("MIRUN_TRAIN__BATCH_SIZE", "16"),
        ("MIRUN_HEADS__COUNT", "2"),
    ]);
    overrides.push(Override::from_set("heads.count=4").unwrap());
    let r = mirun::spec::resolve(&SpecSource {
        file: Some(file),
        overrides,
    })
    .unwrap();
    assert!(
        r.origin("train.epochs").ends_with("base.toml:2:1"),
        "{}",
        r.origin("train.epochs")
    );
    assert!(
        r.origin("train.lr").ends_with("p.toml:4:1"),
        "{}",
        r.origin("train.lr")
    );
    assert_eq!(r.origin("train.batch_size"), "env MIRUN_TRAIN__BATCH_SIZE");
    assert_eq!(r.origin("heads.count"), "--set heads.count=4");
    assert_eq!(r.origin("train.lr_decay"), "default");
    let text = r.explain();
    assert!(text.contains("count = 4  # --set heads.count=4"), "{text}");
    assert!(text.contains("lr_decay = 0.8  # default"), "{text}");
}

#[test]
fn a_saved_snapshot_resolves_to_the_same_run() {
    let dir = tempfile::tempdir().unwrap();
    let src = SpecSource {
        file: Some("pipelines/iic_quick.toml".into()),
        overrides: vec![Override::from_set("train.epochs=2").unwrap()],
    };
    let spec = load(&src).unwrap();
    let snap = write(
        dir.path(),
        "config.toml",
        &format!("# header comment\n{}", spec.to_toml()),
    );
    let again = load(&SpecSource {
        file: Some(snap),
        overrides: vec![],
    })
    .unwrap();
    assert_eq!(again, spec);
    assert_eq!(mirun::store::run_id(&again), mirun::store::run_id(&spec));
    assert_ne!(
        mirun::store::run_id(&spec),
        mirun::store::run_id(
            &load(&SpecSource {
                file: src.file.clone(),
                overrides: vec![]
            })
            .unwrap()
        ),
        "another config is another run"
    );
}
