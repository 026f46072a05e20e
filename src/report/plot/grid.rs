//! A per-cluster image grid: row c shows the first k test images assigned to cluster c (or
//! only those it gets wrong) — the quickest way to see what a head learned.

use super::charts::encode_png;
use super::{write_out, PlotError};
use crate::data::{ImageSet, SIDE};
use std::path::Path;

/// Writes a grayscale PNG of `clusters` rows × `k` columns of 28×28 images (1-pixel grey
/// separators; empty cells stay black), taking only the images `i` for which `show(i)`.
pub fn cluster_grid(
    set: &ImageSet,
    assigned: &[usize],
    clusters: usize,
    k: usize,
    show: impl Fn(usize) -> bool,
    path: &Path,
) -> Result<(), PlotError> {
    let cell = SIDE + 1;
    let (w, h) = (k * cell + 1, clusters * cell + 1);
    let mut px = vec![96u8; w * h];
    let mut filled = vec![0usize; clusters];
    for (i, &c) in assigned.iter().enumerate() {
        if c >= clusters || filled[c] >= k || !show(i) {
            continue;
        }
        let (x0, y0) = (1 + filled[c] * cell, 1 + c * cell);
        let img = set.image(i);
        for y in 0..SIDE {
            px[(y0 + y) * w + x0..(y0 + y) * w + x0 + SIDE]
                .copy_from_slice(&img[y * SIDE..(y + 1) * SIDE]);
        }
        filled[c] += 1;
    }
    for (c, &n) in filled.iter().enumerate() {
        for col in n..k {
            let (x0, y0) = (1 + col * cell, 1 + c * cell);
            for y in 0..SIDE {
                px[(y0 + y) * w + x0..(y0 + y) * w + x0 + SIDE].fill(0);
            }
        }
    }
    let bytes = encode_png(&px, w as u32, h as u32, png::ColorType::Grayscale).map_err(|what| {
        PlotError::Output {
            path: path.display().to_string(),
            what: what.to_string(),
        }
    })?;
    write_out(path, &bytes)
}
