//! Jump stepping equals stepping every iteration under every autoscaler
//! kind a scenario can name, on node pools with cold starts, spot reclaims
//! and drains, through a metrics outage (scrapes stop; the pods' phases an
//! autoscaler reads from the API server do not): the gauges an autoscaler reads (busy fraction, KV-cache
//! usage, running and waiting requests) are "as of now" in both modes, so
//! both modes make the same decisions and give the same bytes.
#![allow(clippy::unwrap_used)]

use fleetsim::policies::autoscalers::AutoscalerConfig;
use fleetsim_core::RunResult;

/// Two traffic shapes: bursts (a quiet start, a burst that needs more
/// replicas, a lull that lets them go, another burst), and sparse requests
/// with long answers, whose decode runs span several scrapes: there a gauge
/// read from what a planned run booked, not from what has happened, shows
/// busy time and KV blocks that stepping has not reached yet.
const SHAPES: [&str; 2] = [
    r#"arrival = { kind = "steps", steps = [
  { at_s = 0, rate_per_s = 1.0 },
  { at_s = 150, rate_per_s = 30.0 },
  { at_s = 400, rate_per_s = 0.5 },
  { at_s = 650, rate_per_s = 20.0 },
] }
input_tokens = { kind = "lognormal", median_tokens = 1000, sigma = 0.8, max_tokens = 8000 }
output_tokens = { kind = "lognormal", median_tokens = 250, sigma = 0.8, max_tokens = 2000 }"#,
    r#"arrival = { kind = "poisson", rate_per_s = 0.3 }
input_tokens = { kind = "lognormal", median_tokens = 500, sigma = 0.8, max_tokens = 8000 }
output_tokens = { kind = "lognormal", median_tokens = 1500, sigma = 0.5, max_tokens = 4000 }"#,
];

/// `shape` on a pooled, autoscaled fleet of `kind`.
fn scenario(kind: &str, seed: u64, shape: &str) -> String {
    format!(
        r#"
name = "stepping-{kind}"
seed = {seed}

[workload]
kind = "synthetic"
duration_s = 900
{shape}

[deployment]
model = "llama-3.1-8b"
gpu = "h100-sxm"
replicas = 1

[pool]
gpus_per_node = 2
spot = {{ interruptions_per_node_hour = 2.0, notice_s = 30 }}

[scaling]
kind = "{kind}"
max_replicas = 4

[scaling.scrape]
outages = [{{ start_s = 420, end_s = 480 }}]

[sla]
ttft_ms = 500
tpot_ms = 50

[output]
timeseries_resolution_s = 10
"#
    )
}

fn run(kind: &str, seed: u64, shape: &str, stepping: &str) -> RunResult {
    let text = scenario(kind, seed, shape);
    let sets = [format!("deployment.engine.stepping={stepping}")];
    let s = fleetsim::scenario::load_str(&text, "stepping.toml", std::path::Path::new("."), &sets)
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
    fleetsim::run::run(&s).unwrap_or_else(|e| panic!("{kind}: {e}"))
}

#[test]
fn every_autoscaler_kind_decides_the_same_in_both_stepping_modes() {
    let (mut scaled, mut runs) = (0, 0);
    for &kind in AutoscalerConfig::KINDS {
        for (seed, shape) in [(1, SHAPES[0]), (2, SHAPES[0]), (3, SHAPES[1])] {
            let jump = run(kind, seed, shape, "jump");
            let step = run(kind, seed, shape, "every_iteration");
            assert!(
                jump.summary.sim.events < step.summary.sim.events,
                "{kind}: the jump saves events"
            );
            let first_diff = (jump.records.iter().zip(&step.records)).position(|(a, b)| a != b);
            assert_eq!(first_diff, None, "{kind} seed {seed}: records differ");
            assert_eq!(jump.records.len(), step.records.len(), "{kind}");
            assert_eq!(jump.timeseries, step.timeseries, "{kind} seed {seed}");
            assert_eq!(jump.replicas, step.replicas, "{kind} seed {seed}");
            let (mut a, mut b) = (jump.summary.clone(), step.summary.clone());
            (a.sim.events, b.sim.events) = (0, 0);
            assert_eq!(a, b, "{kind} seed {seed}");
            scaled += u32::from(jump.summary.fleet.replicas_started > 0);
            runs += 1;
        }
    }
    // The scenario is only a test if the autoscalers act on it.
    assert!(scaled * 2 >= runs, "only {scaled} of {runs} runs scaled up");
}

/// `shape` on two pooled deployments, 8B and 70B (TP4), each autoscaled by
/// `kind` on its own, behind a model router: prompts of 1,500 tokens or
/// more to the 70B, a fifth of the rest by a seeded split too.
fn routed_scenario(kind: &str, seed: u64, shape: &str, stepping: &str) -> String {
    let deployment = |name: &str, model: &str, tp: u32| {
        format!(
            "[[deployments]]\nname = \"{name}\"\nmodel = \"{model}\"\ngpu = \"h100-sxm\"\n\
             tensor_parallel = {tp}\nreplicas = 1\n[deployments.engine]\nstepping = \"{stepping}\"\n\
             [deployments.scaling]\nkind = \"{kind}\"\nmax_replicas = 3\n"
        )
    };
    format!(
        r#"
name = "stepping-routed-{kind}"
seed = {seed}

[workload]
kind = "synthetic"
duration_s = 900
{shape}

{}
{}
[[model_routers]]
name = "auto"
share = 1
default = "small"
[[model_routers.routes]]
to = "large"
min_input_tokens = 1500
[[model_routers.routes]]
to = "large"
fraction = 0.2

[pool]
gpus_per_node = 8

[sla]
ttft_ms = 500
tpot_ms = 50

[output]
timeseries_resolution_s = 10
"#,
        deployment("small", "llama-3.1-8b", 1),
        deployment("large", "llama-3.1-70b", 4)
    )
}

#[test]
fn model_routed_deployments_scale_the_same_in_both_stepping_modes() {
    for (kind, seed) in [("kpa", 1), ("hpa", 2), ("concurrency", 3)] {
        let run = |stepping: &str| {
            let text = routed_scenario(kind, seed, SHAPES[0], stepping);
            let s =
                fleetsim::scenario::load_str(&text, "routed.toml", std::path::Path::new("."), &[])
                    .unwrap_or_else(|e| panic!("{kind}: {e}"));
            fleetsim::run::run(&s).unwrap_or_else(|e| panic!("{kind}: {e}"))
        };
        let (jump, step) = (run("jump"), run("every_iteration"));
        // Both models served and scaled, so the router and both
        // autoscalers were exercised.
        for d in &jump.summary.deployments {
            assert!(
                d.requests.completed > 0,
                "{kind}: {} served nothing",
                d.name
            );
        }
        assert!(
            jump.summary.fleet.replicas_started > 0,
            "{kind}: no scale-up"
        );
        assert_eq!(jump.records, step.records, "{kind} seed {seed}");
        assert_eq!(jump.timeseries, step.timeseries, "{kind} seed {seed}");
        assert_eq!(jump.replicas, step.replicas, "{kind} seed {seed}");
        let (mut a, mut b) = (jump.summary.clone(), step.summary.clone());
        (a.sim.events, b.sim.events) = (0, 0);
        assert_eq!(a, b, "{kind} seed {seed}");
    }
}
