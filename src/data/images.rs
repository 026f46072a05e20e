//! Loading MNIST-format data sets through the `mnist` crate, after `fetch` has checked every
//! file (the crate panics on bad files).

use super::fetch::{ensure, FetchError};
use crate::spec::{DatasetKind, DatasetSpec, TrainOn};

/// Side of an image of the IDX data sets (the spec owns the shape).
pub const SIDE: usize = crate::spec::IDX_SHAPE.side;

/// IDX images (row-major u8, `SIDE×SIDE`, one channel) with their labels.
#[derive(Debug, Clone, Default)]
pub struct ImageSet {
    pub pixels: Vec<u8>,
    pub labels: Vec<u8>,
}

impl ImageSet {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.pixels[i * SIDE * SIDE..(i + 1) * SIDE * SIDE]
    }

    fn truncated(mut self, n: usize) -> Self {
        let n = n.min(self.len());
        self.labels.truncate(n);
        self.pixels.truncate(n * SIDE * SIDE);
        self
    }
}

/// A train and a test split.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub kind: DatasetKind,
    pub train: ImageSet,
    pub test: ImageSet,
    /// Number of label classes (from the kind's shape).
    pub classes: usize,
}

/// Fetches (if needed), verifies and loads the data set a spec names, cut to its subset sizes.
pub fn load(spec: &DatasetSpec) -> Result<Dataset, FetchError> {
    if !spec.kind.is_image() {
        return Err(FetchError::NoImages(spec.kind.name()));
    }
    let (folder, _) = ensure(spec.kind, &spec.dir)?;
    let base = folder.to_string_lossy().into_owned();
    let (train_len, test_len) = spec.kind.sizes();
    let m = mnist::MnistBuilder::new()
        .base_path(&base)
        .label_format_digit()
        .training_set_length(train_len as u32)
        .validation_set_length(0)
        .test_set_length(test_len as u32)
        .finalize();
    let train = ImageSet {
        pixels: m.trn_img,
        labels: m.trn_lbl,
    };
    let test = ImageSet {
        pixels: m.tst_img,
        labels: m.tst_lbl,
    };
    let mut train = train.truncated(spec.train_size.unwrap_or(usize::MAX));
    let test = test.truncated(spec.test_size.unwrap_or(usize::MAX));
    if spec.train_on == TrainOn::TrainAndTest {
        // The IIC paper's protocol: training also sees the test images (never their labels).
        train.pixels.extend_from_slice(&test.pixels);
        train.labels.extend_from_slice(&test.labels);
    }
    Ok(Dataset {
        kind: spec.kind,
        train,
        test,
        classes: spec.kind.shape().map_or(0, |s| s.classes),
    })
}
