//! Sweep expansion: grid × zip × seeds counts and order, ranges, and flag overrides.

use mirun::spec::SweepSpec;

fn sweep(text: &str) -> SweepSpec {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.toml");
    std::fs::write(&p, text).unwrap();
    SweepSpec::from_file(&p)
        .unwrap()
        .expect("a [sweep] section")
}

fn labels(s: &SweepSpec) -> Vec<String> {
    s.points().unwrap().iter().map(|p| p.label()).collect()
}

#[test]
fn grid_zip_and_seeds_multiply_in_order() {
    let s = sweep(
        r#"
[sweep]
grid = { "heads.count" = [1, 2, 3], "train.lr" = [0.001, 0.002] }
zip = { "model.latent_dim" = [10, 16], "train.batch_size" = [1024, 512] }
seeds = [1, 2]
"#,
    );
    let l = labels(&s);
    assert_eq!(l.len(), 3 * 2 * 2 * 2);
    assert_eq!(
        l[0],
        "heads.count=1 train.lr=0.001 model.latent_dim=10 train.batch_size=1024 pipeline.seed=1"
    );
    // zip innermost and paired, then the grid's last key, then its first; seeds outermost.
    assert_eq!(
        l[1],
        "heads.count=1 train.lr=0.001 model.latent_dim=16 train.batch_size=512 pipeline.seed=1"
    );
    assert!(l[2].starts_with("heads.count=1 train.lr=0.002 model.latent_dim=10"));
    assert!(l[4].starts_with("heads.count=2 train.lr=0.001"));
    assert!(l[12].ends_with("pipeline.seed=2") && l[11].ends_with("pipeline.seed=1"));
    let idx: Vec<usize> = s.points().unwrap().iter().map(|p| p.index).collect();
    assert_eq!(idx, (0..24).collect::<Vec<_>>());
}

#[test]
fn ranges_and_flags() {
    let mut s = sweep("[sweep]\ngrid = { \"heads.count\" = \"range(1, 6)\" }\n");
    assert_eq!(labels(&s).len(), 5);
    s.set_grid("heads.count=2,4").unwrap();
    s.set_seeds("range(1,4)").unwrap();
    s.set_zip("train.lr=0.1,0.2").unwrap();
    s.set_zip("train.epochs=3,4").unwrap();
    let l = labels(&s);
    assert_eq!(l.len(), 2 * 3 * 2);
    assert_eq!(
        l[0],
        "heads.count=2 train.lr=0.1 train.epochs=3 pipeline.seed=1"
    );
    assert!(s.set_grid("heads.count").is_err());
    assert!(s.set_seeds("a,b").is_err());
    assert!(s.set_grid("x=range(1,2,0)").is_err());
}

#[test]
fn no_axes_is_one_point_and_no_section_is_none() {
    let s = sweep("[sweep]\n");
    assert_eq!(labels(&s), vec!["(base)".to_string()]);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("plain.toml");
    std::fs::write(&p, "[heads]\ncount = 2\n").unwrap();
    assert!(SweepSpec::from_file(&p).unwrap().is_none());
}
