//! Latency CDFs of completed requests: TTFT, TPOT and end-to-end side by
//! side, on log-scaled time axes (tails span orders of magnitude), with
//! the SLA's percentile targets marked.

use super::data::{LatencySamples, Target};
use super::style::{self, Chart, DrawError};
use super::PlotError;
use fleetsim_core::metrics::LatencyMetric;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// At most this many points per curve: quantiles on an even grid, so a
/// million-request run still makes a small file.
const MAX_POINTS: usize = 1000;

/// Draws the latency CDFs of `samples` into `path`.
pub fn latency_cdf_chart(
    samples: &LatencySamples,
    title: &str,
    path: &Path,
) -> Result<(), PlotError> {
    style::render(path, &LatencyChart { samples, title })
}

/// [`latency_cdf_chart`] as SVG text, drawn in memory.
pub fn latency_cdf_chart_svg(samples: &LatencySamples, title: &str) -> Result<String, PlotError> {
    style::render_svg(&LatencyChart { samples, title })
}

/// The empirical CDF of `values` as `(value, fraction ≤ value)` points,
/// thinned to 1,000 evenly spaced quantiles plus the maximum. Values that are
/// not positive and finite are left out (a log axis cannot show them).
pub fn cdf_points(values: &[f64]) -> Vec<(f64, f64)> {
    let mut v: Vec<f64> = (values.iter().copied())
        .filter(|x| x.is_finite() && *x > 0.0)
        .collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return Vec::new();
    }
    let step = n.div_ceil(MAX_POINTS).max(1);
    let mut points: Vec<(f64, f64)> = (0..n)
        .step_by(step)
        .map(|i| (v[i], (i + 1) as f64 / n as f64))
        .collect();
    if points.last().is_some_and(|p| p.1 < 1.0) {
        points.push((v[n - 1], 1.0));
    }
    points
}

struct LatencyChart<'a> {
    samples: &'a LatencySamples,
    title: &'a str,
}

impl Chart for LatencyChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        let s = self.samples;
        if let Some(why) = &s.unavailable {
            return style::draw_message(root, self.title, why);
        }
        if s.ttft_ms.is_empty() && s.e2e_ms.is_empty() {
            return style::draw_message(root, self.title, "no completed requests: no latencies");
        }
        let root = root.titled(self.title, style::text(24))?;
        let panels = root.split_evenly((1, 3));
        let curves = [
            ("TTFT (ms)", LatencyMetric::TtftMs, &s.ttft_ms),
            ("TPOT (ms)", LatencyMetric::TpotMs, &s.tpot_ms),
            ("end to end (ms)", LatencyMetric::E2eMs, &s.e2e_ms),
        ];
        // (A target a notebook built with a bound or percentile out of
        // range is left out rather than stretching the axis forever.)
        let targets_of = |metric: LatencyMetric| -> Vec<&Target> {
            (s.targets.iter())
                .filter(|t| t.metric == metric)
                .filter(|t| t.max_ms.is_finite() && t.max_ms > 0.0)
                .filter(|t| (0.0..=100.0).contains(&t.percentile))
                .collect()
        };
        // Every panel's legend strip is as tall as the tallest, so the
        // three plots share their axes' height.
        let legend_rows = 1
            + (curves.iter())
                .map(|(_, metric, _)| targets_of(*metric).len())
                .max()
                .unwrap_or(0);
        for (area, (caption, metric, values)) in panels.iter().zip(curves) {
            draw_panel(area, caption, values, &targets_of(metric), legend_rows)?;
        }
        Ok(())
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    values: &[f64],
    targets: &[&Target],
    legend_rows: usize,
) -> Result<(), DrawError> {
    let points = cdf_points(values);
    // The legend gets a strip of its own under the panel: it never covers
    // the curve or a target.
    let mut entries = vec![(
        format!(
            "{} requests",
            fleetsim_core::summary::display::thousands(values.len() as f64, 0)
        ),
        style::Mark::Line(style::TRAFFIC),
    )];
    for t in targets {
        let label = format!("p{} ≤ {} ms", t.percentile, t.max_ms);
        entries.push((label, style::Mark::Cross(style::MISS)));
    }
    let strip_px = 24 * legend_rows.max(entries.len()) as u32 + 8;
    let (_, height) = area.dim_in_pixel();
    let (area, legend) = area.split_vertically(height.saturating_sub(strip_px));
    let area = &area;
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        area.draw(&Text::new(
            format!("{caption}: none"),
            (20, 40),
            style::text(16),
        ))?;
        return Ok(());
    };
    // A decade of room on a flat curve; targets stay in view.
    let lo = (targets.iter().map(|t| t.max_ms))
        .fold(first.0, f64::min)
        .max(1e-6);
    let hi = (targets.iter().map(|t| t.max_ms)).fold(last.0, f64::max);
    let (lo, hi) = if hi > lo * 1.5 {
        (lo / 1.2, hi * 1.2)
    } else {
        (lo / 3.0, hi * 3.0)
    };
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(45)
        .build_cartesian_2d(
            (lo..hi).log_scale().with_key_points(log_ticks(lo, hi)),
            0.0..1.0,
        )?;
    chart
        .configure_mesh()
        .x_desc(caption)
        .y_desc("fraction of requests ≤ x")
        .y_labels(6)
        .x_label_formatter(&|x| format_ms(*x))
        .label_style(style::text(13))
        .axis_desc_style(style::text(15))
        .draw()?;
    chart.draw_series(LineSeries::new(points, style::TRAFFIC.stroke_width(2)))?;
    for t in targets {
        let at = (t.max_ms, t.percentile / 100.0);
        chart.draw_series([Cross::new(at, 7, style::MISS.stroke_width(2))])?;
    }
    style::draw_legend(&legend, 12, &entries)
}

/// Tick values for a log axis from `lo` to `hi`: 1, 2 and 5 in each
/// decade, or only the powers of ten when that would be crowded (plotters'
/// own log ticks label decades only, which leaves a narrow axis with one).
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (first, last) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let within = |x: &f64| *x >= lo && *x <= hi;
    let all: Vec<f64> = (first..=last)
        .flat_map(|d| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(d)))
        .filter(within)
        .collect();
    if all.len() <= 7 {
        return all;
    }
    (first..=last)
        .map(|d| 10f64.powi(d))
        .filter(within)
        .collect()
}

/// Axis labels: no more digits than a reader needs.
fn format_ms(x: f64) -> String {
    if x >= 1.0 {
        fleetsim_core::summary::display::thousands(x, 0)
    } else {
        // Ticks are 1, 2 or 5 times a power of ten: one significant digit.
        let decimals = (-x.log10().floor()).max(0.0) as usize;
        format!("{x:.decimals$}")
    }
}
