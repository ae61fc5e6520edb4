//! Several deployments (models) in one run: requests go to the deployment
//! their model names (or one drawn by share), each deployment has its own
//! router, queue and scaling, and they share node pools.
#![allow(clippy::unwrap_used)]

use crate::common;

use fleetsim::scenario::load_str;
use fleetsim_core::{Outcome, RunResult};

/// Runs `toml` with `t.csv` holding `trace`.
fn run_trace(trace: &str, toml: &str) -> RunResult {
    common::run_trace(trace, toml).unwrap()
}

/// A trace of `n` requests alternating between models `a` and `b` (every
/// third one `b`), 0.05 s apart, with varied lengths.
fn mixed_trace(n: u32) -> String {
    let mut s = String::from("time_s,input_tokens,output_tokens,model\n");
    for i in 0..n {
        let model = if i % 3 == 2 { "b" } else { "a" };
        s.push_str(&format!(
            "{:.3},{},{},{model}\n",
            f64::from(i) * 0.05,
            200 + (i * 37) % 900,
            20 + (i * 11) % 150
        ));
    }
    s
}

/// Keeps the rows of `trace` whose model is `model` (header kept).
fn only(trace: &str, model: &str) -> String {
    let mut lines = trace.lines();
    let mut s = format!("{}\n", lines.next().unwrap());
    for l in lines.filter(|l| l.ends_with(&format!(",{model}"))) {
        s.push_str(l);
        s.push('\n');
    }
    s
}

const TWO: &str = r#"
[workload]
kind = "trace"
path = "t.csv"

[[deployments]]
name = "a"
model = "llama-3.1-8b"
gpu = "h100-sxm"
replicas = 2
[deployments.router]
kind = "round_robin"

[[deployments]]
name = "b"
model = "qwen2.5-7b"
gpu = "h100-sxm"
replicas = 1
"#;

const ONE_A: &str = r#"
[workload]
kind = "trace"
path = "t.csv"
[deployment]
model = "llama-3.1-8b"
gpu = "h100-sxm"
replicas = 2
[router]
kind = "round_robin"
"#;

const ONE_B: &str = r#"
[workload]
kind = "trace"
path = "t.csv"
[deployment]
model = "qwen2.5-7b"
gpu = "h100-sxm"
replicas = 1
"#;

/// (queue, TTFT, end-to-end) of each record.
type Timeline = Vec<(Option<u64>, Option<u64>, Option<u64>)>;

fn timeline(r: &RunResult, deployment: Option<u16>) -> Timeline {
    r.records
        .iter()
        .filter(|x| deployment.is_none_or(|d| x.deployment == d))
        .map(|x| (x.queue_ns, x.ttft_ns, x.e2e_ns))
        .collect()
}

#[test]
fn deployments_without_shared_nodes_are_independent_fleets() {
    // With nothing shared, each deployment of a two-deployment run must
    // serve its requests exactly as a run of that deployment alone on its
    // share of the trace does.
    let trace = mixed_trace(600);
    let both = run_trace(&trace, TWO);
    let a = run_trace(&only(&trace, "a"), ONE_A);
    let b = run_trace(&only(&trace, "b"), ONE_B);
    assert_eq!(a.records.len(), 400);
    assert_eq!(b.records.len(), 200);
    assert_eq!(timeline(&both, Some(0)), timeline(&a, None));
    assert_eq!(timeline(&both, Some(1)), timeline(&b, None));
    // The model column decided the deployment.
    for (rec, line) in both.records.iter().zip(trace.lines().skip(1)) {
        let expect = if line.ends_with(",b") { 1 } else { 0 };
        assert_eq!(rec.deployment, expect, "{line}");
    }
    // Per-deployment sections add up to the run and match the solo runs.
    let d = &both.summary.deployments;
    assert_eq!((d[0].name.as_str(), d[1].name.as_str()), ("a", "b"));
    assert_eq!(d[0].requests, a.summary.requests);
    assert_eq!(d[1].requests, b.summary.requests);
    assert_eq!(
        d[0].requests.arrived + d[1].requests.arrived,
        both.summary.requests.arrived
    );
    assert_eq!(d[0].latency, a.summary.latency);
    assert_eq!(d[1].fleet.iterations, b.summary.fleet.iterations);
    assert_eq!(
        both.summary.fleet.iterations,
        a.summary.fleet.iterations + b.summary.fleet.iterations
    );
    // Replica ids are global: deployment b's replica is id 2.
    assert!(both
        .records
        .iter()
        .filter(|x| x.deployment == 1)
        .all(|x| x.replica == Some(2)));
}

#[test]
fn deployments_share_the_nodes_of_one_pool() {
    // Two one-GPU deployments on 8-GPU nodes: both initial replicas sit on
    // one node, so 6 of its 8 GPUs are unassigned for the whole run (two
    // separate fleets would hold two nodes and leave 14 unassigned).
    let toml = format!(
        "{TWO}\n[pool]\ngpus_per_node = 8\nusd_per_gpu_hour = 2\nbilling = {{ granularity = \"per_second\", minimum_s = 0 }}\n"
    )
    .replace("replicas = 2\n[deployments.router]", "replicas = 1\n[deployments.router]");
    let r = run_trace(&mixed_trace(300), &toml);
    let cost = r.summary.cost.as_ref().unwrap();
    let span_h = r.summary.sim.simulated_s / 3600.0;
    assert!(
        (cost.held_gpu_hours - 8.0 * span_h).abs() < 1e-9,
        "one 8-GPU node: {} vs {}",
        cost.held_gpu_hours,
        8.0 * span_h
    );
    let unassigned = cost.idle_gpu_hours.unallocated;
    assert!((unassigned - 6.0 * span_h).abs() < 1e-9, "{unassigned}");
    assert_eq!(r.summary.requests.completed, 300);
}

#[test]
fn a_generated_workload_is_split_by_share() {
    let toml = r#"
seed = 3
[workload]
kind = "synthetic"
duration_s = 400
arrival = { kind = "poisson", rate_per_s = 10 }
input_tokens = { kind = "fixed", tokens = 1 }
output_tokens = { kind = "fixed", tokens = 1 }
[[deployments]]
name = "small"
share = 3
replicas = 4
[deployments.slots]
slots = 4
service = { dist = "exponential", mean_s = 0.1 }
[[deployments]]
name = "big"
share = 1
replicas = 2
[deployments.slots]
slots = 4
service = { dist = "exponential", mean_s = 0.1 }
"#;
    let s = load_str(toml, "mix.toml", std::path::Path::new("."), &[]).unwrap();
    let r = fleetsim::run::run(&s).unwrap();
    let d = &r.summary.deployments;
    let n = r.summary.requests.arrived as f64;
    let big = d[1].requests.arrived as f64 / n;
    // Binomial sd at p = 0.25, n ≈ 4000 is 0.0068; 5 sd.
    assert!((big - 0.25).abs() < 0.035, "{big}");
    assert_eq!(
        d[0].requests.arrived + d[1].requests.arrived,
        r.summary.requests.arrived
    );
    // Each deployment's requests went to its own replicas (ids 0–3 and 4–5).
    for rec in &r.records {
        let replica = rec.replica.unwrap();
        assert_eq!(rec.deployment == 1, replica >= 4, "{rec:?}");
        assert_eq!(rec.outcome, Outcome::Completed);
    }
    // Same scenario, same seed: the same split.
    let again = fleetsim::run::run(&s).unwrap();
    assert_eq!(again.records, r.records);
}

/// Per-replica completed requests of `deployment`, in replica id order.
fn completed_by_replica(r: &RunResult, deployment: u16) -> Vec<u64> {
    (r.replicas.iter())
        .filter(|row| row.deployment == deployment)
        .map(|row| row.completed)
        .collect()
}

#[test]
fn each_deployment_draws_its_own_random_routing() {
    // Identical request streams for `a` and `b` (each request twice, once
    // per model, at the same instant) over identical fleets of 4 replicas.
    let mut trace = String::from("time_s,input_tokens,output_tokens,model\n");
    for i in 0..200u32 {
        for model in ["a", "b"] {
            trace.push_str(&format!(
                "{:.3},{},{},{model}\n",
                f64::from(i) * 0.05,
                100 + (i * 37) % 400,
                10 + (i * 11) % 40
            ));
        }
    }
    for kind in ["random", "power_of_two_choices"] {
        let toml = format!(
            r#"
[workload]
kind = "trace"
path = "t.csv"

[[deployments]]
name = "a"
model = "llama-3.1-8b"
gpu = "h100-sxm"
replicas = 4
[deployments.router]
kind = "{kind}"

[[deployments]]
name = "b"
model = "llama-3.1-8b"
gpu = "h100-sxm"
replicas = 4
[deployments.router]
kind = "{kind}"
"#
        );
        let r = run_trace(&trace, &toml);
        let (a, b) = (completed_by_replica(&r, 0), completed_by_replica(&r, 1));
        assert_eq!((a.len(), b.len()), (4, 4), "{kind}");
        assert_eq!(a.iter().sum::<u64>(), 200, "{kind}");
        assert_eq!(b.iter().sum::<u64>(), 200, "{kind}");
        // Same stream for both deployments would route both alike.
        assert_ne!(
            a, b,
            "{kind}: both deployments' routers made the same draws"
        );
    }
}
