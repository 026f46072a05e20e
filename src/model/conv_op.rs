//! The backbones' convolution on flex as one custom op (burn's backend extensions): a
//! same-padded, stride-1 `k×k` convolution with bias, forward and backward written as im2col
//! into a column block + one GEMM per chunk of images, straight between NCHW tensors.
//!
//! burn composes [`super::gemm_conv::conv2d_same_gemm`] from pad, k² slices, a concatenation,
//! two transposes and a matrix product, and autodiff replays all of them backwards: the profile
//! of a flex training step spent ~27 % of its time in those layout copies and ~13 % zeroing
//! fresh pages for them. Here images go in chunks: one column block `[Cin·k², pixels]` and one
//! GEMM per chunk (so the 3×3 maps of late layers still make large products). The weight
//! gradient is summed over a fixed split of the batch (~2048 output pixels a chunk) in order, so
//! the result does not depend on the number of threads. The forward product and the input
//! gradient take smaller chunks (~512 pixels, column blocks near the size of an L2), as many as
//! a multiple of the threads, where that cannot change a value ([`even_chunk_images`]), and run
//! beside the weight gradient's chunks, so that no core waits on a short last chunk.

use super::flex_buf::{par_written, par_zeroed, tensor, values};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Backend, Dispatch, Flex};
use burn::tensor::Tensor;
use burn_flex::FlexTensor;
use gemm::{gemm, Parallelism};
use multiversion::multiversion;
use rayon::prelude::*;
use std::cell::RefCell;
use std::mem::MaybeUninit;

/// The convolution as a backend extension: flex runs the kernels below, libtorch its own
/// convolution; autodiff records the backward passes written here (on libtorch: libtorch's own
/// convolution backward, through its autograd).
#[backend_extension(Flex, LibTorch: cfg(feature = "tch"), Autodiff)]
pub trait SameConvBackend: Backend {
    /// `x` `[N, Cin, H, W]` ⊛ `w` `[Cout, Cin, k, k]` (k odd, zero "same" padding, stride 1)
    /// `+ b` `[Cout]` → `[N, Cout, H, W]`. With `bf16` the products take bfloat16-rounded
    /// operands and sum in f32, forward and backward, and the result is `f32` (libtorch: its
    /// bf16 kernels, the bias rounded too; flex: AVX-512-BF16, the bias added in f32). Runs ask
    /// for it only where `BackendKind::check_precision` allows it.
    fn conv2d_same(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
        bf16: bool,
    ) -> FloatTensor<Self>;
}

/// [`SameConvBackend::conv2d_same`] on burn tensors (flex devices, with or without autodiff).
pub fn conv2d_same(x: Tensor<4>, w: Tensor<4>, b: Tensor<1>, bf16: bool) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as SameConvBackend>::conv2d_same(
        x.into_dispatch(),
        w.into_dispatch(),
        b.into_dispatch(),
        bf16,
    ))
}

/// The sizes of one convolution.
#[derive(Debug, Clone, Copy)]
struct Dims {
    n: usize,
    cin: usize,
    h: usize,
    w: usize,
    cout: usize,
    k: usize,
}

impl Dims {
    fn of(x: &FlexTensor, w: &FlexTensor) -> Self {
        let xs = x.layout().shape();
        let ws = w.layout().shape();
        Self {
            n: xs[0],
            cin: xs[1],
            h: xs[2],
            w: xs[3],
            cout: ws[0],
            k: ws[2],
        }
    }
    fn hw(&self) -> usize {
        self.h * self.w
    }
    /// Rows of the column block: `Cin·k²`.
    fn kk(&self) -> usize {
        self.cin * self.k * self.k
    }
}

thread_local! {
    /// Each thread's scratch buffers for the kernels below (column blocks, GEMM outputs, the
    /// padded plane), kept from chunk to chunk and step to step instead of allocated and
    /// zeroed each time: every element a kernel reads it has written first.
    static SCRATCH: RefCell<[Vec<f32>; 3]> = const { RefCell::new([Vec::new(), Vec::new(), Vec::new()]) };
}

/// `f` on this thread's three scratch buffers, `sizes` long (contents left from earlier use).
fn with_scratch<R>(
    sizes: [usize; 3],
    f: impl FnOnce(&mut [f32], &mut [f32], &mut [f32]) -> R,
) -> R {
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        for (v, &n) in s.iter_mut().zip(&sizes) {
            if v.len() < n {
                v.resize(n, 0.0);
            }
        }
        let [a, b, c] = &mut *s;
        f(&mut a[..sizes[0]], &mut b[..sizes[1]], &mut c[..sizes[2]])
    })
}

/// Floats of one zero-bordered plane [`im2col`] copies from.
fn padded_len(d: Dims) -> usize {
    (d.h + d.k - 1) * (d.w + d.k - 1)
}

/// The column block of a chunk of images `xs` (`imgs × Cin × H·W`): `cols` is
/// `Cin·k² × imgs·H·W`, row `(ci·k + kh)·k + kw`, column `i·H·W + oh·W + ow` holding
/// `x_i[ci, oh + kh − p, ow + kw − p]` (0 outside the image). Channel by channel: the channel's
/// planes of all the chunk's images are first copied into `pad` (`imgs ×` [`padded_len`])
/// inside a zero border of `p`, then each of the channel's `k²` rows is written front to back
/// in whole-row copies, with no edge cases. (Image by image, the writes of late layers' 3×3
/// maps landed 9 floats apiece on thousands of rows ~8 KB apart, and each padded plane was read
/// back while its stores were still in flight: on an Intel Xeon that made im2col 12 % of the
/// step.) Compiled for AVX2 too (chosen at run time), as is [`col2im_add`]: copies and
/// per-element sums, alike either way.
#[multiversion(targets("x86_64+avx2+fma"))]
fn im2col(xs: &[f32], d: Dims, cols: &mut [f32], pad: &mut [f32]) {
    let (w, k, p, hw, plen) = (d.w, d.k, d.k / 2, d.hw(), padded_len(d));
    let pw = w + 2 * p;
    let imgs = xs.len() / (d.cin * hw).max(1);
    let stride = imgs * hw;
    // The borders are zeroed once; each plane overwrites only the interior.
    let pad = &mut pad[..imgs * plen];
    pad.fill(0.0);
    for ci in 0..d.cin {
        for (i, padded) in pad.chunks_mut(plen).enumerate() {
            let plane = &xs[(i * d.cin + ci) * hw..][..hw];
            for (ih, src) in plane.chunks(w).enumerate() {
                copy_short(&mut padded[(ih + p) * pw + p..][..w], src);
            }
        }
        for kh in 0..k {
            for kw in 0..k {
                let row = &mut cols[((ci * k + kh) * k + kw) * stride..][..stride];
                // The backbones' map widths as constants: straight vector moves, no per-row
                // dispatch on the length.
                let shifted = kh * pw + kw;
                let planes = (&*pad, hw, plen, pw);
                match w {
                    3 => copy_planes::<3>(row, planes, w, shifted),
                    6 => copy_planes::<6>(row, planes, w, shifted),
                    12 => copy_planes::<12>(row, planes, w, shifted),
                    24 => copy_planes::<24>(row, planes, w, shifted),
                    _ => copy_planes::<0>(row, planes, w, shifted),
                }
            }
        }
    }
}

/// One column row of [`im2col`] for maps `w` wide: image `i`'s `hw` columns are the rows of
/// its padded plane (`pad[i·plen..]` of `(pad, hw, plen, pw)`, rows `pw` apart) from `shifted`
/// on, `w` floats each. `W`: `w` as a constant (straight moves), or 0 for any width.
#[inline(always)]
fn copy_planes<const W: usize>(
    row: &mut [f32],
    (pad, hw, plen, pw): (&[f32], usize, usize, usize),
    w: usize,
    shifted: usize,
) {
    let w = if W == 0 { w } else { W };
    for (image, padded) in row.chunks_exact_mut(hw).zip(pad.chunks_exact(plen)) {
        for (oh, out) in image.chunks_exact_mut(w).enumerate() {
            let src = &padded[oh * pw + shifted..][..w];
            if W == 0 {
                copy_short(out, src);
            } else {
                out.copy_from_slice(src);
            }
        }
    }
}

/// `dst.copy_from_slice(src)` for the short rows of feature maps (3 to a few dozen floats), as
/// inline vector moves: `copy_from_slice` calls `memcpy` for every row, and those calls were
/// two thirds of im2col's time (the profile of a flex step on an AVX2 CPU: ~7 % of the step).
/// Chunks of 8, then the last 8 again, overlapping; shorter rows likewise in 4s, 2s or 1s.
#[inline(always)]
fn copy_short(dst: &mut [f32], src: &[f32]) {
    match dst.len() {
        8.. => copy_chunks::<8>(dst, src),
        4.. => copy_chunks::<4>(dst, src),
        2.. => copy_chunks::<2>(dst, src),
        _ => copy_chunks::<1>(dst, src),
    }
}

/// [`copy_short`] in copies of `W` floats (a constant length: vector moves, no call), the last
/// one overlapping the one before when `W` does not divide the row; `dst.len() ≥ W` or 0.
#[inline(always)]
fn copy_chunks<const W: usize>(dst: &mut [f32], src: &[f32]) {
    let n = dst.len();
    let mut i = 0;
    while i + W <= n {
        dst[i..i + W].copy_from_slice(&src[i..i + W]);
        i += W;
    }
    if i < n {
        dst[n - W..].copy_from_slice(&src[n - W..n]);
    }
}

/// The adjoint of [`im2col`]: adds every entry of the chunk's columns back onto the pixel of
/// `xs` (`imgs × Cin × H·W`) it was read from; channel by channel, as [`im2col`] writes them.
#[multiversion(targets("x86_64+avx2+fma"))]
fn col2im_add(cols: &[f32], d: Dims, xs: &mut [f32]) {
    let (h, w, k, p, hw) = (d.h, d.w, d.k, d.k / 2, d.hw());
    let imgs = xs.len() / (d.cin * hw).max(1);
    let stride = imgs * hw;
    for ci in 0..d.cin {
        for i in 0..imgs {
            let plane = &mut xs[(i * d.cin + ci) * hw..][..hw];
            for kh in 0..k {
                for kw in 0..k {
                    let row = &cols[((ci * k + kh) * k + kw) * stride + i * hw..][..hw];
                    add_shifted(plane, row, (h, w, p), (kh, kw));
                }
            }
        }
    }
}

/// One image's column row for tap `(kh, kw)` added back onto its `h × w` plane: column pixel
/// `(oh, ow)` onto `(oh + kh − p, ow + kw − p)` where that is inside the plane.
#[inline(always)]
fn add_shifted(
    plane: &mut [f32],
    row: &[f32],
    (h, w, p): (usize, usize, usize),
    (kh, kw): (usize, usize),
) {
    let lo = p.saturating_sub(kw);
    let hi = (w + p).saturating_sub(kw).min(w);
    if lo >= hi {
        return;
    }
    for oh in (p.saturating_sub(kh)..h).take_while(|&oh| oh + kh < h + p) {
        let ih = oh + kh - p;
        let dst = &mut plane[ih * w..(ih + 1) * w];
        let src = &row[oh * w..(oh + 1) * w];
        for (o, v) in dst[lo + kw - p..hi + kw - p].iter_mut().zip(&src[lo..hi]) {
            *o += v;
        }
    }
}

/// `dst (m×n) = [dst +] lhs (m×k) · rhs (k×n)`, each given as (pointer, row stride, column
/// stride), on the calling thread; with `bf16`, of operands rounded to bfloat16
/// ([`super::bf16_gemm`], f32 sums).
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    accumulate: bool,
    lhs: (&[f32], usize, usize),
    rhs: (&[f32], usize, usize),
    bf16: bool,
) {
    #[cfg(target_arch = "x86_64")]
    if bf16 {
        return super::bf16_gemm::matmul((m, n, k), dst, accumulate, lhs, rhs);
    }
    // Elsewhere bf16 is refused before a run starts (`BackendKind::check_precision`).
    let _ = bf16;
    // SAFETY: the callers' slices hold m×n, m×k and k×n elements at the given strides.
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.0.as_ptr(),
            lhs.2 as isize,
            lhs.1 as isize,
            rhs.0.as_ptr(),
            rhs.2 as isize,
            rhs.1 as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

/// Images per GEMM: enough that a chunk has about [`CHUNK_COLUMNS`] output pixels, so the
/// small late layers (3×3 maps) make one large product instead of many thin ones. A function of
/// the shapes only: the chunking, and so the order of every sum, never depends on threads.
fn chunk_images(d: Dims) -> usize {
    (CHUNK_COLUMNS / d.hw().max(1)).clamp(1, d.n.max(1))
}

/// Output pixels per chunk of images (see [`chunk_images`]).
const CHUNK_COLUMNS: usize = 2048;

/// Output pixels per chunk of the forward product and the input gradient (see
/// [`even_chunk_images`]): column blocks of at most ~5 MB in the largest layers, most of them
/// within a 2 MB L2, instead of ~5–19 MB written out and read back. On an Intel Xeon (2 MB L2)
/// the evaluation of the test set took ~7 % less than with [`CHUNK_COLUMNS`].
const SPLIT_COLUMNS: usize = 512;

/// Images per chunk for the forward product and the input gradient: about [`SPLIT_COLUMNS`]
/// output pixels, with the chunk count rounded up to a multiple of the threads, so that no core
/// waits on a short last chunk (a 768-row step's 3×3 layer made chunks of 227, 227, 227 and 87
/// images) — where that cannot change a value, against the fixed split of [`chunk_images`].
/// Each output is one dot product over `Cin·k²` or `Cout`, and the `gemm` crate blocks that sum
/// by its length alone in products of more than 64 columns, but at most 512 deep in products
/// of at most 64 × 64, and takes a matrix–vector path for a single row or column (mirun's bf16
/// kernel converts the columns in groups whose alignment depends on where the chunk starts). So
/// this split is used only when it and the fixed one both make chunks of more than 64 columns,
/// in f32, and with more than one output and input channel; else the fixed split: results
/// never depend on the thread count.
fn even_chunk_images(d: Dims, bf16: bool) -> usize {
    let fixed = chunk_images(d);
    let threads = rayon::current_num_threads().max(1);
    let smaller = (SPLIT_COLUMNS / d.hw().max(1)).clamp(1, d.n.max(1));
    let chunks = d.n.div_ceil(smaller).next_multiple_of(threads).max(1);
    let even = d.n.div_ceil(chunks).max(1);
    // Every chunk of a split into `per`-image chunks has more than 64 columns.
    let wide = |per: usize| {
        let last = match d.n % per {
            0 => per,
            r => r,
        };
        last * d.hw() > 64
    };
    let same_sums = !bf16 && d.cout > 1 && d.kk() > 1 && d.n > 0;
    if same_sums && wide(fixed) && wide(even) {
        even
    } else {
        fixed
    }
}

/// Images `first..first + imgs`' `dY` (each `Cout × HW`) side by side as `Cout × imgs·HW`.
fn gather_dy(dyv: &[f32], d: Dims, first: usize, imgs: usize, dyc: &mut [f32]) {
    let (hw, cols_n) = (d.hw(), imgs * d.hw());
    for i in 0..imgs {
        let dyn_ = &dyv[(first + i) * d.cout * hw..][..d.cout * hw];
        for (co, row) in dyn_.chunks(hw).enumerate() {
            dyc[co * cols_n + i * hw..][..hw].copy_from_slice(row);
        }
    }
}

/// Forward: one chunk of images per task, one GEMM per chunk (of bf16-rounded operands with
/// `bf16`; the bias is added in f32).
fn forward(x: &FlexTensor, wt: &FlexTensor, b: &FlexTensor, bf16: bool) -> FlexTensor {
    let d = Dims::of(x, wt);
    let (xv, wv, bv) = (values(x), values(wt), values(b));
    assert!(
        wt.layout().shape()[1] == d.cin && bv.len() == d.cout,
        "conv2d_same: input {:?}, weight {:?}, bias of {}",
        x.layout().shape(),
        wt.layout().shape(),
        bv.len()
    );
    let (hw, kk, per) = (d.hw(), d.kk(), even_chunk_images(d, bf16));
    let write = |c: usize, ys: &mut [MaybeUninit<f32>]| {
        let first = c * per * d.cin * hw;
        let xs = &xv[first..(first + per * d.cin * hw).min(xv.len())];
        let imgs = xs.len() / (d.cin * hw);
        let cols_n = imgs * hw;
        let sizes = [kk * cols_n, d.cout * cols_n, imgs * padded_len(d)];
        with_scratch(sizes, |cols, out, pad| {
            im2col(xs, d, cols, pad);
            // out (Cout × imgs·HW) = w (Cout × KK) · cols (KK × imgs·HW).
            matmul(
                (d.cout, cols_n, kk),
                out,
                false,
                (&wv, kk, 1),
                (cols, cols_n, 1),
                bf16,
            );
            add_bias(ys, out, &bv, hw);
        })
    };
    // SAFETY: `add_bias` writes every element of its chunk (a bias for each of its `Cout`
    // channels, checked above).
    let (y, _) = unsafe { par_written(d.n * d.cout * hw, (per * d.cout * hw, 1), write) };
    tensor(y, vec![d.n, d.cout, d.h, d.w])
}

/// `db[c] += Σ row c of rows` (one image's `dY`, rows of `hw`): each row summed front to
/// back from where `Iterator::sum` starts — the same sums as `row.iter().sum()` — but eight
/// rows at a time, so their dependent additions overlap instead of waiting on each other.
#[multiversion(targets("x86_64+avx2+fma"))]
fn add_row_sums(db: &mut [f32], rows: &[f32], hw: usize) {
    if hw == 0 {
        return;
    }
    let start: f32 = std::iter::empty::<f32>().sum();
    let mut blocks = db.chunks_exact_mut(8).zip(rows.chunks_exact(8 * hw));
    for (out, block) in &mut blocks {
        let mut acc = [start; 8];
        for t in 0..hw {
            for (j, a) in acc.iter_mut().enumerate() {
                *a += block[j * hw + t];
            }
        }
        out.iter_mut().zip(acc).for_each(|(o, a)| *o += a);
    }
    let done = db.len() / 8 * 8;
    for (o, row) in db[done..].iter_mut().zip(rows[done * hw..].chunks(hw)) {
        *o += row.iter().sum::<f32>();
    }
}

/// `ys` (images × Cout × HW) = the chunk's product `out` (Cout × images·HW) + the bias.
#[multiversion(targets("x86_64+avx2+fma"))]
fn add_bias(ys: &mut [MaybeUninit<f32>], out: &[f32], bias: &[f32], hw: usize) {
    let per_image = bias.len() * hw;
    if per_image == 0 {
        return;
    }
    let cols_n = ys.len() / bias.len();
    for (i, yn) in ys.chunks_mut(per_image).enumerate() {
        for (co, row) in yn.chunks_mut(hw).enumerate() {
            let src = &out[co * cols_n + i * hw..][..hw];
            let b = bias[co];
            row.iter_mut()
                .zip(src)
                .for_each(|(o, &v)| _ = o.write(v + b));
        }
    }
}

/// Backward: (dx when `need_dx`, dw, db) for the upstream gradient `dy`; with `bf16`, its
/// products on bf16-rounded operands too (as autocast's backward), db summed in f32.
fn backward(
    x: &FlexTensor,
    wt: &FlexTensor,
    dy: &FlexTensor,
    need_dx: bool,
    bf16: bool,
) -> (Option<FlexTensor>, FlexTensor, FlexTensor) {
    let d = Dims::of(x, wt);
    let (xv, wv, dyv) = (values(x), values(wt), values(dy));
    let (hw, kk, per) = (d.hw(), d.kk(), chunk_images(d));
    // Per chunk of images (a fixed split of the batch: the sums over it depend on it): the
    // chunk's partial dw and db.
    let weight_grads = |c: usize| {
        let first = c * per;
        let imgs = per.min(d.n - first);
        let cols_n = imgs * hw;
        let sizes = [kk * cols_n, d.cout * cols_n, imgs * padded_len(d)];
        // `cols`: the chunk's columns; `dyc`: its dY as Cout × imgs·HW.
        with_scratch(sizes, |cols, dyc, pad| {
            im2col(&xv[first * d.cin * hw..][..imgs * d.cin * hw], d, cols, pad);
            let mut db = vec![0f32; d.cout];
            for i in 0..imgs {
                add_row_sums(
                    &mut db,
                    &dyv[(first + i) * d.cout * hw..][..d.cout * hw],
                    hw,
                );
            }
            gather_dy(&dyv, d, first, imgs, dyc);
            // dw (Cout × KK) = dY (Cout × imgs·HW) · colsᵀ (imgs·HW × KK).
            let mut dw = vec![0f32; d.cout * kk];
            matmul(
                (d.cout, kk, cols_n),
                &mut dw,
                false,
                (dyc, cols_n, 1),
                (cols, 1, cols_n),
                bf16,
            );
            (dw, db)
        })
    };
    // Per chunk of images (any split: see [`even_chunk_images`]): its dx.
    let per_dx = even_chunk_images(d, bf16);
    let input_grad = |c: usize, dxs: &mut [f32]| {
        let first = c * per_dx;
        let imgs = dxs.len() / (d.cin * hw);
        let cols_n = imgs * hw;
        with_scratch([kk * cols_n, d.cout * cols_n, 0], |dcols, dyc, _| {
            gather_dy(&dyv, d, first, imgs, dyc);
            // dcols (KK × imgs·HW) = wᵀ (KK × Cout) · dY (Cout × imgs·HW).
            matmul(
                (kk, cols_n, d.cout),
                dcols,
                false,
                (&wv, 1, kk),
                (dyc, cols_n, 1),
                bf16,
            );
            col2im_add(dcols, d, dxs);
        })
    };
    let (dx, partials) = rayon::join(
        || match need_dx {
            true => par_zeroed(d.n * d.cin * hw, (per_dx * d.cin * hw, 1), input_grad).0,
            false => Vec::new(),
        },
        || {
            (0..d.n.div_ceil(per))
                .into_par_iter()
                .map(weight_grads)
                .collect::<Vec<_>>()
        },
    );
    let (mut dw, mut db) = (vec![0f32; d.cout * kk], vec![0f32; d.cout]);
    for (pw, pb) in partials {
        dw.iter_mut().zip(pw).for_each(|(a, b)| *a += b);
        db.iter_mut().zip(pb).for_each(|(a, b)| *a += b);
    }
    (
        need_dx.then(|| tensor(dx, vec![d.n, d.cin, d.h, d.w])),
        tensor(dw, vec![d.cout, d.cin, d.k, d.k]),
        tensor(db, vec![d.cout]),
    )
}

impl SameConvBackend for Flex {
    /// With `bf16`: the products on bf16-rounded operands (AVX-512-BF16; runs refuse bf16 on
    /// flex where the CPU lacks it).
    fn conv2d_same(x: FlexTensor, w: FlexTensor, b: FlexTensor, bf16: bool) -> FlexTensor {
        forward(&x, &w, &b, bf16)
    }
}

#[derive(Debug)]
struct SameConvBackward;

impl Backward<Flex, 3> for SameConvBackward {
    /// The forward's input and weight, and whether it multiplied in bf16.
    type State = (FlexTensor, FlexTensor, bool);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_w, node_b] = ops.parents;
        let dy = grads.consume::<Flex>(&ops.node);
        let (x, w, bf16) = ops.state;
        let (dx, dw, db) = backward(&x, &w, &dy, node_x.is_some(), bf16);
        for (node, g) in [(node_x, dx), (node_w, Some(dw)), (node_b, Some(db))] {
            if let (Some(node), Some(g)) = (node, g) {
                grads.register::<Flex>(node.id, g);
            }
        }
    }
}

impl<C: CheckpointStrategy> SameConvBackend for Autodiff<Flex, C> {
    fn conv2d_same(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
        bf16: bool,
    ) -> FloatTensor<Self> {
        match SameConvBackward
            .prepare::<C>([x.node(), w.node(), b.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (xp, wp) = (x.primitive().clone(), w.primitive().clone());
                let out = forward(&xp, &wp, b.primitive(), bf16);
                prep.finish((xp, wp, bf16), out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(forward(x.primitive(), w.primitive(), b.primitive(), bf16))
            }
        }
    }
}

/// libtorch: its own convolution forward, and its own convolution backward (through libtorch's
/// autograd on a recomputed forward) instead of burn's generic weight gradient.
#[cfg(feature = "tch")]
mod libtorch {
    use super::*;
    use crate::model::tch_graph::recorded;
    use burn::backend::LibTorch;
    use burn_tch::TchTensor;

    /// libtorch's convolution; with `bf16` on bfloat16 copies of its inputs (libtorch's bf16
    /// kernels: oneDNN's on AVX-512-BF16/AMX CPUs), the result back in `f32`, as PyTorch's
    /// autocast does.
    fn conv(x: &tch::Tensor, w: &tch::Tensor, b: &tch::Tensor, bf16: bool) -> tch::Tensor {
        let p = w.size()[2] / 2;
        if bf16 {
            let k = tch::Kind::BFloat16;
            let (x, w, b) = (x.to_kind(k), w.to_kind(k), b.to_kind(k));
            tch::Tensor::conv2d(&x, &w, Some(&b), [1, 1], [p, p], [1, 1], 1)
                .to_kind(tch::Kind::Float)
        } else {
            tch::Tensor::conv2d(x, w, Some(b), [1, 1], [p, p], [1, 1], 1)
        }
    }

    impl SameConvBackend for LibTorch {
        fn conv2d_same(x: TchTensor, w: TchTensor, b: TchTensor, bf16: bool) -> TchTensor {
            TchTensor::new(conv(&x.tensor, &w.tensor, &b.tensor, bf16))
        }
    }

    impl<C: CheckpointStrategy> SameConvBackend for Autodiff<LibTorch, C> {
        fn conv2d_same(
            x: FloatTensor<Self>,
            w: FloatTensor<Self>,
            b: FloatTensor<Self>,
            bf16: bool,
        ) -> FloatTensor<Self> {
            // The convolution's backward does not read its output: burn may share it.
            let forward = |l: &[tch::Tensor]| (conv(&l[0], &l[1], &l[2], bf16), ());
            recorded::<C, 3, _>([&x, &w, &b], forward).0
        }
    }
}
