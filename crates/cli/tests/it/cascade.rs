//! Right-sized model routing: a model router in front of the deployments
//! picks each request's model by its prompt length, class, trace difficulty
//! or a seeded split; a route to a pipeline is a cascade (small model,
//! then large). The shipped evidence is `scenarios/cascade.toml` against
//! `scenarios/cascade-large-only.toml` (docs/routing.md, "Right-sized model
//! routing").
#![allow(clippy::unwrap_used)]

use crate::common;
use fleetsim_core::{Outcome, RunResult};

/// The prompt length from which `scenarios/cascade.toml` routes to the
/// large model (its `min_input_tokens`).
const LONG_PROMPT_TOKENS: u32 = 2048;

fn run_file(path: &std::path::Path) -> RunResult {
    let s = fleetsim::scenario::load_file(path, &[]).unwrap();
    fleetsim::run::run(&s).unwrap()
}

#[test]
fn a_prompt_length_cascade_costs_less_than_one_large_fleet_at_equal_sla() {
    if common::shared_dir("cascade").is_none() {
        return;
    }
    let root = common::workspace_root().join("scenarios");
    let cascade_path = root.join("cascade.toml");
    let cascade = run_file(&cascade_path);
    let large = run_file(&root.join("cascade-large-only.toml"));
    // Equal SLA: the same [sla] targets, met by both runs, and by each
    // model of the cascade on its own.
    let targets = |r: &RunResult| -> Vec<String> {
        (r.summary.sla.targets.iter())
            .map(|t| format!("p{} {} <= {} ms", t.percentile, t.metric.name(), t.max_ms))
            .collect()
    };
    assert_eq!(targets(&cascade), ["p95 ttft_ms <= 500 ms"]);
    assert_eq!(targets(&cascade), targets(&large));
    assert!(
        cascade.summary.sla.all_targets_met,
        "{:?}",
        cascade.summary.sla
    );
    assert!(large.summary.sla.all_targets_met, "{:?}", large.summary.sla);
    for d in &cascade.summary.deployments {
        assert!(d.sla.all_targets_met, "{}: {:?}", d.name, d.sla);
    }
    assert!(cascade.summary.sla.attainment >= large.summary.sla.attainment);
    // Both served every request of the same input.
    assert_eq!(cascade.summary.requests, large.summary.requests);
    assert_eq!(
        cascade.summary.requests.completed,
        cascade.summary.requests.arrived
    );
    // Cheaper: the bill, and per model the dollars add up to it.
    let cost = |r: &RunResult| r.summary.cost.as_ref().unwrap().total_usd;
    assert!(
        cost(&cascade) < 0.8 * cost(&large),
        "cascade ${} vs one large fleet ${}",
        cost(&cascade),
        cost(&large)
    );
    let per_model: f64 = (cascade.summary.deployments.iter())
        .map(|d| d.cost_usd.unwrap())
        .sum();
    assert!((per_model - cost(&cascade)).abs() < 1e-6 * cost(&cascade));
    // The rule is honoured, against the input: every request of the trace
    // with a long prompt was served by the large model, every other one by
    // the small model.
    let scenario = fleetsim::scenario::load_file(&cascade_path, &[]).unwrap();
    let input: Vec<_> = fleetsim::workload::build(
        &scenario.workload,
        scenario.sim.seed,
        fleetsim::workload::KnownNames::any(),
    )
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap();
    assert_eq!(input.len(), cascade.records.len());
    let names: Vec<&str> = (cascade.summary.deployments.iter())
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(names, ["llama-8b", "llama-70b"]);
    let mut long = 0;
    for (request, rec) in input.iter().zip(&cascade.records) {
        let expect = u16::from(request.input_tokens >= LONG_PROMPT_TOKENS);
        long += u64::from(expect);
        assert_eq!(rec.deployment, expect, "request {}", rec.id);
        assert_eq!(rec.outcome, Outcome::Completed);
    }
    assert_eq!(cascade.summary.deployments[1].requests.arrived, long);
    // The table's first line says where requests went.
    let header = fleetsim::report::render_header(&scenario, &cascade.summary);
    assert!(
        header.contains(
            "; model router auto: input ≥ 2048 tokens → llama-70b, else llama-8b, seed 1"
        ),
        "{header}"
    );
    assert!(
        long > 0 && long < input.len() as u64 / 2,
        "{long} long prompts"
    );
}

/// Two one-slot deployments with fixed service times, `small` (0.2 s) and
/// `large` (1 s), a `escalate` pipeline over both with a 5-ms hop, and a
/// model router `auto` whose routes are `routes`.
fn two_models(routes: &str) -> String {
    format!(
        r#"
[workload]
kind = "trace"
path = "t.csv"

[[deployments]]
name = "small"
replicas = 1
[deployments.slots]
slots = 1
service = {{ dist = "fixed", duration_s = 0.2 }}

[[deployments]]
name = "large"
replicas = 1
[deployments.slots]
slots = 1
service = {{ dist = "fixed", duration_s = 1.0 }}

[[pipelines]]
name = "escalate"
stages = ["small", "large"]
hops_ms = [5]

[[model_routers]]
name = "auto"
share = 1
default = "small"
{routes}
"#
    )
}

#[test]
fn hard_requests_escalate_through_both_models_and_pay_for_both() {
    let routes = "[[model_routers.routes]]\nto = \"escalate\"\nmin_difficulty = 0.7\n";
    // Far apart, so nothing queues: request 0 is easy, 1 hard, 2 exactly at
    // the threshold.
    let trace =
        "time_s,input_tokens,output_tokens,difficulty\n0,10,10,0.2\n10,10,10,0.9\n20,10,10,0.7\n";
    let r = common::run_trace(trace, &two_models(routes)).unwrap();
    let e2e: Vec<_> = r.records.iter().map(|x| x.e2e_ns.unwrap()).collect();
    // Small only: 0.2 s. Escalated: 0.2 s + 5 ms + 1 s, end to end.
    assert_eq!(e2e, [200_000_000, 1_205_000_000, 1_205_000_000]);
    let ends: Vec<_> = r
        .records
        .iter()
        .map(|x| (x.deployment, x.pipeline))
        .collect();
    assert_eq!(ends, [(0, None), (1, Some(0)), (1, Some(0))]);
    // Each escalated request is a visit at both models: both count it, so
    // both are paid for.
    let arrived: Vec<u64> = (r.summary.deployments.iter())
        .map(|d| d.requests.arrived)
        .collect();
    assert_eq!(arrived, [3, 2]);
    let busy_s: Vec<f64> = (r.summary.deployments.iter())
        .map(|d| d.gpu_hours.busy * 3600.0)
        .collect();
    assert!((busy_s[0] - 0.6).abs() < 1e-9 && (busy_s[1] - 2.0).abs() < 1e-9);
    assert_eq!(r.summary.pipelines[0].requests.completed, 2);
}

#[test]
fn a_class_route_takes_its_class_and_a_split_its_fraction_of_the_rest() {
    let routes = "[[model_routers.routes]]\nto = \"large\"\nclasses = [\"premium\"]\n\
                  [[model_routers.routes]]\nto = \"large\"\nfraction = 0.25\n";
    let mut trace = String::from("time_s,input_tokens,output_tokens,priority_class\n");
    for i in 0..2000 {
        let class = if i % 4 == 0 { "premium" } else { "free" };
        trace.push_str(&format!("{}.0,10,10,{class}\n", 2 * i));
    }
    let r = common::run_trace(&trace, &two_models(routes)).unwrap();
    let (mut free, mut free_large) = (0u32, 0u32);
    for (i, rec) in r.records.iter().enumerate() {
        if i % 4 == 0 {
            assert_eq!(rec.deployment, 1, "premium request {i}");
        } else {
            free += 1;
            free_large += u32::from(rec.deployment == 1);
        }
    }
    let share = f64::from(free_large) / f64::from(free);
    // Binomial sd at p = 0.25, n = 1500 is 0.011; 5 sd.
    assert!((share - 0.25).abs() < 0.056, "{share}");
    // The split is seeded: the same run splits the same requests.
    let again = common::run_trace(&trace, &two_models(routes)).unwrap();
    assert_eq!(again.records, r.records);
}

#[test]
fn a_route_reading_a_feature_the_request_lacks_is_an_error_at_the_request() {
    let routes = "[[model_routers.routes]]\nto = \"large\"\nmin_difficulty = 0.5\n";
    let trace = "time_s,input_tokens,output_tokens,difficulty\n0,10,10,0.1\n1,10,10,\n";
    let err = common::run_trace(trace, &two_models(routes)).unwrap_err();
    assert!(
        err.contains(
            "request 1 (arrival 1.000000 s) at model router \"auto\": routes[0] needs a difficulty"
        ),
        "{err}"
    );
    let routes = "[[model_routers.routes]]\nto = \"large\"\nclasses = [\"premium\"]\n";
    let trace = "time_s,input_tokens,output_tokens\n0,10,10\n";
    let err = common::run_trace(trace, &two_models(routes)).unwrap_err();
    assert!(
        err.contains("request 0") && err.contains("names no class"),
        "{err}"
    );
}
