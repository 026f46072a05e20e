//! Reading and making flex tensors as plain `f32` buffers, for mirun's flex ops.

use burn::tensor::TensorData;
use burn_flex::FlexTensor;

/// The tensor's `f32`s in row-major order (copied only when it is not contiguous). mirun's
/// models are `f32` throughout.
pub(crate) fn values(t: &FlexTensor) -> std::borrow::Cow<'_, [f32]> {
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

/// A contiguous flex tensor of `shape` owning `values`.
pub(crate) fn tensor(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}
