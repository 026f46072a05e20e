//! bf16 matrix products for the flex convolution (`train.precision = "bf16"`): both operands
//! rounded to bfloat16 (round to nearest even) and multiplied with f32 accumulation by
//! AVX-512-BF16's `vdpbf16ps`, detected at run time. Weights, activations and the optimizer stay
//! in f32; only the products' inputs are rounded, as PyTorch's autocast does.
//!
//! Packing: the left operand in panels of [`MR`] rows and the right one in panels of [`NR`]
//! columns, each as pairs of consecutive `k` (the two bf16 halves of one 32-bit lane, which is
//! what `vdpbf16ps` multiplies and adds), [`KC`] values of `k` at a time. Each product runs on
//! the calling thread, in a fixed order: the result does not depend on the number of threads.

use std::arch::x86_64::*;
use std::cell::RefCell;

/// Rows of the micro-kernel's tile.
const MR: usize = 8;
/// Columns of the micro-kernel's tile (two 16-lane registers).
const NR: usize = 32;
/// Values of `k` per packed block (even; a right-hand panel of it is 16 KiB, in L1).
const KC: usize = 256;

/// Word `2i` ← word `i` and word `2i + 1` ← word `16 + i`: two rows' 16 bf16 values as 16
/// lanes of pairs.
const INTERLEAVE: [u16; 32] = {
    let mut idx = [0u16; 32];
    let mut i = 0;
    while i < 16 {
        idx[2 * i] = i as u16;
        idx[2 * i + 1] = 16 + i as u16;
        i += 1;
    }
    idx
};

/// Whether this CPU has the instructions (AVX-512F, AVX-512BW for the packing's word
/// shuffles, and AVX-512-BF16).
pub fn available() -> bool {
    is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512bf16")
}

/// `x` rounded to bfloat16 (nearest, ties to even; NaN stays NaN), as its 16 bits.
pub fn to_bf16(x: f32) -> u16 {
    let b = x.to_bits();
    if x.is_nan() {
        return ((b >> 16) | 0x40) as u16;
    }
    (b.wrapping_add(0x7fff + ((b >> 16) & 1)) >> 16) as u16
}

/// `x` rounded to bfloat16 and back to f32.
pub fn round(x: f32) -> f32 {
    f32::from_bits((to_bf16(x) as u32) << 16)
}

thread_local! {
    /// Each thread's packed operands, kept from product to product.
    static PACKED: RefCell<(Vec<u32>, Vec<u32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// `dst (m×n, row-major) = [dst +] lhs (m×k) · rhs (k×n)` with both operands rounded to bf16
/// and f32 sums; each operand given as (values, row stride, column stride). The CPU must have
/// the instructions ([`available`]): runs check before choosing bf16
/// (`BackendKind::check_precision`), and the asserts below only guard the unsafe kernels.
pub fn matmul(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    accumulate: bool,
    lhs: (&[f32], usize, usize),
    rhs: (&[f32], usize, usize),
) {
    assert!(available(), "bf16 products need AVX-512-BF16");
    assert!(dst.len() >= m * n);
    if m > 0 && n > 0 && k > 0 {
        let last = |(v, rs, cs): (&[f32], usize, usize), rows: usize, cols: usize| {
            assert!(v.len() > (rows - 1) * rs + (cols - 1) * cs);
        };
        last(lhs, m, k);
        last(rhs, k, n);
    }
    if !accumulate {
        dst[..m * n].fill(0.0);
    }
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    PACKED.with(|p| {
        let (ap, bp) = &mut *p.borrow_mut();
        let panels = m.div_ceil(MR);
        ap.resize(panels * MR * KC / 2, 0);
        bp.resize(NR * KC / 2, 0);
        // SAFETY: the instructions are present (asserted above) and every index below stays
        // within the operands' extents (asserted above) and the buffers just sized.
        unsafe { product(m, n, k, dst, lhs, rhs, ap, bp) }
    })
}

#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
unsafe fn product(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    lhs: (&[f32], usize, usize),
    rhs: (&[f32], usize, usize),
    ap: &mut [u32],
    bp: &mut [u32],
) {
    for pc in (0..k).step_by(KC) {
        let kc = KC.min(k - pc);
        let kp = kc.div_ceil(2);
        pack_lhs(lhs, m, pc, kc, ap);
        for jc in (0..n).step_by(NR) {
            let nc = NR.min(n - jc);
            pack_rhs(rhs, pc, kc, jc, nc, bp);
            for (panel, ic) in (0..m).step_by(MR).enumerate() {
                let mc = MR.min(m - ic);
                let a = &ap[panel * kp * MR..][..kp * MR];
                let c = dst.as_mut_ptr().add(ic * n + jc);
                tile(kp, a, &bp[..kp * NR], c, n, mc, nc);
            }
        }
    }
}

/// Rows `0..m`, `k` in `pc..pc + kc`, as panels of [`MR`] rows: `out[(panel·kp + p)·MR + r]`
/// holds `(lhs[r][pc+2p], lhs[r][pc+2p+1])` in bf16 (zeros past the edges).
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
unsafe fn pack_lhs(
    (v, rs, cs): (&[f32], usize, usize),
    m: usize,
    pc: usize,
    kc: usize,
    out: &mut [u32],
) {
    let kp = kc.div_ceil(2);
    for panel in 0..m.div_ceil(MR) {
        let block = &mut out[panel * kp * MR..][..kp * MR];
        for r in 0..MR {
            let row = panel * MR + r;
            if row >= m {
                for p in 0..kp {
                    block[p * MR + r] = 0;
                }
                continue;
            }
            let at = |kk: usize| v[row * rs + (pc + kk) * cs];
            let mut p = 0;
            if cs == 1 {
                // 16 pairs at a time: 32 consecutive values are 16 lanes of pairs.
                let base = v.as_ptr().add(row * rs + pc);
                while 2 * p + 32 <= kc {
                    for (i, t) in pairs_of(base.add(2 * p)).into_iter().enumerate() {
                        block[(p + i) * MR + r] = t;
                    }
                    p += 16;
                }
            }
            while p < kp {
                let lo = at(2 * p);
                let hi = if 2 * p + 1 < kc { at(2 * p + 1) } else { 0.0 };
                block[p * MR + r] = pair(lo, hi);
                p += 1;
            }
        }
    }
}

/// `k` in `pc..pc + kc`, columns `jc..jc + nc`, as one panel of [`NR`] columns:
/// `out[p·NR + j]` holds `(rhs[pc+2p][jc+j], rhs[pc+2p+1][jc+j])` in bf16 (zeros past the edges).
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
unsafe fn pack_rhs(
    (v, rs, cs): (&[f32], usize, usize),
    pc: usize,
    kc: usize,
    jc: usize,
    nc: usize,
    out: &mut [u32],
) {
    let kp = kc.div_ceil(2);
    let at = |kk: usize, j: usize| v[(pc + kk) * rs + (jc + j) * cs];
    // Lane `(p, j)` one value at a time, zeros past the edges.
    let lane = |p: usize, j: usize| match (j < nc, 2 * p + 1 < kc) {
        (false, _) => 0,
        (true, true) => pair(at(2 * p, j), at(2 * p + 1, j)),
        (true, false) => pair(at(2 * p, j), 0.0),
    };
    if cs == 1 {
        // Rows are contiguous: two rows of 16 columns make 16 lanes of pairs.
        let interleave = _mm512_loadu_si512(INTERLEAVE.as_ptr().cast());
        for p in 0..kp {
            let whole = 2 * p + 1 < kc;
            let mut j = 0;
            while whole && j + 16 <= nc {
                let r0 = v.as_ptr().add((pc + 2 * p) * rs + jc + j);
                let r1 = v.as_ptr().add((pc + 2 * p + 1) * rs + jc + j);
                // cvtne2ps_pbh(a, b): b's 16 values in the low half, a's in the high half.
                let halves = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(r1), _mm512_loadu_ps(r0));
                let lanes = _mm512_permutexvar_epi16(
                    interleave,
                    std::mem::transmute::<__m512bh, __m512i>(halves),
                );
                _mm512_storeu_si512(out.as_mut_ptr().add(p * NR + j).cast(), lanes);
                j += 16;
            }
            for j in j..NR {
                out[p * NR + j] = lane(p, j);
            }
        }
    } else if rs == 1 {
        // Columns are contiguous: 32 consecutive values of a column are its next 16 pairs.
        for j in 0..NR {
            let mut p = 0;
            if j < nc {
                let base = v.as_ptr().add(pc + (jc + j) * cs);
                while 2 * p + 32 <= kc {
                    for (i, t) in pairs_of(base.add(2 * p)).into_iter().enumerate() {
                        out[(p + i) * NR + j] = t;
                    }
                    p += 16;
                }
            }
            for p in p..kp {
                out[p * NR + j] = lane(p, j);
            }
        }
    } else {
        for p in 0..kp {
            for j in 0..NR {
                out[p * NR + j] = lane(p, j);
            }
        }
    }
}

/// The 32 consecutive f32 values at `from` as 16 lanes of bf16 pairs (values `2i`, `2i + 1`).
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
unsafe fn pairs_of(from: *const f32) -> [u32; 16] {
    // Pair i is values 2i and 2i+1: the i-th 32-bit lane of the bf16 vector, in order.
    let halves = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(from.add(16)), _mm512_loadu_ps(from));
    let mut lanes = [0u32; 16];
    _mm512_storeu_si512(
        lanes.as_mut_ptr().cast(),
        std::mem::transmute::<__m512bh, __m512i>(halves),
    );
    lanes
}

/// Two values as one lane of a bf16 pair (`lo` in the low half).
fn pair(lo: f32, hi: f32) -> u32 {
    to_bf16(lo) as u32 | (to_bf16(hi) as u32) << 16
}

/// `c[0..mc][0..nc] += a-panel · b-panel` over `kp` pairs of `k` (row stride `ldc`).
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
unsafe fn tile(kp: usize, a: &[u32], b: &[u32], c: *mut f32, ldc: usize, mc: usize, nc: usize) {
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    let (a, b) = (a.as_ptr(), b.as_ptr());
    for p in 0..kp {
        let b0 = std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(b.add(p * NR).cast()));
        let b1 =
            std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(b.add(p * NR + 16).cast()));
        for (r, acc) in acc.iter_mut().enumerate() {
            let av = std::mem::transmute::<__m512i, __m512bh>(_mm512_set1_epi32(
                *a.add(p * MR + r) as i32,
            ));
            acc[0] = _mm512_dpbf16_ps(acc[0], av, b0);
            acc[1] = _mm512_dpbf16_ps(acc[1], av, b1);
        }
    }
    let mask = |from: usize| -> u16 {
        match nc.saturating_sub(from) {
            0 => 0,
            n if n >= 16 => u16::MAX,
            n => (1u16 << n) - 1,
        }
    };
    let (m0, m1) = (mask(0), mask(16));
    for (r, acc) in acc.iter().enumerate().take(mc) {
        let row = c.add(r * ldc);
        for (half, m) in [(0, m0), (1, m1)] {
            if m == 0 {
                continue;
            }
            let at = row.add(16 * half);
            let sum = _mm512_add_ps(_mm512_maskz_loadu_ps(m, at), acc[half]);
            _mm512_mask_storeu_ps(at, m, sum);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A product of bf16-rounded operands summed in f64, for comparison.
    fn reference(
        (m, n, k): (usize, usize, usize),
        lhs: (&[f32], usize, usize),
        rhs: (&[f32], usize, usize),
    ) -> Vec<f32> {
        let mut out = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0f64;
                for t in 0..k {
                    let a = round(lhs.0[i * lhs.1 + t * lhs.2]) as f64;
                    let b = round(rhs.0[t * rhs.1 + j * rhs.2]) as f64;
                    s += a * b;
                }
                out[i * n + j] = s as f32;
            }
        }
        out
    }

    #[test]
    fn rounding_is_to_nearest_even() {
        assert_eq!(round(1.0), 1.0);
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even one, 1.
        assert_eq!(round(1.0 + 1.0 / 256.0), 1.0);
        assert_eq!(round(1.0 + 3.0 / 256.0), 1.0 + 4.0 / 256.0);
        assert!(round(f32::NAN).is_nan());
        assert_eq!(round(f32::INFINITY), f32::INFINITY);
    }

    #[test]
    fn products_match_the_rounded_reference_in_every_layout() {
        if !available() {
            eprintln!("skipped: this CPU has no AVX-512-BF16");
            return;
        }
        let mut seed = 1u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        // Edges of every block: odd k, k past KC, m and n not multiples of the tile.
        for &(m, n, k) in &[
            (1, 1, 1),
            (8, 32, 2),
            (13, 47, 35),
            (33, 70, 300),
            (9, 17, 513),
        ] {
            let a: Vec<f32> = (0..m * k).map(|_| next()).collect();
            let b: Vec<f32> = (0..k * n).map(|_| next()).collect();
            for (la, lb) in [
                ((k, 1), (n, 1)), // both row-major
                ((1, m), (1, k)), // both column-major
                ((k, 1), (1, k)), // rhs column-major (the weight gradient's)
                ((1, m), (n, 1)), // lhs column-major (the input gradient's)
            ] {
                let lhs = (&a[..], la.0, la.1);
                let rhs = (&b[..], lb.0, lb.1);
                let want = reference((m, n, k), lhs, rhs);
                let mut got = vec![f32::NAN; m * n];
                matmul((m, n, k), &mut got, false, lhs, rhs);
                let worst = got
                    .iter()
                    .zip(&want)
                    .map(|(g, w)| (g - w).abs())
                    .fold(0f32, f32::max);
                assert!(worst < 1e-4, "{m}×{n}×{k} {la:?} {lb:?}: max diff {worst}");
                // Accumulating adds the product to what is there.
                let mut twice = got.clone();
                matmul((m, n, k), &mut twice, true, lhs, rhs);
                for (t, g) in twice.iter().zip(&got) {
                    assert!((t - 2.0 * g).abs() < 1e-4);
                }
            }
        }
    }

    /// Not a check: times bf16 products against flex's f32 GEMM on the convolution's shapes
    /// (`cargo test --release --lib bf16_speed -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn bf16_speed() {
        if !available() {
            return;
        }
        for &(name, m, n, k, col_lhs, col_rhs) in &[
            ("fwd 32x2048x288", 32, 2048, 288, false, false),
            ("fwd 256x2048x1152", 256, 2048, 1152, false, false),
            ("dw 256x1152x2048", 256, 1152, 2048, false, true),
            ("dcols 1152x2048x256", 1152, 2048, 256, true, false),
        ] {
            let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
            let lhs = if col_lhs {
                (&a[..], 1, m)
            } else {
                (&a[..], k, 1)
            };
            let rhs = if col_rhs {
                (&b[..], 1, k)
            } else {
                (&b[..], n, 1)
            };
            let mut c = vec![0f32; m * n];
            let (mut t32, mut t16) = (f64::MAX, f64::MAX);
            for _ in 0..5 {
                let t = std::time::Instant::now();
                crate::model::conv_op::matmul((m, n, k), &mut c, false, lhs, rhs, false);
                t32 = t32.min(t.elapsed().as_secs_f64());
                let t = std::time::Instant::now();
                matmul((m, n, k), &mut c, false, lhs, rhs);
                t16 = t16.min(t.elapsed().as_secs_f64());
            }
            let gf = 2.0 * (m * n * k) as f64 / 1e9;
            eprintln!(
                "{name}: f32 {:.1} GFLOP/s, bf16 {:.1} GFLOP/s, bf16/f32 time {:.2}",
                gf / t32,
                gf / t16,
                t16 / t32
            );
        }
    }
}
