//! MINE objectives on tiny hand-made batches: the DV, NWJ and InfoNCE bounds by hand, and the
//! EMA loss having DV's value with a differently scaled gradient.

use burn::tensor::{Device, Tensor};
use mirun::model::mine_net::{CosineCritic, StatisticsNet};
use mirun::objective::{dv_bound, infonce_bound, mine_ema_loss, mine_loss, nwj_bound, Ema};

fn t(v: &[f32], device: &Device) -> Tensor<1> {
    Tensor::<1>::from_floats(v, device)
}

// T on the joint = [1, 2], on the marginal = [0, ln 3]: E_joint[T] = 1.5, E_marginal[e^T] = 2.
const TJ: [f32; 2] = [1.0, 2.0];
fn tm_values() -> [f32; 2] {
    [0.0, 3f32.ln()]
}

#[test]
fn dv_bound_by_hand() {
    let d = Device::flex();
    let v: f32 = dv_bound(t(&TJ, &d), t(&tm_values(), &d)).into_scalar();
    // 1.5 − ln 2
    assert!((v - 0.806_853).abs() < 1e-5, "got {v}");
    let l: f32 = mine_loss(t(&TJ, &d), t(&tm_values(), &d)).into_scalar();
    assert!(
        (l + 0.806_853).abs() < 1e-5,
        "the loss is minus the bound: {l}"
    );
}

#[test]
fn dv_bound_is_stable_for_large_t() {
    let d = Device::flex();
    // Shifting T by a constant leaves DV unchanged; e^1000 would overflow without the max shift.
    let v: f32 = dv_bound(
        t(&[1001.0, 1002.0], &d),
        t(&[1000.0, 1000.0 + 3f32.ln()], &d),
    )
    .into_scalar();
    assert!((v - 0.806_853).abs() < 1e-3, "got {v}");
}

#[test]
fn nwj_bound_by_hand() {
    let d = Device::flex();
    let v: f32 = nwj_bound(t(&TJ, &d), t(&tm_values(), &d)).into_scalar();
    // 1.5 − (e^-1 + 3·e^-1)/2 = 1.5 − 2/e
    assert!(
        (v - (1.5 - 2.0 / std::f32::consts::E)).abs() < 1e-5,
        "got {v}"
    );
}

/// Gradient of a loss with respect to the marginal T values.
fn marginal_grad(ema: Option<&mut Ema>) -> (f32, Vec<f32>) {
    let d = Device::flex().autodiff();
    let tj = t(&TJ, &d).require_grad();
    let tm = t(&tm_values(), &d).require_grad();
    let loss = match ema {
        Some(e) => mine_ema_loss(tj, tm.clone(), e),
        None => mine_loss(tj, tm.clone()),
    };
    let value: f32 = loss.clone().into_scalar();
    let grads = loss.backward();
    let g = tm.grad(&grads).expect("gradient of the marginal values");
    (value, g.into_data().try_to_vec::<f32>().unwrap())
}

#[test]
fn ema_loss_has_dv_value_and_rescaled_gradient() {
    let (plain_value, plain_grad) = marginal_grad(None);
    // ∂ ln mean(e^T) / ∂T_i = e^T_i / Σ e^T = [1/4, 3/4].
    assert!((plain_grad[0] - 0.25).abs() < 1e-5 && (plain_grad[1] - 0.75).abs() < 1e-5);

    // The moving average was 6; with rate 0.5 and this batch's mean 2 it becomes 4, so the
    // gradient is e^T_i / (n · 4) = [1/8, 3/8]: half of plain DV's, same value.
    let mut ema = Ema {
        rate: 0.5,
        value: Some(6.0),
    };
    let (ema_value, ema_grad) = marginal_grad(Some(&mut ema));
    assert!(
        (ema_value - plain_value).abs() < 1e-5,
        "{ema_value} vs {plain_value}"
    );
    assert!((ema_grad[0] - 0.125).abs() < 1e-5, "{ema_grad:?}");
    assert!((ema_grad[1] - 0.375).abs() < 1e-5, "{ema_grad:?}");
    assert!((ema.value.unwrap() - 4.0).abs() < 1e-5);
}

fn m(rows: &[[f32; 2]; 2], device: &Device) -> Tensor<2> {
    Tensor::<1>::from_floats([rows[0][0], rows[0][1], rows[1][0], rows[1][1]], device)
        .reshape([2, 2])
}

#[test]
fn infonce_bound_by_hand_and_capped_at_ln_b() {
    let d = Device::flex();
    // Scores [[1, 0], [0, 1]]: each row gives 1 − ln((e + 1)/2).
    let v: f32 = infonce_bound(m(&[[1.0, 0.0], [0.0, 1.0]], &d), &d).into_scalar();
    let by_hand = 1.0 - ((1f32.exp() + 1.0) / 2.0).ln();
    assert!((v - by_hand).abs() < 1e-5, "got {v}, expected {by_hand}");
    // Off-diagonal scores above the diagonal: a negative bound, by hand.
    let v: f32 = infonce_bound(m(&[[0.0, 2.0], [1.0, 0.0]], &d), &d).into_scalar();
    let rows = [
        0.0 - ((1.0 + 2f32.exp()) / 2.0).ln(),
        0.0 - ((1f32.exp() + 1.0) / 2.0).ln(),
    ];
    assert!((v - (rows[0] + rows[1]) / 2.0).abs() < 1e-5, "got {v}");
    // However well T separates the pairs, the bound stays below ln B (B = 2); no overflow.
    let v: f32 = infonce_bound(m(&[[1000.0, 0.0], [0.0, 1000.0]], &d), &d).into_scalar();
    assert!((v - 2f32.ln()).abs() < 1e-4, "got {v}");
}

#[test]
fn all_pairs_holds_the_joint_values_on_its_diagonal() {
    let d = Device::flex();
    let net = StatisticsNet::new(3, 2, 8, &d);
    let x = Tensor::<1>::from_floats([0.1, -0.4, 0.9, 1.5, 0.2, -1.0, 0.3, 0.3, 0.7], &d)
        .reshape([3, 3]);
    let y = Tensor::<1>::from_floats([0.5, -0.2, -0.8, 0.1, 0.0, 1.2], &d).reshape([3, 2]);
    let pairs = net
        .all_pairs(x.clone(), y.clone())
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let joint = net
        .forward(x.clone(), y.clone())
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    for i in 0..3 {
        assert!((pairs[i * 3 + i] - joint[i]).abs() < 1e-5);
    }
    // Row 0, column 2: T(x_0, y_2).
    let x0 = x.narrow(0, 0, 1);
    let y2 = y.narrow(0, 2, 1);
    let t02: f32 = net.forward(x0, y2).into_scalar();
    assert!((pairs[2] - t02).abs() < 1e-5);
}

#[test]
fn the_cosine_critic_by_hand() {
    let d = Device::flex();
    let x = Tensor::<1>::from_floats([3.0, 4.0, 1.0, 0.0], &d).reshape([2, 2]);
    let y = Tensor::<1>::from_floats([4.0, 3.0, 0.0, 2.0], &d).reshape([2, 2]);
    let critic = CosineCritic { temperature: 0.5 };
    // cos([3, 4], [4, 3]) = 24/25, cos([1, 0], [0, 2]) = 0; divided by τ = 0.5.
    let joint = critic
        .forward(x.clone(), y.clone())
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    assert!(
        (joint[0] - 1.92).abs() < 1e-5 && joint[1].abs() < 1e-5,
        "{joint:?}"
    );
    // Off the diagonal: cos([3, 4], [0, 2]) = 0.8, cos([1, 0], [4, 3]) = 0.8.
    let pairs = critic
        .all_pairs(x.clone(), y.clone())
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let by_hand = [1.92, 1.6, 1.6, 0.0];
    for (got, want) in pairs.iter().zip(by_hand) {
        assert!((got - want).abs() < 1e-5, "{pairs:?}");
    }
    // Only directions count: scaling the codes changes nothing.
    let scaled = critic
        .all_pairs(x.mul_scalar(7.0), y.mul_scalar(0.1))
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    for (a, b) in scaled.iter().zip(&pairs) {
        assert!((a - b).abs() < 1e-5, "{scaled:?}");
    }
}
