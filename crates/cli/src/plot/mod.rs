//! Charts of a run and of a sweep, as SVG or PNG (by file extension), with
//! plotters and an embedded font: no system font library is needed.
//!
//! Each chart is a function of in-memory data and a path, so a notebook
//! can call it on a [`fleetsim_core::RunResult`] ([`RunData::from_result`]):
//! [`fleet_chart`] (replicas by state against traffic, SLA misses marked),
//! [`latency_cdf_chart`], [`gpu_states_chart`] (GPU-hours by state) and
//! [`pareto_chart`]. [`write_run_charts`] writes the first three;
//! [`cmd_plot`] is `fleetsim plot DIR` (`docs/plots.md`).

mod data;
mod fleet;
mod gpu;
mod latency;
mod pareto;
mod style;

pub use data::{LatencySamples, RunData, Target, Window};
pub use fleet::fleet_chart;
pub use gpu::{gpu_states_chart, states_present};
pub use latency::{cdf_points, latency_cdf_chart};
pub use pareto::{pareto_chart, ParetoPoint};
pub use style::ImageFormat;

use std::path::{Path, PathBuf};

/// Why a chart could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// An input file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The chart directory could not be made.
    #[error("{}: cannot create the chart directory: {source}", path.display())]
    Write {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
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
    std::fs::create_dir_all(dir).map_err(|source| PlotError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let ext = format.extension();
    let paths: Vec<PathBuf> = (RUN_CHARTS.iter())
        .map(|name| dir.join(format!("{name}.{ext}")))
        .collect();
    let headline = format!(
        "{title}: {} requests, SLA {:.2} %, {:.2} GPU-hours",
        data.arrived,
        data.sla_attainment * 100.0,
        data.gpu_hours
    );
    fleet_chart(&data.windows, &headline, &paths[0])?;
    latency_cdf_chart(&data.latency, &format!("{title}: latency CDFs"), &paths[1])?;
    gpu_states_chart(
        &data.windows,
        &format!("{title}: GPU-hours by state"),
        &paths[2],
    )?;
    Ok(paths)
}

/// `fleetsim plot`.
#[derive(Debug, clap::Args)]
pub struct PlotArgs {
    /// A `fleetsim run --out` directory (summary.json, requests.csv,
    /// timeseries.csv), or a `fleetsim sweep --out` directory (its Pareto
    /// front).
    pub dir: PathBuf,
    /// Write the charts here instead of into DIR.
    #[arg(long)]
    pub plot_dir: Option<PathBuf>,
    /// Image format of the charts.
    #[arg(long, value_enum, default_value_t = ImageFormat::Svg)]
    pub format: ImageFormat,
    /// Start of every chart's title (default: DIR's name; `run --plot`
    /// uses the scenario's name, which the results do not record).
    #[arg(long)]
    pub title: Option<String>,
}

/// Runs `fleetsim plot`: reads the run in `args.dir`, writes its charts
/// and prints their paths.
pub fn cmd_plot(args: PlotArgs) -> anyhow::Result<()> {
    // A sweep directory: its Pareto front.
    if args.dir.join(crate::sweep::results::MANIFEST).exists() {
        let out = args.plot_dir.as_deref().unwrap_or(&args.dir);
        let path = crate::sweep::command::write_pareto(
            &args.dir,
            out,
            args.title.as_deref(),
            args.format,
        )?;
        println!("{}", path.display());
        return Ok(());
    }
    let data = RunData::read_dir(&args.dir)?;
    let title = args.title.clone().unwrap_or_else(|| {
        (args.dir.canonicalize().ok())
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| args.dir.display().to_string())
    });
    let out = args.plot_dir.as_deref().unwrap_or(&args.dir);
    for path in write_run_charts(&data, &title, out, args.format)? {
        println!("{}", path.display());
    }
    Ok(())
}
