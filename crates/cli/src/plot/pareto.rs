//! A sweep's Pareto front: every configuration as a point, cost against
//! SLA attainment, the front highlighted and joined. The sweep decides
//! which points are on the front; this only draws.

use super::style::{self, Chart, DrawError};
use super::PlotError;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// One configuration of a sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct ParetoPoint {
    /// What the configuration is, e.g. `replicas=4`.
    pub label: String,
    /// What it costs, in the unit given to [`pareto_chart`] (USD, or
    /// GPU-hours for a scenario without prices).
    pub cost: f64,
    /// Its SLA attainment, 0–1.
    pub sla_attainment: f64,
    /// No other configuration is both cheaper and better.
    pub on_front: bool,
}

/// Draws `points` into `path`, cost in `cost_unit` (`"USD"`, `"GPU-h"`).
/// Points whose cost or attainment is not finite are an error, naming the
/// point.
pub fn pareto_chart(
    points: &[ParetoPoint],
    cost_unit: &str,
    title: &str,
    path: &Path,
) -> Result<(), PlotError> {
    if let Some(p) = (points.iter()).find(|p| !(p.cost.is_finite() && p.sla_attainment.is_finite()))
    {
        return Err(PlotError::BadPoint {
            label: p.label.clone(),
            message: format!(
                "cost {} {cost_unit}, SLA attainment {}: both must be finite",
                p.cost, p.sla_attainment
            ),
        });
    }
    style::render(
        path,
        &ParetoChart {
            points,
            cost_unit,
            title,
        },
    )
}

/// The attainment axis, %: the points' range with some room, never
/// below 0 % nor above 100 % (an attainment is a share).
pub fn attainment_axis(lo_pct: f64, hi_pct: f64) -> (f64, f64) {
    let margin = ((hi_pct - lo_pct) * 0.08).max(0.5);
    let lo = (lo_pct - margin).clamp(0.0, 100.0);
    let hi = (hi_pct + margin).clamp(0.0, 100.0);
    if hi > lo {
        (lo, hi)
    } else if hi >= 100.0 {
        (99.0, 100.0)
    } else {
        (lo, lo + 1.0)
    }
}

struct ParetoChart<'a> {
    points: &'a [ParetoPoint],
    cost_unit: &'a str,
    title: &'a str,
}

impl Chart for ParetoChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        let p = self.points;
        if p.is_empty() {
            return style::draw_message(root, self.title, "no configurations");
        }
        let pct = |x: &ParetoPoint| x.sla_attainment * 100.0;
        let (cost_lo, cost_hi) = (p.iter().map(|x| x.cost))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), c| {
                (a.min(c), b.max(c))
            });
        let (att_lo, att_hi) = (p.iter().map(pct))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), c| {
                (a.min(c), b.max(c))
            });
        let margin_x = ((cost_hi - cost_lo) * 0.08).max(cost_hi.abs() * 0.02);
        let (y_lo, y_hi) = attainment_axis(att_lo, att_hi);
        let (plot, legend) = style::titled_with_legend(root, self.title)?;
        let mut chart = ChartBuilder::on(&plot)
            .margin(14)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(
                style::padded(cost_lo - margin_x, cost_hi + margin_x),
                y_lo..y_hi,
            )?;
        chart
            .configure_mesh()
            .x_desc(format!("cost ({})", self.cost_unit))
            .y_desc("SLA attainment (%)")
            .x_label_formatter(&|x| style::axis_number(*x))
            .y_label_formatter(&|y| style::axis_number(*y))
            .label_style(style::text(14))
            .axis_desc_style(style::text(16))
            .draw()?;
        chart.draw_series(
            (p.iter().filter(|x| !x.on_front))
                .map(|x| Circle::new((x.cost, pct(x)), 5, style::OFF_FRONT.filled())),
        )?;
        let mut front: Vec<&ParetoPoint> = p.iter().filter(|x| x.on_front).collect();
        front.sort_by(|a, b| a.cost.total_cmp(&b.cost));
        chart.draw_series(LineSeries::new(
            front.iter().map(|x| (x.cost, pct(x))),
            style::TRAFFIC.stroke_width(2),
        ))?;
        chart.draw_series(
            (front.iter()).map(|x| Circle::new((x.cost, pct(x)), 6, style::TRAFFIC.filled())),
        )?;
        // The front's labels, each beside its point where it overlaps no
        // other label (one that fits nowhere is left out; the sweep's
        // table names every configuration).
        let label_style = style::text(13);
        // Canvas pixels, made relative to `plot`, where the labels go.
        let (base_x, base_y) = plot.get_base_pixel();
        let anchors: Vec<(i32, i32)> = (front.iter())
            .map(|x| {
                let (px, py) = chart.backend_coord(&(x.cost, pct(x)));
                (px - base_x, py - base_y)
            })
            .collect();
        let sizes: Vec<(u32, u32)> = (front.iter())
            .map(|x| {
                plot.estimate_text_size(&x.label, &label_style)
                    .unwrap_or((0, 0))
            })
            .collect();
        let (pw, ph) = plot.dim_in_pixel();
        let placed = style::place_labels(&anchors, &sizes, (0, 0, pw, ph));
        let shown = placed.iter().flatten().count();
        for (x, at) in front.iter().zip(&placed) {
            if let Some((left, top, _, _)) = at {
                plot.draw(&Text::new(
                    x.label.clone(),
                    (*left, *top),
                    label_style.clone(),
                ))?;
            }
        }
        let mut entries = vec![
            (
                "configuration".to_string(),
                style::Mark::Dot(style::OFF_FRONT),
            ),
            ("Pareto front".to_string(), style::Mark::Dot(style::TRAFFIC)),
        ];
        if shown < front.len() {
            entries.push((
                format!("{} labels left out (overlap)", front.len() - shown),
                style::Mark::Line(WHITE),
            ));
        }
        style::draw_legend(&legend, 40, &entries)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::attainment_axis;

    #[test]
    fn the_attainment_axis_stays_within_0_and_100_percent() {
        for (lo, hi) in [
            (99.2, 100.0),
            (100.0, 100.0),
            (0.0, 0.0),
            (0.0, 3.0),
            (40.0, 99.9),
            (85.9, 86.0),
        ] {
            let (a, b) = attainment_axis(lo, hi);
            assert!(0.0 <= a && a < b && b <= 100.0, "{lo}..{hi}: {a}..{b}");
            assert!(a <= lo && hi <= b, "{lo}..{hi} not in {a}..{b}");
        }
        // Room below the points, none above 100 %.
        let (a, b) = attainment_axis(99.2, 100.0);
        assert!(
            (a - 98.7).abs() < 1e-9 && (b - 100.0).abs() < 1e-12,
            "{a}..{b}"
        );
    }
}
