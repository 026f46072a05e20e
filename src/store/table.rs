//! The CSV files a method writes into its run directory after every epoch (`metrics.csv`,
//! `confusion.csv`, …), made from typed rows: each file's row type derives `Serialize` to write
//! it and `Deserialize` to read it back, so the header and the readers share one definition.
//! Cells that need a fixed format say so in their type ([`Dec`], [`Sci`]).

use super::StoreError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::path::PathBuf;

/// A CSV file of a run directory; its first column is the epoch (or step), so the rows of the
/// epochs a resumed run keeps can be told apart.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub file: &'static str,
    /// The header line, without its newline (empty for a table of no rows).
    pub header: String,
    /// One line per row, each ending in a newline.
    pub rows: String,
}

impl Table {
    /// `file` with one line per row of `rows`, the header taken from the row type's fields.
    pub fn of<R: Serialize>(file: &'static str, rows: &[R]) -> Result<Table, StoreError> {
        let bad = |what: String| StoreError::Table {
            path: PathBuf::from(file),
            what,
        };
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        for r in rows {
            w.serialize(r).map_err(|e| bad(e.to_string()))?;
        }
        let bytes = w.into_inner().map_err(|e| bad(e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|e| bad(e.to_string()))?;
        let (header, rows) = text.split_once('\n').unwrap_or(("", ""));
        Ok(Table {
            file,
            header: header.to_string(),
            rows: rows.to_string(),
        })
    }
}

/// A float written with `N` decimals (`NaN` as `NaN`), read back as any float.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Dec<const N: usize>(pub f64);

impl<const N: usize> Serialize for Dec<N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{:.*}", N, self.0))
    }
}

impl<'de, const N: usize> Deserialize<'de> for Dec<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        f64::deserialize(d).map(Dec)
    }
}

/// A float written in Rust's shortest scientific form (`1e-3`), read back as any float.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Sci(pub f64);

impl Serialize for Sci {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{:e}", self.0))
    }
}

impl<'de> Deserialize<'de> for Sci {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        f64::deserialize(d).map(Sci)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Row {
        epoch: usize,
        loss: Dec<6>,
        lr: Sci,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        extra: Option<Dec<3>>,
        probe: Option<Dec<6>>,
    }

    #[test]
    fn a_table_writes_formatted_cells_and_reads_them_back_by_the_same_names() {
        let rows = [
            Row {
                epoch: 1,
                loss: Dec(-1.25),
                lr: Sci(1e-3),
                extra: None,
                probe: None,
            },
            Row {
                epoch: 2,
                loss: Dec(f64::NAN),
                lr: Sci(5e-4),
                extra: None,
                probe: Some(Dec(0.5)),
            },
        ];
        let t = Table::of("metrics.csv", &rows).unwrap();
        assert_eq!(t.header, "epoch,loss,lr,probe");
        assert_eq!(t.rows, "1,-1.250000,1e-3,\n2,NaN,5e-4,0.500000\n");
        let text = format!("{}\n{}", t.header, t.rows);
        let back: Vec<Row> = csv::Reader::from_reader(text.as_bytes())
            .deserialize()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back[0], rows[0]);
        assert_eq!(back[1].probe, Some(Dec(0.5)));
        assert!(back[1].loss.0.is_nan());
        assert_eq!(Table::of::<Row>("metrics.csv", &[]).unwrap().header, "");
    }
}
