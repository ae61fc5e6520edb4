//! ScaledObject checks ported from kedacore/keda
//! `apis/keda/v1alpha1/scaledobject_types_test.go` (at `8b4f083c`):
//! `TestCheckReplicaCountBoundsAreValid`, `TestGetHPAReplicas` and the
//! rows of `TestCheckFallbackValid` a scenario can express (its
//! cpu/memory-trigger rows need resource triggers, which a scenario's
//! ScaledObject does not have), and the rows of the annotation tests
//! (`TestHasPausedAnnotation`, `TestNeedToBePausedByAnnotation`,
//! `TestGetPausedReplicaCount`) a scenario can write: it spells the
//! annotations as typed keys (`paused`, `paused_replicas`), so each row's
//! annotations become those keys and the row's answer is the decision.
//!
//! Not ported, with the reason:
//! - "Has other annotations but not paused ones" (`TestHasPausedAnnotation`)
//!   and "annotation absent returns nil" (`TestGetPausedReplicaCount`):
//!   a scenario has no free-form annotations (an unknown key is an
//!   error); their answer is the "No annotations" rows'.
//! - "PausedAnnotation with invalid value" (`TestNeedToBePausedByAnnotation`:
//!   a non-boolean string pauses): `paused` is a bool, so a string is a
//!   located scenario error, not a pause.
//! - "PausedReplicasAnnotation with value and status set" and "... but no
//!   status set" differ in `status.pausedReplicaCount`, a stored status
//!   the simulation does not keep; both pause, which is the one row here.
//! - `TestIsUsingModifiers`: a scenario's `scaling_modifiers` needs a
//!   formula and a target (required keys; an empty formula does not
//!   parse), so "Empty ScalingModifiers" and a target without a formula
//!   cannot be written.

use super::*;

fn config(min: Option<u32>, max: Option<u32>, idle: Option<u32>) -> KedaConfig {
    let d = KedaConfig::default();
    KedaConfig {
        min_replica_count: min.unwrap_or(d.min_replica_count),
        max_replica_count: max.unwrap_or(d.max_replica_count),
        idle_replica_count: idle,
        ..d
    }
}

/// `TestCheckReplicaCountBoundsAreValid`: (name, min, max, idle, field of
/// the error or `None` when valid).
#[test]
fn check_replica_count_bounds_are_valid() {
    type Row<'a> = (&'a str, u32, u32, Option<u32>, Option<&'a str>);
    let cases: [Row<'_>; 5] = [
        ("Valid: min 1, max 5, no idle", 1, 5, None, None),
        ("Valid: min 1, max 5, idle 0", 1, 5, Some(0), None),
        (
            "Invalid: min 2 > max 1",
            2,
            1,
            None,
            Some("min_replica_count"),
        ),
        (
            "Invalid: idle 1 == min 1",
            1,
            5,
            Some(1),
            Some("idle_replica_count"),
        ),
        (
            "Invalid: idle 2 > min 1",
            1,
            5,
            Some(2),
            Some("idle_replica_count"),
        ),
    ];
    for (name, min, max, idle, field) in cases {
        let got = config(Some(min), Some(max), idle).validate();
        match (got, field) {
            (Ok(()), None) => {}
            (Err(AutoscalerError::InvalidKnob { knob, .. }), Some(f)) => {
                assert_eq!(knob, f, "{name}")
            }
            (other, _) => panic!("{name}: {other:?}"),
        }
    }
}

/// `TestGetHPAReplicas`: the HPA KEDA creates has `minReplicas` =
/// `minReplicaCount` when above 0, else 1, and `maxReplicas` =
/// `maxReplicaCount`, default 100. (name, min, max, HPA min, HPA max).
#[test]
fn get_hpa_replicas() {
    let cases = [
        ("Default min and max", None, None, 1, 100),
        ("Custom min, default max", Some(5), None, 5, 100),
        ("Default min, custom max", None, Some(10), 1, 10),
        ("Custom min and max", Some(5), Some(10), 5, 10),
        ("Zero min, default max", Some(0), None, 1, 100),
    ];
    for (name, min, max, hpa_min, hpa_max) in cases {
        let h = config(min, max, None).hpa_config();
        assert_eq!(
            (h.min_replicas, h.max_replicas),
            (hpa_min, hpa_max),
            "{name}"
        );
    }
}

/// `TestCheckFallbackValid`, the rows without cpu/memory triggers:
/// (name, failure threshold, replicas, metric type, scaling modifiers,
/// valid). Every trigger here is an External one, so the trigger rule
/// holds for both metric types.
#[test]
fn check_fallback_valid() {
    use MetricType::{AverageValue, Value};
    type Row<'a> = (&'a str, Option<(i32, i32)>, MetricType, bool, bool);
    let cases: [Row<'_>; 8] = [
        ("No fallback configured", None, AverageValue, false, true),
        (
            "Explicit AverageValue metricType - valid",
            Some((3, 1)),
            AverageValue,
            false,
            true,
        ),
        (
            "Implicit AverageValue metricType (empty string) - valid",
            Some((3, 1)),
            MetricType::default(),
            false,
            true,
        ),
        ("Value metricType - valid", Some((3, 1)), Value, false, true),
        (
            "Negative FailureThreshold - invalid",
            Some((-1, 1)),
            AverageValue,
            false,
            false,
        ),
        (
            "Negative Replicas - invalid",
            Some((3, -1)),
            AverageValue,
            false,
            false,
        ),
        (
            "Using ScalingModifiers with AverageValue MetricType - valid",
            Some((3, 1)),
            AverageValue,
            true,
            true,
        ),
        (
            "Using ScalingModifiers with Value MetricType - valid",
            Some((3, 1)),
            Value,
            true,
            true,
        ),
    ];
    for (name, fallback, metric_type, with_modifiers, valid) in cases {
        let fallback = fallback.map(|(failure_threshold, replicas)| FallbackConfig {
            failure_threshold,
            replicas,
            behavior: FallbackBehavior::Static,
        });
        let m = ScalingModifiers {
            formula: String::new(),
            target: String::new(),
            activation_target: String::new(),
            metric_type,
        };
        let core = KedaConfig {
            fallback,
            ..KedaConfig::default()
        };
        let got = core.validate().is_ok()
            && check_fallback(fallback.as_ref(), with_modifiers.then_some(&m)).is_ok();
        assert_eq!(got, valid, "{name}");
    }
}

/// The pause annotations' rows, as a scenario's keys: (name, `paused`,
/// `paused_replicas`, paused?) from `TestHasPausedAnnotation` and
/// `TestNeedToBePausedByAnnotation`, and `TestGetPausedReplicaCount`'s
/// (name, `paused_replicas`). A paused ScaledObject holds its count (at
/// `paused_replicas` when set, which takes precedence) through a load that
/// scales a free one from 2 up.
#[test]
fn pause_annotations() {
    use crate::autoscalers::adapter::testing::*;
    use fleetsim_core::autoscale::MetricsStore;
    use fleetsim_core::SimDuration;
    let decide = |paused: bool, paused_replicas: Option<u32>| {
        let mut cfg: KedaAutoscalerConfig = serde_json::from_str("{}").unwrap();
        cfg.paused = paused;
        cfg.paused_replicas = paused_replicas;
        let mut a = cfg.build().unwrap();
        let mut store = MetricsStore::default();
        // 2 replicas with 20 waiting each: far above any default target.
        record(&mut store, [scrape(0.0, fleet(2, 0, 0.5), 0)]);
        let mut pods = fleet(2, 0, 0.5);
        pods.iter_mut().for_each(|p| p.num_requests_waiting = 20);
        record(&mut store, [scrape(15.0, pods, 0)]);
        a.desired_replicas(&store.observe(at(15.0), SimDuration::ZERO, 2))
    };
    let free = decide(false, None);
    assert!(free > 2, "the load scales a free ScaledObject: {free}");
    // (test, row, paused, paused_replicas, the count it holds or None: free)
    type Row = (&'static str, &'static str, bool, Option<u32>, Option<u32>);
    let rows: [Row; 9] = [
        (
            "TestHasPausedAnnotation",
            "No annotations",
            false,
            None,
            None,
        ),
        (
            "TestHasPausedAnnotation",
            "Has PausedAnnotation only",
            true,
            None,
            Some(2),
        ),
        (
            "TestHasPausedAnnotation",
            "Has PausedReplicasAnnotation only",
            false,
            Some(5),
            Some(5),
        ),
        (
            "TestHasPausedAnnotation",
            "Has both annotations",
            true,
            Some(5),
            Some(5),
        ),
        (
            "TestNeedToBePausedByAnnotation",
            "PausedAnnotation with true value",
            true,
            None,
            Some(2),
        ),
        (
            "TestNeedToBePausedByAnnotation",
            "PausedAnnotation with false value",
            false,
            None,
            None,
        ),
        // "PausedReplicasAnnotation has precedence".
        (
            "TestNeedToBePausedByAnnotation",
            "Both annotations set",
            true,
            Some(5),
            Some(5),
        ),
        (
            "TestNeedToBePausedByAnnotation",
            "Both annotations set, PausedAnnotation false",
            false,
            Some(5),
            Some(5),
        ),
        (
            "TestGetPausedReplicaCount",
            "zero value annotation returns pointer to zero",
            false,
            Some(0),
            Some(0),
        ),
    ];
    for (test, row, paused, replicas, held) in rows {
        assert_eq!(
            decide(paused, replicas),
            held.unwrap_or(free),
            "{test}: {row}"
        );
    }
    // `TestGetPausedReplicaCount`: the value read ("5" → 5, absent →
    // none) and "invalid string annotation returns error".
    let read = |json: &str| serde_json::from_str::<KedaAutoscalerConfig>(json);
    let five = read(r#"{"paused_replicas": 5}"#).unwrap();
    assert_eq!(five.paused_replicas, Some(5), "valid integer annotation");
    assert_eq!(read("{}").unwrap().paused_replicas, None, "nil annotations");
    let bad = read(r#"{"paused_replicas": "not-a-number"}"#);
    assert!(bad.is_err(), "invalid string annotation returns error");
}
