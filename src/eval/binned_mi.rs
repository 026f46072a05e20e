//! The reference's check on a MINE estimate: a histogram plug-in estimate of I(x; y) from many
//! samples (100 bins per axis over the sample range). It is biased upwards by about
//! (bins − 1)² / (2n) nats.

/// Plug-in MI (nats) of paired scalar samples, `bins` equal-width bins per axis spanning the
/// samples' range.
pub fn binned_mi(x: &[f32], y: &[f32], bins: usize) -> f64 {
    let n = x.len().min(y.len());
    if n == 0 || bins < 2 {
        return 0.0;
    }
    let range = |v: &[f32]| {
        let (lo, hi) = v[..n]
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &a| {
                (lo.min(a), hi.max(a))
            });
        (lo as f64, (hi as f64 - lo as f64).max(f64::MIN_POSITIVE))
    };
    let (xl, xw) = range(x);
    let (yl, yw) = range(y);
    let bin =
        |v: f32, lo: f64, w: f64| (((v as f64 - lo) / w * bins as f64) as usize).min(bins - 1);
    let mut joint = vec![0u64; bins * bins];
    for i in 0..n {
        joint[bin(x[i], xl, xw) * bins + bin(y[i], yl, yw)] += 1;
    }
    let mut px = vec![0u64; bins];
    let mut py = vec![0u64; bins];
    for i in 0..bins {
        for j in 0..bins {
            px[i] += joint[i * bins + j];
            py[j] += joint[i * bins + j];
        }
    }
    let nf = n as f64;
    let mut mi = 0.0;
    for i in 0..bins {
        for j in 0..bins {
            let c = joint[i * bins + j];
            if c > 0 {
                let pij = c as f64 / nf;
                mi += pij * (pij * nf * nf / (px[i] as f64 * py[j] as f64)).ln();
            }
        }
    }
    mi
}

/// Binned MI of `[n, d]` samples whose d coordinate pairs are independent: the sum of the
/// per-pair estimates (a joint histogram over 2d axes would need bins^(2d) cells).
pub fn binned_mi_pairs(x: &[f32], y: &[f32], dim: usize, bins: usize) -> f64 {
    (0..dim)
        .map(|k| {
            let col = |v: &[f32]| v.iter().skip(k).step_by(dim).copied().collect::<Vec<_>>();
            binned_mi(&col(x), &col(y), bins)
        })
        .sum()
}
