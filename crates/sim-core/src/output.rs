//! Writers for the per-request and time-series CSV files. They take any
//! `impl Write`; times are written from integer nanoseconds with exact
//! decimal formatting, so the bytes depend on nothing but the run.

use crate::engine::TimeseriesRow;
use crate::metrics::RequestRecord;
use crate::time::NANOS_PER_MS;
use std::io::{self, Write};

/// `ns` as milliseconds with six decimals (exact).
fn ms(ns: u64) -> String {
    format!("{}.{:06}", ns / NANOS_PER_MS, ns % NANOS_PER_MS)
}

fn opt_ms(ns: Option<u64>) -> String {
    ns.map(ms).unwrap_or_default()
}

/// `ns` as seconds with nine decimals (exact).
fn secs(ns: u64) -> String {
    format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
}

/// Writes one row per request, in the order given. `class_names` are the
/// configured priority classes (the `class` column is empty without them).
pub fn write_requests_csv<W: Write, S: AsRef<str>>(
    records: &[RequestRecord],
    class_names: &[S],
    mut out: W,
) -> io::Result<()> {
    writeln!(out, "id,arrival_s,replica,outcome,input_tokens,output_tokens,queue_ms,ttft_ms,tpot_ms,e2e_ms,preemptions,class")?;
    for r in records {
        let class = class_names
            .get(usize::from(r.class))
            .map_or("", |c| c.as_ref());
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            r.id,
            secs(r.arrival.0),
            r.replica.map(|x| x.to_string()).unwrap_or_default(),
            r.outcome.as_str(),
            r.input_tokens,
            r.output_tokens,
            opt_ms(r.queue_ns),
            opt_ms(r.ttft_ns),
            opt_ms(r.tpot_ns),
            opt_ms(r.e2e_ns),
            r.preemptions,
            class
        )?;
    }
    out.flush()
}

/// Writes one row per time-series window.
pub fn write_timeseries_csv<W: Write>(rows: &[TimeseriesRow], mut out: W) -> io::Result<()> {
    writeln!(
        out,
        "window_start_s,window_end_s,arrivals,completed,running,waiting,replicas,ttft_p95_ms"
    )?;
    for r in rows {
        let p95 = r
            .ttft_p95_ns
            .map(|ns| format!("{:.6}", ns / NANOS_PER_MS as f64))
            .unwrap_or_default();
        writeln!(
            out,
            "{},{},{},{},{},{},{},{}",
            secs(r.start.0),
            secs(r.end.0),
            r.arrivals,
            r.completed,
            r.running,
            r.waiting,
            r.replicas,
            p95
        )?;
    }
    out.flush()
}
