use super::*;
use std::collections::BTreeMap;

fn r(kv: f64, q: f64) -> ReplicaMetrics {
    ReplicaMetrics {
        kv_cache_usage: kv,
        queue_length: q,
    }
}

#[test]
fn analyze_table() {
    let cfg = WvaConfig::default();
    // replicas -> (non-saturated, scale up?, scale down safe?)
    let check = |rs: &[ReplicaMetrics], want: (usize, bool, bool)| {
        let a = analyze(&cfg, rs);
        assert_eq!(
            (a.non_saturated_count, a.should_scale_up, a.scale_down_safe),
            want,
            "{rs:?}"
        );
    };
    check(&[r(0.1, 0.0), r(0.1, 0.0)], (2, false, true));
    check(&[r(0.75, 0.0), r(0.1, 0.0)], (2, false, false)); // 0.85 on one replica
    check(&[r(0.8, 0.0), r(0.1, 0.0)], (1, false, false)); // 0.8 is saturated (>=)
    check(&[r(0.1, 5.0)], (0, true, false)); // queue 5 saturated
    check(&[r(0.65, 1.0), r(0.65, 1.0)], (2, false, false));
    check(&[r(0.75, 0.0), r(0.75, 0.0)], (2, true, false)); // spare 0.05 < 0.1
                                                            // No replicas at all: neither (upstream TestAnalyzeModelSaturation_EmptyMetrics).
    check(&[], (0, false, false));
}

fn v(name: &str, cost: f64, cur: u32, desired: u32, metrics: u32) -> (VariantCost, VariantState) {
    (
        VariantCost {
            name: name.into(),
            cost,
            replica_count: metrics,
        },
        VariantState {
            name: name.into(),
            current: cur,
            desired,
            pending: 0,
        },
    )
}

fn tg(up: bool, down: bool, vs: &[(VariantCost, VariantState)]) -> BTreeMap<String, u32> {
    let (a, s): (Vec<_>, Vec<_>) = vs.iter().cloned().unzip();
    targets(up, down, &a, &s)
}

#[test]
fn targets_table() {
    let vs = [v("a", 10.0, 2, 0, 2), v("b", 5.0, 3, 3, 3)];
    assert_eq!(tg(true, false, &vs).get("b"), Some(&4));
    assert_eq!(tg(false, true, &vs).get("a"), Some(&1));
    assert_eq!(tg(false, false, &vs).get("a"), Some(&2));
    let one = [v("a", 10.0, 1, 0, 1), v("b", 5.0, 2, 0, 2)];
    assert_eq!(tg(false, true, &one).get("b"), Some(&1)); // a is at 1
                                                          // a is moving to 3: the model is blocked, a keeps its desired 3.
    let moving = [v("a", 10.0, 2, 3, 2), v("b", 5.0, 2, 0, 2)];
    let t = tg(true, false, &moving);
    assert_eq!((t.get("a"), t.get("b")), (Some(&3), Some(&2)));
}

#[test]
fn validation_rejects_bad_knobs() {
    assert!(WvaConfig::default().validate().is_ok());
    let e = WvaConfig {
        kv_cache_threshold: 1.5,
        ..WvaConfig::default()
    }
    .validate()
    .expect_err("bad")
    .to_string();
    assert!(e.contains("kvCacheThreshold"), "{e}");
    assert!(WvaConfig {
        queue_spare_trigger: 9.0,
        ..WvaConfig::default()
    }
    .validate()
    .is_err());
}

/// The engine adapter.
mod adapter_tests {
    use crate::autoscalers::adapter::testing::*;
    use crate::autoscalers::llmd_wva::*;
    use fleetsim_core::autoscale::MetricsStore;
    use fleetsim_core::SimDuration;

    fn base() -> WvaAutoscalerConfig {
        serde_json::from_str("{}").unwrap()
    }

    #[test]
    fn scale_up_on_low_spare_down_when_safe_hold_while_starting() {
        let mut a = base().build().unwrap();
        assert_eq!(a.sync_period(), SimDuration::from_secs(60));
        // (pods at this scrape, peak-earlier pods, desired now, expected)
        let mut store = MetricsStore::default();
        // Two replicas, one peaked at KV 0.85 earlier in the minute:
        // saturated; the other at 0.75: spare 0.05 < 0.1 → +1.
        record(
            &mut store,
            [scrape(
                10.0,
                vec![ready(0, 0, 0, 0.85), ready(1, 0, 0, 0.75)],
                0,
            )],
        );
        record(
            &mut store,
            [scrape(
                60.0,
                vec![ready(0, 0, 0, 0.2), ready(1, 0, 0, 0.75)],
                0,
            )],
        );
        assert_eq!(
            a.desired_replicas(&store.observe(at(60.0), SimDuration::ZERO, 2)),
            3
        );
        // The third replica is still starting: metrics count 2 ≠ 3 → hold.
        record(
            &mut store,
            [scrape(
                120.0,
                vec![ready(0, 0, 0, 0.1), ready(1, 0, 0, 0.1), starting(2)],
                0,
            )],
        );
        assert_eq!(
            a.desired_replicas(&store.observe(at(120.0), SimDuration::ZERO, 3)),
            3
        );
        // All three light: spreading over two keeps the spares → −1.
        record(&mut store, [scrape(180.0, fleet(3, 0, 0.1), 0)]);
        assert_eq!(
            a.desired_replicas(&store.observe(at(180.0), SimDuration::ZERO, 3)),
            2
        );
    }

    #[test]
    fn bad_knobs_are_rejected() {
        // (config, knob, fragment)
        let cases = [
            (
                WvaAutoscalerConfig {
                    kv_cache_threshold: 1.5,
                    ..base()
                },
                "kv_cache_threshold",
                "kvCacheThreshold",
            ),
            (
                WvaAutoscalerConfig {
                    queue_spare_trigger: 6.0,
                    ..base()
                },
                "queue_spare_trigger",
                "queueSpareTrigger",
            ),
            (
                WvaAutoscalerConfig {
                    min_replicas: 0,
                    ..base()
                },
                "min_replicas",
                "scaleToZero",
            ),
            (
                WvaAutoscalerConfig {
                    min_replicas: 11,
                    ..base()
                },
                "min_replicas",
                "min_replicas > max_replicas",
            ),
        ];
        for (c, knob, frag) in cases {
            let e = c.build().expect_err(knob).to_string();
            assert!(e.contains(knob) && e.contains(frag), "{knob}: {e}");
        }
    }
}
