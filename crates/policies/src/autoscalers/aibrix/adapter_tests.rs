//! The engine adapter against recorded scrapes.

use super::*;
use crate::autoscalers::adapter::testing::*;
use fleetsim_core::autoscale::MetricsStore;
use fleetsim_core::Autoscaler;

fn base() -> AibrixPaConfig {
    serde_json::from_str("{}").unwrap()
}

fn decide(
    a: &mut dyn Autoscaler,
    store: &mut MetricsStore,
    t: f64,
    desired: u32,
    util: f64,
) -> u32 {
    record(store, [scrape(t, fleet(desired, 0, util), 0)]);
    a.desired_replicas(&store.observe(at(t), SimDuration::ZERO, desired))
}

#[test]
fn apa_band_rate_cap_and_bounds() {
    let mut a = base().build(Strategy::Apa).unwrap();
    assert_eq!(a.sync_period(), SimDuration::from_secs(10));
    assert_eq!(a.replica_bounds(), (1, 10));
    let mut store = MetricsStore::default();
    // KV 0.54 at target 0.5 on 4: ratio 1.08, inside the band → 4.
    assert_eq!(decide(a.as_mut(), &mut store, 0.0, 4, 0.54), 4);
    // 0.54 averaged with 1.0 (observe window) = 0.77 → ratio 1.54 →
    // ceil(4 · 1.54) = 7, under the rate cap ceil(2 · 4) = 8.
    assert_eq!(decide(a.as_mut(), &mut store, 10.0, 4, 1.0), 7);
}

#[test]
fn no_ready_pod_holds_and_bad_knobs_are_rejected() {
    let mut a = base().build(Strategy::Apa).unwrap();
    let mut store = MetricsStore::default();
    record(&mut store, [scrape(0.0, vec![starting(0)], 0)]);
    assert_eq!(
        a.desired_replicas(&store.observe(at(0.0), SimDuration::ZERO, 1)),
        1
    );
    // (config, knob, fragment)
    let cases = [
        (
            AibrixPaConfig {
                panic_window_s: 200,
                ..base()
            },
            "panic_window_s",
            "panicWindowSeconds must be less than or equal to observeWindowSeconds",
        ),
        (
            AibrixPaConfig {
                target_value: Some(0.0),
                ..base()
            },
            "target_value",
            "must be greater than 0",
        ),
        (
            AibrixPaConfig {
                max_scale_up_rate: 0.5,
                ..base()
            },
            "max_scale_up_rate",
            "AIBrix",
        ),
        (
            AibrixPaConfig {
                min_replicas: 11,
                ..base()
            },
            "min_replicas",
            "minReplicas cannot be greater than maxReplicas",
        ),
    ];
    for (c, knob, frag) in cases {
        let e = c.build(Strategy::Apa).expect_err(knob).to_string();
        assert!(e.contains(knob) && e.contains(frag), "{knob}: {e}");
    }
}

/// `metrics_sources`: each source on its own target, the largest count
/// wins; a repeated metric takes its last target; mixing the single-source
/// keys with the list is rejected.
#[test]
fn metrics_sources_take_the_largest_count() {
    let cfg: AibrixPaConfig = serde_json::from_str(
        r#"{"scale_down_cooldown_window_s": 0, "metrics_sources": [
            {"target_metric": "kv_cache_usage_perc", "target_value": 0.5},
            {"target_metric": "num_requests_running", "target_value": 8},
            {"target_metric": "num_requests_running", "target_value": 2}]}"#,
    )
    .unwrap();
    assert_eq!(cfg.sources().unwrap().len(), 2, "one source per metric");
    let mut a = cfg.build(Strategy::Apa).unwrap();
    let mut store = MetricsStore::default();
    // fleet(4, 0, 0.5): KV 0.5 = target (4), 0 running → the KV source
    // holds 4 and the running-requests source (target 2) asks for 2.
    assert_eq!(decide(a.as_mut(), &mut store, 0.0, 4, 0.5), 4);
    // Single-source config on the same data: the running-requests metric
    // alone scales down.
    let single: AibrixPaConfig = serde_json::from_str(
        r#"{"scale_down_cooldown_window_s": 0, "target_metric": "num_requests_running", "target_value": 2}"#,
    )
    .unwrap();
    let mut b = single.build(Strategy::Apa).unwrap();
    let mut store = MetricsStore::default();
    assert_eq!(decide(b.as_mut(), &mut store, 0.0, 4, 0.5), 2);
    for (json, knob) in [
        (
            r#"{"target_value": 1, "metrics_sources": [{"target_metric": "kv_cache_usage_perc", "target_value": 0.5}]}"#,
            "target_value",
        ),
        (
            r#"{"metrics_sources": [{"target_metric": "kv_cache_usage_perc", "target_value": 0}]}"#,
            "target_value",
        ),
    ] {
        let c: AibrixPaConfig = serde_json::from_str(json).unwrap();
        let e = c.build(Strategy::Kpa).expect_err(json).to_string();
        assert!(e.contains(knob), "{json}: {e}");
    }
}
