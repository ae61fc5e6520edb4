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
                target_value: 0.0,
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
