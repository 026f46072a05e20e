//! `[evaluator]`: how a run is scored, and which score selects its head.

use super::Method;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which evaluator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum EvaluatorKind {
    /// One-to-one cluster→label matching accuracy (always computed: the `accuracy` column).
    #[default]
    Hungarian,
    /// Normalised mutual information (arithmetic normalisation).
    Nmi,
    /// Adjusted Rand index.
    Ari,
    /// Many-to-one accuracy, for heads with more clusters than classes.
    Majority,
    /// Gaussian: the true MI, −(d/2)·ln(1−ρ²).
    AnalyticMi,
    /// Gaussian: histogram plug-in estimate from many samples (the reference's check).
    BinnedMi,
    /// Images + MINE: a linear classifier on the frozen codes (held-out and book protocols).
    LinearProbe,
}

impl EvaluatorKind {
    /// TOML name, also the metrics column.
    pub fn name(self) -> &'static str {
        match self {
            EvaluatorKind::Hungarian => "hungarian",
            EvaluatorKind::Nmi => "nmi",
            EvaluatorKind::Ari => "ari",
            EvaluatorKind::Majority => "majority",
            EvaluatorKind::AnalyticMi => "analytic_mi",
            EvaluatorKind::BinnedMi => "binned_mi",
            EvaluatorKind::LinearProbe => "linear_probe",
        }
    }

    /// Every evaluator, in the order the docs list them (a test checks it against the enum).
    pub const ALL: [EvaluatorKind; 7] = [
        EvaluatorKind::Hungarian,
        EvaluatorKind::Nmi,
        EvaluatorKind::Ari,
        EvaluatorKind::Majority,
        EvaluatorKind::AnalyticMi,
        EvaluatorKind::BinnedMi,
        EvaluatorKind::LinearProbe,
    ];

    /// What it scores, which decides the method it applies to.
    pub fn scores(self) -> Scored {
        match self {
            EvaluatorKind::Hungarian
            | EvaluatorKind::Nmi
            | EvaluatorKind::Ari
            | EvaluatorKind::Majority => Scored::Clustering,
            EvaluatorKind::AnalyticMi | EvaluatorKind::BinnedMi => Scored::MiEstimate,
            EvaluatorKind::LinearProbe => Scored::Code,
        }
    }

    /// Whether it scores a clustering (IIC) rather than an MI estimate or a code.
    pub fn is_clustering(self) -> bool {
        self.scores() == Scored::Clustering
    }
}

/// What an evaluator scores: an IIC clustering, a MINE estimate on the Gaussian, or the
/// codes a MINE encoder gives images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scored {
    Clustering,
    MiEstimate,
    Code,
}

impl Scored {
    /// What the evaluators of `method`'s pipelines score.
    pub fn by(method: Method) -> Scored {
        match method {
            Method::Iic => Scored::Clustering,
            Method::MineGaussian => Scored::MiEstimate,
            Method::MineImages => Scored::Code,
        }
    }
}

/// One evaluator or a list of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Evaluators {
    One(EvaluatorKind),
    Many(Vec<EvaluatorKind>),
}

impl Default for Evaluators {
    fn default() -> Self {
        Evaluators::One(EvaluatorKind::Hungarian)
    }
}

/// `[evaluator]`: `kind = "hungarian"` or a list such as `["hungarian", "nmi", "ari"]`.
/// The default depends on the pipeline: `hungarian` for IIC, `["analytic_mi", "binned_mi"]`
/// for MINE on the Gaussian, `linear_probe` for MINE on images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct EvaluatorSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<Evaluators>,
    /// `binned_mi`: bins per axis (default 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bins: Option<usize>,
    /// `binned_mi`: samples drawn (default 1,000,000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binned_samples: Option<usize>,
    /// `linear_probe`: training epochs of the classifier (default 10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe_epochs: Option<usize>,
}

impl EvaluatorSpec {
    /// Every evaluator named, in order (after resolution: never empty).
    pub fn all(&self) -> Vec<EvaluatorKind> {
        match &self.kind {
            None => Vec::new(),
            Some(Evaluators::One(k)) => vec![*k],
            Some(Evaluators::Many(v)) => v.clone(),
        }
    }

    /// Whether `k` is among the evaluators.
    pub fn has(&self, k: EvaluatorKind) -> bool {
        self.all().contains(&k)
    }

    /// The clustering evaluators besides Hungarian accuracy (always reported), in order.
    pub fn extra(&self) -> Vec<EvaluatorKind> {
        let all: Vec<EvaluatorKind> = self
            .all()
            .into_iter()
            .filter(|k| k.is_clustering())
            .collect();
        let mut out: Vec<EvaluatorKind> = Vec::new();
        for k in all {
            if k != EvaluatorKind::Hungarian && !out.contains(&k) {
                out.push(k);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `EvaluatorKind::ALL` is what the validator's messages list: it must hold every variant.
    #[test]
    fn every_evaluator_is_in_all() {
        let schema = serde_json::to_value(schemars::schema_for!(EvaluatorKind)).unwrap();
        let text = schema.to_string();
        let names: Vec<&str> = EvaluatorKind::ALL.iter().map(|k| k.name()).collect();
        let variants = schema["oneOf"].as_array().map_or(0, |v| v.len());
        assert_eq!(variants, names.len(), "{text}");
        for n in names {
            assert!(text.contains(&format!("\"{n}\"")), "{n} in {text}");
        }
    }
}
