//! The IIC objective (Ji et al. 2019): minus the mutual information between the cluster
//! assignments of an image and of its transformed twin.

use burn::tensor::Tensor;

/// IIC loss of one head.
///
/// `z` and `z_twin` are `[B, K]` softmax outputs for the originals and their transformed twins.
/// P = Σ_batch z·z̄ᵀ, symmetrised (P+Pᵀ)/2 and normalised to sum 1; with the marginals Pᵢ, Pⱼ and
/// every entry clipped below at `eps`, the loss is Σ P·(λ ln Pᵢ + λ ln Pⱼ − ln P). With the
/// entropy weight λ = 1 that is −I(z; z̄) in nats, bounded below by −ln K (confident, consistent
/// and balanced assignments); λ > 1 weighs the marginals' entropy more (the IIC code's `lamb`).
pub fn iic_loss(z: Tensor<2>, z_twin: Tensor<2>, eps: f64, entropy_weight: f64) -> Tensor<1> {
    let k = z.dims()[1];
    let p = joint_counts(z, z_twin);
    let p = (p.clone() + p.transpose()).div_scalar(2.0);
    let p = p
        .clone()
        .div(p.sum().reshape([1, 1]).repeat_dim(0, k).repeat_dim(1, k));
    let pi = p.clone().sum_dim(1).repeat_dim(1, k).clamp_min(eps);
    let pj = p.clone().sum_dim(0).repeat_dim(0, k).clamp_min(eps);
    let p = p.clamp_min(eps);
    let marginals = (pi.log() + pj.log()).mul_scalar(entropy_weight);
    (p.clone() * (marginals - p.log())).sum()
}

/// [`iic_loss`] of a joint already summed ([`joint_counts`] over any number of batches, `K×K`,
/// unnormalised), in f64 on the CPU: the loss a head has over a whole pass of a data set.
pub fn iic_loss_of_joint(joint: &[Vec<f64>], eps: f64, entropy_weight: f64) -> f64 {
    let k = joint.len();
    let total: f64 = joint.iter().flatten().sum();
    if total <= 0.0 {
        return f64::NAN;
    }
    let p: Vec<Vec<f64>> = (0..k)
        .map(|i| {
            (0..k)
                .map(|j| (joint[i][j] + joint[j][i]) / 2.0 / total)
                .collect()
        })
        .collect();
    let pi: Vec<f64> = (0..k).map(|i| p[i].iter().sum::<f64>().max(eps)).collect();
    let pj: Vec<f64> = (0..k)
        .map(|j| (0..k).map(|i| p[i][j]).sum::<f64>().max(eps))
        .collect();
    let mut loss = 0.0;
    for i in 0..k {
        for j in 0..k {
            let pij = p[i][j].max(eps);
            loss += pij * (entropy_weight * (pi[i].ln() + pj[j].ln()) - pij.ln());
        }
    }
    loss
}

/// Σ over the batch of z·z̄ᵀ for `[B, K]` assignments of images and their twins: the joint of
/// the two assignments, `[K, K]`, not yet symmetrised or normalised.
pub fn joint_counts(z: Tensor<2>, z_twin: Tensor<2>) -> Tensor<2> {
    z.transpose().matmul(z_twin)
}
