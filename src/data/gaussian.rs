//! The Gaussian check for MINE: d independent pairs (xᵢ, yᵢ), each zero-mean with unit
//! variances and correlation ρ, so I(x; y) = −(d/2)·ln(1 − ρ²) exactly.

use rand::Rng;
use rand_distr::StandardNormal;

/// Samples of the correlated Gaussian.
#[derive(Debug, Clone, Copy)]
pub struct Gaussian {
    /// Correlation ρ of each pair.
    pub rho: f64,
    /// Number of pairs d (x, y ∈ ℝᵈ).
    pub dim: usize,
}

impl Gaussian {
    /// `n` joint samples as row-major `[n, d]` x and y: y = ρ·x + √(1−ρ²)·ε.
    pub fn joint(&self, n: usize, rng: &mut impl Rng) -> (Vec<f32>, Vec<f32>) {
        let s = (1.0 - self.rho * self.rho).sqrt();
        let mut x = Vec::with_capacity(n * self.dim);
        let mut y = Vec::with_capacity(n * self.dim);
        for _ in 0..n * self.dim {
            let a: f64 = rng.sample(StandardNormal);
            let e: f64 = rng.sample(StandardNormal);
            x.push(a as f32);
            y.push((self.rho * a + s * e) as f32);
        }
        (x, y)
    }

    /// The true mutual information in nats.
    pub fn analytic_mi(&self) -> f64 {
        analytic_mi(self.rho, self.dim)
    }
}

/// −(d/2)·ln(1 − ρ²): the MI of d independent pairs with correlation ρ.
pub fn analytic_mi(rho: f64, dim: usize) -> f64 {
    -(dim as f64) / 2.0 * (1.0 - rho * rho).ln()
}

/// Rows of `y` (`[n, d]`) in a seeded random order: a marginal sample of y given x's order.
pub fn shuffled_rows(y: &[f32], dim: usize, rng: &mut impl Rng) -> Vec<f32> {
    use rand::seq::SliceRandom;
    let n = y.len() / dim;
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(rng);
    idx.iter()
        .flat_map(|&i| y[i * dim..(i + 1) * dim].iter().copied())
        .collect()
}
