use super::*;

fn at(s: u64) -> SimTime {
    SimTime(s * 1_000_000_000)
}

fn exec(cfg: KedaConfig) -> KedaExecutor {
    KedaExecutor::new(cfg, at(0)).expect("valid")
}

#[test]
fn executor_table() {
    // (min, idle, current, active, now_s, last_active_s) -> set_replicas
    let check = |min: u32,
                 idle: Option<u32>,
                 cur: u32,
                 active: bool,
                 now: u64,
                 last: Option<u64>,
                 want: Option<u32>| {
        let mut e = exec(KedaConfig {
            min_replica_count: min,
            idle_replica_count: idle,
            ..KedaConfig::default()
        });
        e.set_last_active_time(last.map(at));
        let d = e.request_scale(at(now), cur, active, false);
        assert_eq!(
            d.set_replicas, want,
            "min={min} idle={idle:?} cur={cur} active={active}"
        );
    };
    check(0, None, 0, true, 10, None, Some(1)); // activation 0 -> 1
    check(3, None, 0, true, 10, None, Some(3)); // activation 0 -> min
    check(0, None, 4, true, 10, None, None); // HPA owns 1..N
    check(0, None, 4, false, 100, Some(0), None); // cooling down (300 s)
    check(0, None, 4, false, 301, Some(0), Some(0)); // cooled: to 0
    check(0, None, 4, false, 300, Some(0), None); // strictly after
    check(2, Some(0), 5, false, 400, Some(0), Some(0)); // to idle
    check(2, Some(0), 0, true, 10, None, Some(2)); // idle -> min
    check(5, None, 1, false, 10, None, Some(5)); // below min, not active
}

#[test]
fn pause_annotations_block() {
    let mut e = exec(KedaConfig {
        paused_scale_out: true,
        ..KedaConfig::default()
    });
    assert_eq!(e.request_scale(at(10), 0, true, false).set_replicas, None);
    let mut e = exec(KedaConfig {
        paused_scale_in: true,
        ..KedaConfig::default()
    });
    assert_eq!(
        e.request_scale(at(1000), 3, false, false).set_replicas,
        None
    );
    // The executor does nothing while paused (the controller holds the
    // paused-replicas count).
    let mut e = exec(KedaConfig {
        paused_replicas: Some(7),
        ..KedaConfig::default()
    });
    let d = e.request_scale(at(1000), 3, true, false);
    assert_eq!(
        (d.set_replicas, d.paused, d.active_condition),
        (None, true, None)
    );
}

/// Ported from kedacore/keda pkg/scaling/executor/scale_scaledobjects_test.go:
/// `(test, config, current, is_active) -> (scale set to, Active condition)`.
#[test]
fn upstream_executor_cases() {
    let check =
        |test: &str, cfg: KedaConfig, cur: u32, active: bool, want: (Option<u32>, Option<bool>)| {
            let mut e = exec(cfg);
            let d = e.request_scale(at(1000), cur, active, false);
            assert_eq!((d.set_replicas, d.active_condition), want, "{test}");
        };
    let min = |n: u32| KedaConfig {
        min_replica_count: n,
        ..KedaConfig::default()
    };
    // TestScaleToMinReplicasWhenNotActive: min 0... current 5 -> 0 (created long ago)
    check(
        "TestScaleToMinReplicasWhenNotActive",
        min(0),
        5,
        false,
        (Some(0), Some(false)),
    );
    // TestScaleFromIdleToMinReplicasWhenActive: idle 0, min 5, current 0 -> 5
    let idle = KedaConfig {
        idle_replica_count: Some(0),
        ..min(5)
    };
    check(
        "TestScaleFromIdleToMinReplicasWhenActive",
        idle.clone(),
        0,
        true,
        (Some(5), Some(true)),
    );
    // TestScaleToPausedReplicasCount: paused-replicas "0", current 2,
    // active: no scale, Active condition untouched.
    let paused = KedaConfig {
        paused_replicas: Some(0),
        ..min(0)
    };
    check(
        "TestScaleToPausedReplicasCount",
        paused,
        2,
        true,
        (None, None),
    );
    // TestNoScaleToMinReplicasWhenNotActiveAndPauseScaleInAnnotationSet
    let no_in = KedaConfig {
        paused_scale_in: annotation_flag("true"),
        ..min(0)
    };
    check(
        "TestNoScaleToMinReplicasWhenNotActiveAndPauseScaleInAnnotationSet",
        no_in,
        5,
        false,
        (None, Some(false)),
    );
    // TestNoScaleToIdleReplicasWhenNotActiveAndPauseScaleInAnnotationSet:
    // idle 0, min 5, current 10, not active: held at 10.
    let idle_no_in = KedaConfig {
        paused_scale_in: annotation_flag("true"),
        ..idle.clone()
    };
    check(
        "TestNoScaleToIdleReplicasWhenNotActiveAndPauseScaleInAnnotationSet",
        idle_no_in,
        10,
        false,
        (None, Some(false)),
    );
    // TestScaleFromMinReplicasWhenActivationForced: force-activation, not
    // active, current 0 -> 1
    let forced = KedaConfig {
        force_activation: annotation_flag("true"),
        ..min(0)
    };
    check(
        "TestScaleFromMinReplicasWhenActivationForced",
        forced,
        0,
        false,
        (Some(1), Some(true)),
    );
    // TestNoScaleFromMinReplicasWhenActiveAndPausedScaleOutAnnotationSet
    let no_out = KedaConfig {
        paused_scale_out: annotation_flag("true"),
        ..min(0)
    };
    check(
        "TestNoScaleFromMinReplicasWhenActiveAndPausedScaleOutAnnotationSet",
        no_out,
        0,
        true,
        (None, Some(true)),
    );
    // TestNoScaleFromIdleReplicasToMinReplicasWhenActiveAndPausedScaleOutAnnotationSet
    let idle_no_out = KedaConfig {
        paused_scale_out: true,
        ..idle
    };
    check(
        "TestNoScaleFromIdleReplicasToMinReplicasWhenActiveAndPausedScaleOutAnnotationSet",
        idle_no_out,
        0,
        true,
        (None, Some(true)),
    );
    // Annotation values as strconv.ParseBool reads them; anything else is true.
    for (v, want) in [
        ("true", true),
        ("1", true),
        ("T", true),
        ("yes", true),
        ("false", false),
        ("0", false),
        ("F", false),
    ] {
        assert_eq!(annotation_flag(v), want, "{v}");
    }
}

#[test]
fn fallback_sequence() {
    let f = FallbackConfig {
        failure_threshold: 2,
        replicas: 4,
        behavior: FallbackBehavior::Static,
    };
    let mut s = FallbackState::default();
    let call =
        |s: &mut FallbackState, v: Option<f64>| metric_with_fallback(s, Some(&f), v, Some(9), 5.0);
    assert_eq!(call(&mut s, None), FallbackResult::Error);
    assert_eq!(call(&mut s, None), FallbackResult::Error);
    assert_eq!(call(&mut s, None), FallbackResult::Fallback(20.0));
    assert_eq!(s.status, HealthStatus::Failing);
    assert_eq!(call(&mut s, Some(1.5)), FallbackResult::Metric(1.5));
    assert_eq!(s, FallbackState::default());
    let higher = FallbackConfig {
        behavior: FallbackBehavior::CurrentReplicasIfHigher,
        failure_threshold: 0,
        ..f
    };
    assert_eq!(
        metric_with_fallback(&mut s, Some(&higher), None, Some(9), 5.0),
        FallbackResult::Fallback(45.0)
    );
    // A behavior that needs the current count, which could not be read.
    assert_eq!(
        metric_with_fallback(&mut s, Some(&higher), None, None, 5.0),
        FallbackResult::Error
    );
}

/// Ported from kedacore/keda `pkg/fallback/fallback_test.go` (Describe
/// "fallback"): one row per `It`. `TestUpdateStatusConcurrency` checks Go
/// map locking and has no counterpart here.
#[test]
fn upstream_fallback_cases() {
    use FallbackBehavior::*;
    use HealthStatus::*;
    let fb = |t: i32, r: i32, b: FallbackBehavior| {
        Some(FallbackConfig {
            failure_threshold: t,
            replicas: r,
            behavior: b,
        })
    };
    let st = |failures: u32, status: HealthStatus| FallbackState { failures, status };
    // (It, fallback, health before, scaler value (None = error), current
    // replicas, target AverageValue, result, health after)
    #[allow(clippy::type_complexity)]
    let cases: [(
        &str,
        Option<FallbackConfig>,
        FallbackState,
        Option<f64>,
        Option<u32>,
        f64,
        FallbackResult,
        FallbackState,
    ); 12] = [
        (
            "should return the expected metric when fallback is disabled",
            None,
            FallbackState::default(),
            Some(5.0),
            None,
            3.0,
            FallbackResult::Metric(5.0),
            FallbackState::default(),
        ),
        (
            "should initialise the health status on success when fallback is enabled and status is empty",
            fb(3, 10, Static),
            FallbackState::default(),
            Some(6.0),
            None,
            3.0,
            FallbackResult::Metric(6.0),
            st(0, Happy),
        ),
        (
            "should reset the health status when scaler metrics are available when fallback is enabled",
            fb(3, 10, Static),
            st(5, Failing),
            Some(6.0),
            None,
            3.0,
            FallbackResult::Metric(6.0),
            st(0, Happy),
        ),
        (
            "should not reset the health status when fallback is not enabled",
            None,
            st(5, Failing),
            Some(6.0),
            None,
            3.0,
            FallbackResult::Metric(6.0),
            st(5, Failing),
        ),
        (
            "should propagate the error when fallback is disabled",
            None,
            FallbackState::default(),
            None,
            None,
            3.0,
            FallbackResult::Error,
            FallbackState::default(),
        ),
        (
            "should bump the number of failures when metrics call fails",
            fb(3, 10, Static),
            st(0, Happy),
            None,
            None,
            10.0,
            FallbackResult::Error,
            st(1, Failing),
        ),
        (
            "should return a normalised metric when number of failures are beyond threshold",
            fb(3, 10, Static),
            st(3, Happy),
            None,
            Some(5),
            10.0,
            FallbackResult::Fallback(100.0),
            st(4, Failing),
        ),
        (
            "should ignore error if we fail to update kubernetes status",
            fb(3, 10, Static),
            st(3, Happy),
            None,
            Some(5),
            10.0,
            FallbackResult::Fallback(100.0),
            st(4, Failing),
        ),
        (
            "should return error when fallback is enabled but scaledobject has invalid parameter",
            fb(-3, 10, Static),
            st(3, Happy),
            None,
            None,
            10.0,
            FallbackResult::Error,
            st(3, Happy),
        ),
        (
            "should use fallback replicas when current replicas is lower when behavior is 'currentReplicasIfHigher'",
            fb(3, 10, CurrentReplicasIfHigher),
            st(3, Happy),
            None,
            Some(4),
            10.0,
            FallbackResult::Fallback(100.0),
            st(4, Failing),
        ),
        (
            "should use current replicas when behavior is 'currentReplicas'",
            fb(3, 10, CurrentReplicas),
            st(3, Happy),
            None,
            Some(6),
            10.0,
            FallbackResult::Fallback(60.0),
            st(4, Failing),
        ),
        (
            "should ignore current replicas when behavior is 'static'",
            fb(3, 10, Static),
            st(3, Happy),
            None,
            Some(15),
            10.0,
            FallbackResult::Fallback(100.0),
            st(4, Failing),
        ),
    ];
    for (it, f, before, scaler, current, target, want, after) in cases {
        let mut s = before;
        let got = metric_with_fallback(&mut s, f.as_ref(), scaler, current, target);
        assert_eq!((got, s), (want, after), "fallback_test.go: {it}");
    }
}

/// fallback_test.go "should set the fallback condition when a fallback
/// exists in the scaled object" / "... to false if the config is
/// invalid": another metric failing 6 times, this one failing a 4th time.
#[test]
fn upstream_fallback_condition_cases() {
    let other = FallbackState {
        failures: 6,
        status: HealthStatus::Failing,
    };
    for (threshold, want) in [(3, true), (-3, false)] {
        let f = FallbackConfig {
            failure_threshold: threshold,
            replicas: 10,
            behavior: FallbackBehavior::Static,
        };
        let mut this = FallbackState {
            failures: 3,
            status: HealthStatus::Happy,
        };
        metric_with_fallback(&mut this, Some(&f), None, Some(5), 10.0);
        // `updateStatus` writes the condition only for a valid fallback.
        let condition = f.is_valid() && fallback_condition(&[other, this], threshold);
        assert_eq!(condition, want, "threshold {threshold}");
    }
    assert!(!fallback_condition(
        &[FallbackState {
            failures: 3,
            status: HealthStatus::Failing
        }],
        3
    ));
}

/// The executor's error branch (`RequestScale`, not active): with a
/// fallback of nonzero replicas the scale is left for the HPA's fallback
/// (`TestRequestScale_ScalerErrorWithFallback_HPAHealthy` runs it); with
/// none, or replicas 0, an idle-able target is not held by the fallback.
#[test]
fn executor_error_branches_with_fallback() {
    let with = |replicas: i32| KedaConfig {
        fallback: Some(FallbackConfig {
            failure_threshold: 3,
            replicas,
            behavior: FallbackBehavior::Static,
        }),
        ..KedaConfig::default()
    };
    let run = |cfg: KedaConfig| {
        exec(cfg)
            .request_scale(at(10_000), 3, false, true)
            .set_replicas
    };
    assert_eq!(run(with(5)), None, "fallback 5: held for the HPA");
    assert_eq!(
        run(with(0)),
        Some(0),
        "fallback 0: falls through to scale-in"
    );
    assert_eq!(
        run(KedaConfig::default()),
        None,
        "no fallback: Ready=False only"
    );
}

#[test]
fn paused_annotations_disable_the_hpa_directions() {
    use crate::autoscalers::hpa::SelectPolicy;
    let h = KedaConfig {
        paused_scale_in: true,
        ..KedaConfig::default()
    }
    .hpa_config();
    let b = h.behavior.expect("behavior");
    assert_eq!(
        b.scale_down.expect("down").select_policy,
        SelectPolicy::Disabled
    );
    assert!(b.scale_up.is_none(), "scale-up keeps the API defaults");
    let h = KedaConfig {
        paused_scale_out: true,
        ..KedaConfig::default()
    }
    .hpa_config();
    assert!(h.validate().is_ok());
    let b = h.behavior.expect("behavior");
    assert_eq!(
        b.scale_up.expect("up").select_policy,
        SelectPolicy::Disabled
    );
}

#[test]
fn activity_table() {
    let t = |active: bool, error: bool, resource: bool| TriggerState {
        name: "t".into(),
        is_active: active,
        is_error: error,
        is_resource: resource,
    };
    let check = |ts: &[TriggerState], want: (bool, bool)| {
        let a = aggregate_activity(ts, None);
        assert_eq!((a.is_active, a.is_error), want);
    };
    check(&[t(false, false, false)], (false, false));
    check(
        &[t(true, false, false), t(false, true, false)],
        (true, true),
    );
    check(&[t(false, false, true)], (true, false));
    check(&[], (false, false));
    assert!(!aggregate_activity(&[t(true, false, false)], Some(false)).is_active);
}

#[test]
fn validation_rejects_bad_knobs() {
    let bad = |c: KedaConfig, needle: &str| {
        let e = c.validate().expect_err("invalid").to_string();
        assert!(e.contains(needle), "{e}");
    };
    bad(
        KedaConfig {
            min_replica_count: 5,
            max_replica_count: 2,
            ..KedaConfig::default()
        },
        "min_replicas > max_replicas",
    );
    bad(
        KedaConfig {
            min_replica_count: 1,
            idle_replica_count: Some(1),
            ..KedaConfig::default()
        },
        "IdleReplicaCount",
    );
    bad(
        KedaConfig {
            polling_interval_s: 0,
            ..KedaConfig::default()
        },
        "polling_interval_s",
    );
    bad(
        KedaConfig {
            fallback: Some(FallbackConfig {
                failure_threshold: -1,
                replicas: 2,
                behavior: FallbackBehavior::Static,
            }),
            ..KedaConfig::default()
        },
        "must both be greater than or equal to 0",
    );
    assert_eq!(KedaConfig::default().hpa_config().min_replicas, 1);
}

/// `doFallback` (`pkg/fallback/fallback.go`) for a Value metric: the
/// fallback replicas are divided by the ready pods before the target
/// scales them, so the HPA's `ceil(value / target × ready)` asks for the
/// fallback count; no ready pods (or none readable) is no fallback value.
/// Upstream's `fallback_test.go` has no Value row; these restate the code.
/// `(target, fallback replicas, behavior, current, ready) -> served`.
#[test]
fn value_metric_fallback() {
    use FallbackBehavior::*;
    /// (target, fallback replicas, behavior, current, ready) -> served.
    type Row = (f64, i32, FallbackBehavior, u32, Option<u32>, FallbackResult);
    let cases: &[Row] = &[
        (5.0, 6, Static, 2, Some(2), FallbackResult::Fallback(15.0)),
        (5.0, 6, Static, 2, Some(3), FallbackResult::Fallback(10.0)),
        // 10 × 4 / 3 = 13.333… milli-truncated.
        (
            10.0,
            4,
            Static,
            3,
            Some(3),
            FallbackResult::Fallback(13.333),
        ),
        (
            5.0,
            6,
            CurrentReplicas,
            8,
            Some(4),
            FallbackResult::Fallback(10.0),
        ),
        (
            5.0,
            6,
            CurrentReplicasIfHigher,
            2,
            Some(2),
            FallbackResult::Fallback(15.0),
        ),
        (
            5.0,
            6,
            CurrentReplicasIfLower,
            2,
            Some(2),
            FallbackResult::Fallback(5.0),
        ),
        (5.0, 6, Static, 2, Some(0), FallbackResult::Error),
        (5.0, 6, Static, 2, None, FallbackResult::Error),
    ];
    for &(target, replicas, behavior, current, ready, want) in cases {
        let f = FallbackConfig {
            failure_threshold: 1,
            replicas,
            behavior,
        };
        let mut state = FallbackState::default();
        let t = FallbackTarget::Value {
            target,
            ready_replicas: ready,
        };
        // The first failure is within the threshold: the error.
        let first = metric_with_fallback_to(&mut state, Some(&f), None, Some(current), t);
        assert_eq!(first, FallbackResult::Error);
        let got = metric_with_fallback_to(&mut state, Some(&f), None, Some(current), t);
        assert_eq!(
            got, want,
            "{target} {replicas} {behavior:?} {current} {ready:?}"
        );
        // The failure is counted even when there is no fallback value.
        assert_eq!(state.failures, 2);
        // Served to the HPA, the value asks for the fallback count.
        if let (FallbackResult::Fallback(v), Some(ready)) = (got, ready) {
            let milli = crate::autoscalers::adapter::milli;
            let tol = crate::autoscalers::hpa::Tolerances::default();
            let rec = crate::autoscalers::hpa::object_value_replicas(
                current,
                milli(v),
                milli(target),
                ready,
                tol,
            )
            .unwrap();
            let asked = match behavior {
                Static | ScalingModifiers => replicas as u32,
                CurrentReplicas => current,
                CurrentReplicasIfHigher => current.max(replicas as u32),
                CurrentReplicasIfLower => current.min(replicas as u32),
            };
            assert_eq!(rec.replicas, asked, "{target} {replicas} {behavior:?}");
        }
    }
    // AverageValue is unchanged by the ready count.
    let f = FallbackConfig {
        failure_threshold: 0,
        replicas: 6,
        behavior: Static,
    };
    let mut state = FallbackState::default();
    let avg = metric_with_fallback_to(
        &mut state,
        Some(&f),
        None,
        Some(2),
        FallbackTarget::AverageValue(5.0),
    );
    assert_eq!(avg, FallbackResult::Fallback(30.0));
}

/// `pkg/scaling/scale_handler_test.go` (at `8b4f083c`): the activity
/// `getScaledObjectState` returns, per upstream test. A cpu/memory
/// trigger reports no external metric and so is never active itself
/// (`TriggerState::is_active` false); the two tests about the
/// `keda_scaler_active` Prometheus series assert the activity too, which
/// is what is ported (the series is not modelled).
#[test]
fn upstream_scale_handler_activity() {
    let t = |name: &str, active: bool, error: bool, resource: bool| TriggerState {
        name: name.into(),
        is_active: active,
        is_error: error,
        is_resource: resource,
    };
    // (test, triggers, composite, (active, error, active triggers))
    type Row = (
        &'static str,
        Vec<TriggerState>,
        Option<bool>,
        (bool, bool, Vec<&'static str>),
    );
    let rows: Vec<Row> = vec![
        (
            "TestCheckScaledObjectScalersWithError",
            vec![t("metric-name", false, true, false)],
            None,
            (false, true, vec![]),
        ),
        (
            "TestCheckScaledObjectFindFirstActiveNotIgnoreOthers",
            vec![
                t("metric-name", true, false, false),
                t("metric-name", false, true, false),
            ],
            None,
            (true, true, vec!["metric-name"]),
        ),
        (
            "TestGetScaledObjectStateRecordsResourceScalerActiveMetric",
            vec![t("cpu", false, false, true)],
            None,
            (true, false, vec![]),
        ),
        // Formula "cpu": no external metric, so the composite is not
        // active; the cpu-only rule comes after and makes it active.
        (
            "TestGetScaledObjectStateSkipsResourceScalerActiveMetricWithModifiers",
            vec![t("cpu", false, false, true)],
            Some(false),
            (true, false, vec![]),
        ),
    ];
    for (test, triggers, composite, (active, error, names)) in rows {
        let a = aggregate_activity(&triggers, composite);
        assert_eq!(
            (a.is_active, a.is_error, a.active_triggers.clone()),
            (active, error, names.iter().map(|n| n.to_string()).collect()),
            "{test}"
        );
    }
    // What the code does beyond the tests: an error resets the composite
    // activity and the cpu/memory rule; an active composite is the one
    // active trigger.
    let err_cpu = [t("cpu", false, true, true)];
    assert!(!aggregate_activity(&err_cpu, None).is_active);
    let mixed = [t("a", true, false, false), t("b", false, true, false)];
    assert!(!aggregate_activity(&mixed, Some(true)).is_active);
    let ok = [t("a", false, false, false)];
    assert_eq!(
        aggregate_activity(&ok, Some(true)).active_triggers,
        vec![COMPOSITE_METRIC_NAME.to_string()]
    );
}
