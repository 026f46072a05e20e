//! Batches of (original, transformed) pairs, built on the CPU in parallel and seeded per sample
//! so that one seed always gives the same pairs, whatever the thread count.

use super::augment::Augmenter;
use super::images::{ImageSet, SIDE};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Mixes seed, epoch and a position into one 64-bit seed (splitmix64 finaliser).
pub fn mix(seed: u64, a: u64, b: u64) -> u64 {
    let mut z = seed
        .wrapping_add(a.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(b.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The training order of one epoch: a seeded shuffle of `0..n`.
pub fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut ChaCha8Rng::seed_from_u64(mix(
        seed,
        epoch as u64,
        u64::MAX,
    )));
    idx
}

fn to_f32(img: &[u8]) -> Vec<f32> {
    img.iter().map(|&p| p as f32 / 255.0).collect()
}

/// `[2B, S·S]` rows, flattened: the B originals, then their B transformed twins.
/// `positions[i]` is the sample's position in the epoch, which seeds its transform.
pub fn pair_batch(
    set: &ImageSet,
    indices: &[usize],
    positions: std::ops::Range<usize>,
    aug: &Augmenter,
    seed: u64,
    epoch: usize,
) -> Vec<f32> {
    copies_batch(set, indices, positions, aug, seed, epoch, 1)
}

/// `[(1 + C)·B, S·S]` rows: the B originals, then C blocks of B transformed twins (block c
/// holds every image's c-th twin). Twin 0 is seeded as in [`pair_batch`], so `C = 1` gives
/// exactly its rows.
pub fn copies_batch(
    set: &ImageSet,
    indices: &[usize],
    positions: std::ops::Range<usize>,
    aug: &Augmenter,
    seed: u64,
    epoch: usize,
    copies: usize,
) -> Vec<f32> {
    let s2 = aug.size() * aug.size();
    let b = indices.len();
    // Each image is converted once and shared by its original view and all its twins.
    let images: Vec<Vec<f32>> = indices.par_iter().map(|&i| to_f32(set.image(i))).collect();
    let mut out = vec![0f32; (1 + copies) * b * s2];
    let (orig, twins) = out.split_at_mut(b * s2);
    let start = positions.start;
    // A declared original view draws from its own stream (bit 62 set), apart from the twins'.
    orig.par_chunks_mut(s2)
        .zip(images.par_iter())
        .enumerate()
        .for_each(|(j, (o, img))| {
            let stream = (epoch as u64) | (1 << 62);
            let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, stream, (start + j) as u64));
            o.copy_from_slice(&aug.original(img, SIDE, &mut rng))
        });
    twins.par_chunks_mut(s2).enumerate().for_each(|(r, t)| {
        let (c, j) = (r / b, r % b);
        let stream = (epoch as u64) | ((c as u64) << 40);
        let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, stream, (start + j) as u64));
        t.copy_from_slice(&aug.transformed(&images[j], SIDE, &mut rng));
    });
    out
}

/// Builds batches `make(0..steps)` on a thread of `scope`, one ahead of the consumer, so the
/// next batch is augmented while the current one trains. Dropping the receiver stops it.
pub fn prefetch<'scope, T: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    steps: usize,
    mut make: impl FnMut(usize) -> T + Send + 'scope,
) -> std::sync::mpsc::Receiver<T> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    scope.spawn(move || {
        for step in 0..steps {
            // A send fails only once the consumer has stopped early.
            if tx.send(make(step)).is_err() {
                break;
            }
        }
    });
    rx
}

/// `[N, S·S]` evaluation views of images `range` (by default, centre crops).
pub fn eval_batch(set: &ImageSet, range: std::ops::Range<usize>, aug: &Augmenter) -> Vec<f32> {
    let s2 = aug.size() * aug.size();
    let mut out = vec![0f32; range.len() * s2];
    out.par_chunks_mut(s2)
        .zip(range.into_par_iter())
        .for_each(|(o, i)| o.copy_from_slice(&aug.eval_view(&to_f32(set.image(i)), SIDE)));
    out
}
