//! Augmentations: shapes, determinism, and exact pixels where they can be worked out.

use mirun::data::augment::{centre_crop, crop_resize, rotate_resize, Augmenter};
use mirun::data::batch::{copies_batch, pair_batch, prefetch};
use mirun::data::ImageSet;
use mirun::spec::AugmentSpec;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn gradient_image() -> Vec<f32> {
    (0..28 * 28)
        .map(|i| ((i * 37) % 255) as f32 / 255.0)
        .collect()
}

#[test]
fn views_have_the_configured_side() {
    let aug = Augmenter::new(AugmentSpec::default());
    let img = gradient_image();
    assert_eq!(aug.original(&img, 28).len(), 24 * 24);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..50 {
        let v = aug.transformed(&img, 28, &mut rng);
        assert_eq!(v.len(), 24 * 24);
        assert!(v.iter().all(|p| (0.0..=1.0).contains(p)));
    }
}

#[test]
fn centre_crop_takes_the_middle() {
    let img = gradient_image();
    let c = centre_crop(&img, 28, 24);
    assert_eq!(c[0], img[2 * 28 + 2]);
    assert_eq!(c[24 * 24 - 1], img[25 * 28 + 25]);
}

#[test]
fn zero_degree_rotation_equals_the_unrotated_path() {
    let img = gradient_image();
    assert_eq!(
        rotate_resize(&img, 28, 0, 24),
        crop_resize(&img, 28, 0, 0, 28, 24)
    );
    assert_eq!(
        rotate_resize(&img, 28, 360, 28),
        img,
        "identity at full size"
    );
}

#[test]
fn crop_resize_of_a_constant_image_is_constant() {
    let img = vec![0.37f32; 28 * 28];
    for (x0, y0, s) in [(0, 0, 16), (5, 9, 18), (8, 8, 20), (12, 0, 16)] {
        let v = crop_resize(&img, 28, x0, y0, s, 24);
        assert!(
            v.iter().all(|&p| (p - 0.37).abs() < 1e-6),
            "crop {x0},{y0},{s}"
        );
    }
}

#[test]
fn ninety_degree_rotation_moves_a_square_to_the_expected_corner() {
    // A 4×4 square at rows 2..6, columns 20..24 (top right). Rotating 90° counter-clockwise
    // moves the top-right corner to the top-left: rows 4..8, columns 2..6.
    let mut img = vec![0f32; 28 * 28];
    for r in 2..6 {
        for c in 20..24 {
            img[r * 28 + c] = 1.0;
        }
    }
    let rot = rotate_resize(&img, 28, 90, 28);
    let mut expected = vec![0f32; 28 * 28];
    for r in 4..8 {
        for c in 2..6 {
            expected[r * 28 + c] = 1.0;
        }
    }
    assert_eq!(rot, expected);
    let back = rotate_resize(&rotate_resize(&rot, 28, 90, 28), 28, 180, 28);
    assert_eq!(back, img, "four quarter turns are the identity");
}

#[test]
fn one_seed_gives_the_same_pairs() {
    let set = ImageSet {
        pixels: (0..10 * 784).map(|i| (i % 251) as u8).collect(),
        labels: (0..10).collect(),
    };
    let aug = Augmenter::new(AugmentSpec::default());
    let idx = [3, 1, 4, 1, 5, 9];
    let a = pair_batch(&set, &idx, 0..6, &aug, 7, 0);
    let b = pair_batch(&set, &idx, 0..6, &aug, 7, 0);
    let c = pair_batch(&set, &idx, 0..6, &aug, 8, 0);
    assert_eq!(a.len(), 2 * 6 * 24 * 24);
    assert_eq!(a, b);
    assert_ne!(a, c, "another seed gives other transforms");
    assert_eq!(
        &a[24 * 24..2 * 24 * 24],
        &a[3 * 24 * 24..4 * 24 * 24],
        "the same image gives the same original view"
    );
}

#[test]
fn copies_batch_extends_pair_batch_with_distinct_twins() {
    let set = ImageSet {
        pixels: (0..10 * 28 * 28).map(|i| ((i * 7) % 251) as u8).collect(),
        labels: vec![0; 10],
    };
    let aug = Augmenter::new(AugmentSpec::default());
    let s2 = 24 * 24;
    let idx = [3, 1, 4, 1, 5, 9];
    let pairs = pair_batch(&set, &idx, 10..16, &aug, 7, 2);
    let many = copies_batch(&set, &idx, 10..16, &aug, 7, 2, 3);
    assert_eq!(many.len(), 4 * 6 * s2, "B originals + 3 blocks of B twins");
    assert_eq!(
        &many[..2 * 6 * s2],
        &pairs[..],
        "originals and the first twins are pair_batch's rows"
    );
    let twin = |c: usize, j: usize| &many[(1 + c) * 6 * s2 + j * s2..][..s2];
    assert_ne!(twin(0, 0), twin(1, 0), "each copy draws its own transform");
    assert_ne!(twin(1, 0), twin(2, 0));
}

#[test]
fn prefetch_keeps_order_and_stops_when_the_consumer_does() {
    let got: Vec<usize> = std::thread::scope(|s| prefetch(s, 50, |i| i * i).into_iter().collect());
    assert_eq!(got, (0..50).map(|i| i * i).collect::<Vec<_>>());
    // A consumer that stops after 3 batches must not leave the producer blocked.
    let made = std::sync::atomic::AtomicUsize::new(0);
    let first: Vec<usize> = std::thread::scope(|s| {
        let rx = prefetch(s, 1_000_000, |i| {
            made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            i
        });
        rx.into_iter().take(3).collect()
    });
    assert_eq!(first, vec![0, 1, 2]);
    assert!(
        made.into_inner() < 10,
        "the producer stops soon after the consumer"
    );
}
