//! The backbone seam: a ResNet built from the same layer list as VGG has the same output shape,
//! its gradients reach every block, and it trains (IIC and MINE) through the same pipeline.

use crate::end_to_end::{eval_last, run_shipped, SMALL_RUN};
use burn::module::Module;
use burn::tensor::{Device, Distribution, Tensor};
use mirun::model::BackboneConfig;
use mirun::spec::vgg_layout::VggLayout;
use mirun::spec::{BackboneKind, CfgToken, VggCfg};

fn config(kind: BackboneKind) -> BackboneConfig {
    let cfg = VggCfg::Layers(vec![
        CfgToken::Channels(8),
        CfgToken::Pool("M".into()),
        CfgToken::Channels(16),
    ]);
    BackboneConfig {
        kind,
        layout: VggLayout::from_cfg(&cfg).unwrap(),
        batch_norm: true,
        kernel_size: 3,
        in_channels: 1,
        eval_batch_stats: false,
        bf16: false,
    }
}

#[test]
fn resnet_and_vgg_give_the_same_feature_shape() {
    let dev = Device::flex();
    dev.seed(1);
    for kind in [BackboneKind::Vgg, BackboneKind::ResNet] {
        let c = config(kind);
        let net = c.init(&dev);
        let x = Tensor::<4>::random([2, 1, 24, 24], Distribution::Normal(0.0, 1.0), &dev);
        let y = net.forward(x);
        assert_eq!(y.dims(), [2, 16, 12, 12], "{kind:?}");
        assert_eq!(c.output_features(24).unwrap(), 16 * 12 * 12);
    }
    // The ResNet has more parameters: two convolutions per block plus the projections.
    let count = |k| config(k).init(&dev).num_params();
    assert!(count(BackboneKind::ResNet) > count(BackboneKind::Vgg));
}

#[test]
fn resnet_gradients_reach_the_first_block() {
    let dev = Device::flex().autodiff();
    dev.seed(2);
    let net = config(BackboneKind::ResNet).init(&dev);
    let x = Tensor::<4>::random([4, 1, 12, 12], Distribution::Normal(0.0, 1.0), &dev);
    let before = net.clone();
    let grads = net.forward(x).powf_scalar(2.0).sum().backward();
    let grads = burn::optim::GradientsParams::from_grads(grads, &net);
    let mut optim = burn::optim::SgdConfig::new().init();
    let after = optim.step(0.1, net, grads);
    // Every parameter tensor moved: nothing is cut off from the loss.
    let collect = |m: &mirun::model::Backbone| {
        let mut v = Vec::new();
        struct Grab<'a>(&'a mut Vec<Vec<f32>>);
        impl burn::module::ModuleVisitor for Grab<'_> {
            fn visit_float<const D: usize>(&mut self, p: &burn::module::Param<Tensor<D>>) {
                self.0
                    .push(p.val().into_data().try_to_vec::<f32>().unwrap());
            }
        }
        m.visit(&mut Grab(&mut v));
        v
    };
    let (b, a) = (collect(&before), collect(&after));
    assert_eq!(b.len(), a.len());
    let moved = b.iter().zip(&a).filter(|(x, y)| x != y).count();
    // BatchNorm's running statistics are not parameters SGD moves; every weight is.
    assert!(moved >= b.len() / 2, "{moved} of {} tensors moved", b.len());
}

#[test]
fn a_resnet_trains_iic_and_mine_and_reloads() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = tmp.path().join("out");
    let resnet = [
        "--set",
        "backbone.kind=\"resnet\"",
        "--set",
        "backbone.cfg=[8, \"M\", 16, \"M\", 32]",
    ];
    let common = [&resnet[..], &SMALL_RUN].concat();
    for (pipeline, check) in [
        ("iic_quick.toml", "accuracy"),
        ("mine_mnist_quick.toml", "probe_heldout"),
    ] {
        let run = run_shipped(pipeline, &common, &data, &out);
        let name = pipeline.trim_end_matches(".toml");
        let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
        assert!(config.contains("kind = \"resnet\""), "{config}");
        let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
        assert!(metrics.lines().next().unwrap().contains(check), "{metrics}");
        assert_eq!(
            metrics.lines().count(),
            if name == "iic_quick" { 3 } else { 2 }
        );
        let eval = eval_last(&run, &data);
        if name != "iic_quick" {
            // MINE: the encoder reloaded and the probe refitted give the recorded numbers.
            let row: Vec<&str> = eval.lines().nth(1).unwrap().split(',').collect();
            assert_eq!(row[1], row[3], "held-out probe reproduced: {eval}");
            assert_eq!(row[2], row[4], "book probe reproduced: {eval}");
            let recorded: Vec<&str> = metrics.lines().nth(1).unwrap().split(',').collect();
            assert_eq!(row[3], recorded[3], "{eval}\n{metrics}");
        }
    }
}

/// A next stage's network takes the previous one's trunk, and its selected head when it has
/// one head of that shape: on the same images it then gives that head's very outputs; a head
/// of another shape starts afresh.
#[test]
fn a_stage_carries_the_trunk_and_the_selected_head() {
    use mirun::model::IicNetConfig;
    let dev = Device::flex();
    let net = |heads: usize, clusters: usize| IicNetConfig {
        backbone: config(BackboneKind::Vgg),
        input_size: 8,
        heads,
        clusters,
        overcluster: None,
    };
    dev.seed(1);
    let before = net(3, 10).init(&dev).unwrap();
    let x = Tensor::<4>::random([4, 1, 8, 8], Distribution::Default, &dev);
    let outputs = before.forward(x.clone());
    let trunk = before.features(x.clone());
    dev.seed(2);
    let (after, what) = net(1, 10).init(&dev).unwrap().carry_from(before.clone(), 2);
    assert!(what.contains("selected head 2"), "{what}");
    let same = |a: Tensor<2>, b: Tensor<2>| (a - b).abs().max().into_scalar::<f32>();
    assert_eq!(
        same(after.forward(x.clone()).remove(0), outputs[2].clone()),
        0.0
    );
    assert_eq!(same(after.features(x.clone()), trunk.clone()), 0.0);
    // All heads when the counts match; fresh heads (same trunk) when the shapes differ.
    let (all, what) = net(3, 10).init(&dev).unwrap().carry_from(before.clone(), 0);
    assert!(what.contains("its 3 head(s)"), "{what}");
    assert_eq!(
        same(all.forward(x.clone()).remove(1), outputs[1].clone()),
        0.0
    );
    let (fresh, what) = net(1, 12).init(&dev).unwrap().carry_from(before, 0);
    assert!(what.contains("start afresh"), "{what}");
    assert_eq!(same(fresh.features(x.clone()), trunk), 0.0);
    assert_eq!(fresh.forward(x).remove(0).dims(), [4, 12]);
}
