//! ScaledObject checks ported from kedacore/keda
//! `apis/keda/v1alpha1/scaledobject_types_test.go` (at `8b4f083c`):
//! `TestCheckReplicaCountBoundsAreValid`, `TestGetHPAReplicas` and the
//! rows of `TestCheckFallbackValid` a scenario can express (its
//! cpu/memory-trigger rows need resource triggers, which a scenario's
//! ScaledObject does not have). The annotation-parsing tests
//! (`TestHasPausedAnnotation`, `TestNeedToBePausedByAnnotation`,
//! `TestGetPausedReplicaCount`) read annotation strings, which a scenario
//! writes as typed keys (`paused`, `paused_replicas`).

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
