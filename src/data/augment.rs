//! Image transforms on `f32` images in [0, 1]: centre crop, rotation, crop, resize, affine
//! scale/shear, erasing and brightness/contrast jitter, composed as the book's either/or scheme
//! or as a declared pipeline per view, and resampled bilinearly to the network's input side.

use crate::spec::{AugmentSpec, Transform};
use rand::{Rng, SeedableRng};

/// Bilinear sample of a `side×side` image at continuous pixel coordinates (pixel centres at
/// integers); points outside the image read as 0 (as scipy's `rotate` fills).
fn sample_zero(img: &[f32], side: usize, x: f64, y: f64) -> f32 {
    let x0 = x.floor();
    let y0 = y.floor();
    let fx = (x - x0) as f32;
    let fy = (y - y0) as f32;
    let px = |xi: i64, yi: i64| -> f32 {
        if xi < 0 || yi < 0 || xi >= side as i64 || yi >= side as i64 {
            0.0
        } else {
            img[yi as usize * side + xi as usize]
        }
    };
    let (xi, yi) = (x0 as i64, y0 as i64);
    let top = px(xi, yi) * (1.0 - fx) + px(xi + 1, yi) * fx;
    let bottom = px(xi, yi + 1) * (1.0 - fx) + px(xi + 1, yi + 1) * fx;
    top * (1.0 - fy) + bottom * fy
}

/// Bilinear sample clamped to the square `[x0, x0+s) × [y0, y0+s)` (edge pixels repeat, as
/// OpenCV's resize does).
fn sample_clamped(img: &[f32], side: usize, x0: usize, y0: usize, s: usize, x: f64, y: f64) -> f32 {
    let cx = x.clamp(0.0, (s - 1) as f64);
    let cy = y.clamp(0.0, (s - 1) as f64);
    let xa = cx.floor() as usize;
    let ya = cy.floor() as usize;
    let xb = (xa + 1).min(s - 1);
    let yb = (ya + 1).min(s - 1);
    let fx = (cx - xa as f64) as f32;
    let fy = (cy - ya as f64) as f32;
    let px = |xi: usize, yi: usize| img[(y0 + yi) * side + x0 + xi];
    let top = px(xa, ya) * (1.0 - fx) + px(xb, ya) * fx;
    let bottom = px(xa, yb) * (1.0 - fx) + px(xb, yb) * fx;
    top * (1.0 - fy) + bottom * fy
}

/// The `s×s` square at (`x0`, `y0`) resized to `out×out`.
pub fn crop_resize(
    img: &[f32],
    side: usize,
    x0: usize,
    y0: usize,
    s: usize,
    out: usize,
) -> Vec<f32> {
    let scale = s as f64 / out as f64;
    let mut v = Vec::with_capacity(out * out);
    for r in 0..out {
        let y = (r as f64 + 0.5) * scale - 0.5;
        for c in 0..out {
            let x = (c as f64 + 0.5) * scale - 0.5;
            v.push(sample_clamped(img, side, x0, y0, s, x, y));
        }
    }
    v
}

/// The centred `out×out` crop (the original view; no resampling).
pub fn centre_crop(img: &[f32], side: usize, out: usize) -> Vec<f32> {
    let o = (side - out) / 2;
    (0..out)
        .flat_map(|r| {
            img[(o + r) * side + o..(o + r) * side + o + out]
                .iter()
                .copied()
        })
        .collect()
}

/// Exact sine and cosine of a whole number of degrees (exact at multiples of 90°).
fn sin_cos_degrees(deg: i32) -> (f64, f64) {
    match deg.rem_euclid(360) {
        0 => (0.0, 1.0),
        90 => (1.0, 0.0),
        180 => (0.0, -1.0),
        270 => (-1.0, 0.0),
        d => (d as f64).to_radians().sin_cos(),
    }
}

/// The whole image rotated by `deg` degrees (counter-clockwise, about its centre, zeros
/// outside) and resized to `out×out`. At 0° it equals [`crop_resize`] of the whole image.
pub fn rotate_resize(img: &[f32], side: usize, deg: i32, out: usize) -> Vec<f32> {
    if deg.rem_euclid(360) == 0 {
        return crop_resize(img, side, 0, 0, side, out);
    }
    let (sin, cos) = sin_cos_degrees(deg);
    let scale = side as f64 / out as f64;
    let centre = side as f64 / 2.0;
    let mut v = Vec::with_capacity(out * out);
    for r in 0..out {
        let dy = (r as f64 + 0.5) * scale - centre;
        for c in 0..out {
            let dx = (c as f64 + 0.5) * scale - centre;
            // Inverse map: rotate the output offset back by -deg (y grows downwards).
            let sx = cos * dx - sin * dy + centre - 0.5;
            let sy = sin * dx + cos * dy + centre - 0.5;
            v.push(sample_zero(img, side, sx, sy));
        }
    }
    v
}

/// The image with width and height scaled by `sx`, `sy`, then sheared horizontally by
/// `shear_deg` degrees (x grows with height above the centre), about its centre, zeros outside;
/// the side is kept. The identity at (1, 1, 0) equals the image.
pub fn affine(img: &[f32], side: usize, sx: f64, sy: f64, shear_deg: f64) -> Vec<f32> {
    let t = shear_deg.to_radians().tan();
    let centre = side as f64 / 2.0;
    let mut v = Vec::with_capacity(side * side);
    for r in 0..side {
        // Output offsets from the centre; y grows downwards, so "up" is -dy.
        let dy = r as f64 + 0.5 - centre;
        for c in 0..side {
            let dx = c as f64 + 0.5 - centre;
            // Inverse of [x', y'] = [sx·x − t·sy·y, sy·y].
            let y = dy / sy;
            let x = (dx + t * dy) / sx;
            v.push(sample_zero(img, side, x + centre - 0.5, y + centre - 0.5));
        }
    }
    v
}

/// A centred or random `s×s` crop, copied without resampling.
fn crop(img: &[f32], side: usize, x0: usize, y0: usize, s: usize) -> Vec<f32> {
    (0..s)
        .flat_map(|r| {
            img[(y0 + r) * side + x0..(y0 + r) * side + x0 + s]
                .iter()
                .copied()
        })
        .collect()
}

/// Sets the `w×h` rectangle at (`x0`, `y0`) of a `side×side` image to 0.
pub fn erase(img: &mut [f32], side: usize, x0: usize, y0: usize, w: usize, h: usize) {
    for row in img.chunks_mut(side).skip(y0).take(h) {
        row[x0..x0 + w].fill(0.0);
    }
}

/// Brightness then contrast (about the mean) scaled by `b` and `c`, clamped to [0, 1].
pub fn jitter(img: &mut [f32], b: f32, c: f32) {
    for v in img.iter_mut() {
        *v = (*v * b).clamp(0.0, 1.0);
    }
    let mean = img.iter().sum::<f32>() / img.len().max(1) as f32;
    for v in img.iter_mut() {
        *v = ((*v - mean) * c + mean).clamp(0.0, 1.0);
    }
}

/// Whether a step with probability `p` happens: a coin is drawn only when `p < 1`.
fn happens(p: f64, rng: &mut impl Rng) -> bool {
    p >= 1.0 || rng.random::<f64>() < p
}

/// A factor drawn uniformly from `1 ± strength`.
fn around_one(strength: f64, rng: &mut impl Rng) -> f64 {
    1.0 + rng.random_range(-1.0..=1.0) * strength
}

/// Runs a declared pipeline on a `side×side` image and resizes the result to `out`.
pub fn apply(
    steps: &[Transform],
    img: &[f32],
    side: usize,
    out: usize,
    rng: &mut impl Rng,
) -> Vec<f32> {
    let mut v = img.to_vec();
    let mut side = side;
    for step in steps {
        match step {
            Transform::Rotate { max_degrees, p } => {
                if happens(*p, rng) {
                    let m = *max_degrees as i32;
                    let deg = rng.random_range(-m..=m);
                    v = rotate_resize(&v, side, deg, side);
                }
            }
            Transform::Crop {
                sizes,
                centre_prob,
                p,
            } => {
                if happens(*p, rng) {
                    let s = if sizes.len() == 1 {
                        sizes[0]
                    } else {
                        sizes[rng.random_range(0..sizes.len())]
                    };
                    let slack = side - s;
                    let (x0, y0) = if *centre_prob >= 1.0 || rng.random::<f64>() < *centre_prob {
                        (slack / 2, slack / 2)
                    } else {
                        (rng.random_range(0..=slack), rng.random_range(0..=slack))
                    };
                    v = crop(&v, side, x0, y0, s);
                    side = s;
                }
            }
            Transform::Resize { side: to } => {
                let to = to.unwrap_or(out);
                if to != side {
                    v = crop_resize(&v, side, 0, 0, side, to);
                    side = to;
                }
            }
            Transform::Affine { shear, scale, p } => {
                if happens(*p, rng) {
                    let (sx, sy) = (around_one(*scale, rng), around_one(*scale, rng));
                    let deg = rng.random_range(-1.0..=1.0) * shear;
                    v = affine(&v, side, sx, sy, deg);
                }
            }
            Transform::Erase { size, p } => {
                if happens(*p, rng) {
                    let most = ((size * side as f64) as usize).clamp(1, side);
                    let (w, h) = (rng.random_range(1..=most), rng.random_range(1..=most));
                    let (x0, y0) = (
                        rng.random_range(0..=side - w),
                        rng.random_range(0..=side - h),
                    );
                    erase(&mut v, side, x0, y0, w, h);
                }
            }
            Transform::Stripe { height, p } => {
                if happens(*p, rng) {
                    let most = ((height * side as f64) as usize).clamp(1, side);
                    let h = rng.random_range(1..=most);
                    let y0 = rng.random_range(0..=side - h);
                    erase(&mut v, side, 0, y0, side, h);
                }
            }
            Transform::Jitter {
                brightness,
                contrast,
                p,
            } => {
                if happens(*p, rng) {
                    let b = around_one(*brightness, rng);
                    let c = around_one(*contrast, rng);
                    jitter(&mut v, b as f32, c as f32);
                }
            }
        }
    }
    if side != out {
        v = crop_resize(&v, side, 0, 0, side, out);
    }
    v
}

/// The views of an image, resolved once from a validated `[augment]` section: compute code
/// reads these, not the TOML section.
#[derive(Debug, Clone, PartialEq)]
pub struct Views {
    /// Side of every view fed to the network.
    pub size: usize,
    /// Transformed twins per original (the IIC paper's repeats).
    pub copies: usize,
    /// The original (x) view.
    pub original: View,
    /// The transformed (x̄) view.
    pub transformed: View,
    /// The evaluation view (deterministic: validation keeps draws out of it).
    pub eval: View,
}

/// How one view is drawn from an image.
#[derive(Debug, Clone, PartialEq)]
pub enum View {
    /// A centre crop to the views' side.
    CentreCrop,
    /// A declared pipeline of transforms, resized to the views' side at the end.
    Steps(Vec<Transform>),
    /// The book's scheme: rotate by up to `max_degrees` or cut a random crop of one of
    /// `sizes` (centred with probability `centre_prob`), chosen by weight, then resize.
    RotateOrCrop {
        rotate_weight: f64,
        max_degrees: u32,
        crop_weight: f64,
        sizes: Vec<usize>,
        centre_prob: f64,
    },
}

impl Views {
    /// The views a validated `[augment]` section declares (an empty list: the default view).
    pub fn of(a: &AugmentSpec) -> Self {
        let declared = |steps: &[Transform], default: View| match steps.is_empty() {
            true => default,
            false => View::Steps(steps.to_vec()),
        };
        Self {
            size: a.size,
            copies: a.copies,
            original: declared(&a.original, View::CentreCrop),
            transformed: declared(
                &a.transformed,
                View::RotateOrCrop {
                    rotate_weight: a.rotate.weight,
                    max_degrees: a.rotate.max_degrees,
                    crop_weight: a.random_crop.weight,
                    sizes: a.random_crop.sizes.clone(),
                    centre_prob: a.random_crop.centre_prob,
                },
            ),
            eval: declared(&a.eval, View::CentreCrop),
        }
    }
}

impl View {
    /// This view of a `side`-pixel image, `out` pixels a side.
    fn draw(&self, img: &[f32], side: usize, out: usize, rng: &mut impl Rng) -> Vec<f32> {
        match self {
            View::CentreCrop => centre_crop(img, side, out),
            View::Steps(steps) => apply(steps, img, side, out, rng),
            View::RotateOrCrop {
                rotate_weight: rw,
                max_degrees,
                crop_weight: cw,
                sizes,
                centre_prob,
            } => {
                let (rw, cw) = (*rw, *cw);
                let rotate = cw <= 0.0 || (rw > 0.0 && rng.random::<f64>() * (rw + cw) < rw);
                if rotate {
                    let m = *max_degrees as i32;
                    let deg = rng.random_range(-m..=m);
                    rotate_resize(img, side, deg, out)
                } else {
                    let s = sizes[rng.random_range(0..sizes.len())];
                    let slack = side - s;
                    let (x0, y0) = if rng.random::<f64>() < *centre_prob {
                        (slack / 2, slack / 2)
                    } else {
                        (rng.random_range(0..=slack), rng.random_range(0..=slack))
                    };
                    crop_resize(img, side, x0, y0, s, out)
                }
            }
        }
    }
}

/// Draws the views of an image.
#[derive(Debug, Clone)]
pub struct Augmenter {
    views: Views,
}

impl Augmenter {
    /// Draws `views`.
    pub fn new(views: Views) -> Self {
        Self { views }
    }

    /// Side of every view.
    pub fn size(&self) -> usize {
        self.views.size
    }

    /// The original view.
    pub fn original(&self, img: &[f32], side: usize, rng: &mut impl Rng) -> Vec<f32> {
        self.views.original.draw(img, side, self.views.size, rng)
    }

    /// The evaluation view (deterministic).
    pub fn eval_view(&self, img: &[f32], side: usize) -> Vec<f32> {
        // Validation keeps this view free of draws; the stream is never read.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        self.views.eval.draw(img, side, self.views.size, &mut rng)
    }

    /// The transformed view.
    pub fn transformed(&self, img: &[f32], side: usize, rng: &mut impl Rng) -> Vec<f32> {
        self.views.transformed.draw(img, side, self.views.size, rng)
    }
}
