//! The VGG layout a `backbone.cfg` describes: parsed and checked here, in the spec, so the
//! validator needs no model code; `model::vgg` builds the network from it.

use super::{CfgToken, VggCfg};

/// One layer of a VGG cfg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VggLayer {
    /// 3×3 (or `kernel_size`) convolution with this many output channels.
    Conv(usize),
    /// 2×2 max-pool, stride 2.
    Pool,
}

/// A validated layer list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VggLayout(pub Vec<VggLayer>);

/// Named configs: the book's `F` and the standard VGG ones.
const NAMED: &[(&str, &str)] = &[
    ("F", "64 M 128 M 256 M 512"),
    ("A", "64 M 128 M 256 256 M 512 512 M 512 512 M"),
    ("B", "64 64 M 128 128 M 256 256 M 512 512 M 512 512 M"),
    (
        "D",
        "64 64 M 128 128 M 256 256 256 M 512 512 512 M 512 512 512 M",
    ),
];

/// Why a layer list is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error(
        "unknown named config \"{name}\"; expected one of {known} or a list like [64, \"M\", 128]"
    )]
    UnknownName { name: String, known: String },
    #[error("entry {index}: expected a positive channel count or \"M\", got {got}")]
    BadEntry { index: usize, got: String },
    #[error("expected at least one convolution (an integer) in the cfg")]
    NoConvolution,
    #[error("too many \"M\" pools for {side}×{side} inputs: the feature map shrinks to nothing")]
    TooManyPools { side: usize },
}

impl VggLayout {
    /// Parses a named config or an explicit list; errors say what was expected.
    pub fn from_cfg(cfg: &VggCfg) -> Result<Self, LayoutError> {
        let layers = match cfg {
            VggCfg::Named(name) => {
                let (_, text) = NAMED.iter().find(|(n, _)| n == name).ok_or_else(|| {
                    let names: Vec<_> = NAMED.iter().map(|(n, _)| format!("\"{n}\"")).collect();
                    LayoutError::UnknownName {
                        name: name.clone(),
                        known: names.join(", "),
                    }
                })?;
                text.split(' ')
                    .map(|t| match t {
                        "M" => VggLayer::Pool,
                        n => VggLayer::Conv(n.parse().unwrap_or(1)),
                    })
                    .collect()
            }
            VggCfg::Layers(tokens) => tokens
                .iter()
                .enumerate()
                .map(|(i, t)| match t {
                    CfgToken::Channels(c) if *c > 0 => Ok(VggLayer::Conv(*c as usize)),
                    CfgToken::Pool(s) if s == "M" => Ok(VggLayer::Pool),
                    CfgToken::Channels(c) => Err(LayoutError::BadEntry {
                        index: i,
                        got: c.to_string(),
                    }),
                    CfgToken::Pool(s) => Err(LayoutError::BadEntry {
                        index: i,
                        got: format!("\"{s}\""),
                    }),
                })
                .collect::<Result<_, _>>()?,
        };
        let layout = Self(layers);
        if layout.channels_out() == 0 {
            return Err(LayoutError::NoConvolution);
        }
        Ok(layout)
    }

    fn channels_out(&self) -> usize {
        self.0
            .iter()
            .rev()
            .find_map(|l| match l {
                VggLayer::Conv(c) => Some(*c),
                VggLayer::Pool => None,
            })
            .unwrap_or(0)
    }

    /// Flattened feature count for a square input of side `size`; errors if pooling would
    /// shrink the map to nothing.
    pub fn output_features(&self, size: usize) -> Result<usize, LayoutError> {
        let mut side = size;
        for l in &self.0 {
            if *l == VggLayer::Pool {
                if side < 2 {
                    return Err(LayoutError::TooManyPools { side: size });
                }
                side /= 2;
            }
        }
        Ok(side * side * self.channels_out())
    }

    /// The largest activation per image, in floats, for a square `side`×`side` input of
    /// `in_channels` channels: what sizes the biggest tensor of a batch.
    pub fn largest_map(&self, side: usize, in_channels: usize) -> usize {
        let (mut s, mut most) = (side, in_channels * side * side);
        for l in &self.0 {
            match l {
                VggLayer::Conv(c) => most = most.max(c * s * s),
                VggLayer::Pool => s /= 2,
            }
        }
        most
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(tokens: &[&str]) -> VggCfg {
        VggCfg::Layers(
            tokens
                .iter()
                .map(|t| match t.parse::<i64>() {
                    Ok(n) => CfgToken::Channels(n),
                    Err(_) => CfgToken::Pool(t.to_string()),
                })
                .collect(),
        )
    }

    #[test]
    fn named_and_explicit_layouts_parse() {
        let f = VggLayout::from_cfg(&VggCfg::Named("F".into())).unwrap();
        assert!(f.0.contains(&VggLayer::Pool));
        let l = VggLayout::from_cfg(&list(&["8", "M", "16"])).unwrap();
        assert_eq!(
            l.0,
            vec![VggLayer::Conv(8), VggLayer::Pool, VggLayer::Conv(16)]
        );
        assert_eq!(l.output_features(24).unwrap(), 16 * 12 * 12);
        assert_eq!(l.largest_map(24, 1), 8 * 24 * 24);
    }

    #[test]
    fn bad_layouts_say_what_was_expected() {
        let e = VggLayout::from_cfg(&VggCfg::Named("Z".into())).unwrap_err();
        assert!(matches!(e, LayoutError::UnknownName { .. }), "{e}");
        let e = VggLayout::from_cfg(&list(&["8", "X"])).unwrap_err();
        assert_eq!(
            e,
            LayoutError::BadEntry {
                index: 1,
                got: "\"X\"".into()
            }
        );
        let e = VggLayout::from_cfg(&list(&["M"])).unwrap_err();
        assert_eq!(e, LayoutError::NoConvolution);
        let l = VggLayout::from_cfg(&list(&["8", "M", "M", "M"])).unwrap();
        assert_eq!(
            l.output_features(4).unwrap_err(),
            LayoutError::TooManyPools { side: 4 }
        );
    }
}
