//! Evaluators: scoring a clustering against the labels.

pub mod ari;
pub mod binned_mi;
pub mod cluster_score;
pub mod contingency;
pub mod hungarian;
pub mod majority;
pub mod merge;
pub mod neighbours;
pub mod nmi;
pub mod probe;
pub mod score;

pub use ari::ari;
pub use binned_mi::{binned_mi, binned_mi_pairs};
pub use cluster_score::{cluster_score, ClusterScore, Named, CLUSTER_SCORES};
pub use hungarian::{hungarian_accuracy, Matching};
pub use majority::majority_accuracy;
pub use merge::{merge_by_mi, merge_by_ward, Centroids};
pub use nmi::nmi;
pub use score::{score, score_csv, Scores};
