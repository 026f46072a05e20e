//! The one module that knows which burn backends are compiled in and how to open their
//! devices. `burn-tch` is deprecated upstream: changing backends means changing this file only.

use burn::tensor::Device;

#[cfg(not(any(feature = "flex", feature = "tch", feature = "cuda")))]
compile_error!("enable at least one backend feature: flex (default), tch or cuda");

/// A backend and device the user can pick with `--device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    /// burn-flex, pure Rust, CPU.
    Flex,
    /// libtorch through burn-tch, CPU.
    Tch,
    /// libtorch through burn-tch, first CUDA GPU.
    TchCuda,
    /// burn's CUDA backend (cubecl), first GPU.
    Cuda,
}

/// The opened devices: one for evaluation, its autodiff twin for training.
#[derive(Debug, Clone)]
pub struct Devices {
    pub kind: BackendKind,
    pub eval: Device,
    pub train: Device,
}

impl BackendKind {
    /// Backends compiled into this binary, fastest first.
    pub fn compiled() -> Vec<BackendKind> {
        let mut v = Vec::new();
        if cfg!(feature = "cuda") {
            v.push(BackendKind::Cuda);
        }
        if cfg!(feature = "tch") {
            v.push(BackendKind::Tch);
        }
        if cfg!(feature = "flex") {
            v.push(BackendKind::Flex);
        }
        v
    }

    /// The default: the fastest compiled-in backend.
    pub fn fastest() -> BackendKind {
        Self::compiled()[0]
    }

    /// Name as recorded in results (`flex`, `tch`, `tch-cuda`, `cuda`).
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Flex => "flex",
            BackendKind::Tch => "tch",
            BackendKind::TchCuda => "tch-cuda",
            BackendKind::Cuda => "cuda",
        }
    }

    /// Opens the device, or says which cargo feature the backend needs.
    pub fn open(self) -> Result<Devices, String> {
        let eval = self.device()?;
        // flex: im2col + GEMM (its generic conv weight gradient is ~2× slower); libtorch and
        // CUDA: the backend's own kernels.
        crate::model::gemm_conv::use_native_conv(self != BackendKind::Flex);
        Ok(Devices {
            kind: self,
            train: eval.clone().autodiff(),
            eval,
        })
    }

    #[allow(unreachable_code)]
    fn device(self) -> Result<Device, String> {
        let missing = |feature: &str| {
            let have: Vec<_> = Self::compiled().iter().map(|b| b.name()).collect();
            Err(format!(
                "backend `{}` is not compiled into this binary (needs cargo feature `{feature}`); available: {}",
                self.name(),
                have.join(", ")
            ))
        };
        match self {
            BackendKind::Flex => {
                #[cfg(feature = "flex")]
                return Ok(Device::flex());
                missing("flex")
            }
            BackendKind::Tch => {
                #[cfg(feature = "tch")]
                #[allow(deprecated)]
                return Ok(Device::libtorch());
                missing("tch")
            }
            BackendKind::TchCuda => {
                #[cfg(feature = "tch")]
                #[allow(deprecated)]
                return Ok(Device::libtorch_cuda(0));
                missing("tch")
            }
            BackendKind::Cuda => {
                #[cfg(feature = "cuda")]
                return Ok(Device::cuda(0));
                missing("cuda")
            }
        }
    }
}
