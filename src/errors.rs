//! How an error reads: its chain of causes joined by `: `, each said once.

/// The error and its causes joined by `: ` (as anyhow's `{:#}`), leaving out a cause whose text
/// the message already holds: most of mirun's errors put their cause in their own text
/// (`{path}: {source}`), and a chain would then say it twice.
pub fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::message;

    #[derive(Debug, thiserror::Error)]
    #[error("weights.bpk: {source}")]
    struct Outer {
        source: std::io::Error,
    }

    #[test]
    fn a_cause_in_the_text_is_said_once_and_others_are_kept() {
        let inner = std::io::Error::other("failed to fill whole buffer");
        let e = anyhow::Error::new(Outer { source: inner });
        assert_eq!(message(&e), "weights.bpk: failed to fill whole buffer");
        let e = e.context("evaluating run abc");
        assert_eq!(
            message(&e),
            "evaluating run abc: weights.bpk: failed to fill whole buffer"
        );
    }
}
