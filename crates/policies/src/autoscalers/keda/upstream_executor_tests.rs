//! kedacore/keda `pkg/scaling/executor/scale_scaledobjects_test.go` (at
//! `8b4f083c`): the executor's decisions and the conditions it writes
//! (Active with its reason, Ready, HPAActive), one row per upstream test,
//! named as upstream names it. The decision-only rows of the older tests
//! are in `tests.rs` (`upstream_executor_cases`); here every
//! `RequestScale` test of the file is restated with what it asserts.
//!
//! Not ported: `TestRequestScale_HPAActive_NotInSharedDefaults` checks
//! that the Go API's shared initial conditions (also a ScaledJob's) leave
//! HPAActive out; there are no ScaledJobs or stored conditions here, and
//! [`ExecutorDecision`] has no HPAActive (only [`hpa_health`] makes one).
//! `TestEventWitTriggerInfo`'s event text is not modelled; its decision
//! (2 → 5 on activation from below min with idle replicas) is a row.

use super::*;

fn at(s: u64) -> SimTime {
    SimTime(s * 1_000_000_000)
}

/// `newSOWithHPA`-style inputs: the ScaledObject's knobs, the target's
/// replicas, the trigger state.
struct Row {
    source: &'static str,
    min: u32,
    idle: Option<u32>,
    fallback_replicas: Option<i32>,
    current: u32,
    active: bool,
    error: bool,
    /// What upstream asserts.
    want: Want,
}

#[derive(Default)]
struct Want {
    /// The scale written, when upstream asserts it (`None`: not written).
    scale: Option<Option<u32>>,
    /// Active condition: status and reason, when asserted.
    active: Option<(bool, Option<&'static str>)>,
    /// `result.LastActiveTime != nil`, when asserted.
    last_active: Option<bool>,
    /// The Ready condition, when asserted.
    ready: Option<ConditionSet>,
}

fn row(source: &'static str, min: u32, current: u32, active: bool, error: bool) -> Row {
    Row {
        source,
        min,
        idle: None,
        fallback_replicas: None,
        current,
        active,
        error,
        want: Want::default(),
    }
}

impl Row {
    fn idle(mut self, idle: u32) -> Self {
        self.idle = Some(idle);
        self
    }
    fn fallback(mut self, replicas: i32) -> Self {
        self.fallback_replicas = Some(replicas);
        self
    }
    fn scale(mut self, to: Option<u32>) -> Self {
        self.want.scale = Some(to);
        self
    }
    fn active_cond(mut self, status: bool, reason: Option<&'static str>) -> Self {
        self.want.active = Some((status, reason));
        self
    }
    fn last_active(mut self, set: bool) -> Self {
        self.want.last_active = Some(set);
        self
    }
    fn ready(mut self, c: ConditionSet) -> Self {
        self.want.ready = Some(c);
        self
    }
}

fn rows() -> Vec<Row> {
    vec![
        row(
            "TestScaleToMinReplicasFromLowerInitialReplicaCount",
            5,
            1,
            false,
            false,
        )
        .scale(Some(5))
        .active_cond(false, None),
        row("TestScaleFromMinReplicasWhenActive", 0, 0, true, false)
            .scale(Some(1))
            .active_cond(true, Some("ScalerActive"))
            .last_active(true),
        row("TestScaleToIdleReplicasWhenNotActive", 5, 10, false, false)
            .idle(0)
            .scale(Some(0))
            .active_cond(false, None),
        row(
            "TestScaleFromIdleToMinReplicasWhenActive",
            5,
            0,
            true,
            false,
        )
        .idle(0)
        .scale(Some(5))
        .active_cond(true, Some("ScalerActive"))
        .last_active(true),
        row("TestEventWitTriggerInfo", 5, 2, true, false)
            .idle(0)
            .scale(Some(5)),
        // `newSOWithHPA`: min 1, the deployment at 1 replica.
        row("TestRequestScale_AllHealthy_HPAHealthy", 1, 1, true, false).ready(READY),
        row("TestRequestScale_ScalerError_HPAHealthy", 1, 1, false, true)
            .ready(READY_TRIGGER_ERROR),
        row("TestRequestScale_PartialError_HPAHealthy", 1, 1, true, true)
            .ready(READY_PARTIAL_TRIGGER_ERROR),
        row("TestRequestScale_NoError_HPAUnhealthy", 1, 1, true, false).ready(READY),
        row(
            "TestRequestScale_ScalerError_HPAUnhealthy",
            1,
            1,
            false,
            true,
        )
        .ready(READY_TRIGGER_ERROR),
        row(
            "TestRequestScale_TransientHPAGap_ReadyStaysTrue",
            1,
            1,
            true,
            false,
        )
        .ready(READY),
        row(
            "TestRequestScale_HPAHealthy_HPAActiveTrue",
            1,
            1,
            true,
            false,
        ),
        row(
            "TestRequestScale_HPAScalingDisabled_HPAActiveTrueWithDistinctReason",
            1,
            1,
            true,
            false,
        ),
        row(
            "TestRequestScale_ScalerErrorWithFallback_HPAHealthy",
            1,
            1,
            false,
            true,
        )
        .fallback(5)
        .ready(READY),
    ]
}

#[test]
fn request_scale_rows() {
    let rows = rows();
    assert_eq!(rows.len(), 14);
    for r in &rows {
        let cfg = KedaConfig {
            min_replica_count: r.min,
            idle_replica_count: r.idle,
            fallback: r.fallback_replicas.map(|replicas| FallbackConfig {
                failure_threshold: 0,
                replicas,
                behavior: FallbackBehavior::Static,
            }),
            ..KedaConfig::default()
        };
        // Created long ago (a zero creation timestamp upstream), never
        // active: the initial cooldown is over.
        let mut e = KedaExecutor::new(cfg, at(0)).expect("valid");
        let d = e.request_scale(at(1000), r.current, r.active, r.error);
        let w = &r.want;
        if let Some(scale) = w.scale {
            assert_eq!(d.set_replicas, scale, "{}: scale", r.source);
        }
        if let Some((status, reason)) = w.active {
            assert_eq!(d.active_condition, Some(status), "{}: Active", r.source);
            if let Some(reason) = reason {
                assert_eq!(d.active_reason, Some(reason), "{}: Active reason", r.source);
            }
        }
        if let Some(set) = w.last_active {
            assert_eq!(d.last_active_time_set, set, "{}: lastActiveTime", r.source);
            assert_eq!(e.last_active_time().is_some(), set, "{}", r.source);
        }
        if let Some(ready) = w.ready {
            assert_eq!(d.ready, ready, "{}: Ready", r.source);
        }
        // Every row asserts something.
        assert!(
            w.scale.is_some()
                || w.active.is_some()
                || w.ready.is_some()
                || r.source.contains("HPAActive"),
            "{}",
            r.source
        );
    }
}

/// The Active reason while not active: `ScalerCooldown` while cooling
/// down, `ScalerNotActive` once cooled (and with paused-scale-in, which
/// returns before the cooldown check); `ScalerActive` when forced.
#[test]
fn active_reasons() {
    let cfg = KedaConfig::default();
    let mut e = KedaExecutor::new(cfg.clone(), at(0)).unwrap();
    e.set_last_active_time(Some(at(900)));
    let d = e.request_scale(at(1000), 3, false, false);
    assert_eq!(
        (d.set_replicas, d.active_reason),
        (None, Some("ScalerCooldown"))
    );
    let d = e.request_scale(at(1201), 3, false, false);
    assert_eq!(
        (d.set_replicas, d.active_reason),
        (Some(0), Some("ScalerNotActive"))
    );
    let paused_in = KedaConfig {
        paused_scale_in: true,
        ..cfg.clone()
    };
    let mut e = KedaExecutor::new(paused_in, at(0)).unwrap();
    e.set_last_active_time(Some(at(900)));
    let d = e.request_scale(at(1000), 3, false, false);
    assert_eq!(
        (d.set_replicas, d.active_reason),
        (None, Some("ScalerNotActive"))
    );
    let forced = KedaConfig {
        force_activation: true,
        ..cfg
    };
    let d = KedaExecutor::new(forced, at(0))
        .unwrap()
        .request_scale(at(10), 0, false, false);
    assert_eq!(
        (d.set_replicas, d.active_reason),
        (Some(1), Some("ScalerActive"))
    );
    // Paused: Ready stays True, Active untouched.
    let paused = KedaConfig {
        paused: true,
        ..KedaConfig::default()
    };
    let d = KedaExecutor::new(paused, at(0))
        .unwrap()
        .request_scale(at(10), 2, false, true);
    assert_eq!(
        (d.ready, d.active_condition, d.active_reason),
        (READY, None, None)
    );
}

/// `getHPAHealth` rows (`TestGetHPAHealth_*`) and the HPAActive rows of
/// the `TestRequestScale_*` tests: the HPA's `ScalingActive` condition
/// (`None`: it cannot be observed) and the HPAActive condition written
/// (`None`: untouched).
#[test]
fn hpa_health_rows() {
    use ConditionStatus::{False, True};
    let sa = |status: bool, reason: &str, message: &str| {
        Some(HpaScalingActive {
            status,
            reason: reason.to_string(),
            message: message.to_string(),
        })
    };
    let unhealthy = || sa(false, "FailedGetExternalMetric", "metrics not available");
    let unhealthy_want = Some((
        False,
        "FailedGetExternalMetric",
        "HPA is not actively scaling: metrics not available",
    ));
    type WantCond = Option<(ConditionStatus, &'static str, &'static str)>;
    let cases: Vec<(&str, Option<HpaScalingActive>, WantCond)> = vec![
        ("TestGetHPAHealth_NoHPAName", None, None),
        ("TestGetHPAHealth_HPAReadError", None, None),
        (
            "TestGetHPAHealth_ScalingActiveTrue",
            sa(true, "", ""),
            Some((True, "HPAActive", "HPA is actively scaling")),
        ),
        (
            "TestGetHPAHealth_ScalingActiveFalse",
            sa(false, "FailedGetExternalMetric", "unable to get metrics"),
            Some((
                False,
                "FailedGetExternalMetric",
                "HPA is not actively scaling: unable to get metrics",
            )),
        ),
        (
            "TestGetHPAHealth_ScalingDisabled",
            sa(
                false,
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero",
            ),
            Some((
                True,
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero",
            )),
        ),
        (
            "TestGetHPAHealth_NoGracePeriod",
            sa(false, "FailedGetExternalMetric", ""),
            Some((
                False,
                "FailedGetExternalMetric",
                "HPA is not actively scaling: ",
            )),
        ),
        (
            "TestGetHPAHealth_EmptyReasonFallback",
            sa(false, "", "unable to compute replica count"),
            Some((
                False,
                "HPAMetricsUnavailable",
                "HPA is not actively scaling: unable to compute replica count",
            )),
        ),
        // Only an AbleToScale condition: no ScalingActive yet.
        ("TestGetHPAHealth_NoScalingActiveConditionYet", None, None),
        (
            "TestRequestScale_NoError_HPAUnhealthy",
            unhealthy(),
            unhealthy_want,
        ),
        (
            "TestRequestScale_ScalerError_HPAUnhealthy",
            unhealthy(),
            unhealthy_want,
        ),
        (
            "TestRequestScale_TransientHPAGap_ReadyStaysTrue",
            unhealthy(),
            unhealthy_want,
        ),
        (
            "TestRequestScale_HPAHealthy_HPAActiveTrue",
            sa(true, "", ""),
            Some((True, "HPAActive", "HPA is actively scaling")),
        ),
        (
            "TestRequestScale_HPAScalingDisabled_HPAActiveTrueWithDistinctReason",
            sa(
                false,
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero",
            ),
            Some((
                True,
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero",
            )),
        ),
    ];
    assert_eq!(cases.len(), 13);
    for (source, observed, want) in cases {
        let got = hpa_health(observed.as_ref());
        let got = got
            .as_ref()
            .map(|c| (c.status, c.reason.as_str(), c.message.as_str()));
        assert_eq!(got, want, "{source}");
    }
    // TestCheckHPAHealth_CannotObserve_HPAActiveUnchanged: a condition
    // observed earlier stays as it was when the HPA cannot be read.
    let earlier = HpaActiveCondition {
        status: False,
        reason: "HPAMetricsUnavailable".to_string(),
        message: "FailedGetExternalMetric: metrics not available".to_string(),
    };
    let kept = hpa_health(None).unwrap_or_else(|| earlier.clone());
    assert_eq!(kept, earlier);
}
