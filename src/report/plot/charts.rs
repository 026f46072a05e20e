//! Drawing with plotters: line charts (with optional error bars) and a heat map, to SVG or PNG.
//! The font is embedded (DejaVu Sans Mono), so PNG text needs nothing installed.

use super::{write_out, PlotError};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

static FONT: Once = Once::new();

/// Drawing or encoding a chart failed (plotters' or the PNG encoder's reason).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DrawError(String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        DrawError(e.to_string())
    }
}

impl From<png::EncodingError> for DrawError {
    fn from(e: png::EncodingError) -> Self {
        DrawError(e.to_string())
    }
}

fn register_font() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../../../assets/fonts/DejaVuSansMono.ttf");
        // The embedded file is a valid TTF; failing here would only lose the text.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, bytes);
    });
}

/// One line: its label, its points and (optionally, one per point) a ± error.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub errors: Vec<f64>,
    /// Drawn thin and pale (noisy raw values behind a smoothed line).
    pub faint: bool,
}

impl Series {
    /// An empty series named `label`.
    pub fn new(label: &str) -> Self {
        Self {
            label: label.to_string(),
            ..Default::default()
        }
    }
}

/// Counts of a confusion matrix: (cluster, label, count).
#[derive(Debug, Clone)]
pub struct Confusion {
    pub title: String,
    pub cells: Vec<(usize, usize, f64)>,
}

enum Panel {
    Lines {
        title: String,
        x: String,
        y: String,
        series: Vec<Series>,
    },
    Heat(Confusion),
}

/// A figure of one or two panels.
pub struct Canvas {
    panels: Vec<Panel>,
    size: (u32, u32),
}

type Lines<'a> = (&'a str, &'a str, &'a str, Vec<Series>);

impl Canvas {
    /// One line chart.
    pub fn single(title: &str, x: &str, y: &str, series: Vec<Series>) -> Self {
        Self {
            panels: vec![lines((title, x, y, series))],
            size: (800, 500),
        }
    }

    /// Two line charts side by side.
    pub fn pair(a: Lines, b: Lines) -> Self {
        Self {
            panels: vec![lines(a), lines(b)],
            size: (1200, 500),
        }
    }

    /// A confusion-matrix heat map (clusters as rows, labels as columns).
    pub fn heat_map(c: Confusion) -> Self {
        Self {
            panels: vec![Panel::Heat(c)],
            size: (640, 600),
        }
    }

    /// Pixel size of the figure.
    pub fn size(&self) -> (u32, u32) {
        self.size
    }

    /// Renders to `path`: `.svg` or `.png`, written atomically.
    pub fn save(&self, path: &Path) -> Result<(), PlotError> {
        register_font();
        let fail = |what: String| PlotError::Output {
            path: path.display().to_string(),
            what,
        };
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "svg" => {
                let mut text = String::new();
                {
                    let root = SVGBackend::with_string(&mut text, self.size).into_drawing_area();
                    self.draw(&root).map_err(|e| fail(e.to_string()))?;
                    root.present().map_err(|e| fail(e.to_string()))?;
                }
                write_out(path, text.as_bytes())
            }
            "png" => {
                let (w, h) = self.size;
                let mut rgb = vec![0u8; (w * h * 3) as usize];
                {
                    let root = BitMapBackend::with_buffer(&mut rgb, self.size).into_drawing_area();
                    self.draw(&root).map_err(|e| fail(e.to_string()))?;
                    root.present().map_err(|e| fail(e.to_string()))?;
                }
                write_out(
                    path,
                    &encode_png(&rgb, w, h, png::ColorType::Rgb)
                        .map_err(|e| fail(e.to_string()))?,
                )
            }
            _ => Err(fail("expected a .svg or .png file name".into())),
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        root.fill(&WHITE)?;
        let areas = root.split_evenly((1, self.panels.len()));
        for (panel, area) in self.panels.iter().zip(areas) {
            match panel {
                Panel::Lines {
                    title,
                    x,
                    y,
                    series,
                } => draw_lines(&area, title, x, y, series)?,
                Panel::Heat(c) => draw_heat(&area, c)?,
            }
        }
        Ok(())
    }
}

fn lines((title, x, y, series): Lines) -> Panel {
    Panel::Lines {
        title: title.into(),
        x: x.into(),
        y: y.into(),
        series,
    }
}

fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(v), h.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-3);
    (lo - pad, hi + pad)
}

fn draw_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    x: &str,
    y: &str,
    series: &[Series],
) -> Result<(), DrawError> {
    let xs = span(series.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
    let ys = span(series.iter().flat_map(|s| {
        s.points.iter().enumerate().flat_map(move |(i, p)| {
            let err = s.errors.get(i).copied().unwrap_or(0.0);
            [p.1 - err, p.1 + err]
        })
    }));
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(xs.0..xs.1, ys.0..ys.1)?;
    chart.configure_mesh().x_desc(x).y_desc(y).draw()?;
    for (i, s) in series.iter().filter(|s| !s.points.is_empty()).enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let color = if s.faint { color.mix(0.35) } else { color };
        let width = if s.faint { 1 } else { 2 };
        chart
            .draw_series(LineSeries::new(
                s.points.iter().copied(),
                color.stroke_width(width),
            ))?
            .label(s.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        if s.points.len() <= 50 {
            chart.draw_series(s.points.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
        }
        if !s.errors.is_empty() {
            chart.draw_series(s.points.iter().zip(&s.errors).map(|(&(px, py), &err)| {
                ErrorBar::new_vertical(px, py - err, py, py + err, color.stroke_width(1), 8)
            }))?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn draw_heat<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &Confusion,
) -> Result<(), DrawError> {
    let rows = c.cells.iter().map(|x| x.0 + 1).max().unwrap_or(1);
    let cols = c.cells.iter().map(|x| x.1 + 1).max().unwrap_or(1);
    let max = c.cells.iter().map(|x| x.2).fold(1.0, f64::max);
    let mut chart = ChartBuilder::on(area)
        .caption(&c.title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0..cols, 0..rows)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("label")
        .y_desc("cluster")
        .x_labels(cols)
        .y_labels(rows)
        .draw()?;
    chart.draw_series(c.cells.iter().map(|&(r, l, n)| {
        let t = (n / max).clamp(0.0, 1.0);
        let shade = (255.0 * (1.0 - t)) as u8;
        Rectangle::new(
            [(l, r), (l + 1, r + 1)],
            RGBColor(shade, shade, 255).filled(),
        )
    }))?;
    Ok(())
}

/// PNG bytes of an 8-bit image.
pub fn encode_png(
    pixels: &[u8],
    w: u32,
    h: u32,
    color: png::ColorType,
) -> Result<Vec<u8>, DrawError> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(color);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header()?;
        writer.write_image_data(pixels)?;
    }
    Ok(out)
}
