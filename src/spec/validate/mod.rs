//! Cross-field rules that serde's types cannot express, one file per area of the config.
//! Every violation is collected, so a user fixes them all in one go.

mod augment;
mod backbone;
mod dataset;
mod heads;
mod method;
mod stages;
mod train;

pub use stages::chain;

use super::Spec;

/// A broken rule: the dotted key it concerns and what was expected.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, key: &str, message: impl Into<String>) {
        self.0.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }

    /// Keys that apply only somewhere, as `(key, set, applies, where)`: a key that is `set`
    /// where it does not apply (`applies` is false) would be silently ignored, so it is an
    /// error naming where it applies instead.
    fn only(&mut self, rules: &[(&str, bool, bool, &str)]) {
        for &(key, set, applies, where_) in rules {
            if set && !applies {
                self.add(key, format!("applies only to {where_}; remove it"));
            }
        }
    }
}

// Where keys apply, as the errors name it.
const IMAGES: &str = "image data sets";
const GAUSSIAN: &str = "dataset.kind = \"gaussian\"";
const IIC: &str = "IIC (loss.kind = \"iic\")";
const MINE_IMAGES: &str = "MINE on images";
const BINNED_MI: &str = "the `binned_mi` evaluator";

/// Returns every broken rule (empty when the spec is valid).
pub fn validate(spec: &Spec) -> Vec<Problem> {
    let mut p = Problems(Vec::new());
    let full = spec.image_shape().side;
    train::memory_limit(spec, &mut p);
    heads::rules(spec, &mut p);
    augment::rules(spec, full, &mut p);
    backbone::rules(spec, full, &mut p);
    train::rules(spec, &mut p);
    train::init_from(spec, &mut p);
    dataset::sizes(spec, &mut p);
    method::rules(spec, &mut p);
    stages::rules(spec, &mut p);
    let name = &spec.pipeline.name;
    if name.contains(['/', '\\']) || name.starts_with('.') {
        p.add(
            "pipeline.name",
            format!("`{name}` is used as a folder name; use letters, digits, '-' and '_'"),
        );
    }
    p.0
}
