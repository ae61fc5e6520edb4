//! llm-d WVA over a variant group: two deployments of one model on
//! different GPU types behind one gateway, scaled by one decision per
//! reconcile, cheapest variant up first and dearest down first; and the
//! located errors of a malformed group.
#![allow(clippy::unwrap_used)]

use crate::bad_input::{check, line_starting, scenario_case, synthetic};
use crate::common;
use fleetsim_core::RunResult;

/// A dear H100 variant (`dear`, first) and a cheap L40S one (`cheap`) of
/// Llama-3.1-8B with small batches (so a queue builds under load), on
/// pools of their own, under load rising from 2 to 20 req/s at 5 min and
/// falling to 1 req/s at 20 min. `extra` goes into the cheap variant.
fn group(dear: u32, cheap: u32, extra: &str) -> String {
    format!(
        r#"name = "wva-group"
seed = 3

[workload]
kind = "synthetic"
duration_s = 1800
arrival = {{ kind = "steps", steps = [{{ at_s = 0, rate_per_s = 2.0 }}, {{ at_s = 300, rate_per_s = 20.0 }}, {{ at_s = 1200, rate_per_s = 1.0 }}] }}
input_tokens = {{ kind = "lognormal", median_tokens = 800, sigma = 0.6, max_tokens = 4000 }}
output_tokens = {{ kind = "lognormal", median_tokens = 120, sigma = 0.6, max_tokens = 600 }}

[[deployments]]
name = "dear"
model = "llama-3.1-8b"
gpu = "h100-sxm"
replicas = {dear}
share = 1

[deployments.engine]
max_num_seqs = 8

[deployments.scaling]
kind = "llmd_wva"
min_replicas = 1
max_replicas = 6

[[deployments]]
name = "cheap"
variant_of = "dear"
model = "llama-3.1-8b"
gpu = "l40s"
replicas = {cheap}
{extra}
[deployments.engine]
max_num_seqs = 8

[[pools]]
name = "h100"
gpu = "h100-sxm"
gpus_per_node = 1

[[pools]]
name = "l40s"
gpu = "l40s"
gpus_per_node = 1
"#
    )
}

fn run(toml: &str) -> RunResult {
    let dir = common::scratch_dir("variants");
    let s = fleetsim::scenario::load_str(toml, "scenario.toml", &dir, &[]).unwrap();
    let r = fleetsim::run::run(&s).unwrap();
    common::check_consistent(&r, None);
    r
}

/// Deployment of each replica started during the run (ids past the
/// `initial` ones), in start order.
fn started(r: &RunResult, initial: u32) -> Vec<u16> {
    (r.replicas.iter())
        .filter(|x| x.replica >= initial)
        .map(|x| x.deployment)
        .collect()
}

#[test]
fn the_cheap_variant_takes_the_scale_ups_and_both_serve() {
    let r = run(&group(1, 1, ""));
    let ups = started(&r, 2);
    assert!(ups.len() >= 2, "the rising load scales up: {ups:?}");
    // Every start goes to the cheap variant while it is below its maximum.
    assert!(ups.iter().all(|&d| d == 1), "starts by deployment: {ups:?}");
    // One gateway: both variants serve, and outcomes add up per variant.
    let s = &r.summary;
    for d in &s.deployments {
        assert!(d.requests.completed > 0, "{} served nothing", d.name);
        let r = &d.requests;
        assert_eq!(r.arrived, r.completed + r.rejected + r.timed_out + r.failed);
    }
    let arrived: u64 = s.deployments.iter().map(|d| d.requests.arrived).sum();
    assert_eq!(arrived, s.requests.arrived);
    // Each variant's replicas sit on its own pool, billed at its price.
    let cost = s.cost.as_ref().expect("pools are billed");
    let pools = &cost.by_pool;
    assert!(
        pools.len() == 2 && pools.iter().all(|p| p.billed_gpu_hours > 0.0),
        "{pools:?}"
    );
}

#[test]
fn an_explicit_cost_makes_the_other_variant_the_cheap_one() {
    let r = run(&group(1, 1, "variant_cost = 100.0\n"));
    let ups = started(&r, 2);
    assert!(!ups.is_empty() && ups.iter().all(|&d| d == 0), "{ups:?}");
}

#[test]
fn the_dear_variant_goes_down_first() {
    // Two of each at the light start: the first scale-down is an H100's,
    // within the first minute, and the cheap pair outlives it.
    let r = run(&group(2, 2, ""));
    let first = (r.replicas.iter().take(4))
        .min_by_key(|x| x.held_ns)
        .unwrap();
    assert_eq!(first.deployment, 0, "{:?}", r.replicas);
    assert!(first.held_ns <= 61_000_000_000, "{}", first.held_ns);
    let cheap_held = |i: usize| r.replicas[i].held_ns;
    assert!(cheap_held(2) > first.held_ns && cheap_held(3) > first.held_ns);
}

/// A variant may come before the deployment it names (its replicas join a
/// routable set built later): every request still ends, on both variants.
#[test]
fn a_variant_may_be_listed_first() {
    let text = group(1, 1, "");
    let (head, rest) = text.split_at(text.find("[[deployments]]").unwrap());
    let (dear, pools) = rest.split_at(rest.find("[[deployments]]\nname = \"cheap\"").unwrap());
    let (cheap, pools) = pools.split_at(pools.find("[[pools]]").unwrap());
    let swapped = run(&format!("{head}{cheap}{dear}{pools}"));
    let plain = run(&text);
    let completed = |r: &RunResult, name: &str| {
        let d = r
            .summary
            .deployments
            .iter()
            .find(|d| d.name == name)
            .unwrap();
        d.requests.completed
    };
    assert_eq!(swapped.summary.requests, plain.summary.requests);
    assert!(completed(&swapped, "cheap") > 0 && completed(&swapped, "dear") > 0);
}

/// Each variant is kept to the pool of its GPU type, both pools listed
/// alike for both (the engine requires one list), priced by their own GPU.
#[test]
fn each_variant_uses_the_pools_of_its_gpu() {
    let dir = common::scratch_dir("variants");
    let s = fleetsim::scenario::load_str(&group(1, 1, ""), "scenario.toml", &dir, &[]).unwrap();
    let placement = |d: usize| s.sim.deployments[d].fleet.placement.clone().unwrap();
    let (dear, cheap) = (placement(0), placement(1));
    assert_eq!(
        (dear.usable_pools.clone(), cheap.usable_pools.clone()),
        (vec![0], vec![1])
    );
    assert_eq!(dear.pools, cheap.pools);
    let prices: Vec<f64> = dear
        .pools
        .iter()
        .map(|p| p.pricing.usd_per_gpu_hour)
        .collect();
    assert_eq!(prices, vec![3.90, 1.95]);
    assert_eq!(s.sim.deployments[1].variant_of, Some(0));
}

/// One WVA decision over both variants is the same whether replicas jump
/// over steady decode or step every iteration (the gauges each variant's
/// scrapes read are "as of now"), and the same on a second run.
#[test]
fn a_variant_group_decides_the_same_in_both_stepping_modes() {
    let text = group(1, 1, "");
    let jump = run(&text);
    let step = run(&text.replace(
        "max_num_seqs = 8",
        "max_num_seqs = 8\nstepping = \"every_iteration\"",
    ));
    common::assert_stepping_agrees(&jump, &step);
    let (mut a, mut b) = (jump.summary.clone(), step.summary);
    (a.sim.events, b.sim.events) = (0, 0);
    assert_eq!(a, b);
    let again = run(&text);
    assert_eq!((again.records, again.summary), (jump.records, jump.summary));
}

#[test]
fn a_malformed_variant_group_fails_at_its_field() {
    let s = "scenario.toml";
    let base = group(1, 1, "");
    // At the last line starting with `prefix` (the variant's, second).
    let case = |name, text: String, prefix: &str, field| {
        let first = line_starting(&text, prefix);
        let line = (text.lines().enumerate().skip(first))
            .filter(|(_, l)| l.starts_with(prefix))
            .last()
            .map_or(first, |(i, _)| i + 1);
        scenario_case(name, text, &[]).at(s, Some(line), Some(field))
    };
    let cases = [
        case(
            "variant_of_unknown",
            base.replace("variant_of = \"dear\"", "variant_of = \"nope\""),
            "variant_of",
            "deployments[1].variant_of",
        )
        .also(&["no deployment is named \"nope\""]),
        case(
            "variant_of_itself",
            base.replace("variant_of = \"dear\"", "variant_of = \"cheap\""),
            "variant_of",
            "deployments[1].variant_of",
        )
        .also(&["itself"]),
        case(
            "variant_of_another_model",
            base.replacen(
                "model = \"llama-3.1-8b\"\ngpu = \"l40s\"",
                "model = \"qwen2.5-7b\"\ngpu = \"l40s\"",
                1,
            ),
            "model = \"qwen",
            "deployments[1].model",
        )
        .also(&["group's model"]),
        case(
            "variant_with_its_own_scaling",
            base.replace(
                "[[pools]]\nname = \"h100\"",
                "[deployments.scaling]\nkind = \"llmd_wva\"\n\n[[pools]]\nname = \"h100\"",
            ),
            "[deployments.scaling]",
            "deployments[1].scaling",
        )
        .also(&["a variant sets no scaling"]),
        case(
            "variant_group_scaled_by_hpa",
            base.replace("kind = \"llmd_wva\"", "kind = \"hpa\""),
            "kind = \"hpa\"",
            "deployments[0].scaling.kind",
        )
        .also(&["llmd_wva"]),
        case(
            "variant_cost_outside_a_group",
            base.replace("variant_of = \"dear\"\n", "share = 1\nvariant_cost = 3.0\n"),
            "variant_cost",
            "deployments[1].variant_cost",
        )
        .also(&["variant group"]),
        case(
            "variant_cost_negative",
            group(1, 1, "variant_cost = -1.0\n"),
            "variant_cost",
            "deployments[1].variant_cost",
        )
        .also(&["≥ 0"]),
        // One pool without a GPU for both variants: each reads it with its
        // own GPU and price, so the pool is the field.
        case(
            "variant_pool_shared_across_gpus",
            base.replace(
                "[[pools]]\nname = \"h100\"\ngpu = \"h100-sxm\"\ngpus_per_node = 1\n\n[[pools]]\nname = \"l40s\"\ngpu = \"l40s\"\ngpus_per_node = 1\n",
                "[[pools]]\nname = \"shared\"\ngpus_per_node = 1\n",
            ),
            "[[pools]]",
            "pools[0]",
        )
        .also(&["\"dear\" on h100-sxm and \"cheap\" on l40s", "`gpu = "]),
        case(
            "variant_group_as_a_pipeline_stage",
            format!(
                "{base}\n[[pipelines]]\nname = \"p\"\nshare = 1\nstages = [\"cheap\"]\n"
            ),
            "stages",
            "pipelines[0].stages",
        )
        .also(&["\"cheap\" is in a variant group"]),
        case(
            "variant_of_in_a_single_deployment",
            synthetic("replicas = 2", "replicas = 2\nvariant_of = \"x\""),
            "variant_of",
            "deployment.variant_of",
        )
        .also(&["only for [[deployments]]"]),
    ];
    let failures: Vec<String> = cases.iter().filter_map(|c| check(c).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
