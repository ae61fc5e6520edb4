//! The table cases of vllm-project/aibrix `pkg/controller/podautoscaler`
//! tests (revision `e3e10f9e`), one row per upstream case, each naming its
//! file and test. Cases that need Kubernetes objects this crate does not
//! model (pod selectors, StormService roles, schedules with an explicit
//! minimum, the HPA's metric list) are not ported; the list is in
//! docs/autoscalers.md.

use super::*;
use crate::autoscalers::adapter::Signal;

const ALGO: &str = "pkg/controller/podautoscaler/algorithm";

/// `algorithm/apa_test.go` `TestAPAAlgorithm_ComputeTargetReplicas`:
/// (subtest, current, target, use per pod, up rate, down rate, expected);
/// every case has tolerances 0.1/0.1.
#[test]
fn apa_compute_target_replicas() {
    let cases: [(&str, u32, f64, f64, f64, f64, u32); 11] = [
        ("basic_scale_up", 2, 30.0, 45.0, 2.0, 2.0, 3),
        ("scale_up_upto_ceiling", 2, 30.0, 35.0, 2.0, 2.0, 3),
        ("scale_up_upto_max_scale_up", 2, 30.0, 90.0, 2.0, 2.0, 4),
        (
            "scale_up_upto_max_scale_up_ceiling",
            2,
            30.0,
            90.0,
            2.5,
            2.0,
            5,
        ),
        ("basic_scale_down", 6, 30.0, 20.0, 2.0, 2.0, 4),
        ("scale_down_upto_ceiling", 6, 30.0, 18.0, 2.0, 2.0, 4),
        ("scale_down_upto_max_scale_down", 6, 30.0, 10.0, 2.0, 2.0, 3),
        (
            "scale_down_upto_max_scale_down_floor",
            6,
            30.0,
            5.0,
            2.0,
            2.5,
            2,
        ),
        (
            "no_scaling_as_within_up_tolerance",
            2,
            30.0,
            33.0,
            2.0,
            2.0,
            2,
        ),
        (
            "no_scaling_as_within_down_tolerance",
            2,
            30.0,
            27.0,
            2.0,
            2.0,
            2,
        ),
        ("division_by_zero", 1, 0.0, 10.0, 1000.0, 2.0, 1),
    ];
    for (name, cur, target, use_per_pod, up, down, want) in cases {
        assert_eq!(
            apa_replicas(cur, use_per_pod, target, 0.1, 0.1, up, down),
            want,
            "{ALGO}/apa_test.go TestAPAAlgorithm_ComputeTargetReplicas/{name}"
        );
    }
}

/// `algorithm/kpa_test.go` `TestKPAAlgorithm_ComputeTargetReplicas`: the
/// mock context leaves the tolerances at 0; target 10 throughout.
#[test]
fn kpa_compute_target_replicas() {
    // (subtest, current, stable, panic, up rate, down rate, activation
    // scale, in panic, max panic pods, expected)
    #[allow(clippy::type_complexity)]
    let cases: [(&str, u32, f64, f64, f64, f64, u32, bool, u32, u32); 7] = [
        (
            "stable_mode_basic_scaling",
            2,
            20.0,
            20.0,
            2.0,
            2.0,
            1,
            false,
            0,
            2,
        ),
        (
            "panic_mode_scaling_up",
            2,
            30.0,
            40.0,
            2.0,
            2.0,
            1,
            true,
            2,
            4,
        ),
        (
            "panic_mode_no_scale_down",
            5,
            20.0,
            20.0,
            2.0,
            2.0,
            1,
            true,
            5,
            5,
        ),
        ("scale_to_zero", 1, 0.0, 0.0, 2.0, 2.0, 1, false, 0, 0),
        (
            "activation_scale_from_zero",
            0,
            15.0,
            15.0,
            2.0,
            2.0,
            3,
            false,
            0,
            3,
        ),
        (
            "max_scale_up_rate_limit",
            2,
            100.0,
            100.0,
            1.5,
            2.0,
            1,
            false,
            0,
            3,
        ),
        (
            "max_scale_down_rate_limit",
            4,
            5.0,
            5.0,
            2.0,
            2.0,
            1,
            false,
            0,
            2,
        ),
    ];
    for (name, cur, stable, panic, up, down, act, in_panic, mpp, want) in cases {
        let input = KpaInput {
            current: cur,
            target: 10.0,
            stable,
            panic,
            max_scale_up_rate: up,
            max_scale_down_rate: down,
            activation_scale: act,
            up_tolerance: 0.0,
            down_tolerance: 0.0,
        };
        assert_eq!(
            kpa_replicas(&input, in_panic, mpp).0,
            want,
            "{ALGO}/kpa_test.go TestKPAAlgorithm_ComputeTargetReplicas/{name}"
        );
    }
}

/// `hpa_resources_test.go` `TestMakeHPA`: the behavior the HPA strategy
/// generates from the default context.
#[test]
fn make_hpa_behavior_from_defaults() {
    let d = AibrixConfig::default();
    let b = hpa_behavior(
        d.max_scale_up_rate,
        d.max_scale_down_rate,
        d.scale_up_cooldown_window_s as u32,
        d.scale_down_cooldown_window_s as u32,
    );
    let (up, down) = (b.scale_up.expect("up"), b.scale_down.expect("down"));
    let row = |r: &ScalingRules| {
        (
            r.stabilization_window_s,
            r.select_policy,
            r.policies
                .iter()
                .map(|p| (p.kind, p.value, p.period_s))
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        row(&up),
        (0, SelectPolicy::Max, vec![(PolicyType::Percent, 100, 60)]),
        "hpa_resources_test.go TestMakeHPA scaleUp"
    );
    assert_eq!(
        row(&down),
        (300, SelectPolicy::Min, vec![(PolicyType::Percent, 50, 60)]),
        "hpa_resources_test.go TestMakeHPA scaleDown"
    );
}

/// `types/metrics_test.go` `TestTimeWindow`: a 2 min window over 1 min
/// buckets keeps the last value per bucket and the bucket of `t − 2 min`.
#[test]
fn time_window_records_one_value_per_bucket_and_truncates() {
    let mut w = LastValueWindow::new(SimDuration::from_secs(120), SimDuration::from_secs(60));
    // start = a whole minute, as the test's `Truncate(time.Minute)`.
    let start = 1_000_020u64 * 60;
    let at = |s: u64| SimTime((start + s) * 1_000_000_000);
    // (seconds after start, value recorded, values kept)
    let steps: [(u64, f64, &[f64]); 8] = [
        (0, 10.0, &[10.0]),
        (30, 20.0, &[20.0]),
        (60, 30.0, &[20.0, 30.0]),
        (90, 40.0, &[20.0, 40.0]),
        (120, 50.0, &[20.0, 40.0, 50.0]),
        (150, 60.0, &[20.0, 40.0, 60.0]),
        (180, 70.0, &[40.0, 60.0, 70.0]),
        (210, 80.0, &[40.0, 60.0, 80.0]),
    ];
    for (s, v, want) in steps {
        w.record(at(s), v);
        assert_eq!(
            w.values(),
            want.to_vec(),
            "types/metrics_test.go TestTimeWindow/record metrics tracks one value ... at +{s}s"
        );
    }
}

/// `types/metrics_test.go` `TestTimeWindow/size avg min max` (the mean; the
/// controller reads no other statistic).
#[test]
#[allow(clippy::float_cmp)] // exact means of small integers
fn time_window_average() {
    let mut w = LastValueWindow::new(SimDuration::from_secs(120), SimDuration::from_secs(60));
    assert_eq!(w.average(), 0.0, "empty window: upstream Avg returns 0");
    for (m, v) in [(0u64, 20.0), (1, 30.0), (2, 40.0)] {
        w.record(SimTime((600 + m * 60) * 1_000_000_000), v);
    }
    assert_eq!(w.values(), vec![20.0, 30.0, 40.0]);
    assert_eq!(w.average(), 30.0);
}

/// `metrics/client_test.go` `TestGetMetricValue` and
/// `TestConfigureMetricWindowsUsesCustomDurations`: the stable and panic
/// averages the autoscaler reads, seen through a KPA decision.
#[test]
#[allow(clippy::float_cmp)] // exact means of small integers
fn metric_windows_through_the_autoscaler() {
    let at = |s: u64| SimTime((1_000 + s) * 1_000_000_000);
    let cfg = AibrixConfig {
        target_value: 50.0,
        max_replicas: 100,
        ..AibrixConfig::default()
    };
    let mut a = AibrixAutoscaler::new(cfg.clone()).expect("valid");
    let d = a.decide_detailed(at(0), 1, 70.0);
    assert_eq!(
        (d.stable, d.panic),
        (Some(70.0), Some(70.0)),
        "metrics/client_test.go TestGetMetricValue"
    );
    let mut a = AibrixAutoscaler::new(AibrixConfig {
        observe_window_s: 90,
        panic_window_s: 30,
        ..cfg
    })
    .expect("valid");
    a.decide(at(0), 1, 10.0);
    let d = a.decide_detailed(at(60), 1, 70.0);
    assert_eq!(
        (d.stable, d.panic),
        (Some(40.0), Some(70.0)),
        "metrics/client_test.go TestConfigureMetricWindowsUsesCustomDurations"
    );
}

/// `autoscaler_test.go` `TestComputeDesiredReplicas`: APA, every source's
/// metric at 70 on 1 replica, max 6, scale-up rate 4, min 0 (the bare
/// context); one source per target value, the largest count wins
/// (`gpu_cache_usage_perc` at 50 → 2, plus `cpu` at 30 → 3).
#[test]
fn compute_desired_replicas_per_metric_sources() {
    // (subtest, target values of the sources, expected)
    let cases: [(&str, &[f64], u32); 2] = [
        ("with one metrics source", &[50.0], 2),
        ("with multiple metrics source", &[50.0, 30.0], 3),
    ];
    for (name, targets, want) in cases {
        let mut a = AibrixAutoscaler::with_metric_targets(
            AibrixConfig {
                strategy: Strategy::Apa,
                min_replicas: 0,
                max_replicas: 6,
                max_scale_up_rate: 4.0,
                ..AibrixConfig::default()
            },
            targets,
        )
        .expect("valid");
        let vals = vec![Some(70.0); targets.len()];
        let d = a.decide_metrics(SimTime(5_000_000_000), 1, &vals);
        assert_eq!(
            d.map(|d| d.desired),
            Some(want),
            "autoscaler_test.go TestComputeDesiredReplicas/{name}"
        );
    }
}

/// `context/context_test.go` `TestUpdateByPaTypes_MetricsSources`: three
/// sources keep their own targets (50, 30, 128), keyed by metric. The
/// test's `cpu` and `memory` are not simulated signals; the three pod
/// signals stand in for its three metric names.
#[test]
#[allow(clippy::float_cmp)] // the targets as written
fn update_by_pa_types_metrics_sources() {
    let pa: AibrixPaConfig = serde_json::from_str(
        r#"{"metrics_sources": [
            {"target_metric": "kv_cache_usage_perc", "target_value": 50},
            {"target_metric": "num_requests_running", "target_value": 30},
            {"target_metric": "num_requests_waiting", "target_value": 128}]}"#,
    )
    .expect("parses");
    let got: Vec<(Signal, f64)> = (pa.sources().expect("valid").iter())
        .map(|m| (m.target_metric, m.target_value))
        .collect();
    assert_eq!(
        got,
        [
            (Signal::KvCacheUsagePerc, 50.0),
            (Signal::NumRequestsRunning, 30.0),
            (Signal::NumRequestsWaiting, 128.0)
        ],
        "context/context_test.go TestUpdateByPaTypes_MetricsSources"
    );
}

/// `podautoscaler_controller_test.go`
/// `TestComputeScaleDecisionAllowsScheduledMinReplicasFromZero/inherited
/// min keeps scale from zero disabled`: 0 replicas with min 1 stay at 0,
/// whatever the metric.
#[test]
fn scale_from_zero_is_disabled_with_a_nonzero_min() {
    for strategy in [Strategy::Kpa, Strategy::Apa] {
        let mut a = AibrixAutoscaler::new(AibrixConfig {
            strategy,
            ..AibrixConfig::default()
        })
        .expect("valid");
        assert_eq!(a.decide(SimTime(1), 0, 1e6), 0, "{strategy:?}");
    }
}

/// `podautoscaler_controller_test.go` `TestValidateSpecRejects*` and
/// `context/context_test.go` `TestUpdateByPaTypes_InvalidTargetValue`: the
/// rejected spec, the knob named and the upstream message.
#[test]
fn validate_spec_rejections() {
    let d = AibrixConfig::default;
    let cases: [(&str, AibrixConfig, &str, &str); 8] = [
        (
            "TestValidateSpecRejectsNonPositiveMetricWindows",
            AibrixConfig {
                observe_window_s: 0,
                panic_window_s: 0,
                ..d()
            },
            "observe_window_s",
            "observeWindowSeconds must be greater than 0.",
        ),
        (
            "TestValidateSpecRejectsMetricWindowOverflow",
            AibrixConfig {
                observe_window_s: 3601,
                ..d()
            },
            "observe_window_s",
            "observeWindowSeconds must be less than or equal to 3600.",
        ),
        (
            "TestValidateSpecRejectsPanicWindowGreaterThanObserveWindow/custom panic exceeds custom observe",
            AibrixConfig {
                observe_window_s: 60,
                panic_window_s: 120,
                ..d()
            },
            "panic_window_s",
            "panicWindowSeconds must be less than or equal to observeWindowSeconds.",
        ),
        (
            "TestValidateSpecRejectsPanicWindowGreaterThanObserveWindow/default panic exceeds custom observe",
            AibrixConfig {
                observe_window_s: 30,
                ..d()
            },
            "panic_window_s",
            "panicWindowSeconds must be less than or equal to observeWindowSeconds.",
        ),
        (
            "TestValidateSpecRejectsInvalidBaseReplicaBounds/non-positive maxReplicas",
            AibrixConfig {
                min_replicas: 0,
                max_replicas: 0,
                ..d()
            },
            "max_replicas",
            "maxReplicas must be positive.",
        ),
        (
            "validateReplicaBounds (min above max)",
            AibrixConfig {
                min_replicas: 11,
                ..d()
            },
            "min_replicas",
            "minReplicas cannot be greater than maxReplicas.",
        ),
        (
            "TestUpdateByPaTypes_InvalidTargetValue/Zero Target Value",
            AibrixConfig {
                target_value: 0.0,
                ..d()
            },
            "target_value",
            "must be greater than 0",
        ),
        (
            "TestUpdateByPaTypes_InvalidTargetValue/Negative Target Value",
            AibrixConfig {
                target_value: -10.0,
                ..d()
            },
            "target_value",
            "must be greater than 0",
        ),
    ];
    for (test, c, knob, msg) in cases {
        match c.validate() {
            Err(AutoscalerError::InvalidKnob { knob: k, rule, .. }) => {
                assert_eq!(k, knob, "{test}");
                assert!(rule.contains(msg), "{test}: {rule}");
            }
            other => panic!("{test}: {other:?}"),
        }
    }
}

/// `context/context_test.go` `TestUpdateByPaTypes_Annotations`: the base
/// context's defaults (which the test checks differ from its overrides).
#[test]
#[allow(clippy::float_cmp)] // exact defaults
fn base_scaling_context_defaults() {
    let d = AibrixConfig::default();
    assert_eq!(
        (
            d.max_scale_up_rate,
            d.max_scale_down_rate,
            d.up_fluctuation_tolerance,
            d.down_fluctuation_tolerance,
            d.panic_threshold,
        ),
        (2.0, 2.0, 0.1, 0.1, 2.0)
    );
    assert_eq!(
        (
            d.scale_up_cooldown_window_s,
            d.scale_down_cooldown_window_s,
            d.scale_to_zero
        ),
        (0, 300, false)
    );
    // The test's overrides are all accepted.
    let over = AibrixConfig {
        max_scale_up_rate: 3.0,
        max_scale_down_rate: 3.0,
        up_fluctuation_tolerance: 0.3,
        down_fluctuation_tolerance: 0.3,
        panic_threshold: 3.0,
        scale_up_cooldown_window_s: 30,
        scale_down_cooldown_window_s: 30,
        scale_to_zero: true,
        ..d
    };
    assert!(over.validate().is_ok());
}
