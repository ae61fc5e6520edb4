//! What the charts draw, in memory: built from a [`RunResult`] (a notebook,
//! `run --plot`) or read back from a `run --out` directory (`fleetsim
//! plot`). Reading checks every field it uses and names the file and line
//! of the first bad one.

use super::PlotError;
use fleetsim_core::cost::GpuState;
use fleetsim_core::engine::TimeseriesRow;
use fleetsim_core::metrics::{LatencyMetric, RequestRecord};
use fleetsim_core::summary::Summary;
use fleetsim_core::{Outcome, RunResult};
use std::path::Path;

/// One time-series window, in seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    /// Window start, s.
    pub start_s: f64,
    /// Window end, s.
    pub end_s: f64,
    /// Requests that arrived in the window.
    pub arrivals: u64,
    /// Ready replicas at the window's end.
    pub replicas_ready: u32,
    /// Replicas coming up at the window's end.
    pub replicas_starting: u32,
    /// Replicas draining at the window's end.
    pub replicas_draining: u32,
    /// Requests of `arrivals` that missed the SLA.
    pub sla_misses: u64,
    /// GPU-seconds spent in the window by state, in `GpuState::ALL` order.
    pub gpu_s: [f64; GpuState::COUNT],
}

impl Window {
    /// Window length, s.
    pub fn len_s(&self) -> f64 {
        self.end_s - self.start_s
    }
}

impl From<&TimeseriesRow> for Window {
    fn from(r: &TimeseriesRow) -> Self {
        Window {
            start_s: r.start.as_secs_f64(),
            end_s: r.end.as_secs_f64(),
            arrivals: r.arrivals,
            replicas_ready: r.replicas,
            replicas_starting: r.replicas_starting,
            replicas_draining: r.replicas_draining,
            sla_misses: r.sla_misses,
            gpu_s: r.gpu_ns.map(|gpu_ns| gpu_ns as f64 / 1e9),
        }
    }
}

/// Latencies of completed requests, ms, and the SLA's percentile targets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LatencySamples {
    /// Time to first token, ms.
    pub ttft_ms: Vec<f64>,
    /// Time per output token, ms (requests with 2 or more output tokens).
    pub tpot_ms: Vec<f64>,
    /// End to end, ms.
    pub e2e_ms: Vec<f64>,
    /// Percentile targets to mark on the curves.
    pub targets: Vec<Target>,
    /// Why there are no samples to draw when the run had some (its
    /// directory has no `requests.csv`); the chart says so.
    pub unavailable: Option<String>,
}

/// An SLA percentile target: `percentile` of `metric` at most `max_ms`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Target {
    /// The latency it bounds.
    pub metric: LatencyMetric,
    /// Percentile, 0–100.
    pub percentile: f64,
    /// Bound, ms.
    pub max_ms: f64,
}

impl LatencySamples {
    /// From the run's records and its summary's targets.
    pub fn from_records(records: &[RequestRecord], summary: &Summary) -> Self {
        let ms = |ns: Option<u64>| ns.map(|ns| ns as f64 / 1e6);
        let mut out = LatencySamples {
            targets: targets_of(summary),
            ..LatencySamples::default()
        };
        for r in records.iter().filter(|r| r.outcome == Outcome::Completed) {
            out.ttft_ms.extend(ms(r.ttft_ns));
            out.tpot_ms.extend(ms(r.tpot_ns));
            out.e2e_ms.extend(ms(r.e2e_ns));
        }
        out
    }
}

fn targets_of(summary: &Summary) -> Vec<Target> {
    (summary.sla.targets.iter())
        .map(|t| Target {
            metric: t.metric,
            percentile: t.percentile,
            max_ms: t.max_ms,
        })
        .collect()
}

/// Everything the run charts need.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunData {
    /// The time series.
    pub windows: Vec<Window>,
    /// Latencies of completed requests.
    pub latency: LatencySamples,
    /// Requests that arrived (this and the next two are for titles).
    pub arrived: u64,
    /// SLA attainment, 0–1.
    pub sla_attainment: f64,
    /// GPU-hours billed.
    pub gpu_hours: f64,
}

impl RunData {
    /// From a run in memory.
    pub fn from_result(result: &RunResult) -> Self {
        let s = &result.summary;
        RunData {
            windows: result.timeseries.iter().map(Window::from).collect(),
            latency: if result.records.is_empty() && s.requests.arrived > 0 {
                // A streamed run hands its records to a sink, not back.
                LatencySamples {
                    unavailable: Some(
                        "records streamed ([output] records = \"stream\"): no latency CDFs".into(),
                    ),
                    ..LatencySamples::default()
                }
            } else {
                LatencySamples::from_records(&result.records, s)
            },
            arrived: s.requests.arrived,
            sla_attainment: s.sla.attainment,
            gpu_hours: s.gpu_hours.billed,
        }
    }

    /// Reads `summary.json`, `requests.csv` and `timeseries.csv` from a
    /// `run --out` directory.
    pub fn read_dir(dir: &Path) -> Result<Self, PlotError> {
        let summary_path = dir.join("summary.json");
        let text = read(&summary_path)?;
        let summary: Summary = serde_json::from_str(&text).map_err(|e| PlotError::Parse {
            path: summary_path.clone(),
            line: Some(e.line() as u64),
            message: e.to_string(),
        })?;
        let requests = dir.join("requests.csv");
        let mut latency = if requests.exists() {
            read_requests(&requests)?
        } else {
            // Written with --no-requests-csv: the other charts need only the
            // summary and the time series.
            LatencySamples {
                unavailable: Some(
                    "no requests.csv (the run was written without it): no latency CDFs".into(),
                ),
                ..LatencySamples::default()
            }
        };
        latency.targets = targets_of(&summary);
        Ok(RunData {
            windows: read_timeseries(&dir.join("timeseries.csv"))?,
            latency,
            arrived: summary.requests.arrived,
            sla_attainment: summary.sla.attainment,
            gpu_hours: summary.gpu_hours.billed,
        })
    }
}

fn read(path: &Path) -> Result<String, PlotError> {
    std::fs::read_to_string(path).map_err(|cause| PlotError::Read {
        path: path.to_path_buf(),
        cause,
    })
}

/// A CSV file with a header, read whole, and where its columns are.
struct Table {
    path: std::path::PathBuf,
    reader: csv::Reader<std::io::Cursor<String>>,
    header: csv::StringRecord,
}

impl Table {
    fn open(path: &Path) -> Result<Self, PlotError> {
        let text = read(path)?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(std::io::Cursor::new(text));
        let header = reader.headers().map_err(|e| parse_error(path, &e))?.clone();
        Ok(Table {
            path: path.to_path_buf(),
            reader,
            header,
        })
    }

    /// The index of column `name`, or an error naming it.
    fn column(&self, name: &str) -> Result<usize, PlotError> {
        (self.header.iter().position(|h| h == name)).ok_or_else(|| PlotError::Parse {
            path: self.path.clone(),
            line: Some(1),
            message: format!(
                "no column `{name}` in the header (a file written by an older fleetsim? run again)"
            ),
        })
    }

    /// Each data row with its line number.
    fn rows(&mut self) -> impl Iterator<Item = Result<(u64, csv::StringRecord), PlotError>> + '_ {
        let path = self.path.clone();
        self.reader.records().map(move |r| {
            let r = r.map_err(|e| parse_error(&path, &e))?;
            let line = r.position().map_or(0, |p| p.line());
            Ok((line, r))
        })
    }
}

fn parse_error(path: &Path, e: &csv::Error) -> PlotError {
    PlotError::Parse {
        path: path.to_path_buf(),
        line: e.position().map(|p| p.line()),
        message: e.to_string(),
    }
}

/// Field `i` of `row` parsed as `T`; empty fields are `None`.
fn field<T: std::str::FromStr>(
    path: &Path,
    line: u64,
    row: &csv::StringRecord,
    i: usize,
    name: &str,
) -> Result<Option<T>, PlotError> {
    let text = row.get(i).ok_or_else(|| PlotError::Parse {
        path: path.to_path_buf(),
        line: Some(line),
        message: format!("no `{name}` field"),
    })?;
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| PlotError::Parse {
        path: path.to_path_buf(),
        line: Some(line),
        message: format!("`{name}`: not a number: {text:?}"),
    })
}

/// Like [`field`], for a field that must be there.
fn required<T: std::str::FromStr>(
    path: &Path,
    line: u64,
    row: &csv::StringRecord,
    i: usize,
    name: &str,
) -> Result<T, PlotError> {
    field(path, line, row, i, name)?.ok_or_else(|| PlotError::Parse {
        path: path.to_path_buf(),
        line: Some(line),
        message: format!("`{name}` is empty"),
    })
}

/// The latencies of completed requests in `requests.csv`.
fn read_requests(path: &Path) -> Result<LatencySamples, PlotError> {
    let mut t = Table::open(path)?;
    let outcome = t.column("outcome")?;
    let cols = [
        t.column("ttft_ms")?,
        t.column("tpot_ms")?,
        t.column("e2e_ms")?,
    ];
    let names = ["ttft_ms", "tpot_ms", "e2e_ms"];
    let path = t.path.clone();
    let mut out = LatencySamples::default();
    for row in t.rows() {
        let (line, row) = row?;
        if row.get(outcome) != Some(Outcome::Completed.as_str()) {
            continue;
        }
        let vectors = [&mut out.ttft_ms, &mut out.tpot_ms, &mut out.e2e_ms];
        for ((v, &i), name) in vectors.into_iter().zip(&cols).zip(names) {
            v.extend(field::<f64>(&path, line, &row, i, name)?);
        }
    }
    Ok(out)
}

/// The windows of `timeseries.csv`.
fn read_timeseries(path: &Path) -> Result<Vec<Window>, PlotError> {
    let mut t = Table::open(path)?;
    let names = [
        "window_start_s",
        "window_end_s",
        "arrivals",
        "replicas",
        "replicas_starting",
        "replicas_draining",
        "sla_misses",
    ];
    let mut cols = [0usize; 7];
    for (c, name) in cols.iter_mut().zip(names) {
        *c = t.column(name)?;
    }
    let mut gpu_cols = [0usize; GpuState::COUNT];
    let gpu_names = GpuState::ALL.map(|s| format!("gpu_s_{}", s.name()));
    for (c, name) in gpu_cols.iter_mut().zip(&gpu_names) {
        *c = t.column(name)?;
    }
    let path = t.path.clone();
    let mut out = Vec::new();
    for row in t.rows() {
        let (line, row) = row?;
        let num = |k: usize| required::<f64>(&path, line, &row, cols[k], names[k]);
        let count = |k: usize| required::<u64>(&path, line, &row, cols[k], names[k]);
        let replicas = |k: usize| required::<u32>(&path, line, &row, cols[k], names[k]);
        let mut gpu_s = [0.0; GpuState::COUNT];
        for ((g, &i), name) in gpu_s.iter_mut().zip(&gpu_cols).zip(&gpu_names) {
            *g = required(&path, line, &row, i, name)?;
        }
        let w = Window {
            start_s: num(0)?,
            end_s: num(1)?,
            arrivals: count(2)?,
            replicas_ready: replicas(3)?,
            replicas_starting: replicas(4)?,
            replicas_draining: replicas(5)?,
            sla_misses: count(6)?,
            gpu_s,
        };
        if !(w.start_s.is_finite() && w.end_s.is_finite() && w.start_s <= w.end_s) {
            return Err(PlotError::Parse {
                path: path.clone(),
                line: Some(line),
                message: format!("window from {} s to {} s", w.start_s, w.end_s),
            });
        }
        if w.gpu_s.iter().any(|g| !g.is_finite() || *g < 0.0) {
            return Err(PlotError::Parse {
                path: path.clone(),
                line: Some(line),
                message: "GPU-seconds must be finite and not negative".into(),
            });
        }
        out.push(w);
    }
    Ok(out)
}
