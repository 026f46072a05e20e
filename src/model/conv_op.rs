//! The backbones' convolution on flex as one custom op (burn's backend extensions): a
//! same-padded, stride-1 `k×k` convolution with bias, forward and backward written as im2col
//! into a per-image buffer + one GEMM per image, straight between NCHW tensors.
//!
//! burn composes [`super::gemm_conv::conv2d_same_gemm`] from pad, k² slices, a concatenation,
//! two transposes and a matrix product, and autodiff replays all of them backwards: the profile
//! of a flex training step spent ~27 % of its time in those layout copies and ~13 % zeroing
//! fresh pages for them. Here the only buffers are one `[Cin·k², H·W]` column block per image
//! and thread, and the weight gradient is summed over fixed chunks of images in order, so the
//! result does not depend on the number of threads.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Backend, Dispatch, Flex};
use burn::tensor::{Tensor, TensorData};
use burn_flex::FlexTensor;
use gemm::{gemm, Parallelism};
use rayon::prelude::*;

/// Images per chunk of the weight-gradient sum is `N / GRAD_CHUNKS` (rounded up): a fixed split,
/// so the sum's order — and so the bits of the result — never depend on the thread count.
const GRAD_CHUNKS: usize = 8;

/// The convolution as a backend extension: flex runs the kernels below; autodiff records the
/// backward pass written here.
#[backend_extension(Flex, Autodiff)]
pub trait SameConvBackend: Backend {
    /// `x` `[N, Cin, H, W]` ⊛ `w` `[Cout, Cin, k, k]` (k odd, zero "same" padding, stride 1)
    /// `+ b` `[Cout]` → `[N, Cout, H, W]`.
    fn conv2d_same(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// [`SameConvBackend::conv2d_same`] on burn tensors (flex devices, with or without autodiff).
pub fn conv2d_same(x: Tensor<4>, w: Tensor<4>, b: Tensor<1>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as SameConvBackend>::conv2d_same(
        x.into_dispatch(),
        w.into_dispatch(),
        b.into_dispatch(),
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

/// The tensor's `f32`s in row-major order (copied only when it is not contiguous).
fn values(t: &FlexTensor) -> std::borrow::Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(
            t.to_contiguous()
                .as_slice::<f32>()
                .expect("a contiguous f32 tensor")
                .to_vec(),
        ),
    }
}

fn tensor(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// Column block of one image: row `(ci·k + kh)·k + kw`, column `oh·W + ow` holds
/// `x[ci, oh + kh − p, ow + kw − p]` (0 outside the image).
fn im2col(x: &[f32], d: Dims, cols: &mut [f32]) {
    let (h, w, k, p) = (d.h, d.w, d.k, d.k / 2);
    for ci in 0..d.cin {
        let plane = &x[ci * h * w..(ci + 1) * h * w];
        for kh in 0..k {
            for kw in 0..k {
                let row = &mut cols[((ci * k + kh) * k + kw) * h * w..][..h * w];
                // Output columns ow whose input column ow + kw − p lies inside the image.
                let lo = p.saturating_sub(kw);
                let hi = (w + p).saturating_sub(kw).min(w);
                for oh in 0..h {
                    let out = &mut row[oh * w..(oh + 1) * w];
                    let ih = oh + kh;
                    if ih < p || ih - p >= h || lo >= hi {
                        out.fill(0.0);
                        continue;
                    }
                    let src = &plane[(ih - p) * w..(ih - p + 1) * w];
                    out[..lo].fill(0.0);
                    out[hi..].fill(0.0);
                    out[lo..hi].copy_from_slice(&src[lo + kw - p..hi + kw - p]);
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds every column entry back onto the pixel it was read from.
fn col2im_add(cols: &[f32], d: Dims, x: &mut [f32]) {
    let (h, w, k, p) = (d.h, d.w, d.k, d.k / 2);
    for ci in 0..d.cin {
        let plane = &mut x[ci * h * w..(ci + 1) * h * w];
        for kh in 0..k {
            for kw in 0..k {
                let row = &cols[((ci * k + kh) * k + kw) * h * w..][..h * w];
                let lo = p.saturating_sub(kw);
                let hi = (w + p).saturating_sub(kw).min(w);
                if lo >= hi {
                    continue;
                }
                for oh in 0..h {
                    let ih = oh + kh;
                    if ih < p || ih - p >= h {
                        continue;
                    }
                    let dst = &mut plane[(ih - p) * w..(ih - p + 1) * w];
                    let src = &row[oh * w..(oh + 1) * w];
                    for (o, v) in dst[lo + kw - p..hi + kw - p].iter_mut().zip(&src[lo..hi]) {
                        *o += v;
                    }
                }
            }
        }
    }
}

/// `dst (m×n) = [dst +] lhs (m×k) · rhs (k×n)`, each given as (pointer, row stride, column
/// stride), on the calling thread.
#[allow(clippy::too_many_arguments)]
fn matmul(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    accumulate: bool,
    lhs: (&[f32], usize, usize),
    rhs: (&[f32], usize, usize),
) {
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

/// Forward: one image per task.
fn forward(x: &FlexTensor, wt: &FlexTensor, b: &FlexTensor) -> FlexTensor {
    let d = Dims::of(x, wt);
    let (xv, wv, bv) = (values(x), values(wt), values(b));
    let (hw, kk) = (d.hw(), d.kk());
    let mut y = vec![0f32; d.n * d.cout * hw];
    y.par_chunks_mut(d.cout * hw)
        .zip(xv.par_chunks(d.cin * hw))
        .for_each_init(
            || vec![0f32; kk * hw],
            |cols, (yn, xn)| {
                for (row, &bias) in yn.chunks_mut(hw).zip(bv.iter()) {
                    row.fill(bias);
                }
                im2col(xn, d, cols);
                matmul((d.cout, hw, kk), yn, true, (&wv, kk, 1), (cols, hw, 1));
            },
        );
    tensor(y, vec![d.n, d.cout, d.h, d.w])
}

/// Backward: (dx, dw, db) for the upstream gradient `dy`.
fn backward(
    x: &FlexTensor,
    wt: &FlexTensor,
    dy: &FlexTensor,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let d = Dims::of(x, wt);
    let (xv, wv, dyv) = (values(x), values(wt), values(dy));
    let (hw, kk) = (d.hw(), d.kk());
    let per = d.n.div_ceil(GRAD_CHUNKS).max(1);
    let mut dx = vec![0f32; d.n * d.cin * hw];
    // Per chunk of images: its dx slices, and the chunk's partial dw and db.
    let partials: Vec<(Vec<f32>, Vec<f32>)> = dx
        .par_chunks_mut(per * d.cin * hw)
        .enumerate()
        .map(|(c, dx_chunk)| {
            let mut cols = vec![0f32; kk * hw];
            let mut dcols = vec![0f32; kk * hw];
            let mut dw = vec![0f32; d.cout * kk];
            let mut db = vec![0f32; d.cout];
            for (i, dxn) in dx_chunk.chunks_mut(d.cin * hw).enumerate() {
                let img = c * per + i;
                let xn = &xv[img * d.cin * hw..][..d.cin * hw];
                let dyn_ = &dyv[img * d.cout * hw..][..d.cout * hw];
                for (s, row) in db.iter_mut().zip(dyn_.chunks(hw)) {
                    *s += row.iter().sum::<f32>();
                }
                im2col(xn, d, &mut cols);
                // dw (Cout×KK) += dy_n (Cout×HW) · cols_nᵀ (HW×KK).
                matmul(
                    (d.cout, kk, hw),
                    &mut dw,
                    i > 0,
                    (dyn_, hw, 1),
                    (&cols, 1, hw),
                );
                // dcols (KK×HW) = wᵀ (KK×Cout) · dy_n (Cout×HW).
                matmul(
                    (kk, hw, d.cout),
                    &mut dcols,
                    false,
                    (&wv, 1, kk),
                    (dyn_, hw, 1),
                );
                col2im_add(&dcols, d, dxn);
            }
            (dw, db)
        })
        .collect();
    let (mut dw, mut db) = (vec![0f32; d.cout * kk], vec![0f32; d.cout]);
    for (pw, pb) in partials {
        dw.iter_mut().zip(pw).for_each(|(a, b)| *a += b);
        db.iter_mut().zip(pb).for_each(|(a, b)| *a += b);
    }
    (
        tensor(dx, vec![d.n, d.cin, d.h, d.w]),
        tensor(dw, vec![d.cout, d.cin, d.k, d.k]),
        tensor(db, vec![d.cout]),
    )
}

impl SameConvBackend for Flex {
    fn conv2d_same(x: FlexTensor, w: FlexTensor, b: FlexTensor) -> FlexTensor {
        forward(&x, &w, &b)
    }
}

#[derive(Debug)]
struct SameConvBackward;

impl Backward<Flex, 3> for SameConvBackward {
    /// The forward's input and weight.
    type State = (FlexTensor, FlexTensor);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_w, node_b] = ops.parents;
        let dy = grads.consume::<Flex>(&ops.node);
        let (x, w) = ops.state;
        let (dx, dw, db) = backward(&x, &w, &dy);
        for (node, g) in [(node_x, dx), (node_w, dw), (node_b, db)] {
            if let Some(node) = node {
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
    ) -> FloatTensor<Self> {
        match SameConvBackward
            .prepare::<C>([x.node(), w.node(), b.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (xp, wp) = (x.primitive().clone(), w.primitive().clone());
                let out = forward(&xp, &wp, b.primitive());
                prep.finish((xp, wp), out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(forward(x.primitive(), w.primitive(), b.primitive()))
            }
        }
    }
}
