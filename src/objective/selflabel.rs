//! Self-labelling, SCAN's last stage (Van Gansbeke et al. 2020): the originals a head is
//! confident about (largest probability ≥ a threshold) lend their argmax as a label to their
//! transformed twins, and the twins are trained on it by cross-entropy, each class weighted
//! by the inverse of its share of the confident originals (so a big cluster cannot swallow the
//! rest). A second stage after IIC, on the trunk and head IIC trained.

use burn::tensor::{Tensor, TensorData};

/// The pseudo-label and weight of each original from its probabilities `weak` (`[B, K]`,
/// row-major): a row whose largest probability reaches `threshold` gets its argmax and the
/// weight n / (confident rows of that label), n the number of confident rows; the others 0.
pub fn confident_targets(weak: &[f32], k: usize, threshold: f64) -> (Vec<usize>, Vec<f32>) {
    let rows = weak.len() / k.max(1);
    let mut targets = vec![0usize; rows];
    let mut confident = vec![false; rows];
    for (i, row) in weak.chunks(k).enumerate() {
        let (arg, &max) = row
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
            .unwrap_or((0, &0.0));
        targets[i] = arg;
        confident[i] = f64::from(max) >= threshold;
    }
    let n = confident.iter().filter(|&&c| c).count();
    let mut counts = vec![0usize; k];
    for (t, _) in targets.iter().zip(&confident).filter(|(_, &c)| c) {
        counts[*t] += 1;
    }
    let weights = targets
        .iter()
        .zip(&confident)
        .map(|(&t, &c)| if c { n as f32 / counts[t] as f32 } else { 0.0 })
        .collect();
    (targets, weights)
}

/// The weighted cross-entropy of the twins' probabilities `strong` (`[copies·B, K]`, the B
/// twins of each copy in turn) against their originals' `targets`:
/// Σ w·(−ln max(p̄[t], eps)) / Σ w over every twin. Zero, with zero gradients, when no original
/// is confident.
pub fn self_label_loss(
    strong: Tensor<2>,
    targets: &[usize],
    weights: &[f32],
    eps: f64,
) -> Tensor<1> {
    let [rows, k] = strong.dims();
    let b = targets.len().max(1);
    let mut w = vec![0f32; rows * k];
    for r in 0..rows {
        w[r * k + targets[r % b]] = weights[r % b];
    }
    let total: f32 = (0..rows).map(|r| weights[r % b]).sum();
    if total <= 0.0 {
        return strong.sum().mul_scalar(0.0);
    }
    let w = Tensor::<2>::from_data(TensorData::new(w, [rows, k]), &strong.device());
    (w * strong.clamp_min(eps).log())
        .sum()
        .mul_scalar(-1.0 / f64::from(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn confident_originals_label_their_twins_with_balanced_weights() {
        // Three confident originals (labels 0, 0, 2) and one unsure.
        let weak = [
            0.99, 0.005, 0.005, 0.995, 0.0, 0.005, 0.4, 0.3, 0.3, 0.0, 0.0, 1.0,
        ];
        let (t, w) = confident_targets(&weak, 3, 0.99);
        assert_eq!(t, vec![0, 0, 0, 2]);
        assert_eq!(w, vec![1.5, 1.5, 0.0, 3.0]);
    }

    #[test]
    fn the_loss_is_the_weighted_cross_entropy_of_the_twins() {
        let dev = Device::flex();
        // Two originals, two copies of twins (rows 0-1 copy 1, rows 2-3 copy 2).
        let strong = Tensor::<2>::from_data(
            TensorData::new(vec![0.5f32, 0.5, 0.9, 0.1, 0.25, 0.75, 0.2, 0.8], [4, 2]),
            &dev,
        );
        let loss = self_label_loss(strong.clone(), &[0, 1], &[1.0, 2.0], 1e-7);
        let want = -(0.5f64.ln() + 2.0 * 0.1f64.ln() + 0.25f64.ln() + 2.0 * 0.8f64.ln()) / 6.0;
        let got = f64::from(loss.into_scalar::<f32>());
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        let none = self_label_loss(strong, &[0, 1], &[0.0, 0.0], 1e-7);
        assert_eq!(none.into_scalar::<f32>(), 0.0);
    }
}
