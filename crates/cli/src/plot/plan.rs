//! `fleetsim plan --plot DIR`: the layouts (output tokens/s per GPU
//! against tokens/s per user, one colour per GPU and degree, the Pareto
//! front joined) and the policies' monthly cost beside the oracle's bound.
//! The plan decides everything drawn; this only draws.

use super::style::{self, Chart, DrawError, ImageFormat};
use super::PlotError;
use crate::plan::layouts::Layout;
use crate::plan::Plan;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Colours of the layout series, one per (GPU, degree), cycled: twelve,
/// so three GPU types at four degrees each get their own.
const SERIES: [RGBColor; 12] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(174, 199, 232),
    RGBColor(255, 152, 150),
    RGBColor(197, 176, 213),
    RGBColor(127, 127, 127),
];

/// Writes `layouts.<ext>` and `costs.<ext>` into `dir` (created if
/// missing); returns their paths.
pub fn write_plan_charts(
    plan: &Plan,
    dir: &Path,
    format: ImageFormat,
) -> Result<Vec<PathBuf>, PlotError> {
    style::chart_dir(dir)?;
    let layouts = dir.join(format!("layouts.{}", format.extension()));
    style::render(
        &layouts,
        &LayoutsChart {
            layouts: &plan.layouts,
            title: &format!("{}: layouts (performance model)", plan.scenario),
        },
    )?;
    let costs = dir.join(format!("costs.{}", format.extension()));
    style::render(
        &costs,
        &CostChart {
            plan,
            title: &format!("{}: monthly cost beside the oracle's bound", plan.scenario),
        },
    )?;
    Ok(vec![layouts, costs])
}

/// The (GPU, degree) series of `layouts`, in first-seen order.
pub fn layout_series(layouts: &[Layout]) -> Vec<(String, u32)> {
    let mut series: Vec<(String, u32)> = Vec::new();
    for l in layouts {
        let key = (l.gpu.clone(), l.tensor_parallel);
        if !series.contains(&key) {
            series.push(key);
        }
    }
    series
}

struct LayoutsChart<'a> {
    layouts: &'a [Layout],
    title: &'a str,
}

impl Chart for LayoutsChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        let l = self.layouts;
        if l.is_empty() {
            return style::draw_message(root, self.title, "no layout could be sized");
        }
        let max = |f: fn(&Layout) -> f64| l.iter().map(f).fold(0.0, f64::max);
        let x_hi = max(|x| x.output_tokens_per_s_per_user) * 1.08;
        let y_hi = max(|x| x.output_tokens_per_s_per_gpu) * 1.08;
        let (plot, legend) = style::titled_with_legend(root, self.title)?;
        let mut chart = ChartBuilder::on(&plot)
            .margin(14)
            .x_label_area_size(45)
            .y_label_area_size(75)
            .build_cartesian_2d(style::padded(0.0, x_hi), style::padded(0.0, y_hi))?;
        chart
            .configure_mesh()
            .x_desc("output tokens/s per user")
            .y_desc("output tokens/s per GPU")
            .x_label_formatter(&|x| style::axis_number(*x))
            .y_label_formatter(&|y| style::axis_number(*y))
            .label_style(style::text(14))
            .axis_desc_style(style::text(16))
            .draw()?;
        let series = layout_series(l);
        let colour = |x: &Layout| {
            let i = (series.iter())
                .position(|(g, tp)| *g == x.gpu && *tp == x.tensor_parallel)
                .unwrap_or(0);
            SERIES[i % SERIES.len()]
        };
        // Within the SLA's bounds filled, outside them hollow.
        chart.draw_series(l.iter().map(|x| {
            let at = (
                x.output_tokens_per_s_per_user,
                x.output_tokens_per_s_per_gpu,
            );
            let c = colour(x);
            match x.within_sla_thresholds {
                true => Circle::new(at, 5, c.filled()),
                false => Circle::new(at, 5, c.stroke_width(2)),
            }
        }))?;
        let mut front: Vec<&Layout> = l.iter().filter(|x| x.pareto).collect();
        front.sort_by(|a, b| {
            a.output_tokens_per_s_per_user
                .total_cmp(&b.output_tokens_per_s_per_user)
        });
        chart.draw_series(LineSeries::new(
            front.iter().map(|x| {
                (
                    x.output_tokens_per_s_per_user,
                    x.output_tokens_per_s_per_gpu,
                )
            }),
            BLACK.stroke_width(1),
        ))?;
        let mut entries: Vec<(String, style::Mark)> = (series.iter().enumerate())
            .map(|(i, (g, tp))| {
                (
                    format!("{g} TP{tp}"),
                    style::Mark::Dot(SERIES[i % SERIES.len()]),
                )
            })
            .collect();
        entries.push(("Pareto front".into(), style::Mark::Line(BLACK)));
        entries.push(("hollow: outside the SLA".into(), style::Mark::Line(WHITE)));
        style::draw_legend(&legend, 40, &entries)?;
        Ok(())
    }
}

struct CostChart<'a> {
    plan: &'a Plan,
    title: &'a str,
}

impl Chart for CostChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        let p = &self.plan.policies;
        if p.is_empty() {
            return style::draw_message(root, self.title, "no policy was simulated");
        }
        let bound = self.plan.oracle.as_ref().map(|o| o.monthly_usd);
        let x_hi = (p.iter().map(|q| q.monthly_usd))
            .chain(bound)
            .fold(0.0, f64::max)
            * 1.1;
        let n = p.len();
        let labels: Vec<String> = (p.iter())
            .map(|q| format!("{} ({})", q.kind, q.source))
            .collect();
        let (plot, legend) = style::titled_with_legend(root, self.title)?;
        let mut chart = ChartBuilder::on(&plot)
            .margin(14)
            .x_label_area_size(45)
            .y_label_area_size(250)
            .build_cartesian_2d(style::padded(0.0, x_hi), -0.5..(n as f64 - 0.5))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .x_desc("USD a month")
            .x_label_formatter(&|x| style::axis_number(*x))
            .y_label_formatter(&|y| {
                let i = y.round();
                match (i - y).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
                    true => labels[i as usize].clone(),
                    false => String::new(),
                }
            })
            .label_style(style::text(13))
            .axis_desc_style(style::text(16))
            .draw()?;
        chart.draw_series(p.iter().enumerate().map(|(i, q)| {
            let y = i as f64;
            let c = match q.meets_sla {
                true => style::READY,
                false => style::MISS,
            };
            Rectangle::new([(0.0, y - 0.35), (q.monthly_usd, y + 0.35)], c.filled())
        }))?;
        let mut entries = vec![
            (
                "meets the SLA".to_string(),
                style::Mark::Swatch(style::READY.into()),
            ),
            (
                "misses it".to_string(),
                style::Mark::Swatch(style::MISS.into()),
            ),
        ];
        if let Some(b) = bound {
            chart.draw_series(LineSeries::new(
                [(b, -0.5), (b, n as f64 - 0.5)],
                BLACK.stroke_width(2),
            ))?;
            entries.push(("oracle's bound".to_string(), style::Mark::Line(BLACK)));
        }
        style::draw_legend(&legend, 40, &entries)?;
        Ok(())
    }
}
