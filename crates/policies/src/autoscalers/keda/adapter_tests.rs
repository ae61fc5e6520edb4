//! The engine adapter against recorded scrapes.

use super::*;
use crate::autoscalers::adapter::testing::*;
use fleetsim_core::autoscale::MetricsStore;
use fleetsim_core::{Autoscaler, SimDuration};

fn base() -> KedaAutoscalerConfig {
    serde_json::from_str("{}").unwrap()
}

/// Runs syncs at `times` with per-pod waiting `w(t)` on `desired`
/// replicas (gateway waiting `g(t)` when there are none).
fn run(a: &mut dyn Autoscaler, times: &[f64], start: u32, w: impl Fn(f64) -> u32) -> Vec<u32> {
    let mut store = MetricsStore::default();
    let mut d = start;
    times
        .iter()
        .map(|&t| {
            let (pods, gateway) = if d == 0 {
                (vec![], w(t))
            } else {
                ((0..d).map(|i| ready(i, 1, w(t), 0.5)).collect(), 0)
            };
            record(&mut store, [scrape(t, pods, gateway)]);
            d = a.desired_replicas(&store.observe(at(t), SimDuration::ZERO, d));
            d
        })
        .collect()
}

#[test]
#[allow(clippy::float_cmp)] // exact sums and defaults
fn defaults_sync_and_bounds() {
    let c = base();
    assert_eq!(
        (
            c.min_replicas,
            c.max_replicas,
            c.polling_interval_s,
            c.cooldown_period_s
        ),
        (0, 100, 30, 300)
    );
    assert_eq!(c.threshold, 5.0);
    let a = c.build().unwrap();
    // gcd(30 s polling, 15 s HPA sync).
    assert_eq!(a.sync_period(), SimDuration::from_secs(15));
    assert_eq!(a.replica_bounds(), (0, 100));
    let b = KedaAutoscalerConfig {
        polling_interval_s: 10,
        ..base()
    }
    .build()
    .unwrap();
    assert_eq!(b.sync_period(), SimDuration::from_secs(5));
}

#[test]
fn activates_from_zero_at_the_poll_then_the_hpa_scales() {
    let mut a = base().build().unwrap();
    assert_eq!(a.on_activation(at(1.0)), None, "no activator");
    // Nothing waiting at t = 0; 3 at the gateway from t = 15 s, but
    // the next poll is at 30 s. Then 20 waiting per replica: the HPA
    // (every 15 s) asks for ceil(20/5) = 4.
    let out = run(a.as_mut(), &[0.0, 15.0, 30.0, 45.0], 0, |t| {
        match t as u32 {
            0 => 0,
            15 | 30 => 3,
            _ => 20,
        }
    });
    assert_eq!(out, vec![0, 0, 1, 4]);
}

#[test]
fn cools_down_to_zero_after_the_cooldown() {
    let c = KedaAutoscalerConfig {
        cooldown_period_s: 60,
        ..base()
    };
    let mut a = c.build().unwrap();
    let times: Vec<f64> = (0..8).map(|i| f64::from(i) * 15.0).collect();
    // Active at t = 0 (1 waiting on the one replica), idle from 15 s:
    // polls at 30 and 60 are within the cooldown (0 + 60 < 60 is
    // false), the poll at 90 scales to 0.
    let out = run(a.as_mut(), &times, 1, |t| u32::from(t == 0.0));
    assert_eq!(out, vec![1, 1, 1, 1, 1, 1, 0, 0]);
}

#[test]
fn bad_knobs_name_the_rule() {
    // (config, knob, fragment)
    let cases = [
        (
            KedaAutoscalerConfig {
                min_replicas: 5,
                max_replicas: 2,
                ..base()
            },
            "min_replicas",
            "min_replicas > max_replicas",
        ),
        (
            KedaAutoscalerConfig {
                threshold: 0.0,
                ..base()
            },
            "threshold",
            "AverageValue target",
        ),
        (
            KedaAutoscalerConfig {
                activation_threshold: -1.0,
                ..base()
            },
            "activation_threshold",
            "activationThreshold",
        ),
        (
            KedaAutoscalerConfig {
                min_replicas: 1,
                idle_replicas: Some(2),
                ..base()
            },
            "idle_replica_count",
            "KEDA",
        ),
    ];
    for (c, knob, frag) in cases {
        let e = c.build().expect_err(knob).to_string();
        assert!(e.contains(knob) && e.contains(frag), "{knob}: {e}");
    }
}

/// `metric_type = "Value"`: the threshold is for the whole value, so the
/// HPA asks for `ceil(value / threshold × ready pods)` where AverageValue
/// asks for `ceil(value / threshold)`. Two replicas with 5 waiting each
/// (10 in all, threshold 5): AverageValue holds at 2; Value wants
/// `ceil(2 × 2) = 4`, then, with 5 waiting on each of 4, `ceil(4 × 4)`
/// capped by the legacy scale-up limit (`max(2 × 4, 4)`) at 8.
#[test]
fn a_value_metric_type_scales_on_the_whole_value() {
    let value = KedaAutoscalerConfig {
        metric_type: MetricType::Value,
        ..base()
    };
    let times = [0.0, 15.0];
    let avg = run(base().build().unwrap().as_mut(), &times, 2, |_| 5);
    let val = run(value.build().unwrap().as_mut(), &times, 2, |_| 5);
    assert_eq!(avg, vec![2, 2]);
    assert_eq!(val, vec![4, 8]);
    // Read from a scenario's spelling.
    let read: KedaAutoscalerConfig = serde_json::from_str(r#"{"metric_type": "Value"}"#).unwrap();
    assert_eq!(read.metric_type, MetricType::Value);
    let bad = serde_json::from_str::<KedaAutoscalerConfig>(r#"{"metric_type": "Utilization"}"#)
        .unwrap_err()
        .to_string();
    assert!(bad.contains("expected `AverageValue` or `Value`"), "{bad}");
}

#[test]
fn an_outage_reads_pod_counts_from_the_api_not_the_metrics() {
    // A Value trigger (threshold 4) with a fallback of 3 replicas after 1
    // failure. The source is down from 20 s. Case 1: 2 pods were ready at
    // the last scrape: the fallback serves 4 × 3 / 2 and the HPA asks for
    // 3. Case 2: the 2 pods were still starting: no pod is ready, and
    // upstream's `doFallback` has nothing to divide by (readyReplicas is
    // zero), so the HPA gets an error and holds 2 (reading the count asked
    // for as ready, the fallback would have acted).
    let cfg = KedaAutoscalerConfig {
        min_replicas: 1,
        threshold: 4.0,
        metric_type: MetricType::Value,
        trigger_metric: Some(crate::autoscalers::adapter::Signal::NumRequestsRunning),
        fallback: Some(FallbackConfig {
            failure_threshold: 1,
            replicas: 3,
            behavior: FallbackBehavior::Static,
        }),
        ..base()
    };
    let run = |pods: Vec<fleetsim_core::autoscale::PodSample>| {
        let mut a = cfg.build().unwrap();
        let mut store = MetricsStore::default();
        store.set_outages(vec![fleetsim_core::autoscale::MetricsOutage {
            start: at(20.0),
            end: at(1000.0),
        }]);
        record(&mut store, [scrape(15.0, pods, 0)]);
        let mut d = 2;
        [15.0, 30.0, 45.0, 60.0]
            .iter()
            .map(|&t| {
                d = a.desired_replicas(&store.observe(at(t), SimDuration::ZERO, d));
                d
            })
            .collect::<Vec<u32>>()
    };
    // 4 running on 2 ready pods at 15 s: the value is the target, hold 2.
    // The HPA's read at 30 s fails (1); at 45 s the poll's failure (2 > 1)
    // serves the fallback, and so does the HPA's read after it.
    assert_eq!(
        run(vec![ready(0, 2, 0, 0.5), ready(1, 2, 0, 0.5)]),
        vec![2, 2, 3, 3]
    );
    assert_eq!(run(vec![starting(0), starting(1)]), vec![2, 2, 2, 2]);
}

#[test]
fn a_scaling_modifiers_fallback_needs_a_formula() {
    // The scenario's ScaledObject has one trigger and no modifiers, so the
    // webhook's rule rejects `behavior = "scalingModifiers"`.
    let c: KedaAutoscalerConfig = serde_json::from_str(
        r#"{"fallback": {"failure_threshold": 3, "replicas": 5, "behavior": "scalingModifiers"}}"#,
    )
    .unwrap();
    let e = c.validate().unwrap_err().to_string();
    assert!(
        e.contains("fallback.behavior") && e.contains("requires scalingModifiers.formula"),
        "{e}"
    );
}

/// kedacore/keda `tests/internals/fallback/fallback.go` (at `8b4f083c`),
/// `TestFallbackFromZero`: a ScaledObject at 0 replicas (`minReplicaCount:
/// 0`, `maxReplicaCount: 5`, `pollingInterval: 5`, `cooldownPeriod: 1`,
/// fallback `failureThreshold: 1`, `replicas: 3`, `behavior: static`, an
/// AverageValue target of 5) whose metrics server stops "should go to
/// fallback value (3)" and stay there. At 0 replicas the HPA is disabled
/// and reads nothing, so only the scale loop's polls count the failures
/// (`getScalerState` → `GetMetricsWithFallback`): the second failed poll
/// (10 s) serves the fallback, which makes the ScaledObject active, and
/// the executor scales 0 → 1; the HPA's next read (15 s) gets 3 × 5 on 1
/// replica and asks for 3. (Its `stabilizationWindowSeconds: 1` applies
/// to scale-down only.) With failures counted at the HPA's reads only,
/// the deployment stayed at 0.
#[test]
fn upstream_fallback_from_zero_counts_the_polls_failures() {
    let cfg = KedaAutoscalerConfig {
        min_replicas: 0,
        max_replicas: 5,
        polling_interval_s: 5,
        cooldown_period_s: 1,
        threshold: 5.0,
        fallback: Some(FallbackConfig {
            failure_threshold: 1,
            replicas: 3,
            behavior: FallbackBehavior::Static,
        }),
        ..base()
    };
    let mut a = cfg.build().unwrap();
    assert_eq!(a.sync_period(), SimDuration::from_secs(5));
    let mut store = MetricsStore::default();
    store.set_outages(vec![fleetsim_core::autoscale::MetricsOutage {
        start: at(1.0),
        end: at(1000.0),
    }]);
    record(&mut store, [scrape(0.0, vec![], 0)]);
    let mut d = 0;
    let got: Vec<u32> = (0..12)
        .map(|k| {
            let t = f64::from(k) * 5.0;
            d = a.desired_replicas(&store.observe(at(t), SimDuration::ZERO, d));
            d
        })
        .collect();
    // 0 s: the metric reads 0, inactive; 5 s: the first failure, an
    // error (the executor holds 0); 10 s: the fallback, active → 1;
    // 15 s: the HPA asks for the fallback count, held from then on.
    assert_eq!(got, vec![0, 0, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3]);
    // Without a fallback the errors keep it at 0.
    let mut plain = KedaAutoscalerConfig {
        fallback: None,
        ..cfg
    }
    .build()
    .unwrap();
    let mut d = 0;
    for k in 0..12 {
        let t = f64::from(k) * 5.0;
        d = plain.desired_replicas(&store.observe(at(t), SimDuration::ZERO, d));
    }
    assert_eq!(d, 0);
}
