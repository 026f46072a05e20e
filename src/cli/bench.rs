//! `mirun bench`.

use super::args::{BenchArgs, ConvForm};
use super::source;
use mirun::spec;

/// Side of the square matrices of the GEMM rate.
const GEMM_N: usize = 2048;

/// `mirun bench`: prints `metric,value,unit` CSV rows — pairs/s, evaluation seconds, and step
/// seconds per head count and convolution form (`_bf16` with `--set train.precision=bf16`).
pub fn bench(a: BenchArgs) -> anyhow::Result<()> {
    use mirun::bench;
    let base = spec::load(&source(a.file.clone(), &a.sets)?)?;
    if base.method() != spec::Method::Iic {
        anyhow::bail!(
            "{}: `mirun bench` times IIC's training step on images; this is a MINE pipeline \
             (`loss.kind = \"{}\"`)",
            a.file.display(),
            base.loss.kind.name()
        );
    }
    let backend = a.device.backend();
    let chosen = if backend.native_conv() {
        ConvForm::Native
    } else {
        ConvForm::Gemm
    };
    if !base.train.precision.is_f32() && a.conv.iter().any(|&f| f != chosen) {
        anyhow::bail!(
            "--conv with train.precision = \"bf16\": only this backend's own convolution form \
             computes in bf16, another would be timed in f32; drop --conv"
        );
    }
    let devices = backend
        .open_for(base.train.precision)
        .map_err(anyhow::Error::msg)?;
    let data = mirun::data::load(&base.dataset)?;
    let precision = if base.train.precision.is_f32() {
        ""
    } else {
        "_bf16"
    };
    println!("metric,value,unit");
    let rows = bench::step_rows(&base);
    let flops = bench::image_flops(&base)?;
    // The rates' denominators: scripts/bench/run turns `X_gflop` and `X_s` into GFLOP/s and a
    // share of the large GEMM's rate, for mirun and PyTorch alike.
    println!(
        "gemm_{GEMM_N}_gflop_per_s,{:.1},GFLOP/s ({GEMM_N}² f32 matmul; {})",
        bench::gemm_gflop_per_s(&devices, GEMM_N)?,
        backend.name()
    );
    println!(
        "eval_test_set{precision}_gflop,{:.1},GFLOP (forward; {} images)",
        flops * data.test.len() as f64 / 1e9,
        data.test.len()
    );
    println!(
        "augment_pairs_per_s,{:.0},pairs/s",
        bench::pairs_per_second(&base, &data, 5.0)
    );
    println!(
        "eval_test_set{precision}_s,{:.3},s ({} images)",
        bench::eval_seconds(&base, &data, &devices, 3)?,
        data.test.len()
    );
    let forms = if a.conv.is_empty() {
        vec![chosen]
    } else {
        a.conv
    };
    for form in forms {
        mirun::model::gemm_conv::use_native_conv(form == ConvForm::Native);
        // The backend's own choice keeps the metric's historical name.
        let suffix = match form {
            f if f == chosen => "",
            ConvForm::Native => "_native",
            ConvForm::Gemm => "_gemm",
        };
        for &h in &a.heads {
            let mut spec = base.clone();
            spec.heads.count = h;
            let s = bench::step_seconds(&spec, &data, &devices, 2, a.steps)?;
            println!(
                "train_step_heads{h}{suffix}{precision}_gflop,{:.1},GFLOP (3 × forward; {rows} rows)",
                3.0 * bench::image_flops(&spec)? * rows as f64 / 1e9
            );
            println!(
                "train_step_heads{h}{suffix}{precision}_s,{s:.3},s ({rows} rows; {}; {form:?} conv; {:?})",
                backend.name(),
                base.train.precision
            );
        }
    }
    mirun::model::gemm_conv::use_native_conv(backend.native_conv());
    Ok(())
}
