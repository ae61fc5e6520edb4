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
        #[cfg(feature = "png")]
        ImageFormat::Png => draw_on(BitMapBackend::new(&tmp, SIZE).into_drawing_area(), chart),
        #[cfg(not(feature = "png"))]
        ImageFormat::Png => Err(DrawError(
            "PNG charts need fleetsim's `png` feature (on by default; this build left it out): \
             use .svg"
                .into(),
        )),
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

/// `chart` as SVG text, drawn in memory (a notebook shows it inline).
pub fn render_svg(chart: &impl Chart) -> Result<String, PlotError> {
    register_font()?;
    let mut svg = String::new();
    draw_on(
        SVGBackend::with_string(&mut svg, SIZE).into_drawing_area(),
        chart,
    )
    .map_err(|e| PlotError::Draw {
        path: "<in memory>".into(),
        message: e.0,
    })?;
    Ok(svg)
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

/// Width of the legend column to the right of a chart's data, px: the
/// legend never covers data.
pub const LEGEND_WIDTH: u32 = 240;

/// `root` titled `title` and split into the data's area and the legend's
/// column on its right: the legend never covers the data.
pub type Areas<DB> = (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>);

/// See [`Areas`].
pub fn titled_with_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<Areas<DB>, DrawError> {
    let root = root.titled(title, text(24))?;
    let width = root.dim_in_pixel().0;
    Ok(root.split_horizontally(width.saturating_sub(LEGEND_WIDTH)))
}

/// Creates the chart directory `dir`.
pub fn chart_dir(dir: &std::path::Path) -> Result<(), PlotError> {
    std::fs::create_dir_all(dir).map_err(|cause| PlotError::Write {
        path: dir.to_path_buf(),
        cause,
    })
}

/// How a legend entry is marked.
#[derive(Clone, Copy, Debug)]
pub enum Mark {
    /// A filled square (an area, a band).
    Swatch(RGBAColor),
    /// A short line (a line series).
    Line(RGBColor),
    /// A dot (points).
    Dot(RGBColor),
    /// A cross (a target marked on a curve).
    Cross(RGBColor),
}

/// Draws `entries` one under the other in `area` (the legend column),
/// starting `top_px` below its top.
pub fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    top_px: i32,
    entries: &[(String, Mark)],
) -> Result<(), DrawError> {
    let label = text(14).pos(plotters::style::text_anchor::Pos::new(
        plotters::style::text_anchor::HPos::Left,
        plotters::style::text_anchor::VPos::Center,
    ));
    for (i, (name, mark)) in entries.iter().enumerate() {
        let y = top_px + 24 * i as i32;
        let x = 8;
        match *mark {
            Mark::Swatch(c) => {
                area.draw(&Rectangle::new([(x, y - 6), (x + 16, y + 6)], c.filled()))?
            }
            Mark::Line(c) => {
                area.draw(&PathElement::new([(x, y), (x + 16, y)], c.stroke_width(2)))?
            }
            Mark::Dot(c) => area.draw(&Circle::new((x + 8, y), 5, c.filled()))?,
            Mark::Cross(c) => area.draw(&Cross::new((x + 8, y), 5, c.stroke_width(2)))?,
        }
        area.draw(&Text::new(name.clone(), (x + 24, y), label.clone()))?;
    }
    Ok(())
}

/// An axis tick label: thousands separated (`12,345`), whole numbers
/// without decimals, others with at most two (trailing zeros dropped).
pub fn axis_number(x: f64) -> String {
    use fleetsim_core::summary::display::thousands;
    if !x.is_finite() {
        return format!("{x}");
    }
    if x.abs() >= 100.0 || x.fract() == 0.0 {
        return thousands(x, 0);
    }
    let s = thousands(x, 2);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// A box on the canvas, px: left, top, width, height.
pub type LabelBox = (i32, i32, u32, u32);

/// Where to put text labels of `size` (w, h px) beside points at
/// `anchors` so that no two overlap and each stays within `bounds` (a box
/// like the labels'): for each point in order, the first of above-right,
/// below-right, above-left and below-left that fits; `None` when none does
/// (the label is left out rather than drawn over another).
pub fn place_labels(
    anchors: &[(i32, i32)],
    sizes: &[(u32, u32)],
    bounds: LabelBox,
) -> Vec<Option<LabelBox>> {
    const GAP: i32 = 6;
    let overlaps = |a: &LabelBox, b: &LabelBox| {
        a.0 < b.0 + b.2 as i32
            && b.0 < a.0 + a.2 as i32
            && a.1 < b.1 + b.3 as i32
            && b.1 < a.1 + a.3 as i32
    };
    let inside = |a: &LabelBox| {
        a.0 >= bounds.0
            && a.1 >= bounds.1
            && a.0 + a.2 as i32 <= bounds.0 + bounds.2 as i32
            && a.1 + a.3 as i32 <= bounds.1 + bounds.3 as i32
    };
    let mut placed: Vec<LabelBox> = Vec::new();
    (anchors.iter().zip(sizes))
        .map(|(&(x, y), &(w, h))| {
            let (wi, hi) = (w as i32, h as i32);
            let candidates = [
                (x + GAP, y - GAP - hi),
                (x + GAP, y + GAP),
                (x - GAP - wi, y - GAP - hi),
                (x - GAP - wi, y + GAP),
            ];
            let chosen = (candidates.iter())
                .map(|&(l, t)| (l, t, w, h))
                .find(|b| inside(b) && !placed.iter().any(|p| overlaps(p, b)));
            if let Some(b) = chosen {
                placed.push(b);
            }
            chosen
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_numbers_have_thousands_separators() {
        for (x, expect) in [
            (0.0, "0"),
            (5.0, "5"),
            (1_440.0, "1,440"),
            (12_345.0, "12,345"),
            (1_234_567.4, "1,234,567"),
            (2.5, "2.5"),
            (0.25, "0.25"),
            (-3_000.0, "-3,000"),
        ] {
            assert_eq!(axis_number(x), expect, "{x}");
        }
    }

    #[test]
    fn placed_labels_never_overlap_and_stay_inside() {
        // A cluster of points a few pixels apart, as a Pareto front of
        // near-identical configurations draws them.
        let anchors: Vec<(i32, i32)> = (0..12).map(|i| (300 + 3 * i, 300 - 2 * i)).collect();
        let sizes = vec![(90u32, 14u32); anchors.len()];
        let bounds = (0, 0, 1000, 620);
        let placed = place_labels(&anchors, &sizes, bounds);
        let boxes: Vec<LabelBox> = placed.iter().flatten().copied().collect();
        assert!(boxes.len() >= 4, "{placed:?}");
        assert!(
            boxes.len() < anchors.len(),
            "some labels must give way: {placed:?}"
        );
        for (i, a) in boxes.iter().enumerate() {
            assert!(
                a.0 >= 0 && a.1 >= 0 && a.0 + 90 <= 1000 && a.1 + 14 <= 620,
                "{a:?}"
            );
            for b in &boxes[i + 1..] {
                let apart = a.0 + a.2 as i32 <= b.0
                    || b.0 + b.2 as i32 <= a.0
                    || a.1 + a.3 as i32 <= b.1
                    || b.1 + b.3 as i32 <= a.1;
                assert!(apart, "{a:?} overlaps {b:?}");
            }
        }
        // Points far apart all get their label, above and to the right.
        let far = place_labels(&[(100, 100), (500, 300)], &[(80, 14), (80, 14)], bounds);
        assert_eq!(far, vec![Some((106, 80, 80, 14)), Some((506, 280, 80, 14))]);
        // A point in a corner gets a label that still fits.
        let corner = place_labels(&[(995, 5)], &[(80, 14)], bounds);
        assert_eq!(corner, vec![Some((909, 11, 80, 14))]);
    }
}
