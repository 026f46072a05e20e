//! The one module that knows which burn backends are compiled in and how to open their
//! devices. `burn-tch` is deprecated upstream: changing backends means changing this file only.

use crate::spec::Precision;
use burn::tensor::{Device, Tensor};

#[cfg(not(any(
    feature = "flex",
    feature = "tch",
    feature = "cuda",
    feature = "vulkan"
)))]
compile_error!("enable at least one backend feature: flex (default), tch, cuda or vulkan");

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
    /// burn's Vulkan backend (wgpu + SPIR-V), the best adapter (a GPU where there is one).
    Vulkan,
    /// burn's Vulkan backend pinned to a CPU adapter (Mesa's lavapipe): for tests.
    VulkanCpu,
}

/// The opened devices: one for evaluation, its autodiff twin for training.
#[derive(Debug, Clone)]
pub struct Devices {
    pub kind: BackendKind,
    pub eval: Device,
    pub train: Device,
    /// What `run.toml` records as the device (for Vulkan: the adapter's name and driver).
    pub label: String,
    /// The largest tensor, in bytes, the device can hold in one buffer (Vulkan: the adapter's
    /// storage-buffer binding limit, 128 MiB on lavapipe); `None`: no limit that matters.
    pub max_tensor_bytes: Option<u64>,
}

/// What can go wrong opening or using a device.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(
        "backend `{backend}` is not compiled into this binary (needs cargo feature `{feature}`); \
         available: {available}"
    )]
    NotCompiled {
        backend: &'static str,
        feature: &'static str,
        available: String,
    },
    /// No usable device (for Vulkan: which of loader or adapter is missing, and how to fix it).
    #[error("{0}")]
    NoDevice(String),
    #[error("the device failed to compute a result: {0}")]
    Compute(String),
    #[error("reading a result back: {0}")]
    Read(String),
    #[error(
        "a training batch of {rows} rows needs a {need_mib:.0} MiB activation, but {device} holds \
         at most {max_mib:.0} MiB per buffer; lower train.batch_size (or augment.copies, or the \
         widths in backbone.cfg)"
    )]
    BatchTooLarge {
        rows: usize,
        need_mib: f64,
        device: String,
        max_mib: f64,
    },
    /// `train.precision = "bf16"` where the backend or the CPU has no bf16 arithmetic.
    #[error("train.precision = \"bf16\" {0}; set train.precision = \"f32\" (the default)")]
    Precision(String),
    #[error("copying the initial weights to {device}: {source}")]
    CopyWeights {
        device: String,
        #[source]
        source: burn::store::RecordError,
    },
}

/// Reads a tensor back as `f32`s; a failed device execution (e.g. an allocation the device
/// refuses) becomes an error instead of a panic.
pub fn read_f32<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, BackendError> {
    t.try_into_data()
        .map_err(|e| BackendError::Compute(e.to_string()))?
        .try_into_vec_as::<f32>()
        .map_err(|e| BackendError::Read(format!("{e:?}")))
}

impl Devices {
    /// How many images to evaluate at once: 1000, or fewer where the device's buffer limit
    /// cannot hold `floats_per_image` × that many `f32`s (the largest activation).
    pub fn eval_chunk(&self, floats_per_image: usize) -> usize {
        match self.max_tensor_bytes {
            None => 1000,
            Some(max) => (max / (4 * floats_per_image.max(1)) as u64).clamp(1, 1000) as usize,
        }
    }

    /// Refuses a training batch whose largest activation (`rows` × `floats_per_row` `f32`s)
    /// does not fit in one device buffer, saying which keys make it smaller.
    pub fn check_batch(&self, rows: usize, floats_per_row: usize) -> Result<(), BackendError> {
        let need = 4 * (rows * floats_per_row) as u64;
        match self.max_tensor_bytes {
            Some(max) if need > max => Err(BackendError::BatchTooLarge {
                rows,
                need_mib: need as f64 / 1048576.0,
                device: self.label.clone(),
                max_mib: max as f64 / 1048576.0,
            }),
            _ => Ok(()),
        }
    }

    /// Builds a model whose initial weights come from `seed`.
    ///
    /// burn draws each parameter lazily, at its first use, from the device's own random stream.
    /// On Vulkan the weights are drawn on flex (the host) instead, in the order a flex run
    /// draws them — `first_use` runs the forward pass of a first training step on a dummy
    /// batch, with flex's convolution — and copied over: with the same seed a Vulkan run starts
    /// from the weights a flex run starts from, and the two differ only by kernel rounding.
    /// Everywhere else nothing changes (flex runs stay bit-identical to earlier versions).
    pub fn init_model<M: burn::module::Module, E: From<BackendError>>(
        &self,
        seed: u64,
        train: bool,
        build: impl Fn(&Device) -> Result<M, E>,
        first_use: impl Fn(&M, &Device),
    ) -> Result<M, E> {
        let target = if train { &self.train } else { &self.eval };
        target.seed(seed);
        #[cfg(all(feature = "vulkan", feature = "flex"))]
        if let BackendKind::Vulkan | BackendKind::VulkanCpu = self.kind {
            use crate::model::gemm_conv::use_native_conv;
            // Inference mode: the dummy pass must not move BatchNorm's running statistics.
            let host = Device::flex();
            host.seed(seed);
            let model = build(&host)?;
            use_native_conv(BackendKind::Flex.native_conv());
            first_use(&model, &host);
            use_native_conv(self.kind.native_conv());
            model.visit(&mut Materialise);
            return build(target)?
                .try_load_record(model.into_record())
                .map_err(|source| {
                    BackendError::CopyWeights {
                        device: self.label.clone(),
                        source,
                    }
                    .into()
                });
        }
        let _ = first_use;
        build(target)
    }
}

/// Initialises every parameter `first_use` left untouched, in field order.
#[cfg(all(feature = "vulkan", feature = "flex"))]
struct Materialise;

#[cfg(all(feature = "vulkan", feature = "flex"))]
impl burn::module::ModuleVisitor for Materialise {
    fn visit_float<const D: usize>(
        &mut self,
        param: &burn::module::Param<burn::tensor::Tensor<D>>,
    ) {
        let _ = param.val();
    }
}

/// This CPU's model name (`/proc/cpuinfo`; "unknown" elsewhere), for `run.toml`.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The widest vector instructions the CPU kernels use here: `avx512` (flex's GEMM takes its
/// AVX-512 kernels), `avx2` (its FMA kernels) or `baseline`. The kernels sum in different
/// orders, so a seed reproduces bit for bit only on the same level; `run.toml` records it.
pub fn simd_level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return "avx512";
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return "avx2";
        }
    }
    "baseline"
}

/// Whether this CPU multiplies bf16 natively (AVX-512-BF16 or AMX-BF16).
pub fn cpu_has_bf16() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        // AMX-BF16: CPUID leaf 7, sub-leaf 0, EDX bit 22 (its std detection is not stable).
        let amx_bf16 = std::arch::x86_64::__cpuid_count(7, 0).edx & (1 << 22) != 0;
        std::arch::is_x86_feature_detected!("avx512bf16") || amx_bf16
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Whether flex can multiply in bf16 here: mirun's AVX-512-BF16 products
/// (`model::bf16_gemm`), on a CPU that has the instructions.
pub fn flex_has_bf16() -> bool {
    #[cfg(all(feature = "flex", target_arch = "x86_64"))]
    {
        crate::model::bf16_gemm::available()
    }
    #[cfg(not(all(feature = "flex", target_arch = "x86_64")))]
    false
}

impl BackendKind {
    /// Backends compiled into this binary, fastest first. Vulkan is listed last: it is never
    /// the implicit default, since on a machine without a GPU its adapter is a software
    /// rasteriser ~100× slower than flex — ask for it with `--device vulkan`.
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
        if cfg!(feature = "vulkan") {
            v.extend([BackendKind::Vulkan, BackendKind::VulkanCpu]);
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
            BackendKind::Vulkan => "vulkan",
            BackendKind::VulkanCpu => "vulkan-cpu",
        }
    }

    /// Whether VGG convolutions use the backend's own kernel rather than im2col + GEMM.
    /// Measured (`mirun bench --conv native,gemm`): flex's generic conv weight gradient is ~2×
    /// slower than the GEMM form; libtorch's conv beats it (step 4.31 → 3.60 s); on Vulkan
    /// (lavapipe, 128-row step of a narrow VGG) native 0.46 s against GEMM 0.55 s — on a GPU
    /// `scripts/gpu-check` times both.
    pub fn native_conv(self) -> bool {
        self != BackendKind::Flex
    }

    /// Opens the device, or says which cargo feature the backend needs (for Vulkan: which of
    /// loader or adapter is missing). Sets the convolution form ([`Self::native_conv`]).
    pub fn open(self) -> Result<Devices, BackendError> {
        let (eval, label, max_tensor_bytes) = self.device()?;
        crate::model::gemm_conv::use_native_conv(self.native_conv());
        Ok(Devices {
            kind: self,
            train: eval.clone().autodiff(),
            eval,
            label,
            max_tensor_bytes,
        })
    }

    /// [`Self::open`] for a run at `precision`: `bf16` needs libtorch (its bf16 convolutions;
    /// on the CPU, AVX-512-BF16 or AMX) or flex on a CPU with AVX-512-BF16 (mirun's bf16
    /// products), detected at run time — never a silent fallback.
    pub fn open_for(self, precision: Precision) -> Result<Devices, BackendError> {
        self.check_precision(precision)?;
        self.open()
    }

    /// Refuses a precision this backend cannot compute in, saying why.
    pub fn check_precision(self, precision: Precision) -> Result<(), BackendError> {
        if precision == Precision::F32 {
            return Ok(());
        }
        match self {
            BackendKind::TchCuda => Ok(()),
            BackendKind::Tch if cpu_has_bf16() => Ok(()),
            BackendKind::Tch => Err(BackendError::Precision(
                "needs a CPU with AVX-512-BF16 or AMX-BF16, and this one has neither \
                 (/proc/cpuinfo flags avx512_bf16, amx_bf16)"
                    .into(),
            )),
            BackendKind::Flex if flex_has_bf16() => Ok(()),
            BackendKind::Flex => Err(BackendError::Precision(
                "on flex needs a CPU with AVX-512-BF16 (its products use vdpbf16ps), and this \
                 one has none (/proc/cpuinfo flag avx512_bf16); `--device tch` also takes \
                 AMX-BF16"
                    .into(),
            )),
            other @ (BackendKind::Cuda | BackendKind::Vulkan | BackendKind::VulkanCpu) => {
                Err(BackendError::Precision(format!(
                "needs the tch backend (libtorch's bf16 convolutions: `--device tch`, a build with \
                 `--features tch`) or flex on a CPU with AVX-512-BF16; backend `{}` computes in \
                 f32 only",
                    other.name()
                )))
            }
        }
    }

    fn device(self) -> Result<(Device, String, Option<u64>), BackendError> {
        let device = self.plain_device()?;
        #[cfg(feature = "vulkan")]
        if let BackendKind::Vulkan | BackendKind::VulkanCpu = self {
            let (adapter, max_bytes) =
                vulkan::probe(self == BackendKind::VulkanCpu).map_err(BackendError::NoDevice)?;
            return Ok((device, adapter, Some(max_bytes)));
        }
        let label = format!("{device:?}");
        Ok((device, label, None))
    }

    #[allow(unreachable_code)]
    fn plain_device(self) -> Result<Device, BackendError> {
        let missing = |feature: &'static str| {
            let have: Vec<_> = Self::compiled().iter().map(|b| b.name()).collect();
            Err(BackendError::NotCompiled {
                backend: self.name(),
                feature,
                available: have.join(", "),
            })
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
            BackendKind::Vulkan => {
                #[cfg(feature = "vulkan")]
                return Ok(Device::vulkan(burn::tensor::DeviceKind::DefaultDevice));
                missing("vulkan")
            }
            BackendKind::VulkanCpu => {
                #[cfg(feature = "vulkan")]
                return Ok(Device::vulkan(burn::tensor::DeviceKind::Cpu));
                missing("vulkan")
            }
        }
    }
}

/// Vulkan: finds the loader and an adapter before burn opens the device, so a missing one is a
/// clear error (burn would panic in its device thread).
#[cfg(feature = "vulkan")]
mod vulkan {
    /// Where to point the loader at a driver (the ICD's JSON manifest).
    const ICD_HINT: &str =
        "the Vulkan loader reads drivers from VK_DRIVER_FILES (or VK_ICD_FILENAMES), \
         a ':'-separated list of ICD JSON files, e.g. \
         /usr/share/vulkan/icd.d/lvp_icd.x86_64.json (lavapipe) or \
         /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json";

    /// The adapter `--device vulkan` (`cpu = false`) or `vulkan-cpu` would open, described as
    /// `name (type, driver info)`, with its largest buffer in bytes; or why there is none.
    pub fn probe(cpu: bool) -> Result<(String, u64), String> {
        // Mesa's window-system code prints "XDG_RUNTIME_DIR is invalid" errors when the variable
        // is unset (headless machines, CI); mirun opens no window, so any folder will do.
        if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
            std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
        }
        if !loader_present() {
            return Err(format!(
                "no Vulkan loader: libvulkan.so.1 cannot be loaded (Debian: apt-get install libvulkan1, \
                 or put its folder in LD_LIBRARY_PATH); {ICD_HINT}"
            ));
        }
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends: wgpu::Backends::VULKAN,
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::VULKAN));
        let infos: Vec<wgpu::AdapterInfo> = adapters.iter().map(|a| a.get_info()).collect();
        let describe = |i: &wgpu::AdapterInfo| {
            format!(
                "{} ({:?}, {} {})",
                i.name, i.device_type, i.driver, i.driver_info
            )
        };
        // CPU adapters only for `vulkan-cpu`; otherwise what wgpu's high-performance request
        // picks: a discrete GPU first.
        let order: &[wgpu::DeviceType] = if cpu {
            &[wgpu::DeviceType::Cpu]
        } else {
            &[
                wgpu::DeviceType::DiscreteGpu,
                wgpu::DeviceType::IntegratedGpu,
                wgpu::DeviceType::VirtualGpu,
                wgpu::DeviceType::Other,
                wgpu::DeviceType::Cpu,
            ]
        };
        let pick = order
            .iter()
            .find_map(|t| (0..infos.len()).find(|&k| infos[k].device_type == *t));
        match pick {
            Some(k) => {
                // cubecl binds each tensor as one storage buffer.
                let l = adapters[k].limits();
                let max_bytes = l.max_storage_buffer_binding_size.min(l.max_buffer_size);
                Ok((describe(&infos[k]), max_bytes))
            }
            None if infos.is_empty() => Err(format!(
                "the Vulkan loader found no adapter (no driver installed or none matches): \
                 for a software device install Mesa's lavapipe (Debian: apt-get install \
                 mesa-vulkan-drivers); {ICD_HINT}"
            )),
            None => Err(format!(
                "no CPU Vulkan adapter among {} (install Mesa's lavapipe: apt-get install \
                 mesa-vulkan-drivers; or use --device vulkan); {ICD_HINT}",
                infos.iter().map(describe).collect::<Vec<_>>().join(", ")
            )),
        }
    }

    #[cfg(target_os = "linux")]
    fn loader_present() -> bool {
        let name = c"libvulkan.so.1";
        // SAFETY: dlopen/dlclose with a valid C string; the handle is closed at once and no
        // symbol is used. wgpu loads the same library itself later.
        unsafe {
            let h = libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
            if h.is_null() {
                return false;
            }
            libc::dlclose(h);
        }
        true
    }

    #[cfg(not(target_os = "linux"))]
    fn loader_present() -> bool {
        true
    }
}
