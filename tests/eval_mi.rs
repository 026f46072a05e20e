//! The Gaussian evaluators: exact analytic MI, the binned estimate on 10⁶ samples, and the
//! linear probe on separable codes.

use burn::tensor::Device;
use mirun::data::{analytic_mi, Gaussian};
use mirun::eval::binned_mi;
use mirun::eval::probe::{probe_accuracy, Codes};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[test]
fn analytic_mi_exact_values() {
    assert!((analytic_mi(0.5, 1) - 0.143_841).abs() < 1e-6);
    assert!((analytic_mi(0.8, 1) - 0.510_826).abs() < 1e-6);
    assert!(
        (analytic_mi(0.8, 3) - 3.0 * 0.510_826).abs() < 1e-5,
        "d independent pairs"
    );
    assert_eq!(analytic_mi(0.0, 1), 0.0);
}

fn binned_at(rho: f64) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (x, y) = Gaussian { rho, dim: 1 }.joint(1_000_000, &mut rng);
    binned_mi(&x, &y, 100)
}

#[test]
fn binned_mi_of_independent_samples_is_near_zero() {
    let v = binned_at(0.0);
    // The plug-in bias is about (bins − 1)² / (2n) ≈ 0.005 nats.
    assert!((0.0..0.01).contains(&v), "got {v}");
}

#[test]
fn binned_mi_at_rho_08_is_within_001_of_analytic() {
    let v = binned_at(0.8);
    assert!((v - 0.510_826).abs() < 0.01, "got {v}");
}

#[test]
fn linear_probe_scores_separable_codes_perfectly() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let n = 2000;
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    let codes: Vec<f32> = labels
        .iter()
        .flat_map(|&l| {
            let mut row: Vec<f32> = (0..10).map(|_| rng.random_range(-0.3..0.3)).collect();
            row[l as usize] += 3.0;
            row
        })
        .collect();
    let c = Codes {
        values: &codes,
        labels: &labels,
        dim: 10,
    };
    let acc = probe_accuracy(c, c, 10, 5, 1, &Device::flex().autodiff(), &Device::flex()).unwrap();
    assert_eq!(acc, 1.0);
}
