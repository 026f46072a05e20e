//! Evaluators: scoring a clustering against the labels.

pub mod hungarian;

pub use hungarian::{hungarian_accuracy, Matching};
