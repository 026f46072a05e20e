//! The IIC loss: a hand-computed value, and its minimum at confident, consistent, balanced
//! assignments.

use burn::tensor::{Device, Tensor};
use mirun::objective::iic_loss;

fn t(rows: &[[f32; 2]]) -> Tensor<2> {
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    Tensor::<1>::from_floats(flat.as_slice(), &Device::flex()).reshape([rows.len(), 2])
}

fn loss(z: &[[f32; 2]], zt: &[[f32; 2]]) -> f32 {
    weighted_loss(z, zt, 1.0)
}

fn weighted_loss(z: &[[f32; 2]], zt: &[[f32; 2]], entropy_weight: f64) -> f32 {
    iic_loss(t(z), t(zt), 1e-7, entropy_weight).into_scalar::<f32>()
}

#[test]
fn matches_a_hand_computed_value() {
    // P = zᵀz̄ = [[.51,.59],[.19,.71]], symmetrised and normalised: [[.255,.195],[.195,.355]],
    // marginals [.45,.55]; Σ P (ln Pi + ln Pj − ln P) = −0.0226162.
    let v = loss(&[[0.8, 0.2], [0.3, 0.7]], &[[0.6, 0.4], [0.1, 0.9]]);
    assert!((v - (-0.022_616_2)).abs() < 1e-5, "got {v}");
}

#[test]
fn the_entropy_weight_scales_the_marginal_terms() {
    // The same P with λ = 2: 2·Σ P (ln Pi + ln Pj) − Σ P ln P
    // = 2·(2·(.45 ln .45 + .55 ln .55)) + H(P) = −1.3988938.
    let v = weighted_loss(&[[0.8, 0.2], [0.3, 0.7]], &[[0.6, 0.4], [0.1, 0.9]], 2.0);
    assert!((v - (-1.398_893_8)).abs() < 1e-5, "got {v}");
}

#[test]
fn confident_consistent_balanced_is_minus_ln_k() {
    let v = loss(&[[1.0, 0.0], [0.0, 1.0]], &[[1.0, 0.0], [0.0, 1.0]]);
    assert!((v - (-std::f32::consts::LN_2)).abs() < 1e-4, "got {v}");
}

#[test]
fn the_minimum_beats_worse_assignments() {
    let best = loss(&[[1.0, 0.0], [0.0, 1.0]], &[[1.0, 0.0], [0.0, 1.0]]);
    let uncertain = loss(&[[0.5, 0.5], [0.5, 0.5]], &[[0.5, 0.5], [0.5, 0.5]]);
    // Twins land in either cluster regardless of the original's cluster.
    let inconsistent = loss(
        &[[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]],
        &[[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]],
    );
    let unbalanced = loss(&[[1.0, 0.0], [1.0, 0.0]], &[[1.0, 0.0], [1.0, 0.0]]);
    for (name, v) in [
        ("uncertain", uncertain),
        ("inconsistent", inconsistent),
        ("unbalanced", unbalanced),
    ] {
        assert!(
            v.is_finite(),
            "{name} loss must be finite (ε-clip), got {v}"
        );
        assert!(
            best < v - 0.5,
            "{name}: {v} should be well above the minimum {best}"
        );
    }
    assert!(
        uncertain.abs() < 1e-4,
        "independent assignments carry no information: {uncertain}"
    );
}

#[test]
fn gradient_is_finite_when_p_has_exact_zeros() {
    // Every sample in cluster 0: P = [[1, 0], [0, 0]], a zero marginal and zero entries. The
    // ε-clip keeps both the value and the gradient finite.
    let d = Device::flex().autodiff();
    let z = Tensor::<1>::from_floats([1.0f32, 0.0, 1.0, 0.0].as_slice(), &d)
        .reshape([2, 2])
        .require_grad();
    let loss = iic_loss(z.clone(), z.clone(), 1e-7, 1.0);
    let v: f32 = loss.clone().into_scalar();
    assert!(v.is_finite(), "value {v}");
    let grads = loss.backward();
    let g = z.grad(&grads).expect("a gradient");
    let g = g.into_data().try_to_vec::<f32>().unwrap();
    assert!(g.iter().all(|x| x.is_finite()), "gradient {g:?}");
}

#[test]
fn the_loss_of_a_summed_joint_is_the_loss_of_the_whole_batch() {
    // Two halves of a batch summed as joints give the loss of the batch in one piece.
    use mirun::objective::{iic_loss_of_joint, joint_counts};
    let z = [[0.8, 0.2], [0.3, 0.7], [0.55, 0.45], [0.05, 0.95]];
    let zt = [[0.6, 0.4], [0.1, 0.9], [0.7, 0.3], [0.2, 0.8]];
    let mut joint = vec![vec![0f64; 2]; 2];
    for half in [0..2, 2..4] {
        let j = joint_counts(t(&z[half.clone()]), t(&zt[half])).into_data();
        let j = j.try_to_vec::<f32>().unwrap();
        for (v, x) in joint.iter_mut().flatten().zip(j) {
            *v += f64::from(x);
        }
    }
    let whole = iic_loss(t(&z), t(&zt), 1e-7, 1.5).into_scalar::<f32>();
    let summed = iic_loss_of_joint(&joint, 1e-7, 1.5);
    assert!(
        (summed - f64::from(whole)).abs() < 1e-5,
        "{summed} vs {whole}"
    );
    assert!(iic_loss_of_joint(&[vec![0.0; 2], vec![0.0; 2]], 1e-7, 1.0).is_nan());
}
