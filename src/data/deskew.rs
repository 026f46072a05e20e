//! Pixel-space views for comparing digits by shape: deskewing (the shear that makes the ink's
//! principal axis vertical, from its second moments — the classic MNIST preprocessing) and a
//! small Gaussian blur, so that nearby strokes count as near.

/// `side×side` grey image (0..=255) deskewed about its centre of mass: each row `y` is shifted
/// by `α·(y − ȳ)` with `α = cov(x, y) / var(y)`, sampled linearly (zeros outside).
pub fn deskew(image: &[u8], side: usize) -> Vec<f32> {
    let px = |x: usize, y: usize| f64::from(image[y * side + x]);
    let (mut m, mut mx, mut my) = (0.0, 0.0, 0.0);
    for y in 0..side {
        for x in 0..side {
            let v = px(x, y);
            m += v;
            mx += v * x as f64;
            my += v * y as f64;
        }
    }
    let out_of = |v: &[u8]| v.iter().map(|&p| f32::from(p)).collect::<Vec<f32>>();
    if m <= 0.0 {
        return out_of(image);
    }
    let (cx, cy) = (mx / m, my / m);
    let (mut vyy, mut vxy) = (0.0, 0.0);
    for y in 0..side {
        for x in 0..side {
            let v = px(x, y);
            let (dx, dy) = (x as f64 - cx, y as f64 - cy);
            vyy += v * dy * dy;
            vxy += v * dx * dy;
        }
    }
    if vyy <= 0.0 {
        return out_of(image);
    }
    let alpha = vxy / vyy;
    let mut out = vec![0f32; side * side];
    for y in 0..side {
        let shift = alpha * (y as f64 - cy);
        for x in 0..side {
            let sx = x as f64 + shift;
            let x0 = sx.floor();
            let t = sx - x0;
            let at = |xi: f64| {
                if xi < 0.0 || xi >= side as f64 {
                    0.0
                } else {
                    px(xi as usize, y)
                }
            };
            out[y * side + x] = ((1.0 - t) * at(x0) + t * at(x0 + 1.0)) as f32;
        }
    }
    out
}

/// A 3×3 Gaussian blur (weights 1-2-1 in each direction; zeros outside).
pub fn blur(image: &[f32], side: usize) -> Vec<f32> {
    let pass = |src: &[f32], dx: usize, dy: usize| {
        let mut out = vec![0f32; side * side];
        for y in 0..side {
            for x in 0..side {
                let get = |xi: isize, yi: isize| {
                    if xi < 0 || yi < 0 || xi >= side as isize || yi >= side as isize {
                        0.0
                    } else {
                        src[yi as usize * side + xi as usize]
                    }
                };
                let (x, y) = (x as isize, y as isize);
                let (dx, dy) = (dx as isize, dy as isize);
                out[y as usize * side + x as usize] =
                    0.25 * get(x - dx, y - dy) + 0.5 * get(x, y) + 0.25 * get(x + dx, y + dy);
            }
        }
        out
    };
    pass(&pass(image, 1, 0), 0, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-pixel-wide stroke from (x0, 0) to (x0 + side − 1, side − 1): slanted 45°.
    fn slanted(side: usize) -> Vec<u8> {
        let mut im = vec![0u8; side * side];
        for y in 0..side {
            im[y * side + (y + 2).min(side - 1)] = 255;
        }
        im
    }

    #[test]
    fn a_slanted_stroke_is_stood_upright() {
        let side = 12;
        let out = deskew(&slanted(side), side);
        // After deskewing, the ink's column hardly moves from row to row.
        let col = |y: usize| {
            let row = &out[y * side..(y + 1) * side];
            let m: f32 = row.iter().sum();
            row.iter()
                .enumerate()
                .map(|(x, v)| x as f32 * v)
                .sum::<f32>()
                / m
        };
        let spread = (1..side - 2)
            .map(col)
            .fold((f32::MAX, f32::MIN), |(lo, hi), c| (lo.min(c), hi.max(c)));
        assert!(spread.1 - spread.0 < 1.0, "{spread:?}");
        // An upright stroke stays as it is.
        let mut upright = vec![0u8; side * side];
        (0..side).for_each(|y| upright[y * side + 5] = 200);
        assert_eq!(deskew(&upright, side)[3 * side + 5], 200.0);
    }

    #[test]
    fn blur_keeps_the_ink_and_spreads_it() {
        let side = 5;
        let mut im = vec![0f32; side * side];
        im[12] = 16.0;
        let b = blur(&im, side);
        assert_eq!(b[12], 4.0);
        assert_eq!(b[11], 2.0);
        assert_eq!(b[6], 1.0);
        assert!((b.iter().sum::<f32>() - 16.0).abs() < 1e-5);
    }
}
