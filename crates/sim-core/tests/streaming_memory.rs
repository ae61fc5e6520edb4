//! A run that streams its records holds memory that grows with the work in
//! flight, not with the number of requests: the peak memory of a 10-million
//! request run is that of a 1-million request run.
//! The peak is the process's resident high-water mark (`VmHWM` in
//! `/proc/self/status`, reset before each run through
//! `/proc/self/clear_refs`; Linux only), so the one test in this binary
//! runs the cases one after another and nothing else runs meanwhile
//! (about 5 s in a release build).
#![allow(clippy::unwrap_used)]

mod common;

use fleetsim_core::metrics::{LatencyMetric, PercentileTarget, SlaConfig};
use fleetsim_core::replica::slots::ServiceTime;
use fleetsim_core::{Records, ReplicaSpec, Request, SimDuration, SimTime, Simulation};

/// The resident high-water mark since the last reset, bytes.
fn peak_rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// Four one-slot replicas with exponential service (mean 20 ms) fed one
/// request every 10 ms (half busy), with an SLA and a target so every part
/// of the summary is fed; returns the process's peak resident memory
/// during the run, bytes, and the requests completed.
fn peak_memory(requests: u64, records: Records) -> (usize, u64) {
    let fleet = common::fleet(
        4,
        ReplicaSpec::Slots {
            slots: 1,
            service: ServiceTime::Exponential { mean_s: 0.02 },
        },
    );
    let mut config = common::config(fleet);
    config.timeseries_resolution = SimDuration::from_secs(1000);
    config.sla = SlaConfig {
        e2e_ms: Some(50.0),
        targets: vec![PercentileTarget {
            metric: LatencyMetric::E2eMs,
            percentile: 99.0,
            max_ms: 100.0,
        }],
        ..SlaConfig::default()
    };
    let workload = (0..requests).map(|i| Ok(Request::new(SimTime(i * 10_000_000), 1, 1)));
    // Resets the high-water mark to what is resident now.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let result = Simulation::new(
        config,
        Box::new(workload),
        vec![Box::new(common::LeastOutstanding)],
    )
    .unwrap()
    .with_records(records)
    .run()
    .unwrap();
    let peak = peak_rss();
    assert_eq!(result.summary.requests.arrived, requests);
    (peak, result.summary.requests.completed)
}

#[test]
#[cfg(target_os = "linux")]
fn streaming_memory_does_not_grow_with_the_request_count() {
    let (small, done) = peak_memory(1_000_000, Records::Stream);
    assert_eq!(done, 1_000_000);
    let (large, done) = peak_memory(10_000_000, Records::Stream);
    assert_eq!(done, 10_000_000);
    // Ten times the requests, the same memory: within 2 MB (allocator
    // noise, two more time-series rows, the sketch's buckets for a longer
    // tail). Kept, the records alone would take over a GB.
    assert!(
        large <= small + (2 << 20),
        "peak memory {large} bytes for 10 M requests against {small} for 1 M"
    );
    // The control: keeping the records, 180 k more requests hold over
    // 10 MB more (about 125 bytes each), so the measure does see records.
    let (kept_small, _) = peak_memory(20_000, Records::Keep);
    let (kept_large, _) = peak_memory(200_000, Records::Keep);
    assert!(
        kept_large > kept_small + (10 << 20),
        "kept: {kept_large} bytes for 200 k against {kept_small} for 20 k"
    );
    eprintln!(
        "peak resident: streaming {small} B (1 M requests), {large} B (10 M); \
         keeping {kept_small} B (20 k), {kept_large} B (200 k)"
    );
}
