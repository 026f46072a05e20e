//! `mirun data fetch`.

use super::args::Which;
use mirun::spec::DatasetKind;
use std::path::PathBuf;

/// Makes the chosen data sets ready (copied or downloaded, decompressed, verified) in `dir`.
pub fn fetch(which: Which, dir: Option<PathBuf>) -> anyhow::Result<()> {
    let dir = dir
        .or_else(|| std::env::var_os("MIRUN_DATA_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("data"));
    let kinds = match which {
        Which::Mnist => vec![DatasetKind::Mnist],
        Which::FashionMnist => vec![DatasetKind::FashionMnist],
        Which::All => vec![DatasetKind::Mnist, DatasetKind::FashionMnist],
    };
    for kind in kinds {
        let (folder, _) = mirun::data::fetch::ensure(kind, &dir)?;
        println!(
            "{}: ready and verified in {}",
            kind.name(),
            folder.display()
        );
    }
    Ok(())
}
