//! Writers for the per-request and time-series CSV files. They take any
//! `impl Write`; times are written from integer nanoseconds with exact
//! decimal formatting, so the bytes depend on nothing but the run.

use crate::cost::GpuState;
use crate::engine::TimeseriesRow;
use crate::metrics::RequestRecord;
use crate::summary::{DeploymentReport, ReplicaRow, Summary};
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

/// Writes one row per request, in the order given. The run's `summary`
/// names each record's deployment, priority class and pipeline.
pub fn write_requests_csv<W: Write>(
    records: &[RequestRecord],
    summary: &Summary,
    mut out: W,
) -> io::Result<()> {
    let deployments = &summary.deployments;
    writeln!(out, "id,arrival_s,replica,outcome,input_tokens,output_tokens,queue_ms,ttft_ms,tpot_ms,e2e_ms,preemptions,class,deployment,pipeline")?;
    for r in records {
        let deployment = deployments.get(usize::from(r.deployment));
        let class = deployment
            .and_then(|d| d.classes.get(usize::from(r.class)))
            .map_or("", |c| c.name.as_str());
        let deployment = deployment.map_or("", |d| d.name.as_str());
        let pipeline = (r.pipeline)
            .and_then(|p| summary.pipelines.get(usize::from(p)))
            .map_or("", |p| p.name.as_str());
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
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
            class,
            deployment,
            pipeline
        )?;
    }
    out.flush()
}

/// GPU·ns as GPU-seconds with nine decimals (exact).
fn gpu_secs(gpu_ns: u128) -> String {
    format!("{}.{:09}", gpu_ns / 1_000_000_000, gpu_ns % 1_000_000_000)
}

/// Writes one row per time-series window. Columns added later go at the
/// end of a row, so the leading columns keep their bytes.
pub fn write_timeseries_csv<W: Write>(rows: &[TimeseriesRow], mut out: W) -> io::Result<()> {
    write!(
        out,
        "window_start_s,window_end_s,arrivals,completed,running,waiting,replicas,ttft_p95_ms,\
         replicas_starting,replicas_draining,sla_misses"
    )?;
    for state in GpuState::ALL {
        write!(out, ",gpu_s_{}", state.name())?;
    }
    writeln!(out)?;
    for r in rows {
        let p95 = r
            .ttft_p95_ns
            .map(|ns| format!("{:.6}", ns / NANOS_PER_MS as f64))
            .unwrap_or_default();
        write!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{}",
            secs(r.start.0),
            secs(r.end.0),
            r.arrivals,
            r.completed,
            r.running,
            r.waiting,
            r.replicas,
            p95,
            r.replicas_starting,
            r.replicas_draining,
            r.sla_misses
        )?;
        for gpu_ns in r.gpu_ns {
            write!(out, ",{}", gpu_secs(gpu_ns))?;
        }
        writeln!(out)?;
    }
    out.flush()
}

/// A rate with six decimals, empty when undefined.
fn opt_rate(x: Option<f64>) -> String {
    x.map(|x| format!("{x:.6}")).unwrap_or_default()
}

/// Writes one row per replica, in replica id order.
pub fn write_replicas_csv<W: Write>(
    rows: &[ReplicaRow],
    deployments: &[DeploymentReport],
    mut out: W,
) -> io::Result<()> {
    writeln!(
        out,
        "replica,deployment,held_s,busy_s,busy_fraction,iterations,preemptions,completed,\
         prefix_lookups,prefix_query_blocks,prefix_hit_blocks,prefix_block_hit_rate,\
         prefix_query_tokens,cached_prefill_tokens,prefix_token_hit_rate,prefix_evicted_blocks,\
         adapter_loads,adapter_evictions"
    )?;
    for r in rows {
        let c = &r.counters;
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.replica,
            deployments
                .get(usize::from(r.deployment))
                .map_or("", |d| d.name.as_str()),
            secs(r.held_ns),
            secs(r.busy_ns),
            opt_rate(r.busy_fraction()),
            r.iterations,
            r.preemptions,
            r.completed,
            c.prefix_lookups,
            c.prefix_query_blocks,
            c.prefix_hit_blocks,
            opt_rate(r.prefix_block_hit_rate()),
            c.prefix_query_tokens,
            c.prefix_hit_tokens,
            opt_rate(r.prefix_token_hit_rate()),
            c.prefix_evicted_blocks,
            c.adapter_loads,
            c.adapter_evictions
        )?;
    }
    out.flush()
}
