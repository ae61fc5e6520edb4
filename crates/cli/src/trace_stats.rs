//! `fleetsim trace stats FILE`: reading a trace file and presenting its
//! summary statistics ([`fleetsim_core::workload::stats`] computes them).

use crate::workload::{self, OpenError};
use fleetsim_core::workload::detect::TraceFormat;
use fleetsim_core::workload::stats::{self, TraceStats};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Why a trace's statistics could not be computed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceStatsError {
    /// The file cannot be opened.
    #[error("{}: cannot open: {error}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// Its format is not recognised, or a record is malformed or out of
    /// order (the error names the file and the line).
    #[error(transparent)]
    Read(#[from] OpenError),
}

/// Detects the format of the trace at `path`, reads it whole and returns
/// the format with the trace's statistics.
pub fn read(path: &Path) -> Result<(TraceFormat, TraceStats), TraceStatsError> {
    std::fs::File::open(path).map_err(|error| TraceStatsError::Open {
        path: path.to_path_buf(),
        error,
    })?;
    let in_file = |error| OpenError {
        path: Some(path.to_path_buf()),
        error,
    };
    let format = workload::detect_file(path).map_err(in_file)?;
    let reader = workload::open_trace(path, format).map_err(in_file)?;
    let stats = stats::compute(reader).map_err(in_file)?;
    Ok((format, stats))
}

/// The report `fleetsim trace stats` prints: a line naming the file and its
/// format, then [`render_table`].
pub fn render_report(path: &Path, format: TraceFormat, stats: &TraceStats) -> String {
    format!(
        "{} ({} format)\n{}",
        path.display(),
        format.name(),
        render_table(stats)
    )
}

/// The statistics as pretty JSON with a trailing newline.
pub fn to_json(stats: &TraceStats) -> String {
    let mut s =
        serde_json::to_string_pretty(stats).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// A human-readable table of every figure, with units.
pub fn render_table(stats: &TraceStats) -> String {
    let mut out = String::new();
    let row = |out: &mut String, label: &str, value: String| {
        let _ = writeln!(out, "{label:<22} {value}");
    };
    row(&mut out, "requests", stats.requests.to_string());
    row(
        &mut out,
        "first arrival",
        opt(stats.first_arrival_s, 3, " s"),
    );
    row(&mut out, "span", format!("{:.3} s", stats.span_s));
    row(&mut out, "mean rate", opt(stats.mean_rate_rps, 4, " req/s"));
    row(
        &mut out,
        "inter-arrival mean",
        opt(stats.iat_mean_s.map(|s| s * 1e3), 3, " ms"),
    );
    row(&mut out, "inter-arrival CV", opt(stats.iat_cv, 3, ""));
    row(
        &mut out,
        "zero inter-arrivals",
        opt(stats.zero_iat_fraction.map(|f| f * 100.0), 2, " %"),
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<8} {:>9} {:>12} {:>12} {:>12} {:>10} {:>9}",
        "window", "complete", "mean req/s", "peak req/s", "min req/s", "peak/mean", "IoD"
    );
    for (label, w) in [
        ("1 s", &stats.windows_1s),
        ("1 min", &stats.windows_1min),
        ("1 h", &stats.windows_1h),
    ] {
        let complete = if w.complete_windows == 0 {
            "partial".to_string()
        } else {
            w.complete_windows.to_string()
        };
        let _ = writeln!(
            out,
            "{label:<8} {complete:>9} {:>12} {:>12} {:>12} {:>10} {:>9}",
            opt(w.mean_rate_rps, 4, ""),
            opt(w.peak_rate_rps, 4, ""),
            opt(w.min_rate_rps, 4, ""),
            opt(w.peak_to_mean, 3, ""),
            opt(w.index_of_dispersion, 3, ""),
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<16} {:>10} {:>10} {:>8} {:>10} {:>10} {:>10} {:>8}",
        "tokens", "mean", "std", "min", "p50", "p90", "p99", "max"
    );
    for (label, t) in [
        ("input (prompt)", &stats.input_tokens),
        ("output", &stats.output_tokens),
    ] {
        match t {
            Some(t) => {
                let _ = writeln!(
                    out,
                    "{label:<16} {:>10.1} {:>10.1} {:>8} {:>10.1} {:>10.1} {:>10.1} {:>8}",
                    t.mean, t.std, t.min, t.p50, t.p90, t.p99, t.max
                );
            }
            None => {
                let _ = writeln!(out, "{label:<16} {:>10}", "-");
            }
        }
    }
    out
}

/// `value` with `decimals` and `unit`, or `-` when unknown.
fn opt(value: Option<f64>, decimals: usize, unit: &str) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.decimals$}{unit}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetsim_core::request::Request;
    use fleetsim_core::time::SimTime;
    use fleetsim_core::workload::stats::compute;

    fn secs(s: f64) -> Result<Request, fleetsim_core::workload::WorkloadError> {
        Ok(Request::new(SimTime((s * 1e9).round() as u64), 10, 1))
    }

    #[test]
    fn empty_workload() {
        let s = compute(std::iter::empty()).unwrap();
        assert!(render_table(&s).contains("requests               0"));
    }

    #[test]
    fn table_has_units() {
        let s = compute([0.0, 0.5, 1.5, 2.0].map(secs).into_iter()).unwrap();
        let table = render_table(&s);
        for needle in [
            "req/s",
            " s\n",
            " ms",
            "1 min",
            "partial",
            "p99",
            "input (prompt)",
        ] {
            assert!(table.contains(needle), "{needle:?} missing from\n{table}");
        }
    }
}
