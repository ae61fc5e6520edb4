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
        let margin_y = ((att_hi - att_lo) * 0.08).max(0.5);
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, style::text(24))
            .margin(14)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(
                style::padded(cost_lo - margin_x, cost_hi + margin_x),
                style::padded(att_lo - margin_y, (att_hi + margin_y).min(100.0 + margin_y)),
            )?;
        chart
            .configure_mesh()
            .x_desc(format!("cost ({})", self.cost_unit))
            .y_desc("SLA attainment (%)")
            .label_style(style::text(14))
            .axis_desc_style(style::text(16))
            .draw()?;
        chart
            .draw_series(
                (p.iter().filter(|x| !x.on_front))
                    .map(|x| Circle::new((x.cost, pct(x)), 5, style::OFF_FRONT.filled())),
            )?
            .label("configuration")
            .legend(|(x, y)| Circle::new((x + 7, y), 5, style::OFF_FRONT.filled()));
        let mut front: Vec<&ParetoPoint> = p.iter().filter(|x| x.on_front).collect();
        front.sort_by(|a, b| a.cost.total_cmp(&b.cost));
        chart.draw_series(LineSeries::new(
            front.iter().map(|x| (x.cost, pct(x))),
            style::TRAFFIC.stroke_width(2),
        ))?;
        chart
            .draw_series(
                (front.iter()).map(|x| Circle::new((x.cost, pct(x)), 6, style::TRAFFIC.filled())),
            )?
            .label("Pareto front")
            .legend(|(x, y)| Circle::new((x + 7, y), 6, style::TRAFFIC.filled()));
        chart.draw_series(front.iter().map(|x| {
            Text::new(
                x.label.clone(),
                (x.cost, pct(x)),
                style::text(13).pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Left,
                    plotters::style::text_anchor::VPos::Bottom,
                )),
            )
        }))?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(style::text(14))
            .draw()?;
        Ok(())
    }
}
