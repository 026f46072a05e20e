//! How an error reads: its chain of causes joined by `: `, each said once.

/// The error and its causes joined by `: ` (as anyhow's `{:#}`), leaving out a cause whose text
/// the error it caused already holds: most of mirun's errors put their cause in their own text
/// (`{path}: {source}`), and a chain would then say it twice.
pub fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    let mut outer = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if outer.is_empty() || !outer.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
        outer = text;
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
        // Only the error a cause caused is looked at, not everything said before it.
        let e = anyhow::Error::new(std::io::Error::other("not found")).context("x: not found");
        let e = e.context("y");
        assert_eq!(message(&e), "y: x: not found");
        let e = anyhow::Error::new(std::io::Error::other("b"))
            .context("a")
            .context("b then");
        assert_eq!(message(&e), "b then: a: b");
    }
}
