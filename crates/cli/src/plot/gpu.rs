//! GPU time by state as a stacked area: each window's GPU-seconds in a
//! state divided by its length is the number of GPUs in that state on
//! average, so the area under a band is that state's GPU-hours.

use super::data::Window;
use super::style::{self, Chart, DrawError, TimeAxis};
use super::PlotError;
use fleetsim_core::cost::GpuState;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Draws the GPU-hours-by-state chart of `windows` into `path`.
pub fn gpu_states_chart(windows: &[Window], title: &str, path: &Path) -> Result<(), PlotError> {
    style::render(path, &GpuChart { windows, title })
}

/// [`gpu_states_chart`] as SVG text, drawn in memory.
pub fn gpu_states_chart_svg(windows: &[Window], title: &str) -> Result<String, PlotError> {
    style::render_svg(&GpuChart { windows, title })
}

/// The states with GPU time in `windows`, in `GpuState::ALL` order, with
/// their index and total GPU-hours. The chart draws one band for each.
pub fn states_present(windows: &[Window]) -> Vec<(usize, GpuState, f64)> {
    (GpuState::ALL.iter().enumerate())
        .map(|(i, s)| {
            (
                i,
                *s,
                windows.iter().map(|w| w.gpu_s[i]).sum::<f64>() / 3600.0,
            )
        })
        .filter(|(_, _, gpu_hours)| *gpu_hours > 0.0)
        .collect()
}

struct GpuChart<'a> {
    windows: &'a [Window],
    title: &'a str,
}

impl Chart for GpuChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        let w = self.windows;
        let states = states_present(w);
        let Some(last) = w.last().filter(|_| !states.is_empty()) else {
            return style::draw_message(root, self.title, "no GPU time: an empty run");
        };
        let axis = TimeAxis::for_span(last.end_s);
        let gpus = |x: &Window, i: usize| {
            if x.len_s() > 0.0 {
                x.gpu_s[i] / x.len_s()
            } else {
                0.0
            }
        };
        // Running sums bottom-up, in state order (busy and idle sit above
        // the cold-start states, the node-level states on top).
        let mut tops: Vec<Vec<f64>> = Vec::with_capacity(states.len());
        for (k, (i, _, _)) in states.iter().enumerate() {
            let below = if k > 0 {
                tops[k - 1].clone()
            } else {
                vec![0.0; w.len()]
            };
            tops.push(w.iter().zip(below).map(|(x, b)| b + gpus(x, *i)).collect());
        }
        let max_gpus = (tops.last().into_iter().flatten()).fold(0.0f64, |m, v| m.max(*v));
        let (plot, legend) = style::titled_with_legend(root, self.title)?;
        let mut chart = ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(
                style::padded(0.0, axis.at(last.end_s)),
                style::padded(0.0, max_gpus * 1.1),
            )?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(axis.caption)
            .y_desc("GPUs (GPU-hours per hour)")
            .x_label_formatter(&|x| style::axis_number(x.round()))
            .y_label_formatter(&|y| style::axis_number(*y))
            .label_style(style::text(14))
            .axis_desc_style(style::text(16))
            .draw()?;
        // Top band first: each area runs from 0 to its running sum, and the
        // ones drawn later cover the lower part.
        for ((i, _, _), top) in states.iter().zip(&tops).rev() {
            let color = style::GPU_STATE_COLORS[*i];
            let points: Vec<(f64, f64)> = (w.iter().zip(top))
                .flat_map(|(x, v)| [(axis.at(x.start_s), *v), (axis.at(x.end_s), *v)])
                .collect();
            chart.draw_series(AreaSeries::new(points, 0.0, color.filled()))?;
        }
        // Listed top band first, as the stack reads.
        let entries: Vec<(String, style::Mark)> = (states.iter().rev())
            .map(|(i, state, gpu_hours)| {
                (
                    format!("{} {:.2} GPU-h", state.name(), gpu_hours),
                    style::Mark::Swatch(style::GPU_STATE_COLORS[*i].into()),
                )
            })
            .collect();
        style::draw_legend(&legend, 40, &entries)?;
        Ok(())
    }
}
