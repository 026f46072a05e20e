//! The backward pass of mirun's ops on libtorch: libtorch's own autograd. The forward runs on
//! leaves that require gradients and keeps the output with its graph; the backward asks libtorch
//! for the gradients of ⟨output, upstream gradient⟩ — libtorch's own kernels, no recomputation.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::tensor::FloatTensor;
use burn::backend::LibTorch;
use burn_tch::TchTensor;

/// A forward as libtorch recorded it: the op's inputs as leaves (in the op's argument order)
/// and its output with the graph.
pub(crate) struct Recorded {
    leaves: Vec<tch::Tensor>,
    y: tch::Tensor,
    /// A second handle on the tensor burn received: while it lives burn-tch sees the buffer as
    /// shared and never updates it in place (libtorch's backward may read it, e.g. ReLU's),
    /// without copying the output.
    _shared: TchTensor,
}

impl Clone for Recorded {
    fn clone(&self) -> Self {
        Self {
            leaves: self.leaves.iter().map(|t| t.shallow_clone()).collect(),
            y: self.y.shallow_clone(),
            _shared: self._shared.clone(),
        }
    }
}

impl std::fmt::Debug for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorded")
            .field("y", &self.y.size())
            .finish()
    }
}

// SAFETY: libtorch tensors are reference-counted handles safe to move between threads; a
// `Recorded` is used by one backward pass at a time.
unsafe impl Send for Recorded {}
unsafe impl Sync for Recorded {}

/// The backward pass of a recorded libtorch op with `N` differentiable inputs.
#[derive(Debug)]
pub(crate) struct TchBackward;

impl<const N: usize> Backward<LibTorch, N> for TchBackward {
    type State = Recorded;

    fn backward(
        self,
        ops: Ops<Self::State, N>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let dy = grads.consume::<LibTorch>(&ops.node);
        let r = ops.state;
        let s = (&r.y * &dy.tensor).sum(tch::Kind::Float);
        let leaves: Vec<&tch::Tensor> = r.leaves.iter().collect();
        let g = tch::Tensor::run_backward(&[s], &leaves, false, false);
        for (node, g) in ops.parents.into_iter().zip(g) {
            if let Some(node) = node {
                grads.register::<LibTorch>(node.id, TchTensor::new(g));
            }
        }
    }
}

/// Runs `forward` on leaves made from `inputs` and records it for [`TchBackward`] when the
/// graph tracks it; burn receives the result detached. Also returns `forward`'s other results.
pub(crate) fn recorded<C: CheckpointStrategy, const N: usize, T>(
    inputs: [&FloatTensor<Autodiff<LibTorch, C>>; N],
    forward: impl FnOnce(&[tch::Tensor]) -> (tch::Tensor, T),
) -> (FloatTensor<Autodiff<LibTorch, C>>, T) {
    let leaves: Vec<tch::Tensor> = inputs
        .iter()
        .map(|t| t.primitive().tensor.detach().set_requires_grad(true))
        .collect();
    let (y, rest) = forward(&leaves);
    let out = TchTensor::new(y.detach());
    let tensor = match TchBackward
        .prepare::<C>(inputs.map(|t| t.node()))
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let _shared = out.clone();
            prep.finish(Recorded { leaves, y, _shared }, out)
        }
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    (tensor, rest)
}
