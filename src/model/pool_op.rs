//! The VGG's 2×2 max-pool (stride 2, no padding, an odd last row or column dropped) as one
//! custom op on flex and on libtorch (burn's backend extensions), forward and backward.
//!
//! Both backends run the same two kernels below on the tensors' own buffers: the forward
//! writes each window's maximum and which of its four values it was (one byte), the backward
//! puts each output gradient back on that value. libtorch's own NCHW max-pool was ~14 % of a
//! libtorch training step (it computes a 64-bit index per output, scalar); burn's flex pool
//! goes through its generic strided kernels.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Backend, Dispatch, Flex};
use burn::tensor::Tensor;
use burn_flex::FlexTensor;
use rayon::prelude::*;

/// The pool as a backend extension.
#[backend_extension(Flex, LibTorch: cfg(feature = "tch"), Autodiff)]
pub trait MaxPool2x2Backend: Backend {
    /// `x` `[N, C, H, W]` → `[N, C, H/2, W/2]` (rounded down): the largest value of each 2×2
    /// window.
    fn max_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// [`MaxPool2x2Backend::max_pool2x2`] on burn tensors (flex and libtorch devices, with or
/// without autodiff).
pub fn max_pool2x2(x: Tensor<4>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as MaxPool2x2Backend>::max_pool2x2(
        x.into_dispatch(),
    ))
}

/// The input's sizes: `planes` = N·C maps of `h × w`.
#[derive(Debug, Clone, Copy)]
struct Dims {
    planes: usize,
    h: usize,
    w: usize,
}

impl Dims {
    fn of(shape: &[usize]) -> Self {
        Self {
            planes: shape[0] * shape[1],
            h: shape[2],
            w: shape[3],
        }
    }
    fn out(&self) -> (usize, usize) {
        (self.h / 2, self.w / 2)
    }
    fn out_shape(&self, shape: &[usize]) -> Vec<usize> {
        let (oh, ow) = self.out();
        vec![shape[0], shape[1], oh, ow]
    }
}

/// Planes per rayon task (a plane of the first layer's output is a few hundred values).
const MIN_PLANES: usize = 64;

/// Writes each window's maximum into `y` and its position (0 top left, 1 top right, 2 bottom
/// left, 3 bottom right; the first of equal values) into `arg`. A NaN in a window's first
/// position is kept.
fn forward_into(x: &[f32], d: Dims, y: &mut [f32], arg: &mut [u8]) {
    let (oh, ow) = d.out();
    if oh * ow == 0 {
        return;
    }
    y.par_chunks_mut(oh * ow)
        .zip(arg.par_chunks_mut(oh * ow))
        .zip(x.par_chunks(d.h * d.w))
        .with_min_len(MIN_PLANES)
        .for_each(|((yp, ap), xp)| {
            for oy in 0..oh {
                let r0 = &xp[2 * oy * d.w..][..2 * ow];
                let r1 = &xp[(2 * oy + 1) * d.w..][..2 * ow];
                let (yr, ar) = (&mut yp[oy * ow..][..ow], &mut ap[oy * ow..][..ow]);
                for ox in 0..ow {
                    let c = [r0[2 * ox], r0[2 * ox + 1], r1[2 * ox], r1[2 * ox + 1]];
                    let (mut best, mut k) = (c[0], 0u8);
                    for (j, &v) in c.iter().enumerate().skip(1) {
                        if v > best {
                            (best, k) = (v, j as u8);
                        }
                    }
                    yr[ox] = best;
                    ar[ox] = k;
                }
            }
        });
}

/// One plane of the input gradient, into a zeroed `xp`: each output's gradient on the value
/// the forward picked.
fn backward_plane(xp: &mut [f32], dyp: &[f32], ap: &[u8], d: Dims) {
    let (oh, ow) = d.out();
    for oy in 0..oh {
        for ox in 0..ow {
            let i = oy * ow + ox;
            let k = ap[i] as usize;
            xp[(2 * oy + k / 2) * d.w + 2 * ox + k % 2] = dyp[i];
        }
    }
}

/// What the backward needs: the picked positions and the input's shape.
#[derive(Debug, Clone)]
struct PoolState {
    arg: Vec<u8>,
    shape: Vec<usize>,
}

/// The backward pass (on flex and on libtorch).
#[derive(Debug)]
struct MaxPoolBackward;

/// The pool under autodiff on backend `B`: `forward` gives the output and, when the graph
/// tracks `x`, the state its backward needs.
fn autodiff_pool<B, C>(
    x: FloatTensor<Autodiff<B, C>>,
    forward: impl Fn(&FloatTensor<B>) -> (FloatTensor<B>, PoolState),
) -> FloatTensor<Autodiff<B, C>>
where
    B: Backend,
    C: CheckpointStrategy,
    MaxPoolBackward: Backward<B, 1, State = PoolState>,
{
    match MaxPoolBackward
        .prepare::<C>([x.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let (y, state) = forward(x.primitive());
            prep.finish(state, y)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(x.primitive()).0),
    }
}

mod flex {
    use super::*;
    use crate::model::flex_buf::{par_zeroed, tensor, values};

    pub(super) fn forward(x: &FlexTensor) -> (FlexTensor, PoolState) {
        let shape = x.layout().shape().to_vec();
        let d = Dims::of(&shape);
        let (oh, ow) = d.out();
        let (mut y, mut arg) = (
            vec![0f32; d.planes * oh * ow],
            vec![0u8; d.planes * oh * ow],
        );
        forward_into(&values(x), d, &mut y, &mut arg);
        (tensor(y, d.out_shape(&shape)), PoolState { arg, shape })
    }

    /// The input gradient, each plane zeroed by the worker that fills it.
    fn backward_flex(dy: &[f32], arg: &[u8], d: Dims) -> Vec<f32> {
        let (oh, ow) = d.out();
        let (plane, out) = (d.h * d.w, oh * ow);
        par_zeroed(d.planes * plane, (plane, MIN_PLANES), |p, xp| {
            backward_plane(xp, &dy[p * out..][..out], &arg[p * out..][..out], d)
        })
        .0
    }

    impl MaxPool2x2Backend for Flex {
        fn max_pool2x2(x: FlexTensor) -> FlexTensor {
            forward(&x).0
        }
    }

    impl Backward<Flex, 1> for MaxPoolBackward {
        type State = PoolState;

        fn backward(
            self,
            ops: Ops<Self::State, 1>,
            grads: &mut Gradients,
            _checkpointer: &mut Checkpointer,
        ) {
            let dy = grads.consume::<Flex>(&ops.node);
            let PoolState { arg, shape } = ops.state;
            let d = Dims::of(&shape);
            let dx = backward_flex(&values(&dy), &arg, d);
            if let [Some(node)] = ops.parents {
                grads.register::<Flex>(node.id, tensor(dx, shape));
            }
        }
    }

    impl<C: CheckpointStrategy> MaxPool2x2Backend for Autodiff<Flex, C> {
        fn max_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self> {
            autodiff_pool::<Flex, C>(x, forward)
        }
    }
}

/// libtorch: the same kernels on libtorch's CPU buffers (other devices: libtorch's own pool,
/// its backward through libtorch's autograd).
#[cfg(feature = "tch")]
mod libtorch {
    use super::*;
    use crate::model::tch_graph::recorded;
    use burn::backend::LibTorch;
    use burn_tch::TchTensor;

    fn shape(t: &tch::Tensor) -> Vec<usize> {
        t.size().iter().map(|&s| s as usize).collect()
    }

    /// `t` as a contiguous `f32` tensor (itself when it already is one).
    fn contiguous_f32(t: &tch::Tensor) -> tch::Tensor {
        t.to_kind(tch::Kind::Float).contiguous()
    }

    /// The values of a contiguous `f32` CPU tensor.
    fn slice(t: &tch::Tensor) -> &[f32] {
        // SAFETY: `t` is a contiguous f32 CPU tensor of `numel` values, alive for the borrow.
        unsafe { std::slice::from_raw_parts(t.data_ptr() as *const f32, t.numel()) }
    }

    /// The values of a contiguous `f32` CPU tensor, to write.
    fn slice_mut(t: &mut tch::Tensor) -> &mut [f32] {
        // SAFETY: as for `slice`; the tensor is fresh, so no other handle reads it meanwhile.
        unsafe { std::slice::from_raw_parts_mut(t.data_ptr() as *mut f32, t.numel()) }
    }

    /// A new contiguous `f32` CPU tensor of `shape` (values unset).
    fn empty(shape: &[usize]) -> tch::Tensor {
        let dims: Vec<i64> = shape.iter().map(|&s| s as i64).collect();
        tch::Tensor::empty(dims, (tch::Kind::Float, tch::Device::Cpu))
    }

    /// Writes the input gradient into `dx` (every entry): each output's gradient on the value
    /// the forward picked, 0 elsewhere.
    fn backward_into(dy: &[f32], arg: &[u8], d: Dims, dx: &mut [f32]) {
        let (oh, ow) = d.out();
        if oh * ow == 0 {
            dx.fill(0.0);
            return;
        }
        dx.par_chunks_mut(d.h * d.w)
            .zip(dy.par_chunks(oh * ow))
            .zip(arg.par_chunks(oh * ow))
            .with_min_len(MIN_PLANES)
            .for_each(|((xp, dyp), ap)| {
                xp.fill(0.0);
                backward_plane(xp, dyp, ap, d);
            });
    }

    fn forward(x: &tch::Tensor) -> (tch::Tensor, PoolState) {
        let shape = shape(x);
        let d = Dims::of(&shape);
        let (oh, ow) = d.out();
        let x = contiguous_f32(x);
        let mut y = empty(&d.out_shape(&shape));
        let mut arg = vec![0u8; d.planes * oh * ow];
        forward_into(slice(&x), d, slice_mut(&mut y), &mut arg);
        (y, PoolState { arg, shape })
    }

    fn libtorch_pool(x: &tch::Tensor) -> tch::Tensor {
        x.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false)
    }

    impl MaxPool2x2Backend for LibTorch {
        fn max_pool2x2(x: TchTensor) -> TchTensor {
            TchTensor::new(if x.tensor.device() == tch::Device::Cpu {
                forward(&x.tensor).0
            } else {
                libtorch_pool(&x.tensor)
            })
        }
    }

    impl Backward<LibTorch, 1> for MaxPoolBackward {
        type State = PoolState;

        fn backward(
            self,
            ops: Ops<Self::State, 1>,
            grads: &mut Gradients,
            _checkpointer: &mut Checkpointer,
        ) {
            let dy = grads.consume::<LibTorch>(&ops.node);
            let PoolState { arg, shape } = ops.state;
            let d = Dims::of(&shape);
            let dy = contiguous_f32(&dy.tensor);
            let mut dx = empty(&shape);
            backward_into(slice(&dy), &arg, d, slice_mut(&mut dx));
            if let [Some(node)] = ops.parents {
                grads.register::<LibTorch>(node.id, TchTensor::new(dx));
            }
        }
    }

    impl<C: CheckpointStrategy> MaxPool2x2Backend for Autodiff<LibTorch, C> {
        fn max_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self> {
            if x.primitive().tensor.device() != tch::Device::Cpu {
                let forward = |l: &[tch::Tensor]| (libtorch_pool(&l[0]), ());
                return recorded::<C, 1, _>([&x], forward).0;
            }
            autodiff_pool::<LibTorch, C>(x, |t: &TchTensor| {
                let (y, state) = forward(&t.tensor);
                (TchTensor::new(y), state)
            })
        }
    }
}
