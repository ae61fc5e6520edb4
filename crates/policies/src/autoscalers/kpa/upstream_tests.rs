//! Table cases ported from knative/serving
//! `pkg/autoscaler/scaling/autoscaler_test.go` (facts only: the inputs and
//! the outputs each upstream test asserts). Conventions of the port: the
//! upstream test decider has `TotalValue = target / 0.75`, panic threshold
//! 2, both rate limits 10, a 60 s stable window, reachable and the
//! concurrency metric unless a case says otherwise; it is created with one
//! ready pod and the ready count the test then sets is the step's. Upstream
//! compares the excess burst capacity within ±1, against
//! `floor(target / 0.75 × pods − TBC − observed panic value)`; so do these
//! tests. Upstream `time.Now()` calls within one test are the same instant
//! here; `now := time.Time{}` is t = 0.

use super::*;

/// The upstream test helper's spec for `(target, target burst capacity)`.
fn spec(target: f64, tbc: f64) -> DeciderSpec {
    DeciderSpec {
        scaling_metric: ScalingMetric::Concurrency,
        target,
        total: target / 0.75,
        target_burst_capacity: tbc,
        panic_threshold: 2.0,
        max_scale_up_rate: 10.0,
        max_scale_down_rate: 10.0,
        stable_window_s: 60,
        reachable: true,
        scale_down_delay_s: 0,
        activation_scale: 0,
        tick_interval_s: 2,
    }
}

/// The spec of the scale-down delay tests: target 10, rates 10, panic
/// threshold 100, no total or burst capacity, no stable window.
fn delay_spec(delay_s: u64, reachable: bool) -> DeciderSpec {
    DeciderSpec {
        total: 0.0,
        target_burst_capacity: 0.0,
        panic_threshold: 100.0,
        stable_window_s: 0,
        reachable,
        scale_down_delay_s: delay_s,
        ..spec(10.0, 0.0)
    }
}

/// The upstream expected burst capacity.
fn ebc(target: f64, tbc: f64, observed: f64, pods: f64) -> i32 {
    (target / 0.75 * pods - tbc - observed).floor() as i32
}

fn at(s: f64) -> SimTime {
    SimTime((1000.0 + s) as u64 * 1_000_000_000 + ((s.fract() * 1e9) as u64))
}

/// One `Scale` call: time, ready pods (or the counter's error), observed
/// `(stable, panic)` (`None`: the metric client errs) and the expected
/// `(desired, EBC)` (`None`: an invalid result; an EBC of `None` is not
/// asserted).
type Step = (
    f64,
    Result<u32, PodCountError>,
    Option<(f64, f64)>,
    Option<(i32, Option<i32>)>,
);

fn run(name: &str, d: &mut KpaDecider, steps: &[Step]) {
    for (k, &(t, ready, obs, want)) in steps.iter().enumerate() {
        let r = d.scale_counted(at(t), ready, obs);
        match want {
            None => assert!(!r.valid, "{name} step {k}: want invalid, got {r:?}"),
            Some((desired, e)) => {
                assert!(r.valid, "{name} step {k}: want valid, got {r:?}");
                assert_eq!(r.desired_pod_count, desired, "{name} step {k}");
                if let Some(e) = e {
                    assert!(
                        (r.excess_burst_capacity - e).abs() <= 1,
                        "{name} step {k}: EBC {} want {e}",
                        r.excess_burst_capacity
                    );
                }
            }
        }
    }
}

fn fresh(s: DeciderSpec, ready_at_creation: u32) -> KpaDecider {
    KpaDecider::new(s, ready_at_creation, at(0.0)).expect("valid upstream spec")
}

fn ok(desired: i32, e: i32) -> Option<(i32, Option<i32>)> {
    Some((desired, Some(e)))
}

#[test]
fn scale_down_delay() {
    // TestAutoscalerScaleDownDelay: subtests "simple" then "gradual" on one
    // autoscaler created with no ready pods.
    let mut d = fresh(delay_spec(300, true), 0);
    let s = |v: f64| Some((v, v));
    let w = |n: i32| Some((n, Some(0)));
    run(
        "ScaleDownDelay",
        &mut d,
        &[
            (2.0, Ok(0), s(40.0), w(4)),
            (300.0, Ok(0), s(0.0), w(4)),
            (302.0, Ok(0), s(0.0), w(0)),
            (540.0, Ok(0), s(40.0), w(4)),
            (600.0, Ok(0), s(30.0), w(4)),
            (660.0, Ok(0), s(0.0), w(4)),
            (840.0, Ok(0), s(0.0), w(3)),
            (900.0, Ok(0), s(0.0), w(0)),
        ],
    );
}

#[test]
fn scale_down_delay_not_reachable_and_zero() {
    // TestAutoscalerScaleDownDelayNotReachable: the update to an unreachable
    // spec bypasses the delay window.
    let mut d = fresh(delay_spec(300, true), 0);
    let s = |v: f64| Some((v, v));
    run(
        "NotReachable",
        &mut d,
        &[
            (2.0, Ok(0), s(40.0), ok(4, 0)),
            (60.0, Ok(0), s(0.0), ok(4, 0)),
        ],
    );
    d.update(delay_spec(300, false)).expect("valid");
    run("NotReachable", &mut d, &[(2.0, Ok(0), s(0.0), ok(0, 0))]);
    // TestAutoscalerScaleDownDelayZero: no window, so 4 then 2 at once
    // (the spec leaves Reachable false: no scale-down limit).
    let mut d = fresh(delay_spec(0, false), 0);
    run(
        "DelayZero",
        &mut d,
        &[
            (0.0, Ok(0), s(40.0), ok(4, 0)),
            (0.5, Ok(0), s(20.0), ok(2, 0)),
        ],
    );
}

#[test]
fn update_keeps_the_delay_window_made_at_creation() {
    // Upstream `Update` only swaps the spec: a decider created without a
    // delay keeps scaling down at once after an update that adds one, and
    // one created with a delay keeps its window after an update to 0.
    let mut d = fresh(delay_spec(0, true), 0);
    d.update(delay_spec(300, true)).expect("valid");
    let s = |v: f64| Some((v, v));
    run(
        "no window",
        &mut d,
        &[
            (2.0, Ok(0), s(40.0), ok(4, 0)),
            (4.0, Ok(0), s(0.0), ok(0, 0)),
        ],
    );
    let mut d = fresh(delay_spec(300, true), 0);
    d.update(delay_spec(0, true)).expect("valid");
    run(
        "kept window",
        &mut d,
        &[
            (2.0, Ok(0), s(40.0), ok(4, 0)),
            (4.0, Ok(0), s(0.0), ok(4, 0)),
        ],
    );
}

#[test]
fn no_data_and_pod_count_errors() {
    // TestAutoscalerNoDataNoAutoscale: the metric client errs.
    run(
        "NoData",
        &mut fresh(spec(10.0, 100.0), 1),
        &[(0.0, Ok(1), None, None)],
    );
    // TestCantCountPods: the pod counter errs → invalid.
    run(
        "CantCountPods",
        &mut fresh(spec(10.0, 81.0), 1),
        &[(0.0, Err(PodCountError::Other), Some((1000.0, 888.0)), None)],
    );
    // TestAutoscalerUseOnePodAsMinimumIfEndpointsNotFound: 0 ready pods
    // rate-limit as 1 (×10) and give no capacity.
    run(
        "OnePodAsMinimum",
        &mut fresh(spec(10.0, 81.0), 1),
        &[(
            0.0,
            Ok(0),
            Some((1000.0, 888.0)),
            ok(10, ebc(10.0, 81.0, 888.0, 0.0)),
        )],
    );
    // A not-found endpoints error carries on with 0 ready pods.
    run(
        "NotFound",
        &mut fresh(spec(10.0, 81.0), 1),
        &[(
            0.0,
            Err(PodCountError::NotFound),
            Some((1000.0, 888.0)),
            ok(10, ebc(10.0, 81.0, 888.0, 0.0)),
        )],
    );
}

#[test]
fn metrics_tests_and_stable_increase() {
    // TestAutoscalerMetrics.
    run(
        "Metrics",
        &mut fresh(spec(10.0, 100.0), 1),
        &[(
            0.0,
            Ok(1),
            Some((50.0, 50.0)),
            ok(5, ebc(10.0, 100.0, 50.0, 1.0)),
        )],
    );
    // TestAutoscalerMetricsWithRPS: 61 s after creation.
    let rps = DeciderSpec {
        scaling_metric: ScalingMetric::Rps,
        ..spec(10.0, 100.0)
    };
    let mut d = fresh(rps.clone(), 1);
    run(
        "MetricsWithRPS",
        &mut d,
        &[(
            61.0,
            Ok(1),
            Some((100.0, 99.0)),
            ok(10, ebc(10.0, 100.0, 99.0, 1.0)),
        )],
    );
    assert!(d.in_panic(), "MetricsWithRPS reports panic mode");
    // TestAutoscalerStableModeIncreaseWithConcurrencyDefault.
    run(
        "IncreaseConcurrency",
        &mut fresh(spec(10.0, 101.0), 1),
        &[
            (
                0.0,
                Ok(1),
                Some((50.0, 10.0)),
                ok(5, ebc(10.0, 101.0, 10.0, 1.0)),
            ),
            (
                0.0,
                Ok(1),
                Some((100.0, 10.0)),
                ok(10, ebc(10.0, 101.0, 10.0, 1.0)),
            ),
        ],
    );
    // TestAutoscalerStableModeIncreaseWithRPS.
    let rps = DeciderSpec {
        target_burst_capacity: 101.0,
        ..rps
    };
    run(
        "IncreaseRPS",
        &mut fresh(rps, 1),
        &[
            (
                0.0,
                Ok(1),
                Some((50.0, 50.0)),
                ok(5, ebc(10.0, 101.0, 50.0, 1.0)),
            ),
            (
                0.0,
                Ok(1),
                Some((100.0, 99.0)),
                ok(10, ebc(10.0, 101.0, 99.0, 1.0)),
            ),
        ],
    );
}

#[test]
fn panic_window_unpanic_and_extend() {
    // TestAutoscalerUnpanicAfterSlowIncrease: panic at 0 (10 → 25 pods),
    // still panicking half a stable window later without moving the panic
    // time, out of panic a stable window and a tick after it.
    let mut d = fresh(spec(1.0, 98.0), 1);
    let e = |obs: f64, pods: f64| ebc(1.0, 98.0, obs, pods);
    run(
        "Unpanic",
        &mut d,
        &[(0.0, Ok(10), Some((11.0, 25.0)), ok(25, e(25.0, 10.0)))],
    );
    assert!(d.in_panic());
    run(
        "Unpanic",
        &mut d,
        &[(30.0, Ok(40), Some((30.0, 41.0)), ok(41, e(41.0, 40.0)))],
    );
    assert!(d.in_panic());
    run(
        "Unpanic",
        &mut d,
        &[(62.0, Ok(55), Some((50.0, 56.0)), ok(50, e(56.0, 55.0)))],
    );
    assert!(!d.in_panic(), "panic time reset");
    assert_eq!(d.max_panic_pods(), 0);
    // TestAutoscalerExtendPanicWindow: still surging at 30 s moves the panic
    // time, so a stable window after the start it still holds.
    let mut d = fresh(spec(1.0, 98.0), 1);
    run(
        "Extend",
        &mut d,
        &[
            (0.0, Ok(10), Some((11.0, 25.0)), ok(25, e(25.0, 10.0))),
            (30.0, Ok(40), Some((30.0, 80.0)), ok(80, e(80.0, 40.0))),
            // Not asserted upstream; follows from the moved panic time.
            (62.0, Ok(80), Some((30.0, 30.0)), Some((80, None))),
        ],
    );
    // TestAutoscalerPanicThenUnPanicScaleDown.
    let e = |obs: f64, pods: f64| ebc(10.0, 93.0, obs, pods);
    run(
        "PanicThenUnpanic",
        &mut fresh(spec(10.0, 93.0), 1),
        &[
            (0.0, Ok(1), Some((100.0, 100.0)), ok(10, e(100.0, 1.0))),
            (0.0, Ok(10), Some((100.0, 1000.0)), ok(100, e(1000.0, 10.0))),
            (30.0, Ok(10), Some((1.0, 1.0)), ok(100, e(1.0, 10.0))),
            (61.0, Ok(10), Some((1.0, 1.0)), ok(1, e(1.0, 10.0))),
        ],
    );
    // TestAutoscalerPanicModeExponentialTrackAndStabilize.
    let e = |obs: f64, pods: f64| ebc(1.0, 101.0, obs, pods);
    let mut d = fresh(spec(1.0, 101.0), 1);
    run(
        "Exponential",
        &mut d,
        &[
            (0.0, Ok(1), Some((6.0, 6.0)), ok(6, e(6.0, 1.0))),
            (0.0, Ok(6), Some((36.0, 36.0)), ok(36, e(36.0, 6.0))),
            (1.0, Ok(36), Some((216.0, 216.0)), ok(216, e(216.0, 36.0))),
            (
                1.0,
                Ok(216),
                Some((1296.0, 1296.0)),
                ok(1296, e(1296.0, 216.0)),
            ),
            (
                2.0,
                Ok(1296),
                Some((1296.0, 1296.0)),
                ok(1296, e(1296.0, 1296.0)),
            ),
        ],
    );
}

#[test]
fn stable_mode_and_activation_scale() {
    // TestAutoscalerStableModeDecrease.
    let e = |obs: f64| ebc(10.0, 98.0, obs, 8.0);
    run(
        "Decrease",
        &mut fresh(spec(10.0, 98.0), 1),
        &[
            (0.0, Ok(8), Some((100.0, 100.0)), ok(10, e(100.0))),
            (0.0, Ok(8), Some((50.0, 50.0)), ok(5, e(50.0))),
        ],
    );
    // TestAutoscalerStableModeNoTrafficScaleToZero.
    let e = ebc(10.0, 75.0, 0.0, 1.0);
    run(
        "NoTrafficScaleToZero",
        &mut fresh(spec(10.0, 75.0), 1),
        &[
            (0.0, Ok(1), Some((1.0, 0.0)), ok(1, e)),
            (0.0, Ok(1), Some((0.0, 0.0)), ok(0, e)),
        ],
    );
    // TestAutoscalerActivationScale: 0 stays 0, any positive count is
    // raised to the activation scale.
    let s = DeciderSpec {
        activation_scale: 2,
        ..spec(10.0, 75.0)
    };
    run(
        "ActivationScale",
        &mut fresh(s, 1),
        &[
            (0.0, Ok(1), Some((0.0, 0.0)), ok(0, e)),
            (0.0, Ok(1), Some((1.0, 0.0)), ok(2, e)),
        ],
    );
}

#[test]
fn rate_limits_and_update_target() {
    // TestAutoscalerRateLimitScaleUp: ×10 per decision.
    let e = |pods: f64| ebc(10.0, 61.0, 1001.0, pods);
    run(
        "RateLimitScaleUp",
        &mut fresh(spec(10.0, 61.0), 1),
        &[
            (0.0, Ok(1), Some((1000.0, 1001.0)), ok(10, e(1.0))),
            (0.0, Ok(10), Some((1000.0, 1001.0)), ok(100, e(10.0))),
        ],
    );
    // TestAutoscalerRateLimitScaleDown: ÷10 per decision.
    let e = |pods: f64| ebc(10.0, 61.0, 1.0, pods);
    run(
        "RateLimitScaleDown",
        &mut fresh(spec(10.0, 61.0), 1),
        &[
            (0.0, Ok(100), Some((1.0, 1.0)), ok(10, e(100.0))),
            (0.0, Ok(10), Some((1.0, 1.0)), ok(1, e(10.0))),
        ],
    );
    // TestAutoscalerUpdateTarget: the new spec (target 1, TBC 71, Reachable
    // left false) takes effect at the next decision.
    let mut d = fresh(spec(10.0, 77.0), 1);
    run(
        "UpdateTarget",
        &mut d,
        &[(
            0.0,
            Ok(1),
            Some((100.0, 101.0)),
            ok(10, ebc(10.0, 77.0, 101.0, 1.0)),
        )],
    );
    d.update(DeciderSpec {
        reachable: false,
        ..spec(1.0, 71.0)
    })
    .expect("valid");
    run(
        "UpdateTarget",
        &mut d,
        &[(
            0.0,
            Ok(10),
            Some((100.0, 101.0)),
            ok(100, ebc(1.0, 71.0, 101.0, 10.0)),
        )],
    );
}

#[test]
fn autoscaler_scale_table() {
    // TestAutoscalerScale: each case a fresh autoscaler (created with one
    // ready pod), then the ready count and the case's changes, then one
    // Scale. (label, target, TBC, base scale, stable, panic, change, want
    // desired, want EBC).
    type Prep = fn(&mut DeciderSpec, &mut KpaDecider);
    let none: Prep = |_, _| {};
    let in_panic: Prep = |_, d| d.set_panic_state(Some(at(-5.0)), 5);
    let slow_up: Prep = |s, _| s.max_scale_up_rate = 1.1;
    let slow_down: Prep = |s, _| s.max_scale_down_rate = 1.1;
    let unreachable: Prep = |s, _| {
        s.max_scale_down_rate = 1.1;
        s.reachable = false;
    };
    #[allow(clippy::type_complexity)]
    let cases: &[(&str, f64, f64, u32, f64, f64, Prep, i32, i32)] = &[
        (
            "AutoscalerNoDataAtZeroNoAutoscale",
            10.0,
            100.0,
            1,
            0.0,
            0.0,
            none,
            0,
            ebc(10.0, 100.0, 0.0, 1.0),
        ),
        (
            "AutoscalerNoDataAtZeroNoAutoscaleWithExplicitEPs",
            10.0,
            100.0,
            1,
            0.0,
            0.0,
            none,
            0,
            ebc(10.0, 100.0, 0.0, 1.0),
        ),
        (
            "AutoscalerStableModeUnlimitedTBC",
            181.0,
            -1.0,
            1,
            21.0,
            26.0,
            none,
            1,
            -1,
        ),
        ("Autoscaler0TBC", 10.0, 0.0, 1, 50.0, 49.0, none, 5, 0),
        (
            "AutoscalerStableModeNoChange",
            10.0,
            100.0,
            1,
            50.0,
            50.0,
            none,
            5,
            ebc(10.0, 100.0, 50.0, 1.0),
        ),
        (
            "AutoscalerPanicStableLargerThanPanic",
            1.0,
            100.0,
            5,
            50.0,
            30.0,
            in_panic,
            50,
            ebc(1.0, 100.0, 30.0, 5.0),
        ),
        (
            "AutoscalerPanicStableLessThanPanic",
            1.0,
            100.0,
            5,
            20.0,
            30.0,
            in_panic,
            30,
            ebc(1.0, 100.0, 30.0, 5.0),
        ),
        (
            "AutoscalerStableModeNoChangeAlreadyScaled",
            10.0,
            100.0,
            5,
            50.0,
            50.0,
            none,
            5,
            ebc(10.0, 100.0, 50.0, 5.0),
        ),
        (
            "AutoscalerStableModeIncreaseWithSmallScaleUpRate",
            1.0,
            1982.0,
            2,
            3.0,
            3.1,
            slow_up,
            3,
            ebc(1.0, 1982.0, 3.1, 2.0),
        ),
        (
            "AutoscalerStableModeDecreaseWithSmallScaleDownRate",
            10.0,
            1982.0,
            100,
            1.0,
            1.0,
            slow_down,
            90,
            ebc(10.0, 1982.0, 1.0, 100.0),
        ),
        (
            "AutoscalerStableModeDecreaseNonReachable",
            10.0,
            1982.0,
            100,
            1.0,
            1.0,
            unreachable,
            1,
            ebc(10.0, 1982.0, 1.0, 100.0),
        ),
        (
            "AutoscalerPanicModeDoublePodCount",
            10.0,
            84.0,
            1,
            50.0,
            100.0,
            none,
            10,
            ebc(10.0, 84.0, 100.0, 1.0),
        ),
    ];
    for &(label, target, tbc, base, stable, panic, prep, want, want_ebc) in cases {
        let mut s = spec(target, tbc);
        let mut d = fresh(s.clone(), 1);
        prep(&mut s, &mut d);
        d.update(s).expect("valid");
        run(
            label,
            &mut d,
            &[(0.0, Ok(base), Some((stable, panic)), ok(want, want_ebc))],
        );
    }
}

#[test]
fn creation_panic_state() {
    // TestStartInPanicMode: created with 0 or 1 ready pods → no panic and
    // that many max panic pods; with 2 → panic holding 2.
    let s = DeciderSpec {
        total: 120.0,
        target_burst_capacity: 11.0,
        panic_threshold: 220.0,
        reachable: false,
        ..spec(100.0, 11.0)
    };
    for i in 0..3 {
        let d = fresh(s.clone(), i);
        assert_eq!(d.in_panic(), i == 2, "created at {i}");
        assert_eq!(d.max_panic_pods(), i as i32, "created at {i}");
    }
    // TestNewFail: the pod counter errs at creation → 0 max panic pods.
    let d = KpaDecider::new_counted(s, Err(PodCountError::Other), at(0.0)).expect("valid");
    assert!(!d.in_panic());
    assert_eq!(d.max_panic_pods(), 0);
}
