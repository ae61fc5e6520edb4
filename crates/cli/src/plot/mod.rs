//! Charts of a run and of a sweep, as SVG or PNG (by file extension), with
//! plotters and an embedded font: no system font library is needed.
//!
//! Each chart is a function of in-memory data and a path, so a notebook
//! can call it on a [`fleetsim_core::RunResult`] ([`RunData::from_result`]):
//! [`fleet_chart`] (replicas by state against traffic, SLA misses marked),
//! [`latency_cdf_chart`], [`gpu_states_chart`] (GPU-hours by state) and
//! [`pareto_chart`]. [`write_run_charts`] writes the first three,
//! [`write_pareto`] a sweep directory's front, [`write_plan_charts`] a
//! plan's layouts and costs; [`plot`] is `fleetsim plot DIR`
//! (`docs/plots.md`).

mod data;
mod fleet;
mod gpu;
mod latency;
mod pareto;
mod plan;
mod style;

pub use data::{LatencySamples, RunData, Target, Window};
pub use fleet::{fleet_chart, fleet_chart_svg, miss_shade_alpha, MISS_SHADE_MAX};
pub use gpu::{gpu_states_chart, gpu_states_chart_svg, states_present};
pub use latency::{cdf_points, latency_cdf_chart, latency_cdf_chart_svg};
pub use pareto::{attainment_axis, pareto_chart, ParetoPoint};
pub use plan::{layout_series, write_plan_charts};
pub use style::{axis_number, ImageFormat};

use std::path::{Path, PathBuf};

/// Why a chart could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// An input file could not be read.
    #[error("{}: cannot read: {cause}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// The chart directory could not be made.
    #[error("{}: cannot create the chart directory: {cause}", path.display())]
    Write {
        /// The directory.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// An input file is malformed.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The line, when known (1 is the header).
        line: Option<u64>,
        /// What is wrong.
        message: String,
    },
    /// The output path's extension names no format this can write.
    #[error("{}: unknown image format (use a .svg or .png file name)", path.display())]
    UnknownFormat {
        /// The path asked for.
        path: PathBuf,
    },
    /// The embedded font did not load (a build problem, not an input one).
    #[error("the embedded chart font did not load")]
    Font,
    /// Drawing or writing the chart failed.
    #[error("{}: {message}", path.display())]
    Draw {
        /// The chart being written.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A sweep directory's manifest or results could not be read, or the
    /// chart's directory could not be made.
    #[error(transparent)]
    Sweep(#[from] crate::sweep::SweepError),
    /// A point of a sweep cannot be drawn.
    #[error("sweep point {label:?}: {message}")]
    BadPoint {
        /// The point's label.
        label: String,
        /// What is wrong with it.
        message: String,
    },
}

/// The file names [`write_run_charts`] uses, without extension.
pub const RUN_CHARTS: [&str; 3] = ["fleet", "latency-cdf", "gpu-hours"];

/// Writes the fleet, latency-CDF and GPU-hours charts of `data` into
/// `dir` (created if needed) as `fleet.<ext>`, `latency-cdf.<ext>` and
/// `gpu-hours.<ext>`; returns their paths.
pub fn write_run_charts(
    data: &RunData,
    title: &str,
    dir: &Path,
    format: ImageFormat,
) -> Result<Vec<PathBuf>, PlotError> {
    style::chart_dir(dir)?;
    let ext = format.extension();
    let paths: Vec<PathBuf> = (RUN_CHARTS.iter())
        .map(|name| dir.join(format!("{name}.{ext}")))
        .collect();
    let titles = run_chart_titles(data, title);
    fleet_chart(&data.windows, &titles[0], &paths[0])?;
    latency_cdf_chart(&data.latency, &titles[1], &paths[1])?;
    gpu_states_chart(&data.windows, &titles[2], &paths[2])?;
    Ok(paths)
}

/// The charts of [`write_run_charts`] as SVG text, in [`RUN_CHARTS`]
/// order, drawn in memory.
pub fn run_charts_svg(data: &RunData, title: &str) -> Result<[String; 3], PlotError> {
    let titles = run_chart_titles(data, title);
    Ok([
        fleet_chart_svg(&data.windows, &titles[0])?,
        latency_cdf_chart_svg(&data.latency, &titles[1])?,
        gpu_states_chart_svg(&data.windows, &titles[2])?,
    ])
}

/// The run charts' titles, in [`RUN_CHARTS`] order.
fn run_chart_titles(data: &RunData, title: &str) -> [String; 3] {
    [
        format!(
            "{title}: {} requests, SLA {:.2} %, {:.2} GPU-hours",
            fleetsim_core::summary::display::thousands(data.arrived as f64, 0),
            data.sla_attainment * 100.0,
            data.gpu_hours
        ),
        format!("{title}: latency CDFs"),
        format!("{title}: GPU-hours by state"),
    ]
}

/// What to chart: the resolved options of `fleetsim plot`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlotOptions {
    /// A `fleetsim run --out` directory (summary.json, requests.csv,
    /// timeseries.csv), or a `fleetsim sweep --out` directory (its Pareto
    /// front).
    pub dir: PathBuf,
    /// Write the charts here instead of into `dir`.
    pub plot_dir: Option<PathBuf>,
    /// Image format of the charts.
    pub format: ImageFormat,
    /// Start of every chart's title (`None`: the directory's name, or a
    /// sweep's scenario name).
    pub title: Option<String>,
}

/// `fleetsim plot`: charts the run (or the sweep's Pareto front) in
/// `options.dir` and returns the paths written, in order.
pub fn plot(options: &PlotOptions) -> Result<Vec<PathBuf>, PlotError> {
    let out = options.plot_dir.as_deref().unwrap_or(&options.dir);
    // A sweep directory: its Pareto front.
    if options.dir.join(crate::sweep::results::MANIFEST).exists() {
        let path = write_pareto(&options.dir, out, options.title.as_deref(), options.format)?;
        return Ok(vec![path]);
    }
    let data = RunData::read_dir(&options.dir)?;
    let title = options.title.clone().unwrap_or_else(|| {
        (options.dir.canonicalize().ok())
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| options.dir.display().to_string())
    });
    write_run_charts(&data, &title, out, options.format)
}

/// Draws the Pareto front of the finished sweep in `sweep_dir` to
/// `out_dir/pareto.<ext>` (creating `out_dir`), titled with `title` or the
/// scenario's name; returns the chart's path.
pub fn write_pareto(
    sweep_dir: &Path,
    out_dir: &Path,
    title: Option<&str>,
    format: ImageFormat,
) -> Result<PathBuf, PlotError> {
    use crate::sweep::{read_manifest, results, select, SweepError};
    let manifest = read_manifest(&sweep_dir.join(results::MANIFEST))?;
    let rows = results::read_rows(&sweep_dir.join(results::RESULTS_JSONL), false)?;
    let candidates = select::candidates(&rows);
    std::fs::create_dir_all(out_dir).map_err(|e| SweepError::Io {
        path: out_dir.to_path_buf(),
        error: format!("cannot create the directory: {e}"),
    })?;
    let path = out_dir.join(format!("pareto.{}", format.extension()));
    let unit = candidates.first().map_or("USD", |c| c.cost_unit);
    let title = title.unwrap_or(&manifest.scenario);
    pareto_chart(
        &select::pareto_points(&candidates),
        unit,
        &format!("{title}: cost against SLA attainment"),
        &path,
    )?;
    Ok(path)
}
