//! Augmentations: shapes, determinism, and exact pixels where they can be worked out.

use mirun::data::augment::{
    affine, apply, centre_crop, crop_resize, jitter, rotate_resize, Augmenter, View, Views,
};
use mirun::data::batch::{copies_batch, pair_batch, prefetch};
use mirun::data::ImageSet;
use mirun::spec::{AugmentSpec, Transform};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn gradient_image() -> Vec<f32> {
    (0..28 * 28)
        .map(|i| ((i * 37) % 255) as f32 / 255.0)
        .collect()
}

#[test]
fn views_have_the_configured_side() {
    let aug = Augmenter::new(Views::of(&AugmentSpec::default()));
    let img = gradient_image();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    assert_eq!(aug.original(&img, 28, &mut rng).len(), 24 * 24);
    assert_eq!(aug.eval_view(&img, 28), centre_crop(&img, 28, 24));
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

/// The centre of mass (column) of each row's ink.
fn row_centres(img: &[f32], side: usize) -> Vec<Option<f64>> {
    img.chunks(side)
        .map(|row| {
            let ink: f64 = row.iter().map(|&v| v as f64).sum();
            (ink > 0.0).then(|| {
                row.iter()
                    .enumerate()
                    .map(|(c, &v)| c as f64 * v as f64)
                    .sum::<f64>()
                    / ink
            })
        })
        .collect()
}

#[test]
fn affine_identity_keeps_the_image_and_shear_slants_a_stem_but_not_a_bar() {
    let img = gradient_image();
    assert_eq!(affine(&img, 28, 1.0, 1.0, 0.0), img);
    // A vertical stem (column 14, rows 4..24) and a horizontal bar (row 4, columns 8..20).
    let mut digit = vec![0f32; 28 * 28];
    for r in 4..24 {
        digit[r * 28 + 14] = 1.0;
    }
    for c in 8..20 {
        digit[4 * 28 + c] = 1.0;
    }
    let sheared = affine(&digit, 28, 1.0, 1.0, 20.0);
    let centres = row_centres(&sheared, 28);
    let (top, bottom) = (centres[6].unwrap(), centres[22].unwrap());
    // tan 20° ≈ 0.364: 16 rows apart, the stem moves ≈ 5.8 columns, top to the right.
    let slant = top - bottom;
    assert!(
        (slant - 16.0 * 20f64.to_radians().tan()).abs() < 0.5,
        "slant {slant}"
    );
    let bar_row: f32 = sheared[4 * 28..5 * 28].iter().sum();
    assert!(
        (bar_row - 12.0).abs() < 1.0,
        "the bar stays on its row with its ink: {bar_row}"
    );
    // Halving the width brings the bar's ends towards the centre: 12 columns → about 6.
    let narrow = affine(&digit, 28, 0.5, 1.0, 0.0);
    let bar: Vec<f32> = narrow[4 * 28..5 * 28].to_vec();
    let wide = bar.iter().filter(|&&v| v > 0.25).count();
    assert!(
        (5..=7).contains(&wide),
        "bar columns after halving: {wide} ({bar:?})"
    );
}

#[test]
fn a_stripe_zeroes_whole_rows_no_more_than_asked() {
    let steps = [Transform::Stripe {
        height: 0.25,
        p: 1.0,
    }];
    let img = vec![1f32; 28 * 28];
    let mut tops = std::collections::BTreeSet::new();
    for seed in 0..40 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let v = apply(&steps, &img, 28, 28, &mut rng);
        let rows: Vec<usize> = (0..28)
            .filter(|r| v[r * 28..(r + 1) * 28].iter().all(|&x| x == 0.0))
            .collect();
        let zeros = v.iter().filter(|&&x| x == 0.0).count();
        assert!(!rows.is_empty(), "seed {seed}: nothing erased");
        assert_eq!(zeros, rows.len() * 28, "seed {seed}: only whole rows");
        assert!(rows.len() <= 7, "seed {seed}: {} rows", rows.len());
        assert_eq!(
            rows.last().unwrap() - rows[0] + 1,
            rows.len(),
            "seed {seed}: one band"
        );
        tops.insert(rows[0]);
    }
    assert!(tops.len() > 5, "the band moves: tops {tops:?}");
}

#[test]
fn erasing_zeroes_one_rectangle_no_larger_than_asked() {
    let steps = [Transform::Erase { size: 0.5, p: 1.0 }];
    let img = vec![1f32; 28 * 28];
    for seed in 0..20 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let v = apply(&steps, &img, 28, 28, &mut rng);
        let zero: Vec<(usize, usize)> = (0..28 * 28)
            .filter(|&i| v[i] == 0.0)
            .map(|i| (i / 28, i % 28))
            .collect();
        assert!(!zero.is_empty(), "seed {seed}: nothing erased");
        let rows = zero.iter().map(|z| z.0);
        let cols = zero.iter().map(|z| z.1);
        let (r0, r1) = (rows.clone().min().unwrap(), rows.max().unwrap());
        let (c0, c1) = (cols.clone().min().unwrap(), cols.max().unwrap());
        let (h, w) = (r1 - r0 + 1, c1 - c0 + 1);
        assert!(
            h <= 14 && w <= 14,
            "seed {seed}: {h}×{w} is over half the side"
        );
        assert_eq!(zero.len(), h * w, "seed {seed}: one filled rectangle");
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
    let aug = Augmenter::new(Views::of(&AugmentSpec::default()));
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
    let aug = Augmenter::new(Views::of(&AugmentSpec::default()));
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

/// The reference IIC code's views: x̄ = rotate ±25° (p = 0.5) → random 16/20/24 crop →
/// brightness/contrast jitter 0.4; eval = the centre 20-px crop resized to 24.
fn reference_views() -> AugmentSpec {
    AugmentSpec {
        transformed: vec![
            Transform::Rotate {
                max_degrees: 25,
                p: 0.5,
            },
            Transform::Crop {
                sizes: vec![16, 20, 24],
                centre_prob: 0.0,
                p: 1.0,
            },
            Transform::Resize { side: None },
            Transform::Jitter {
                brightness: 0.4,
                contrast: 0.4,
                p: 1.0,
            },
        ],
        eval: vec![Transform::Crop {
            sizes: vec![20],
            centre_prob: 1.0,
            p: 1.0,
        }],
        ..AugmentSpec::default()
    }
}

#[test]
fn declared_eval_view_is_the_centre_crop_resized() {
    let img = gradient_image();
    let aug = Augmenter::new(Views::of(&reference_views()));
    assert_eq!(aug.eval_view(&img, 28), crop_resize(&img, 28, 4, 4, 20, 24));
    assert_eq!(aug.eval_view(&img, 28), aug.eval_view(&img, 28));
}

#[test]
fn declared_views_are_seeded_sized_and_in_range() {
    let img = gradient_image();
    let aug = Augmenter::new(Views::of(&reference_views()));
    let draw = |seed| aug.transformed(&img, 28, &mut ChaCha8Rng::seed_from_u64(seed));
    assert_eq!(draw(7), draw(7), "same seed, same view");
    assert_ne!(draw(7), draw(8), "another seed, another view");
    for seed in 0..40 {
        let v = draw(seed);
        assert_eq!(v.len(), 24 * 24);
        assert!(v.iter().all(|p| (0.0..=1.0).contains(p)));
    }
}

#[test]
fn steps_with_probability_zero_leave_the_image_alone() {
    let img = gradient_image();
    let steps = [
        Transform::Rotate {
            max_degrees: 90,
            p: 0.0,
        },
        Transform::Jitter {
            brightness: 0.9,
            contrast: 0.9,
            p: 0.0,
        },
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    assert_eq!(apply(&steps, &img, 28, 28, &mut rng), img);
    // A full-size centre crop and no resize: the image itself.
    let crop = [Transform::Crop {
        sizes: vec![28],
        centre_prob: 1.0,
        p: 1.0,
    }];
    assert_eq!(apply(&crop, &img, 28, 28, &mut rng), img);
}

#[test]
fn random_crops_land_anywhere_and_centred_ones_in_the_middle() {
    // Every pixel holds its own index, so a crop's first pixel says where it was cut.
    let img: Vec<f32> = (0..28 * 28).map(|i| i as f32 / 1000.0).collect();
    let crop = |centre_prob| {
        [Transform::Crop {
            sizes: vec![20],
            centre_prob,
            p: 1.0,
        }]
    };
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let corners: std::collections::BTreeSet<u32> = (0..200)
        .map(|_| (apply(&crop(0.0), &img, 28, 20, &mut rng)[0] * 1000.0).round() as u32)
        .collect();
    assert!(
        corners.len() > 30,
        "random crops spread out: {}",
        corners.len()
    );
    assert!(corners.iter().all(|&c| c % 28 <= 8 && c / 28 <= 8));
    let centred = apply(&crop(1.0), &img, 28, 20, &mut rng);
    assert_eq!(centred[0], img[4 * 28 + 4]);
}

#[test]
fn jitter_scales_brightness_then_contrast_about_the_mean_and_clamps() {
    let mut v = vec![0.2f32, 0.4, 0.6];
    jitter(&mut v, 1.0, 2.0); // mean 0.4: 0.2 → 0.0, 0.4 → 0.4, 0.6 → 0.8
    for (a, b) in v.iter().zip([0.0f32, 0.4, 0.8]) {
        assert!((a - b).abs() < 1e-6, "{v:?}");
    }
    let mut w = vec![0.5f32, 0.9];
    jitter(&mut w, 1.4, 1.0); // 0.7, 1.26 → clamped to 1
    assert!((w[0] - 0.7).abs() < 1e-6 && w[1] == 1.0, "{w:?}");
}

#[test]
fn views_resolve_empty_lists_to_the_default_views_and_keep_declared_ones() {
    let default = Views::of(&AugmentSpec::default());
    assert_eq!(default.original, View::CentreCrop);
    assert_eq!(default.eval, View::CentreCrop);
    assert!(matches!(
        default.transformed,
        View::RotateOrCrop {
            max_degrees: 20,
            ..
        }
    ));
    let declared = Views::of(&reference_views());
    assert_eq!(
        declared.transformed,
        View::Steps(reference_views().transformed)
    );
    assert_eq!(declared.size, reference_views().size);
}
