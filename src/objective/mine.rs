//! MINE objectives (Belghazi et al. 2018) on T's values for joint samples `tj` and marginal
//! samples `tm` (or, for InfoNCE, on every pair of the batch). Each returns the loss to
//! minimise: minus the bound.

use burn::tensor::{Device, Tensor};

/// T's values on one batch: on the B joint pairs (x_i, y_i), on B marginal pairs, and — only
/// when a bound asks, as it costs B² evaluations — on all pairs (x_i, y_j).
pub struct Critic<'a> {
    pub joint: Tensor<1>,
    pub marginal: Tensor<1>,
    all_pairs: Box<dyn Fn() -> Tensor<2> + 'a>,
}

impl<'a> Critic<'a> {
    /// The critic of a batch; `all_pairs` computes the `[B, B]` matrix T(x_i, y_j).
    pub fn new(
        joint: Tensor<1>,
        marginal: Tensor<1>,
        all_pairs: impl Fn() -> Tensor<2> + 'a,
    ) -> Self {
        Self {
            joint,
            marginal,
            all_pairs: Box::new(all_pairs),
        }
    }

    /// `[B, B]`: T(x_i, y_j), joint pairs on the diagonal.
    pub fn all_pairs(&self) -> Tensor<2> {
        (self.all_pairs)()
    }
}

/// ln mean(e^t), computed with the max shifted out; also returns the shift and mean(e^(t−m)).
fn log_mean_exp(t: Tensor<1>) -> (Tensor<1>, f32, Tensor<1>) {
    let m: f32 = t.clone().max().into_scalar();
    let mean_shifted = t.sub_scalar(m).exp().mean();
    let lme = mean_shifted.clone().log().add_scalar(m as f64);
    (lme, m, mean_shifted)
}

/// The Donsker–Varadhan bound E_joint[T] − ln E_marginal[e^T] as a `[1]` tensor.
pub fn dv_bound(tj: Tensor<1>, tm: Tensor<1>) -> Tensor<1> {
    let (lme, _, _) = log_mean_exp(tm);
    tj.mean() - lme
}

/// Plain MINE: the loss is −DV (the reference's).
pub fn mine_loss(tj: Tensor<1>, tm: Tensor<1>) -> Tensor<1> {
    dv_bound(tj, tm).neg()
}

/// Moving average of E_marginal[e^T] for [`mine_ema_loss`].
#[derive(Debug, Clone, Copy)]
pub struct Ema {
    /// Update rate (the paper's α; 0.01 by default).
    pub rate: f64,
    /// Current average; `None` before the first batch.
    pub value: Option<f64>,
}

impl Ema {
    /// A fresh average with update `rate`.
    pub fn new(rate: f64) -> Self {
        Self { rate, value: None }
    }
}

/// MINE with the bias-corrected gradient. The value is −DV, exactly as [`mine_loss`]; the
/// gradient of ln E[e^T] is ∇E[e^T] / ema instead of ∇E[e^T] / mean(e^T) of the batch, where ema
/// is the moving average updated with this batch.
pub fn mine_ema_loss(tj: Tensor<1>, tm: Tensor<1>, ema: &mut Ema) -> Tensor<1> {
    let (lme, m, mean_shifted) = log_mean_exp(tm);
    let batch = (mean_shifted.clone().into_scalar::<f32>() as f64) * (m as f64).exp();
    let avg = match ema.value {
        None => batch,
        Some(v) => (1.0 - ema.rate) * v + ema.rate * batch,
    };
    ema.value = Some(avg);
    let value = (tj.clone().mean() - lme).neg();
    // ∇ of this surrogate: −∇E[T_joint] + ∇E[e^T_marginal] / ema.
    let surrogate = tj.mean().neg() + mean_shifted.mul_scalar((m as f64).exp() / avg.max(1e-30));
    surrogate.clone() - surrogate.detach() + value.detach()
}

/// The NWJ bound E_joint[T] − E_marginal[e^(T−1)] as a `[1]` tensor.
pub fn nwj_bound(tj: Tensor<1>, tm: Tensor<1>) -> Tensor<1> {
    tj.mean() - tm.sub_scalar(1.0).exp().mean()
}

/// NWJ: the loss is −NWJ.
pub fn nwj_loss(tj: Tensor<1>, tm: Tensor<1>) -> Tensor<1> {
    nwj_bound(tj, tm).neg()
}

/// The InfoNCE bound (van den Oord et al. 2018) on the `[B, B]` scores T(x_i, y_j):
/// mean_i [ T(x_i, y_i) − ln (1/B) Σ_j e^T(x_i, y_j) ]. It never exceeds ln B, whatever T.
pub fn infonce_bound(scores: Tensor<2>, device: &Device) -> Tensor<1> {
    let b = scores.dims()[0];
    let diag: Tensor<1> = (scores.clone() * Tensor::<2>::eye(b, device))
        .sum_dim(1)
        .flatten(0, 1);
    // ln mean_j e^s_ij per row, with each row's max shifted out.
    let m = scores.clone().max_dim(1).detach();
    let lme: Tensor<1> = (scores - m.clone())
        .exp()
        .mean_dim(1)
        .log()
        .add(m)
        .flatten(0, 1);
    (diag - lme).mean()
}

/// A lower bound on MI that MINE maximises through T. A new bound is a type implementing this
/// (in its own file), its `spec::LossKind` variant and its arm in [`crate::objective::mi_bound`].
pub trait MiBound: Sync {
    /// The loss to minimise on the critic's values: minus the bound (or a surrogate with that
    /// value and a corrected gradient).
    fn loss(&self, critic: &Critic, ema: &mut Ema) -> Tensor<1>;
}

/// `loss.kind = "mine"`: the Donsker–Varadhan bound.
pub struct Dv;

impl MiBound for Dv {
    fn loss(&self, c: &Critic, _: &mut Ema) -> Tensor<1> {
        mine_loss(c.joint.clone(), c.marginal.clone())
    }
}

/// `loss.kind = "mine_ema"`: DV with the moving-average gradient correction.
pub struct DvEma;

impl MiBound for DvEma {
    fn loss(&self, c: &Critic, ema: &mut Ema) -> Tensor<1> {
        mine_ema_loss(c.joint.clone(), c.marginal.clone(), ema)
    }
}

/// `loss.kind = "nwj"`: the NWJ (f-divergence) bound.
pub struct Nwj;

impl MiBound for Nwj {
    fn loss(&self, c: &Critic, _: &mut Ema) -> Tensor<1> {
        nwj_loss(c.joint.clone(), c.marginal.clone())
    }
}

/// `loss.kind = "infonce"`: the InfoNCE bound on all B² pairs of the batch (capped at ln B).
pub struct InfoNce;

impl MiBound for InfoNce {
    fn loss(&self, c: &Critic, _: &mut Ema) -> Tensor<1> {
        let scores = c.all_pairs();
        let device = scores.device();
        infonce_bound(scores, &device).neg()
    }
}
