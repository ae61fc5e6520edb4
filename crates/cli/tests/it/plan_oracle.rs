//! The plan's offline oracle is a lower bound: over random small
//! scenarios (stepped traffic, TTFT targets, seeds), no policy the plan
//! simulates — the cheapest fixed fleet, the oracle's own schedule
//! replayed, the time-of-day fit and the tuned autoscalers — meets the SLA
//! for less than the oracle's bound.
#![allow(clippy::unwrap_used)]

use crate::common::scratch_dir;
use fleetsim::plan::{self, PlanOptions};
use proptest::prelude::*;

/// A scenario whose rate steps through `rates_per_s`, `segment_s` each,
/// on Llama-3.1-8B replicas of one H100, with a p95 TTFT target.
fn scenario(seed: u64, rates_per_s: &[f64], segment_s: u32, ttft_ms: u32) -> String {
    let steps: Vec<String> = (rates_per_s.iter().enumerate())
        .map(|(i, r)| format!("{{ at_s = {}, rate_per_s = {r:.1} }}", i as u32 * segment_s))
        .collect();
    format!(
        r#"name = "oracle-bound"
seed = {seed}
[workload]
kind = "synthetic"
duration_s = {duration}
arrival = {{ kind = "steps", steps = [{steps}] }}
input_tokens = {{ kind = "lognormal", median_tokens = 1000, sigma = 0.8, max_tokens = 8000 }}
output_tokens = {{ kind = "lognormal", median_tokens = 130, sigma = 0.8, max_tokens = 1000 }}
[deployment]
model = "llama-3.1-8b"
gpu = "h100-sxm"
replicas = 1
[sla]
ttft_ms = {ttft_ms}
targets = [{{ metric = "ttft_ms", percentile = 95, max_ms = {ttft_ms} }}]
"#,
        duration = rates_per_s.len() as u32 * segment_s,
        steps = steps.join(", "),
    )
}

proptest! {
    // Each case is a whole plan (a bisection, the oracle's replay and
    // three tuned autoscalers): a few seconds in release.
    #![proptest_config(ProptestConfig {
        cases: 6,
        failure_persistence: None,
        .. ProptestConfig::default()
    })]

    #[test]
    fn no_policy_meets_the_sla_for_less_than_the_oracle(
        seed in 1u64..100,
        rates in prop::collection::vec(1.0f64..50.0, 2..5),
        segment_s in prop::sample::select(vec![60u32, 120, 240]),
        ttft_ms in prop::sample::select(vec![200u32, 500, 2000]),
    ) {
        let dir = scratch_dir("plan-oracle-bound");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("s{seed}-{}.toml", rates.len()));
        std::fs::write(&path, scenario(seed, &rates, segment_s, ttft_ms)).unwrap();
        let options = PlanOptions {
            budget_s: 600.0,
            jobs: 1,
            policies: vec!["hpa".into(), "kpa".into(), "concurrency".into()],
            ..PlanOptions::new(path)
        };
        let p = plan::plan(&options, &mut |_| {}).unwrap();
        let oracle = p.oracle.as_ref().expect("a fixed fleet meets a 200 ms TTFT at 50 req/s");
        let met: Vec<_> = p.policies.iter().filter(|q| q.meets_sla).collect();
        // The cheapest fixed fleet meets the SLA by construction: there
        // is always something to compare.
        prop_assert!(!met.is_empty());
        for q in met {
            prop_assert!(
                q.monthly_usd >= oracle.monthly_usd * (1.0 - 1e-9),
                "{} ({}) meets the SLA for ${:.2} a month, below the oracle's ${:.2}",
                q.kind, q.source, q.monthly_usd, oracle.monthly_usd
            );
        }
    }
}
