//! Plain-text and markdown rendering of a [`Diff`].

use super::Diff;
use crate::report::collect::{render_md, render_text, skipped_note};

impl Diff {
    /// `col=value …` for a key over [`Diff::shown_key`].
    pub fn describe_key(&self, key: &[String]) -> String {
        let parts: Vec<String> = self
            .key
            .iter()
            .zip(key)
            .filter(|(c, _)| self.shown_key.contains(c))
            .map(|(c, v)| format!("{c}={}", if v.is_empty() { "-" } else { v }))
            .collect();
        if parts.is_empty() {
            "(all)".to_string()
        } else {
            parts.join(" ")
        }
    }

    /// Renders the diff as markdown (`md`) or aligned plain text: sources, changed parameters,
    /// one line per joined row and metric (A, B, Δ, Δ%), one-sided rows, skipped runs and
    /// `--fail-if` violations.
    pub fn render(&self, md: bool) -> String {
        let code = |s: &str| if md { format!("`{s}`") } else { s.to_string() };
        let item = if md { "- " } else { "  " };
        let mut out = String::new();
        out += &format!("A: {}\nB: {}\n", code(&self.a_label), code(&self.b_label));
        if md {
            out = out.replace('\n', "  \n");
        }
        if !self.params.is_empty() {
            out += "\nparameters changed:\n";
            for p in &self.params {
                out += &format!("{item}{}: {} → {}\n", code(&p.name), dash(&p.a), dash(&p.b));
            }
        }
        if !self.provenance.is_empty() {
            out += "\nran elsewhere (a seed's numbers differ between backends and CPU vector \
                    levels):\n";
            for p in &self.provenance {
                out += &format!("{item}{}: {} → {}\n", code(&p.name), p.a, p.b);
            }
        }
        out += "\n";
        if self.rows.is_empty() {
            out += "no runs in both A and B\n";
        } else if self.metrics.is_empty() {
            out += &format!("no metric changed on {} joined runs\n", self.rows.len());
        } else {
            let mut header = self.shown_key.clone();
            header.extend(["metric", "A", "B", "Δ", "Δ%"].map(String::from));
            let mut right = vec![false; self.shown_key.len() + 1];
            right.extend([true; 4]);
            let mut lines = Vec::new();
            for r in &self.rows {
                let key: Vec<String> = self
                    .key
                    .iter()
                    .zip(&r.key)
                    .filter(|(c, _)| self.shown_key.contains(c))
                    .map(|(_, v)| dash(v))
                    .collect();
                for (m, d) in self.metrics.iter().zip(&r.metrics) {
                    let mut cells = key.clone();
                    cells.push(m.clone());
                    cells.push(val(d.a));
                    cells.push(val(d.b));
                    cells.push(signed(d.delta()));
                    cells.push(pct(d.delta_pct()));
                    lines.push(cells);
                }
            }
            out += &if md {
                render_md(&header, &lines, &right)
            } else {
                render_text(&header, &lines, &right)
            };
        }
        let mut notes = Vec::new();
        for (side, keys) in [("A", &self.only_a), ("B", &self.only_b)] {
            for k in keys {
                notes.push(format!("only in {side}: {}", self.describe_key(k)));
            }
        }
        for (side, s) in [("A", &self.skipped_a), ("B", &self.skipped_b)] {
            if let Some(n) = skipped_note(s) {
                notes.push(format!("{side}: {n}"));
            }
        }
        if !notes.is_empty() {
            out += "\n";
            for n in notes {
                out += &format!("{}{n}\n", if md { "- " } else { "" });
            }
        }
        if !self.violations.is_empty() {
            out += &format!("\nfail-if violations ({}):\n", self.violations.len());
            for v in &self.violations {
                let k: Vec<String> = v.key.iter().map(|(_, x)| x.clone()).collect();
                out += &format!(
                    "{item}{}: {} Δ {} ({}) meets {}\n",
                    self.describe_key(&k),
                    v.metric,
                    signed(Some(v.delta)),
                    pct(v.delta_pct),
                    code(&v.condition)
                );
            }
        }
        out
    }
}

fn dash(s: &str) -> String {
    if s.is_empty() {
        "-".to_string()
    } else {
        s.to_string()
    }
}

fn val(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |x| format!("{x:.4}"))
}

fn signed(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |x| format!("{x:+.4}"))
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |x| format!("{x:+.2}%"))
}
