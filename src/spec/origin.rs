//! Where a value came from: `file:line:col` of its key in a pipeline file, the env var or
//! `--set` flag that set it, or the built-in default.

use std::path::{Path, PathBuf};

/// One pipeline file as read, kept (parsed with spans) for locating keys.
#[derive(Debug, Clone)]
pub struct FileText {
    pub path: PathBuf,
    doc: Option<toml_edit::ImDocument<String>>,
}

impl FileText {
    /// Keeps `text` of the file at `path`.
    pub fn new(path: PathBuf, text: String) -> Self {
        Self {
            path,
            doc: toml_edit::ImDocument::parse(text).ok(),
        }
    }

    /// `path:line:col` of the dotted `key` in this file, if the file sets it.
    pub fn locate(&self, key: &str) -> Option<String> {
        let doc = self.doc.as_ref()?;
        let mut table: &dyn toml_edit::TableLike = doc.as_table();
        let parts: Vec<&str> = key.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let (k, item) = table.get_key_value(part)?;
            if i + 1 == parts.len() {
                let span = k.span()?;
                return Some(line_col(&self.path, doc.raw(), span.start));
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
