//! The one CSV reader: every CSV file mirun reads back (`summary.csv`, `metrics.csv`, plots'
//! inputs) goes through [`CsvFile::read`], which keeps each row's line number for errors and
//! reads rows by column name — never by position.

use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// A CSV file that cannot be read; `line` is the 1-based file line (header = 1).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CsvError {
    #[error("{path}: {what}")]
    Io { path: String, what: String },
    #[error("{path}: line {line}: {what}")]
    Malformed {
        path: String,
        line: u64,
        what: String,
    },
}

/// One data row and the file line it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvRow {
    pub line: u64,
    pub fields: Vec<String>,
}

/// A whole CSV file: its header and its rows. Rows may be shorter than the header (the missing
/// cells read as empty), never longer.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvFile {
    pub path: PathBuf,
    pub header: Vec<String>,
    pub rows: Vec<CsvRow>,
}

impl CsvFile {
    /// Reads `path`. A quoted field that is never closed is an error (the csv crate would read
    /// the rest of the file into it).
    pub fn read(path: &Path) -> Result<Self, CsvError> {
        let shown = path.display().to_string();
        let malformed = |line: u64, what: String| CsvError::Malformed {
            path: shown.clone(),
            line,
            what,
        };
        let text = std::fs::read_to_string(path).map_err(|e| CsvError::Io {
            path: shown.clone(),
            what: e.to_string(),
        })?;
        if text.matches('"').count() % 2 == 1 {
            let what = "unbalanced `\"`: a quoted field is never closed".to_string();
            return Err(malformed(text.lines().count() as u64, what));
        }
        let mut r = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let header: Vec<String> = r
            .headers()
            .map_err(|e| malformed(1, e.to_string()))?
            .iter()
            .map(String::from)
            .collect();
        let mut rows = Vec::new();
        for rec in r.records() {
            let rec = rec.map_err(|e| {
                malformed(e.position().map(|p| p.line()).unwrap_or(0), e.to_string())
            })?;
            let line = rec.position().map(|p| p.line()).unwrap_or(0);
            if rec.len() > header.len() {
                let what = format!("{} fields, but the header has {}", rec.len(), header.len());
                return Err(malformed(line, what));
            }
            rows.push(CsvRow {
                line,
                fields: rec.iter().map(String::from).collect(),
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            header,
            rows,
        })
    }

    /// Index of column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|c| c == name)
    }

    /// Every row as (column, value) pairs, in header order.
    pub fn pairs(&self) -> impl Iterator<Item = (&CsvRow, Vec<(String, String)>)> + '_ {
        self.rows.iter().map(|r| {
            let values = self.header.iter().cloned().zip(r.fields.iter().cloned());
            (r, values.collect())
        })
    }

    /// The rows deserialised by column name into `T` (extra columns are ignored).
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<Vec<T>, CsvError> {
        let header = csv::StringRecord::from(self.header.clone());
        self.rows
            .iter()
            .map(|r| {
                let mut fields = r.fields.clone();
                fields.resize(self.header.len(), String::new());
                csv::StringRecord::from(fields)
                    .deserialize(Some(&header))
                    .map_err(|e| CsvError::Malformed {
                        path: self.path.display().to_string(),
                        line: r.line,
                        what: e.to_string(),
                    })
            })
            .collect()
    }

    /// The largest number in column `name` (NaN if none parses).
    pub fn column_max(&self, name: &str) -> f64 {
        let Some(i) = self.column(name) else {
            return f64::NAN;
        };
        self.rows
            .iter()
            .filter_map(|r| r.fields.get(i)?.parse::<f64>().ok())
            .fold(f64::NAN, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn reads_by_column_name_with_line_numbers() {
        let (_d, p) = file("epoch,loss,note\n1,0.5,a\n2,0.25\n");
        let f = CsvFile::read(&p).unwrap();
        assert_eq!(f.rows[1].line, 3);
        assert_eq!(f.column_max("loss"), 0.5);
        assert!(f.column_max("nope").is_nan());
        #[derive(serde::Deserialize)]
        struct Row {
            loss: f64,
            epoch: usize,
        }
        let rows: Vec<Row> = f.deserialize().unwrap();
        assert_eq!((rows[1].epoch, rows[1].loss), (2, 0.25));
    }

    #[test]
    fn a_long_row_is_an_error_naming_its_line() {
        let (_d, p) = file("a,b\n1,2\n1,2,3\n");
        let e = CsvFile::read(&p).unwrap_err();
        assert!(matches!(e, CsvError::Malformed { line: 3, .. }), "{e}");
    }
}
