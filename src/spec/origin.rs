//! Where a value came from: `file:line:col` of its key in a pipeline file, the env var or
//! `--set` flag that set it, or the built-in default.

use std::path::{Path, PathBuf};

/// One pipeline file as read, kept for locating keys.
#[derive(Debug, Clone)]
pub struct FileText {
    pub path: PathBuf,
    pub text: String,
}

impl FileText {
    /// `path:line:col` of the dotted `key` in this file, if the file sets it.
    pub fn locate(&self, key: &str) -> Option<String> {
        let doc = toml_edit::ImDocument::parse(self.text.as_str()).ok()?;
        let mut table: &dyn toml_edit::TableLike = doc.as_table();
        let parts: Vec<&str> = key.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let (k, item) = table.get_key_value(part)?;
            if i + 1 == parts.len() {
                let span = k.span()?;
                return Some(line_col(&self.path, &self.text, span.start));
            }
            table = item.as_table_like()?;
        }
        None
    }
}

/// `path:line:col` (1-based) of a byte offset.
pub fn line_col(path: &Path, text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("{}:{line}:{col}", path.display())
}
