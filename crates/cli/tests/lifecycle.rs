//! Replicas that come and go: the `scheduled` policy, cold-start stages,
//! scale from zero, and draining with a grace period.
#![allow(clippy::unwrap_used)]

use fleetsim::scenario::load_str;
use fleetsim_core::{Outcome, RunResult};
use std::path::Path;

/// A generic-CSV trace written to a temp dir, and a scenario around it.
fn run(trace_rows: &str, replicas: u32, scaling: &str) -> RunResult {
    let dir = std::env::temp_dir().join(format!(
        "fleetsim-lifecycle-{}-{}-{}",
        std::process::id(),
        scaling.len(),
        trace_rows.len()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("t.csv"),
        format!("time_s,input_tokens,output_tokens\n{trace_rows}"),
    )
    .unwrap();
    let toml = format!(
        r#"
[workload]
kind = "trace"
path = "t.csv"
[deployment]
model = "llama-3.1-8b"
gpu = "h100-sxm"
replicas = {replicas}
[deployment.engine]
frontend_latency_ms = 0
[pool]
gpus_per_node = 1
usd_per_gpu_hour = 3.6
idle_release_delay_s = 0
billing = {{ granularity = "per_second", minimum_s = 0 }}
provisioning = {{ dist = "fixed", value_s = 1 }}
[cold_start]
image_gb = 1
pull_bandwidth = {{ dist = "fixed", gb_per_s = 1 }}
extract_gb_per_s = 1
weight_source = "object_store"
engine_startup_uncached = {{ dist = "fixed", value_s = 6 }}
[cold_start.tiers]
object_store = {{ dist = "fixed", gb_per_s = 16.06 }}
[scaling]
kind = "scheduled"
{scaling}
"#
    );
    let scenario = load_str(&toml, "lifecycle.toml", &dir, &[]).unwrap();
    fleetsim::run::run(&scenario).unwrap()
}

#[test]
fn scale_from_zero_waits_exactly_the_cold_start() {
    // No replica at first; the schedule asks for one at t = 0. The cold
    // start is 1 s provisioning + 2 s pull (1 GB at 1 GB/s, extracted at
    // 1 GB/s) + 1 s weights (16.06 GB at 16.06 GB/s) + 6 s engine = 10 s, so
    // a request arriving at t = 1 s waits 9 s before its first iteration.
    let r = run("1,100,10\n", 0, "schedule = [{ at_s = 0, replicas = 1 }]");
    let rec = &r.records[0];
    assert_eq!(rec.outcome, Outcome::Completed);
    assert_eq!(rec.queue_ns, Some(9_000_000_000));
    assert_eq!(r.summary.fleet.replicas_started, 1);
}

#[test]
fn a_new_replica_takes_requests_only_once_ready() {
    // One ready replica; a second is asked for at t = 10 s and is ready at
    // 20 s. Least-outstanding routing sends the t = 15 s request to the old
    // replica (the new one is not routable yet) and the t = 25 s request to
    // the new one (both idle by then? no: the first holds a long request).
    let r = run(
        "0,100,4000\n15,100,10\n25,100,10\n",
        1,
        "schedule = [{ at_s = 10, replicas = 2 }]",
    );
    let replicas: Vec<Option<u32>> = r.records.iter().map(|x| x.replica).collect();
    assert_eq!(replicas, vec![Some(0), Some(0), Some(1)]);
    // GPU time: node 0 for the whole run, node 1 from t = 10 s, each
    // billed per started second.
    let end_s = r.summary.sim.simulated_s;
    let expect_hours = (end_s.ceil() + (end_s - 10.0).ceil()) / 3600.0;
    assert!(
        (r.summary.gpu_hours.billed - expect_hours).abs() < 1e-9,
        "{} vs {expect_hours}",
        r.summary.gpu_hours.billed
    );
}

#[test]
fn a_short_grace_period_fails_exactly_the_requests_still_running() {
    // Two replicas each get a long request at t = 0; at t = 1 s the fleet
    // scales to one. The drained replica's request needs far more than the
    // 0.5 s grace, so it fails; the other completes.
    let r = run(
        "0,100,2000\n0,100,2000\n",
        2,
        "drain_grace_s = 0.5\nschedule = [{ at_s = 1, replicas = 1 }]",
    );
    let s = &r.summary.requests;
    assert_eq!((s.arrived, s.completed, s.failed), (2, 1, 1));
    assert_eq!(r.summary.fleet.replicas_drained, 1);
    // The drained replica (the newer, index 1, on a tie) held its GPU until
    // the grace period ended at 1.5 s.
    let failed = r
        .records
        .iter()
        .find(|x| x.outcome == Outcome::Failed)
        .unwrap();
    assert_eq!(failed.replica, Some(1));
}

#[test]
fn a_long_grace_period_loses_nothing() {
    let r = run(
        "0,100,2000\n0,100,2000\n",
        2,
        "drain_grace_s = 600\nschedule = [{ at_s = 1, replicas = 1 }]",
    );
    let s = &r.summary.requests;
    assert_eq!((s.completed, s.failed), (2, 0));
    assert_eq!(r.summary.fleet.replicas_drained, 1);
}

#[test]
fn requests_with_no_replica_ever_fail_and_are_counted() {
    let r = run("1,100,10\n", 0, "schedule = [{ at_s = 0, replicas = 0 }]");
    assert_eq!(
        (r.summary.requests.arrived, r.summary.requests.failed),
        (1, 1)
    );
}

#[test]
fn schedule_errors_name_the_entry() {
    let toml = |schedule: &str| {
        format!("[workload]\nkind = \"trace\"\npath = \"x.csv\"\n[deployment]\nmodel = \"llama-3.1-8b\"\ngpu = \"h100-sxm\"\nreplicas = 1\n[scaling]\nkind = \"scheduled\"\nschedule = {schedule}\n")
    };
    let dir = std::env::temp_dir();
    std::fs::write(
        dir.join("x.csv"),
        "time_s,input_tokens,output_tokens\n0,1,1\n",
    )
    .unwrap();
    let e = load_str(
        &toml("[{ at_s = 5, replicas = 1 }, { at_s = 2, replicas = 2 }]"),
        "s.toml",
        Path::new(&dir),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("scaling.schedule[1].at_s") && e.contains("time order"),
        "{e}"
    );
    let e = load_str(
        &toml("[{ at_s = -1, replicas = 1 }]"),
        "s.toml",
        Path::new(&dir),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("scaling.schedule[0].at_s"), "{e}");
    let e = load_str(&toml("[]"), "s.toml", Path::new(&dir), &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("at least one entry"), "{e}");
}

#[test]
fn the_scale_up_rate_limit_spreads_starts_over_minutes() {
    // Ten replicas wanted at once, at most four started per minute, a 10 s
    // cold start: 4 ready at 10 s, 8 at 70 s, 10 at 130 s.
    let r = run(
        "200,10,1\n",
        0,
        "max_replicas_started_per_minute = 4\nschedule = [{ at_s = 0, replicas = 10 }]",
    );
    let ready_at = |t_s: u64| {
        r.timeseries
            .iter()
            .find(|w| w.end.0 == t_s * 1_000_000_000)
            .map(|w| w.replicas)
            .unwrap()
    };
    assert_eq!(
        [ready_at(10), ready_at(60), ready_at(70), ready_at(130)],
        [4, 4, 8, 10]
    );
    assert_eq!(r.summary.fleet.replicas_started, 10);
}
