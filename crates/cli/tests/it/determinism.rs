//! Determinism contract: same scenario + same seed ⇒ the same bytes.
#![allow(clippy::unwrap_used)]

use fleetsim::report::summary_json;
use fleetsim::scenario::{load_str, QUICKSTART_TOML};
use fleetsim_core::output::{write_requests_csv, write_timeseries_csv};
use std::path::Path;

/// Summary JSON, per-request CSV and time-series CSV of a short quickstart.
fn outputs(seed: u64) -> (String, Vec<u8>, Vec<u8>) {
    let sets = vec![
        "workload.duration_s=120".to_string(),
        format!("seed={seed}"),
    ];
    let scenario = load_str(QUICKSTART_TOML, "quickstart", Path::new("."), &sets).unwrap();
    let result = fleetsim::run::run(&scenario).unwrap();
    assert!(
        result.summary.sim.wall_s.is_none(),
        "the library run must not read the clock"
    );
    let mut requests = Vec::new();
    write_requests_csv(&result.records, &result.summary, &mut requests).unwrap();
    let mut timeseries = Vec::new();
    write_timeseries_csv(&result.timeseries, &mut timeseries).unwrap();
    (summary_json(&result.summary), requests, timeseries)
}

#[test]
fn same_seed_gives_identical_bytes() {
    let a = outputs(42);
    let b = outputs(42);
    assert!(a.1.len() > 1000, "the run produced per-request rows");
    assert_eq!(a.0, b.0, "summary JSON differs between two runs");
    assert_eq!(a.1, b.1, "per-request CSV differs between two runs");
    assert_eq!(a.2, b.2, "time-series CSV differs between two runs");
}

#[test]
fn different_seed_gives_different_bytes() {
    let a = outputs(42);
    let c = outputs(43);
    assert_ne!(a.0, c.0);
    assert_ne!(a.1, c.1);
}

#[test]
fn fleet_changes_do_not_change_the_requests() {
    // Common random numbers: the workload has its own streams, so a
    // different fleet sees exactly the same arrivals and lengths.
    let run = |replicas: u32| {
        let sets = vec![
            "workload.duration_s=60".to_string(),
            format!("deployment.replicas={replicas}"),
        ];
        let scenario = load_str(QUICKSTART_TOML, "quickstart", Path::new("."), &sets).unwrap();
        fleetsim::run::run(&scenario).unwrap().records
    };
    let key = |r: &fleetsim_core::metrics::RequestRecord| {
        (r.id, r.arrival, r.input_tokens, r.output_tokens)
    };
    let one: Vec<_> = run(1).iter().map(key).collect();
    let three: Vec<_> = run(3).iter().map(key).collect();
    assert_eq!(one, three);
}
