//! The fleet tracking its demand: replicas by state (stacked) and traffic
//! over time, windows with SLA misses shaded, and the share of each
//! window's arrivals that missed in a strip below.

use super::data::Window;
use super::style::{self, Chart, DrawError, TimeAxis};
use super::PlotError;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Draws the fleet chart of `windows` into `path` (`.svg` or `.png`).
pub fn fleet_chart(windows: &[Window], title: &str, path: &Path) -> Result<(), PlotError> {
    style::render(path, &FleetChart { windows, title })
}

/// [`fleet_chart`] as SVG text, drawn in memory.
pub fn fleet_chart_svg(windows: &[Window], title: &str) -> Result<String, PlotError> {
    style::render_svg(&FleetChart { windows, title })
}

struct FleetChart<'a> {
    windows: &'a [Window],
    title: &'a str,
}

impl Chart for FleetChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        let w = self.windows;
        let Some(last) = w.last() else {
            return style::draw_message(root, self.title, "no time-series windows: an empty run");
        };
        let axis = TimeAxis::for_span(last.end_s);
        let x_range = style::padded(0.0, axis.at(last.end_s));
        let root = root.titled(self.title, style::text(24))?;
        // The legend gets a column of its own: it never covers the data.
        let (width, height) = root.dim_in_pixel();
        let (plot, legend) = root.split_horizontally(width.saturating_sub(style::LEGEND_WIDTH));
        let (top, bottom) = plot.split_vertically(height * 72 / 100);

        // Replicas by state, stacked: ready at the bottom.
        let total = |x: &Window| x.replicas_ready + x.replicas_starting + x.replicas_draining;
        let max_replicas = w.iter().map(total).max().unwrap_or(0);
        let rate = |x: &Window| {
            if x.len_s() > 0.0 {
                x.arrivals as f64 / x.len_s()
            } else {
                0.0
            }
        };
        let max_rate = w.iter().map(rate).fold(0.0, f64::max);
        let y_replicas = style::padded(0.0, f64::from(max_replicas) * 1.1);
        let y_rate = style::padded(0.0, max_rate * 1.1);
        let mut chart = ChartBuilder::on(&top)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .right_y_label_area_size(70)
            .build_cartesian_2d(x_range.clone(), y_replicas.clone())?
            .set_secondary_coord(x_range.clone(), y_rate);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(axis.caption)
            .y_desc("replicas")
            .x_label_formatter(&|x| style::axis_number(x.round()))
            .y_label_formatter(&|y| style::axis_number(*y))
            .label_style(style::text(14))
            .axis_desc_style(style::text(16))
            .draw()?;
        chart
            .configure_secondary_axes()
            .y_desc("arrivals/s")
            .y_label_formatter(&|y| style::axis_number(*y))
            .label_style(style::text(14))
            .axis_desc_style(style::text(16))
            .draw()?;

        // Steps: a count taken at a window's end holds until the next
        // window's end, so each window shows the fleet it started with (the
        // first, which has none before it, its own end). A scale-up at
        // 20:00 then shows from 20:00, not from the window before.
        let at_end = |f: fn(&Window) -> u32| -> Vec<(f64, f64)> {
            let held = w.iter().take(1).chain(w.iter());
            (w.iter().zip(held))
                .flat_map(|(x, from)| {
                    let v = f64::from(f(from));
                    [(axis.at(x.start_s), v), (axis.at(x.end_s), v)]
                })
                .collect()
        };
        let layers: [Layer; 3] = [
            ("draining", style::DRAINING, |x| {
                x.replicas_ready + x.replicas_starting + x.replicas_draining
            }),
            ("starting", style::STARTING, |x| {
                x.replicas_ready + x.replicas_starting
            }),
            ("ready", style::READY, |x| x.replicas_ready),
        ];
        // Windows with misses, shaded behind the replicas (so their
        // colours stay true) and under the traffic line, darker the larger
        // the share of the window's arrivals that missed: a few misses in
        // every window of a long run leave it pale, not covered.
        let mut entries: Vec<(String, style::Mark)> = Vec::new();
        if w.iter().any(|x| x.sla_misses > 0) {
            chart.draw_series(w.iter().filter(|x| x.sla_misses > 0).map(|x| {
                Rectangle::new(
                    [
                        (axis.at(x.start_s), y_replicas.start),
                        (axis.at(x.end_s), y_replicas.end),
                    ],
                    style::MISS.mix(miss_shade_alpha(x)).filled(),
                )
            }))?;
            entries.push((
                "SLA misses (shade ∝ share)".to_string(),
                style::Mark::Swatch(style::MISS.mix(MISS_SHADE_MAX)),
            ));
        }
        for (name, color, top_of) in layers {
            chart.draw_series(AreaSeries::new(at_end(top_of), 0.0, color.filled()))?;
            entries.push((
                format!("replicas {name}"),
                style::Mark::Swatch(color.into()),
            ));
        }
        let traffic: Vec<(f64, f64)> = (w.iter())
            .map(|x| (axis.at((x.start_s + x.end_s) / 2.0), rate(x)))
            .collect();
        chart.draw_secondary_series(LineSeries::new(traffic, style::TRAFFIC.stroke_width(2)))?;
        entries.push((
            "arrivals/s (right axis)".to_string(),
            style::Mark::Line(style::TRAFFIC),
        ));
        style::draw_legend(&legend, 40, &entries)?;

        // The share of each window's arrivals that missed the SLA.
        let share = |x: &Window| {
            if x.arrivals > 0 {
                100.0 * x.sla_misses as f64 / x.arrivals as f64
            } else {
                0.0
            }
        };
        let misses: u64 = w.iter().map(|x| x.sla_misses).sum();
        let mut strip = ChartBuilder::on(&bottom)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .right_y_label_area_size(70)
            .caption(
                format!("SLA misses: {misses} requests, % of each window's arrivals"),
                style::text(15),
            )
            .build_cartesian_2d(x_range, 0.0..100.0)?;
        strip
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(axis.caption)
            .y_desc("missed %")
            .x_label_formatter(&|x| style::axis_number(x.round()))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .y_labels(3)
            .label_style(style::text(14))
            .axis_desc_style(style::text(16))
            .draw()?;
        strip.draw_series(w.iter().filter(|x| x.sla_misses > 0).map(|x| {
            Rectangle::new(
                [(axis.at(x.start_s), 0.0), (axis.at(x.end_s), share(x))],
                style::MISS.filled(),
            )
        }))?;
        Ok(())
    }
}

/// A band of the replica stack: its name, colour and the top of its area.
type Layer = (&'static str, RGBColor, fn(&Window) -> u32);

/// The opacity of the shade over a window whose every arrival missed the
/// SLA: light enough to read the replicas through.
pub const MISS_SHADE_MAX: f64 = 0.35;

/// The opacity of the shade over window `x`: [`MISS_SHADE_MAX`] times the
/// share of its arrivals that missed the SLA (0 without misses).
pub fn miss_shade_alpha(x: &Window) -> f64 {
    match x.arrivals {
        0 => 0.0,
        n => MISS_SHADE_MAX * (x.sla_misses as f64 / n as f64).min(1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(arrivals: u64, sla_misses: u64) -> Window {
        Window {
            start_s: 0.0,
            end_s: 10.0,
            arrivals,
            replicas_ready: 1,
            replicas_starting: 0,
            replicas_draining: 0,
            sla_misses,
            gpu_s: [0.0; fleetsim_core::cost::GpuState::COUNT],
        }
    }

    #[test]
    fn the_shade_is_proportional_to_the_share_that_missed() {
        for (arrivals, misses, alpha) in [
            (100, 0, 0.0),
            (100, 1, 0.0035),
            (200, 50, 0.0875),
            (10, 5, 0.175),
            (7, 7, MISS_SHADE_MAX),
            (0, 0, 0.0),
        ] {
            let got = miss_shade_alpha(&window(arrivals, misses));
            assert!((got - alpha).abs() < 1e-12, "{misses}/{arrivals}: {got}");
        }
    }
}
