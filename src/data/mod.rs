//! Data: fetching and verifying IDX files, loading them, augmenting, batching.

pub mod augment;
pub mod batch;
pub mod deskew;
pub mod fetch;
pub mod gaussian;
pub mod images;

pub use augment::{Augmenter, View, Views};
pub use gaussian::{analytic_mi, Gaussian};
pub use images::{load, Dataset, ImageSet, SIDE};
