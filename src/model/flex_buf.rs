//! Reading and making flex tensors as plain `f32` buffers, for mirun's flex ops.

use burn::tensor::TensorData;
use burn_flex::FlexTensor;

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
