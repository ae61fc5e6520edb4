//! What the charts share: the embedded font, the output format (chosen by
//! the file's extension), the drawing entry point, sizes and colours.

use super::PlotError;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

/// DejaVu Sans (Bitstream Vera licence, `assets/fonts/LICENSE-DejaVu.txt`),
/// embedded so that text needs no system font library: PNG glyphs are
/// rasterised from these bytes, SVG text is laid out with their metrics.
static FONT_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The family every chart's text uses; SVG viewers fall back to their own
/// sans-serif face.
pub const FONT: &str = "sans-serif";

/// Chart size in pixels (SVG user units), width × height.
pub const SIZE: (u32, u32) = (1000, 620);

/// Ready replicas, busy GPUs: the work the fleet is paid for.
pub const READY: RGBColor = RGBColor(44, 160, 44);
/// Replicas coming up (cold starts).
pub const STARTING: RGBColor = RGBColor(255, 127, 14);
/// Replicas draining.
pub const DRAINING: RGBColor = RGBColor(127, 127, 127);
/// Traffic.
pub const TRAFFIC: RGBColor = RGBColor(31, 119, 180);
/// SLA misses. Used for nothing else, so a test can count the marks.
pub const MISS: RGBColor = RGBColor(214, 39, 40);
/// Points off the Pareto front.
pub const OFF_FRONT: RGBColor = RGBColor(160, 160, 160);

/// One colour per GPU state, in `GpuState::ALL` order.
pub const GPU_STATE_COLORS: [RGBColor; fleetsim_core::cost::GpuState::COUNT] = [
    RGBColor(140, 86, 75),   // provisioning
    RGBColor(227, 119, 194), // pulling_image
    RGBColor(188, 189, 34),  // loading_weights
    RGBColor(255, 127, 14),  // starting_engine
    RGBColor(255, 187, 120), // warming_up
    RGBColor(44, 160, 44),   // busy
    RGBColor(152, 223, 138), // idle_ready
    RGBColor(127, 127, 127), // draining
    RGBColor(23, 190, 207),  // warm_pool
    RGBColor(31, 119, 180),  // unallocated
];

/// The image formats a chart can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    /// Scalable vector graphics, text as text.
    Svg,
    /// A PNG bitmap.
    Png,
}

impl ImageFormat {
    /// The format named by `path`'s extension (`.svg` or `.png`, any case).
    pub fn from_path(path: &Path) -> Result<Self, PlotError> {
        let ext = (path.extension().and_then(|e| e.to_str())).map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("svg") => Ok(ImageFormat::Svg),
            Some("png") => Ok(ImageFormat::Png),
            _ => Err(PlotError::UnknownFormat {
                path: path.to_path_buf(),
            }),
        }
    }

    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Svg => "svg",
            ImageFormat::Png => "png",
        }
    }
}

/// A drawing failure inside a chart, as text (the backends' error types
/// differ; the file name is added by [`render`]).
#[derive(Debug)]
pub struct DrawError(pub String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        DrawError(e.to_string())
    }
}

/// What a chart draws, whatever the backend.
pub trait Chart {
    /// Draws the whole chart on `root` (already filled white).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError>;
}

/// Registers the embedded font once per process.
fn register_font() -> Result<(), PlotError> {
    static OK: OnceLock<bool> = OnceLock::new();
    let ok = *OK
        .get_or_init(|| plotters::style::register_font(FONT, FontStyle::Normal, FONT_TTF).is_ok());
    if ok {
        Ok(())
    } else {
        Err(PlotError::Font)
    }
}

/// Draws `chart` into `path`, as SVG or PNG by its extension.
pub fn render(path: &Path, chart: &impl Chart) -> Result<(), PlotError> {
    let format = ImageFormat::from_path(path)?;
    register_font()?;
    let fail = |e: DrawError| PlotError::Draw {
        path: path.to_path_buf(),
        message: e.0,
    };
    // Drawn into a temporary file beside `path` (same extension, which the
    // PNG encoder goes by) and renamed, so `path` is never half-written.
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp.{}", format.extension()));
    let drawn = match format {
        ImageFormat::Svg => draw_on(SVGBackend::new(&tmp, SIZE).into_drawing_area(), chart),
        ImageFormat::Png => draw_on(BitMapBackend::new(&tmp, SIZE).into_drawing_area(), chart),
    };
    if let Err(e) = drawn {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        PlotError::Draw {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    })
}

fn draw_on<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    chart: &impl Chart,
) -> Result<(), DrawError> {
    root.fill(&WHITE)?;
    chart.draw(&root)?;
    // `present` writes the file; errors (a missing directory) surface here
    // rather than being lost when the backend is dropped.
    root.present()?;
    Ok(())
}

/// A text style of the chart font.
pub fn text(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().into()
}

/// A range that plotters can draw: finite, and not empty (a flat series
/// gets some room around it).
pub fn padded(lo: f64, hi: f64) -> std::ops::Range<f64> {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() && lo <= hi {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    if hi - lo > f64::EPSILON * hi.abs().max(1.0) {
        lo..hi
    } else {
        (lo - 0.5).min(0.0)..hi + 1.0
    }
}

/// The time axis: minutes for runs over 20 minutes, else seconds.
#[derive(Clone, Copy, Debug)]
pub struct TimeAxis {
    /// Seconds per axis unit.
    pub unit_s: f64,
    /// Axis caption.
    pub caption: &'static str,
}

impl TimeAxis {
    /// The axis for a run that ends at `end_s`.
    pub fn for_span(end_s: f64) -> Self {
        if end_s > 1200.0 {
            TimeAxis {
                unit_s: 60.0,
                caption: "time (min)",
            }
        } else {
            TimeAxis {
                unit_s: 1.0,
                caption: "time (s)",
            }
        }
    }

    /// `t_s` in axis units.
    pub fn at(self, t_s: f64) -> f64 {
        t_s / self.unit_s
    }
}

/// A centred message on an otherwise empty chart (an empty run).
pub fn draw_message<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    message: &str,
) -> Result<(), DrawError> {
    let (w, h) = area.dim_in_pixel();
    let style = text(22).pos(plotters::style::text_anchor::Pos::new(
        plotters::style::text_anchor::HPos::Center,
        plotters::style::text_anchor::VPos::Center,
    ));
    area.draw(&Text::new(
        title.to_string(),
        (w as i32 / 2, 40),
        style.clone(),
    ))?;
    area.draw(&Text::new(
        message.to_string(),
        (w as i32 / 2, h as i32 / 2),
        style,
    ))?;
    Ok(())
}
