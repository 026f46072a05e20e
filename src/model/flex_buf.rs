//! Reading and making flex tensors as plain `f32` buffers, for mirun's flex ops.

use burn::tensor::TensorData;
use burn_flex::FlexTensor;
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// The tensor's values as `f32`s in row-major order: borrowed when it is a contiguous `f32`
/// tensor (mirun's models are), else copied (and converted: weights loaded from a file keep the
/// file's precision).
pub(crate) fn values(t: &FlexTensor) -> std::borrow::Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(t.clone().into_data().iter::<f32>().collect()),
    }
}

/// A contiguous flex tensor of `shape` owning `values`.
pub(crate) fn tensor(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// `n` floats made in parallel chunks of `chunk` (at least `min_len` chunks per task): each
/// chunk is zeroed by the worker that then fills it (`fill(index, chunk)`), while the chunk is
/// in that core's cache, instead of the whole buffer being zeroed up front on the calling
/// thread while the workers wait. Returns the buffer and each chunk's result, in order.
pub(crate) fn par_zeroed<R: Send>(
    n: usize,
    parts: (usize, usize),
    fill: impl Fn(usize, &mut [f32]) -> R + Sync + Send,
) -> (Vec<f32>, Vec<R>) {
    let zero_then_fill = |i: usize, part: &mut [MaybeUninit<f32>]| {
        part.fill(MaybeUninit::new(0.0));
        // SAFETY: every element of `part` was initialised just above.
        fill(i, unsafe {
            &mut *(part as *mut [MaybeUninit<f32>] as *mut [f32])
        })
    };
    // SAFETY: `zero_then_fill` initialises every element of its chunk.
    unsafe { par_written(n, parts, zero_then_fill) }
}

/// [`par_zeroed`] without the zeroing, for kernels that write every element of their chunk
/// (`write(index, chunk)`): the chunks start uninitialised.
///
/// # Safety
/// `write` must initialise every element of the chunk it is given.
pub(crate) unsafe fn par_written<R: Send>(
    n: usize,
    (chunk, min_len): (usize, usize),
    write: impl Fn(usize, &mut [MaybeUninit<f32>]) -> R + Sync + Send,
) -> (Vec<f32>, Vec<R>) {
    let mut buf: Vec<f32> = Vec::with_capacity(n);
    let results = buf.spare_capacity_mut()[..n]
        .par_chunks_mut(chunk.max(1))
        .with_min_len(min_len.max(1))
        .enumerate()
        .map(|(i, part)| write(i, part))
        .collect();
    // SAFETY: the chunks cover all `n` elements, and `write` initialised each (the caller's
    // promise).
    unsafe { buf.set_len(n) };
    (buf, results)
}
