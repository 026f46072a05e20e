//! Image transforms on `f32` images in [0, 1]: centre crop, rotation and crop, each resampled
//! bilinearly to the network's input side.

use crate::spec::AugmentSpec;
use rand::Rng;

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

/// Draws the transformed view of an image as the spec says.
#[derive(Debug, Clone)]
pub struct Augmenter {
    spec: AugmentSpec,
}

impl Augmenter {
    /// Wraps a validated `[augment]` section.
    pub fn new(spec: AugmentSpec) -> Self {
        Self { spec }
    }

    /// Side of both views.
    pub fn size(&self) -> usize {
        self.spec.size
    }

    /// The original view: a centre crop to `size`.
    pub fn original(&self, img: &[f32], side: usize) -> Vec<f32> {
        centre_crop(img, side, self.spec.size)
    }

    /// The transformed view: rotate or random crop, chosen by weight.
    pub fn transformed(&self, img: &[f32], side: usize, rng: &mut impl Rng) -> Vec<f32> {
        let (rw, cw) = (self.spec.rotate.weight, self.spec.random_crop.weight);
        let rotate = cw <= 0.0 || (rw > 0.0 && rng.random::<f64>() * (rw + cw) < rw);
        if rotate {
            let m = self.spec.rotate.max_degrees as i32;
            let deg = rng.random_range(-m..=m);
            rotate_resize(img, side, deg, self.spec.size)
        } else {
            let sizes = &self.spec.random_crop.sizes;
            let s = sizes[rng.random_range(0..sizes.len())];
            let slack = side - s;
            let (x0, y0) = if rng.random::<f64>() < self.spec.random_crop.centre_prob {
                (slack / 2, slack / 2)
            } else {
                (rng.random_range(0..=slack), rng.random_range(0..=slack))
            };
            crop_resize(img, side, x0, y0, s, self.spec.size)
        }
    }
}
