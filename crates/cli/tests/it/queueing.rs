//! Queueing: the central (gateway) queue with a per-replica concurrency
//! cap, priority classes, queue timeouts and length limits.
#![allow(clippy::unwrap_used)]

use crate::common::run_trace;
use fleetsim::scenario::load_str;
use fleetsim_core::{Outcome, RunResult};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use std::path::Path;

/// `replicas` replicas of one slot with a fixed 1 s service, central queue
/// with cap 1, and the given `[queue]` extras.
fn slots_central(replicas: u32, queue: &str) -> String {
    format!(
        r#"
[workload]
kind = "trace"
path = "t.csv"
[deployment]
replicas = {replicas}
[deployment.slots]
slots = 1
service = {{ dist = "fixed", duration_s = 1 }}
[queue]
mode = "central"
{queue}
"#
    )
}

/// (outcome, queue wait ms) of every request, in id order.
fn outcomes(r: &RunResult) -> Vec<(Outcome, Option<f64>)> {
    r.records
        .iter()
        .map(|x| (x.outcome, x.queue_ns.map(|q| q as f64 / 1e6)))
        .collect()
}

fn rows(times: &[(f64, &str)]) -> String {
    let mut s = String::from("time_s,input_tokens,output_tokens,priority_class\n");
    for (t, class) in times {
        s.push_str(&format!("{t},1,1,{class}\n"));
    }
    s
}

#[test]
fn timeout_and_length_limit_give_exact_outcomes() {
    // One 1-slot replica, 1 s per request, six arrivals at t = 0. The first
    // is served at once; three wait (limit 3); the last two are rejected.
    // The queued ones start at 1 s and 2 s; the third would start at 3 s,
    // past its 2.5 s timeout, so it times out at 2.5 s.
    let toml = slots_central(
        1,
        "[[queue.classes]]\nname = \"std\"\ntimeout_s = 2.5\nmax_queue_length = 3",
    );
    let r = run_trace(&rows(&[(0.0, "std"); 6]), &toml).unwrap();
    use Outcome::*;
    assert_eq!(
        outcomes(&r),
        vec![
            (Completed, Some(0.0)),
            (Completed, Some(1000.0)),
            (Completed, Some(2000.0)),
            (TimedOut, Some(2500.0)),
            (Rejected, None),
            (Rejected, None),
        ]
    );
    let c = &r.summary.requests;
    assert_eq!(
        (c.arrived, c.completed, c.timed_out, c.rejected),
        (6, 3, 1, 2)
    );
    assert_eq!(r.summary.deployments[0].classes.len(), 1);
    assert_eq!(
        r.summary.deployments[0].classes[0].requests,
        r.summary.requests
    );
}

#[test]
fn strict_priority_serves_paid_before_free_fifo_within_a_class() {
    // Arrivals at t = 0: free, free, paid, free, paid. The first free one
    // takes the slot; then both paid ones, then the free ones in order.
    let toml = slots_central(
        1,
        "discipline = \"priority\"\n[[queue.classes]]\nname = \"paid\"\n[[queue.classes]]\nname = \"free\"",
    );
    let trace = rows(&[
        (0.0, "free"),
        (0.0, "free"),
        (0.0, "paid"),
        (0.0, "free"),
        (0.0, "paid"),
    ]);
    let r = run_trace(&trace, &toml).unwrap();
    let waits_s: Vec<f64> = outcomes(&r).iter().map(|(_, q)| q.unwrap() / 1e3).collect();
    assert_eq!(waits_s, vec![0.0, 3.0, 1.0, 4.0, 2.0]);
    // The same arrivals under FIFO keep arrival order.
    let fifo = slots_central(
        1,
        "[[queue.classes]]\nname = \"paid\"\n[[queue.classes]]\nname = \"free\"",
    );
    let r = run_trace(&trace, &fifo).unwrap();
    let waits_s: Vec<f64> = outcomes(&r).iter().map(|(_, q)| q.unwrap() / 1e3).collect();
    assert_eq!(waits_s, vec![0.0, 1.0, 2.0, 3.0, 4.0]);
    // Per-class reports: two paid, three free, each against its own counts.
    let names: Vec<(&str, u64)> = r.summary.deployments[0]
        .classes
        .iter()
        .map(|c| (c.name.as_str(), c.requests.arrived))
        .collect();
    assert_eq!(names, vec![("paid", 2), ("free", 3)]);
}

#[test]
fn the_cap_bounds_what_each_replica_holds() {
    // Two replicas of one slot, cap 1: at most two requests are ever in
    // service, so the k-th of eight simultaneous arrivals waits floor(k/2) s.
    let r = run_trace(&rows(&[(0.0, ""); 8]), &slots_central(2, "")).unwrap();
    let waits_s: Vec<f64> = outcomes(&r).iter().map(|(_, q)| q.unwrap() / 1e3).collect();
    assert_eq!(waits_s, vec![0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]);
}

#[test]
fn a_trace_class_the_scenario_does_not_configure_is_an_error_at_its_line() {
    let toml = slots_central(1, "[[queue.classes]]\nname = \"paid\"");
    let err = run_trace(&rows(&[(0.0, "paid"), (1.0, "gold")]), &toml).unwrap_err();
    assert!(err.contains("t.csv"), "{err}");
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("priority_class"), "{err}");
    assert!(err.contains("\"gold\" is not configured"), "{err}");
    assert!(err.contains("the configured classes are: paid"), "{err}");
    // Classes configured, none in the trace, no shares to draw from.
    let plain = "time_s,input_tokens,output_tokens\n0,1,1\n";
    let err = run_trace(plain, &toml).unwrap_err();
    assert!(err.contains("t.csv"), "{err}");
    assert!(err.contains("no priority class"), "{err}");
}

#[test]
fn trace_classes_without_a_configuration_are_one_class_with_one_warning() {
    let trace = rows(&[(0.0, "paid"), (0.0, "free"), (0.0, "paid")]);
    let r = run_trace(&trace, &slots_central(1, "")).unwrap();
    assert_eq!(r.summary.requests.completed, 3);
    assert!(r.summary.deployments[0].classes.is_empty());
    // FIFO, one class: arrival order.
    let waits_s: Vec<f64> = outcomes(&r).iter().map(|(_, q)| q.unwrap() / 1e3).collect();
    assert_eq!(waits_s, vec![0.0, 1.0, 2.0]);
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    // A first request without a class does not use the warning up.
    let late = rows(&[(0.0, ""), (1.0, "paid")]);
    let w = run_trace(&late, &slots_central(1, "")).unwrap().warnings;
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        r.warnings[0].contains("[[queue.classes]]"),
        "{:?}",
        r.warnings
    );
}

#[test]
fn a_class_mix_assigns_classes_by_share() {
    let toml = slots_central(
        50,
        "[[queue.classes]]\nname = \"paid\"\nshare = 1\n[[queue.classes]]\nname = \"free\"\nshare = 3",
    );
    let mut trace = String::from("time_s,input_tokens,output_tokens\n");
    for i in 0..4000 {
        trace.push_str(&format!("{},1,1\n", f64::from(i) * 0.01));
    }
    let r = run_trace(&trace, &toml).unwrap();
    let paid = r.summary.deployments[0].classes[0].requests.arrived as f64 / 4000.0;
    // Binomial sd at p = 0.25, n = 4000 is 0.0068; 5 sd.
    assert!((paid - 0.25).abs() < 0.035, "{paid}");
    assert_eq!(
        r.summary.deployments[0].classes[0].requests.arrived
            + r.summary.deployments[0].classes[1].requests.arrived,
        4000
    );
}

/// Erlang C: probability that an arrival waits, for c servers at offered load a = λ/μ.
fn erlang_c(c: u32, a: f64) -> f64 {
    let rho = a / f64::from(c);
    let mut term = 1.0;
    let mut sum = 0.0;
    for k in 0..c {
        if k > 0 {
            term *= a / f64::from(k);
        }
        sum += term;
    }
    let last = term * a / f64::from(c) / (1.0 - rho);
    last / (sum + last)
}

#[test]
fn a_central_queue_over_one_slot_replicas_is_one_mmc_queue() {
    // Four replicas of one exponential slot behind a central queue with
    // cap 1 are an M/M/4 queue; per-replica queues with random routing are
    // four M/M/1 queues, which wait longer at the same load.
    let scenario = |mode: &str| {
        format!(
            r#"
seed = 5
[workload]
kind = "synthetic"
duration_s = 200000
arrival = {{ kind = "poisson", rate_per_s = 3.2 }}
input_tokens = {{ kind = "fixed", tokens = 1 }}
output_tokens = {{ kind = "fixed", tokens = 1 }}
[deployment]
replicas = 4
[deployment.slots]
slots = 1
service = {{ dist = "exponential", mean_s = 1.0 }}
[router]
kind = "random"
[queue]
{mode}
"#
        )
    };
    let run = |toml: String| {
        let s = load_str(&toml, "mmc.toml", Path::new("."), &[]).unwrap();
        fleetsim::run::run(&s).unwrap().summary
    };
    let central = run(scenario(
        "mode = \"central\"\nmax_concurrency_per_replica = 1",
    ));
    assert!(central.requests.completed > 600_000);
    let (c, a) = (4u32, 3.2f64);
    let expected_wq_s = erlang_c(c, a) / (f64::from(c) - a);
    let measured_wq_s = central.latency.queue_ms.mean / 1e3;
    let err = (measured_wq_s - expected_wq_s) / expected_wq_s;
    println!("M/M/4 ρ=0.8: Wq expected {expected_wq_s:.4} s, measured {measured_wq_s:.4} s, error {:+.2} %", err * 100.0);
    assert!(
        err.abs() < 0.04,
        "central queue off Erlang C by {:.2} %",
        err * 100.0
    );
    // Four M/M/1 queues at ρ = 0.8: Wq = ρ/(μ − λ/4) = 4 s.
    let split = run(scenario("mode = \"per_replica\""));
    let split_wq_s = split.latency.queue_ms.mean / 1e3;
    println!("4 x M/M/1 (random routing): Wq expected 4.0 s, measured {split_wq_s:.4} s");
    assert!((split_wq_s - 4.0).abs() / 4.0 < 0.06, "{split_wq_s}");
    assert!(split_wq_s > 2.5 * measured_wq_s);
}

proptest! {
    // Saved failing cases are read from (and new ones written to)
    // `queueing.proptest-regressions` beside this file: proptest's default
    // would look in `tests/proptest-regressions/` now that `tests/it/` has a
    // `main.rs`.
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        .. ProptestConfig::default()
    })]

    /// Under overload, whatever the limits: every request ends exactly once,
    /// per-class counts add up to the fleet's, and strict priority keeps the
    /// paid class's p99 queue wait below the free class's.
    #[test]
    fn outcomes_add_up_and_paid_waits_less_under_overload(
        seed in 0u64..1000,
        replicas in 1u32..4,
        cap in 1u32..4,
        overload in 1.2f64..3.0,
        paid_share in 0.1f64..0.4,
        free_timeout_s in prop::option::of(1.0f64..30.0),
        free_limit in prop::option::of(0u32..50),
    ) {
        let rate = overload * f64::from(replicas * cap);
        let mut free = String::from("[[queue.classes]]\nname = \"free\"\nshare = 1\n");
        if let Some(t) = free_timeout_s {
            free.push_str(&format!("timeout_s = {t}\n"));
        }
        if let Some(l) = free_limit {
            free.push_str(&format!("max_queue_length = {l}\n"));
        }
        let toml = format!(
            r#"
seed = {seed}
[workload]
kind = "synthetic"
duration_s = 200
arrival = {{ kind = "poisson", rate_per_s = {rate} }}
input_tokens = {{ kind = "fixed", tokens = 1 }}
output_tokens = {{ kind = "fixed", tokens = 1 }}
[deployment]
replicas = {replicas}
[deployment.slots]
slots = {cap}
service = {{ dist = "exponential", mean_s = 1.0 }}
[queue]
mode = "central"
max_concurrency_per_replica = {cap}
discipline = "priority"
[[queue.classes]]
name = "paid"
share = {paid_share}
{free}"#,
            paid_share = paid_share / (1.0 - paid_share),
        );
        let s = load_str(&toml, "p.toml", Path::new("."), &[]).unwrap();
        let r = fleetsim::run::run(&s).unwrap();
        let c = &r.summary.requests;
        prop_assert_eq!(c.arrived, r.records.len() as u64);
        prop_assert_eq!(c.arrived, c.completed + c.rejected + c.timed_out + c.failed);
        let mut ids: Vec<u64> = r.records.iter().map(|x| x.id).collect();
        ids.dedup();
        prop_assert_eq!(ids.len() as u64, c.arrived);
        let classes = &r.summary.deployments[0].classes;
        prop_assert_eq!(classes.len(), 2);
        let counts = |x: &fleetsim_core::summary::RequestCounts| {
            [x.arrived, x.completed, x.rejected, x.timed_out, x.failed]
        };
        let (a, b) = (counts(&classes[0].requests), counts(&classes[1].requests));
        let sums: Vec<u64> = a.iter().zip(b).map(|(x, y)| x + y).collect();
        prop_assert_eq!(sums, counts(c).to_vec());
        // The paid class is never limited, so it never loses a request.
        prop_assert_eq!(classes[0].requests.completed, classes[0].requests.arrived);
        // With the free class unlimited, nothing is lost and the free class
        // absorbs the overload. (A free timeout or length limit caps the
        // waits of the free requests that do complete, so their p99 says
        // nothing about priority.)
        if free_timeout_s.is_none() && free_limit.is_none() {
            prop_assert_eq!(c.completed, c.arrived);
            let (paid_p99, free_p99) =
                (classes[0].latency.queue_ms.p99, classes[1].latency.queue_ms.p99);
            prop_assert!(paid_p99 < free_p99, "paid p99 {} free p99 {}", paid_p99, free_p99);
        }
    }
}

#[test]
fn a_new_replica_takes_the_central_backlog_the_instant_it_is_ready() {
    // One replica with cap 2 gets five long requests at t = 0: two run,
    // three wait at the gateway. A second replica asked for at t = 1 s is
    // ready at t = 11 s (1 s provisioning + 2 s pull + 1 s weights + 6 s
    // engine) and takes two of the backlog at that instant.
    let trace = "time_s,input_tokens,output_tokens\n".to_string() + &"0,100,3000\n".repeat(5);
    let toml = r#"
[workload]
kind = "trace"
path = "t.csv"
[deployment]
model = "llama-3.1-8b"
gpu = "h100-sxm"
replicas = 1
[deployment.engine]
frontend_latency_ms = 0
[queue]
mode = "central"
max_concurrency_per_replica = 2
[pool]
gpus_per_node = 1
provisioning = { dist = "fixed", value_s = 1 }
[cold_start]
image_gb = 1
pull_bandwidth = { dist = "fixed", gb_per_s = 1 }
extract_gb_per_s = 1
weight_source = "object_store"
engine_startup_uncached = { dist = "fixed", value_s = 6 }
[cold_start.tiers]
object_store = { dist = "fixed", gb_per_s = 16.06 }
[scaling]
kind = "scheduled"
schedule = [{ at_s = 1, replicas = 2 }]
"#;
    let r = run_trace(&trace, toml).unwrap();
    let placed: Vec<(Option<u32>, Option<u64>)> =
        r.records.iter().map(|x| (x.replica, x.queue_ns)).collect();
    // The first request starts its prefill at once; the second, admitted at
    // the same instant, joins at the next iteration boundary (a few ms).
    assert_eq!(placed[0], (Some(0), Some(0)));
    assert_eq!(placed[1].0, Some(0));
    let one_iteration_ns = placed[1].1.unwrap();
    assert!(one_iteration_ns < 20_000_000, "{placed:?}");
    // Ready at 11 s and dispatched at once: zero time from ready to first
    // iteration; the second of the pair joins one iteration later.
    assert_eq!(placed[2], (Some(1), Some(11_000_000_000)));
    assert_eq!(
        placed[3],
        (Some(1), Some(11_000_000_000 + one_iteration_ns))
    );
    // The fifth waits for the first completion, long after.
    assert!(placed[4].1.unwrap() > 11_000_000_000, "{placed:?}");
    assert_eq!(r.summary.requests.completed, 5);
}
