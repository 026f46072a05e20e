//! `--fail-if` expressions: `METRIC OP NUMBER[%]`, tested against a row's Δ or Δ%.

use super::{DiffError, MetricDelta};

/// A comparison operator of `--fail-if`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

/// A parsed `--fail-if` expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The expression as given.
    pub text: String,
    pub metric: String,
    pub op: Op,
    pub threshold: f64,
    /// Compare Δ% instead of Δ.
    pub percent: bool,
}

impl Condition {
    /// Parses `METRIC OP NUMBER[%]`.
    pub fn parse(expr: &str) -> Result<Condition, DiffError> {
        let bad = |what: &str| DiffError::BadCondition {
            expr: expr.to_string(),
            what: what.to_string(),
        };
        let at = expr
            .find(['<', '>'])
            .ok_or_else(|| bad("no comparison operator"))?;
        let eq = expr[at + 1..].starts_with('=');
        let op = match (&expr[at..at + 1], eq) {
            ("<", false) => Op::Lt,
            ("<", true) => Op::Le,
            (">", false) => Op::Gt,
            _ => Op::Ge,
        };
        let metric = expr[..at].trim();
        if metric.is_empty() || metric.contains(|c: char| c.is_whitespace() || c == '=') {
            return Err(bad(&format!("`{metric}` is not a metric name")));
        }
        let rhs = expr[at + 1 + usize::from(eq)..].trim();
        let (num, percent) = match rhs.strip_suffix('%') {
            Some(n) => (n.trim(), true),
            None => (rhs, false),
        };
        let threshold: f64 = num
            .parse()
            .ok()
            .filter(|t: &f64| t.is_finite())
            .ok_or_else(|| bad(&format!("`{rhs}` is not a number")))?;
        Ok(Condition {
            text: expr.to_string(),
            metric: metric.to_string(),
            op,
            threshold,
            percent,
        })
    }

    /// Whether the change `d` meets the condition (i.e. is a violation).
    pub fn holds(&self, d: &MetricDelta) -> bool {
        let v = if self.percent {
            d.delta_pct()
        } else {
            d.delta()
        };
        v.is_some_and(|v| match self.op {
            Op::Lt => v < self.threshold,
            Op::Le => v <= self.threshold,
            Op::Gt => v > self.threshold,
            Op::Ge => v >= self.threshold,
        })
    }
}
