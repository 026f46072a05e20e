//! mirun: declarative pipelines for unsupervised learning by maximising mutual information.
//!
//! The modules follow the pipeline a TOML file describes:
//! spec → data → model → objective → method → train → eval → results (`store`, `report`).

pub mod spec;

pub mod data;

pub mod model;

pub mod objective;

pub mod method;

pub mod train;

pub mod eval;

pub mod store;

pub mod report;

pub mod backend;
pub mod bench;
pub mod errors;
pub mod pipeline;
pub mod sweep;
