//! The integration tests, as one binary (one link of burn instead of one per file): each
//! module is the file `tests/<name>.rs`. `tests/vulkan_e2e.rs` stays apart: it needs the
//! `vulkan` feature.

mod bad_input_corpus;
mod crash_resume;
mod data_augment;
mod end_to_end;
mod eval_hungarian;
mod eval_mi;
mod eval_scores;
mod fuzz_inputs;
mod mine_gaussian;
mod model_backbone;
mod model_bn;
mod model_conv;
mod objective_iic;
mod objective_mine;
mod report_diff;
mod report_table;
mod spec_errors;
mod spec_layers;
mod spec_sweep;
mod store_summary;
mod sweep_run;
mod sweep_slurm;
mod train_driver;
