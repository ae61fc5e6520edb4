//! Cases ported from ray-project/ray
//! `python/ray/serve/tests/unit/test_autoscaling_policy.py` (facts only:
//! each upstream case's inputs and the outputs it asserts). Ray is read
//! file by file from stored versions that are not pinned to a commit (see
//! the reference's §4); two versions of the test file are ported, each
//! against the policy generation it tests:
//!
//! - *Mid generation* (`from ray.serve.autoscaling_policy import
//!   _calculate_desired_num_replicas, replica_queue_length_autoscaling_policy`):
//!   `TestCalculateDesiredNumReplicas` against
//!   [`calculate_desired_num_replicas`], and `TestReplicaQueueLengthPolicy`
//!   against [`Mid`] (the mid-generation policy: cold start, then
//!   `_calculate_desired_num_replicas` with the capacity bounds, then
//!   `_apply_scaling_decision_smoothing` = [`apply_delay_logic`]; the
//!   decision counter lives in the context's own `policy_state`, so it
//!   carries from call to call).
//! - *Newest tick-counting generation* (imports `_apply_autoscaling_config`,
//!   `_apply_bounds`, `_apply_delay_logic`, `_apply_scaling_factors`):
//!   `TestReplicaQueueLengthPolicy` against [`RayServePolicy::decide`]
//!   (the wrapped default policy), `TestAutoscalingConfigParameters`,
//!   `TestCustomPolicyWithDefaultParameters` and
//!   `TestAppLevelPolicyWithDefaultParameters` against the building blocks
//!   and [`RayServePolicy::apply`]. The wrapper copies `policy_state`, so a
//!   test that drops the returned state starts every call from a zero
//!   counter ([`once`]); `_run_upscale_downscale_flow` threads it (one
//!   [`RayServePolicy`] for the whole flow).
//! - `test_callable_and_direct_values`: lazy evaluation and caching of
//!   Python callables in `AutoscalingContext`; nothing of the decision.
//! - *Newest generation* (the stored version that imports
//!   `SERVE_AUTOSCALING_DECISION_TIMESTAMP_KEY`): the delays are wall-clock
//!   time since a run's first decision. `test_apply_delay_logic_upscale`,
//!   `test_apply_delay_logic_downscale` (their `_now` forms) and
//!   `test_upscale_delay_respected_with_slow_loop_steps` against
//!   [`apply_delay_logic_at`]; the tick-generation tests above run with
//!   `delay_clock = Ticks`, the version they test (their flows, on delays
//!   that are whole numbers of ticks, give the same decisions on the wall
//!   clock, whose flow waits `ceil(delay_s × 10)` ticks).
//!
//! Not ported, and why:
//! - The newest file's
//!   `test_exclude_early_partial_period_in_timeseries_aggregation` (metric
//!   aggregation: the adapter's job), the gang-scheduling policy and the
//!   `DeploymentAutoscalingState` tests need Ray's controller state.
//! - The end-to-end tests of the older file versions in
//!   `python/ray/serve/tests/test_autoscaling_policy.py`
//!   (`test_initial_num_replicas`, `test_e2e_*`, the scale-to-zero e2e
//!   tests, `test_cold_start_time`, ...): they start a Serve instance, a
//!   controller and replica actors and wait on real replicas.

use super::*;

/// The tick-counting generations' config.
fn cfg(min: u32, max: u32) -> RayServeConfig {
    RayServeConfig {
        min_replicas: min,
        max_replicas: max,
        delay_clock: DelayClock::Ticks,
        ..RayServeConfig::default()
    }
}

/// A policy under test: one call with `(current, target, total)`.
trait Decider {
    fn step(&mut self, current: u32, target: u32, total: f64) -> u32;
}

impl Decider for RayServePolicy {
    fn step(&mut self, current: u32, target: u32, total: f64) -> u32 {
        self.decide(current, target, total)
    }
}

/// The mid-generation `replica_queue_length_autoscaling_policy`.
struct Mid {
    cfg: RayServeConfig,
    state: DelayState,
}

impl Mid {
    fn new(cfg: RayServeConfig) -> Self {
        cfg.validate().expect("valid");
        Mid {
            cfg,
            state: DelayState::default(),
        }
    }
}

impl Decider for Mid {
    fn step(&mut self, current: u32, target: u32, total: f64) -> u32 {
        if current == 0 {
            return if total > 0.0 {
                (self.cfg.effective_upscaling_factor().ceil() as u32).max(target)
            } else {
                target
            };
        }
        let d = calculate_desired_num_replicas(&self.cfg, total, current).expect("running");
        apply_delay_logic(&self.cfg, &mut self.state, d, target)
    }
}

/// `simple_custom_policy` under `_apply_autoscaling_config`: raw 3 when
/// there are requests, else 0.
struct Custom(RayServePolicy);

impl Decider for Custom {
    fn step(&mut self, current: u32, target: u32, total: f64) -> u32 {
        let raw = if total > 0.0 { 3.0 } else { 0.0 };
        self.0.apply(raw, current, target, total)
    }
}

fn policy(c: &RayServeConfig) -> RayServePolicy {
    RayServePolicy::new(c.clone()).expect("valid")
}

/// One call of the wrapped default policy whose returned state is dropped.
fn once(c: &RayServeConfig, current: u32, target: u32, total: f64) -> u32 {
    policy(c).decide(current, target, total)
}

/// `_run_upscale_downscale_flow` (`int(delay / CONTROL_LOOP_INTERVAL_S)`
/// wait periods). `down_interrupt` is the request count of the scale-up
/// decision that interrupts the downscale (the mid-generation test inlines
/// the flow with 200 there).
fn run_upscale_downscale_flow(
    t: &str,
    p: &mut dyn Decider,
    c: &RayServeConfig,
    overload: f64,
    start: u32,
    up: u32,
    down_interrupt: f64,
) {
    let w = |d: f64| delay_ticks(d, CONTROL_LOOP_INTERVAL_S);
    let (wu, wd) = (w(c.upscale_delay_s), w(c.downscale_delay_s));
    let wz = w(c.downscale_to_zero_delay_s.unwrap_or(c.downscale_delay_s));
    let hold = |p: &mut dyn Decider, n: i64, cur: u32, total: f64, what: &str| {
        for i in 0..n {
            assert_eq!(p.step(cur, cur, total), cur, "{t}: {what} tick {i}");
        }
    };
    hold(p, wu, start, overload, "upscale wait");
    assert_eq!(p.step(start, start, overload), up, "{t}: upscale");
    hold(p, wd, up, 0.0, "downscale wait");
    assert_eq!(p.step(up, up, 0.0), 1, "{t}: downscale to 1");
    hold(p, wz, 1, 0.0, "to-zero wait");
    assert_eq!(p.step(1, 1, 0.0), 0, "{t}: 1 -> 0");
    hold(p, wu / 2, 1, overload, "partial upscale");
    p.step(1, 1, 0.0); // interrupt with a scale-down decision
    hold(p, wu, 1, overload, "upscale wait after reset");
    assert_eq!(p.step(1, 1, overload), up, "{t}: upscale after reset");
    hold(p, wd / 2, up, 0.0, "partial downscale");
    p.step(up, up, down_interrupt); // interrupt with a scale-up decision
    hold(p, wd, up, 0.0, "downscale wait after reset");
    assert_eq!(p.step(up, up, 0.0), 1, "{t}: downscale to 1 after reset");
    hold(p, wz / 2, 1, 0.0, "partial to-zero");
    p.step(1, 1, overload); // interrupt with a scale-up decision
    hold(p, wz, 1, 0.0, "to-zero wait after reset");
    assert_eq!(p.step(1, 1, 0.0), 0, "{t}: 1 -> 0 after reset");
}

/// `RAY_SERVE_CONTROL_LOOP_INTERVAL_S` default, as the tests read it.
const CONTROL_LOOP_INTERVAL_S: f64 = 0.1;

#[test]
fn calculate_desired_num_replicas_bounds_checking() {
    // TestCalculateDesiredNumReplicas::test_bounds_checking: 10 running,
    // [9, 11], target 100.
    let c = RayServeConfig {
        target_ongoing_requests: 100.0,
        ..cfg(9, 11)
    };
    let calc = |total: f64| calculate_desired_num_replicas(&c, total, 10).expect("running");
    assert_eq!(calc(150.0 * 10.0), 11);
    assert_eq!(calc(50.0 * 10.0), 9);
    for i in 50..150 {
        let d = calc(f64::from(i) * 10.0);
        assert!((9..=11).contains(&d), "i={i}: {d}");
    }
}

#[test]
fn calculate_desired_num_replicas_scale_up_and_down() {
    // test_scale_up / test_scale_down [target_requests]: 10 running, [0, 100].
    for target in [0.5, 1.0, 1.5] {
        let c = RayServeConfig {
            target_ongoing_requests: target,
            ..cfg(0, 100)
        };
        let up = calculate_desired_num_replicas(&c, 2.0 * target * 10.0, 10).expect("running");
        assert!((19..=21).contains(&up), "test_scale_up[{target}]: {up}");
        let down = calculate_desired_num_replicas(&c, 0.5 * target * 10.0, 10).expect("running");
        assert!((4..=6).contains(&down), "test_scale_down[{target}]: {down}");
    }
}

/// (test, config, allowed range at 8 and at 0.25 requests per replica).
type FactorCase = (&'static str, RayServeConfig, (u32, u32), (u32, u32));

#[test]
fn calculate_desired_num_replicas_scaling_factors() {
    // (test[use_deprecated_smoothing_factor], config, range at 8 req/replica,
    // range at 0.25 req/replica); 10 running, [0, 100], target 2.
    let base = RayServeConfig {
        target_ongoing_requests: 2.0,
        ..cfg(0, 100)
    };
    let half = Some(0.5);
    let cases: [FactorCase; 6] = [
        (
            "test_scaling_factor[True]",
            RayServeConfig {
                smoothing_factor: 0.5,
                ..base.clone()
            },
            (24, 26),
            (5, 8),
        ),
        (
            "test_scaling_factor[False]",
            RayServeConfig {
                upscaling_factor: half,
                downscaling_factor: half,
                ..base.clone()
            },
            (24, 26),
            (5, 8),
        ),
        (
            "test_upscaling_factor[True]",
            RayServeConfig {
                upscale_smoothing_factor: half,
                ..base.clone()
            },
            (24, 26),
            (1, 4),
        ),
        (
            "test_upscaling_factor[False]",
            RayServeConfig {
                upscaling_factor: half,
                ..base.clone()
            },
            (24, 26),
            (1, 4),
        ),
        (
            "test_downscaling_factor[True]",
            RayServeConfig {
                downscale_smoothing_factor: half,
                ..base.clone()
            },
            (39, 41),
            (5, 8),
        ),
        (
            "test_downscaling_factor[False]",
            RayServeConfig {
                downscaling_factor: half,
                ..base.clone()
            },
            (39, 41),
            (5, 8),
        ),
    ];
    for (t, c, (ul, uh), (dl, dh)) in cases {
        c.validate().expect(t);
        let up = calculate_desired_num_replicas(&c, 8.0 * 10.0, 10).expect("running");
        assert!((ul..=uh).contains(&up), "{t} up: {up}");
        let down = calculate_desired_num_replicas(&c, 0.25 * 10.0, 10).expect("running");
        assert!((dl..=dh).contains(&down), "{t} down: {down}");
    }
}

#[test]
fn downscaling_with_fractional_scaling_factor() {
    // test_downscaling_with_fractional_scaling_factor
    // [num_replicas, ratio, scaling_factor] x [use_deprecated_smoothing_factor]:
    // every case downscales by exactly one replica; [0, 100], target 1.
    for (n, ratio, f) in [(2u32, 0.3, 0.5), (5, 0.4, 0.2), (10, 0.4, 0.1)] {
        for deprecated in [true, false] {
            let c = RayServeConfig {
                target_ongoing_requests: 1.0,
                downscale_smoothing_factor: deprecated.then_some(f),
                downscaling_factor: (!deprecated).then_some(f),
                ..cfg(0, 100)
            };
            let d = calculate_desired_num_replicas(&c, ratio * f64::from(n), n).expect("running");
            assert_eq!(d, n - 1, "[{n}-{ratio}-{f}] deprecated={deprecated}");
        }
    }
}

/// The three `(use_smoothing_factor, use_scaling_factor)` parameter sets
/// and the config they give for factor `f` (`up` picks the direction).
fn factor_params(up: bool, f: f64) -> [(&'static str, RayServeConfig); 3] {
    let with = |smoothing: bool, scaling: bool| {
        let (s, x) = (smoothing.then_some(f), scaling.then_some(f));
        if up {
            RayServeConfig {
                upscale_smoothing_factor: s,
                upscaling_factor: x,
                ..cfg(0, 2)
            }
        } else {
            RayServeConfig {
                downscale_smoothing_factor: s,
                downscaling_factor: x,
                upscale_delay_s: 0.0,
                downscale_delay_s: 0.0,
                ..cfg(0, 5)
            }
        }
    };
    [
        ("[True-True]", with(true, true)),
        ("[True-False]", with(true, false)),
        ("[False-True]", with(false, true)),
    ]
}

#[test]
fn scaling_factor_scale_up_from_0_replicas() {
    // test_scaling_factor_scale_up_from_0_replicas: 0 running, target 0, one
    // request, [0, 2]: the cold start takes ceil(1 · factor), unbounded.
    for (f, want) in [(10.0, 10), (0.5, 1)] {
        for (t, c) in factor_params(true, f) {
            assert_eq!(once(&c, 0, 0, 1.0), want, "newest {t} factor {f}");
            assert_eq!(Mid::new(c).step(0, 0, 1.0), want, "mid {t} factor {f}");
        }
    }
}

#[test]
fn scaling_factor_scale_down_to_0_replicas() {
    // test_scaling_factor_scale_down_to_0_replicas: [0, 5], delays 0.
    // Factor 10: 5 -> 1 (never past 1), then 1 -> 0. Factor 0.2: five
    // decisions from 5 end at 0 (the stuck-downscale rule).
    for (t, c) in factor_params(false, 10.0) {
        assert_eq!(once(&c, 5, 5, 0.0), 1, "newest {t}");
        assert_eq!(once(&c, 1, 1, 0.0), 0, "newest {t}");
        let mut m = Mid::new(c);
        assert_eq!(m.step(5, 5, 0.0), 1, "mid {t}");
        assert_eq!(m.step(1, 1, 0.0), 0, "mid {t}");
    }
    for (t, c) in factor_params(false, 0.2) {
        let (mut n, mut m_n) = (5, 5);
        let mut m = Mid::new(c.clone());
        for _ in 0..5 {
            n = once(&c, n, n, 0.0);
            m_n = m.step(m_n, m_n, 0.0);
        }
        assert_eq!((n, m_n), (0, 0), "{t}");
    }
}

#[test]
fn replica_queue_length_upscale_downscale_delay() {
    // TestReplicaQueueLengthPolicy::test_upscale_downscale_delay
    // [downscale_to_zero_delay_s]: [0, 2], target 1, delays 30 s / 600 s;
    // cold start to 1, then the flow with 100 requests, 1 -> 2.
    for z in [None, Some(300.0)] {
        let c = RayServeConfig {
            target_ongoing_requests: 1.0,
            upscale_delay_s: 30.0,
            downscale_delay_s: 600.0,
            downscale_to_zero_delay_s: z,
            ..cfg(0, 2)
        };
        let t = format!("[{z:?}]");
        let mut p = policy(&c);
        assert_eq!(p.decide(0, 0, 1.0), 1, "newest {t}: cold start");
        run_upscale_downscale_flow(&t, &mut p, &c, 100.0, 1, 2, 100.0);
        let mut m = Mid::new(c.clone());
        assert_eq!(m.step(0, 0, 1.0), 1, "mid {t}: cold start");
        run_upscale_downscale_flow(&t, &mut m, &c, 100.0, 1, 2, 200.0);
    }
}

#[test]
fn replicas_delayed_startup() {
    // test_replicas_delayed_startup: [1, 200], target 1, upscale delay 0,
    // downscale delay 100000 s. (current, target, total) -> decision.
    let c = RayServeConfig {
        target_ongoing_requests: 1.0,
        upscale_delay_s: 0.0,
        downscale_delay_s: 100_000.0,
        ..cfg(1, 200)
    };
    let steps = [
        (1, 1, 100.0, 100),
        (1, 100, 100.0, 100),
        (3, 100, 123.0, 123),
        (4, 123, 10.0, 123),
    ];
    let mut m = Mid::new(c.clone());
    for (cur, target, total, want) in steps {
        assert_eq!(once(&c, cur, target, total), want, "newest {cur}/{target}");
        assert_eq!(m.step(cur, target, total), want, "mid {cur}/{target}");
    }
}

#[test]
fn fluctuating_ongoing_requests() {
    // test_fluctuating_ongoing_requests[delay_s]: [1, 10], target 50,
    // 1000 trials alternating 100 requests on 1 replica and 40 on 2.
    for delay in [30.0, 0.0] {
        if delay > 0.0 {
            assert!(delay_ticks(delay, CONTROL_LOOP_INTERVAL_S) > 1);
        }
        let c = RayServeConfig {
            target_ongoing_requests: 50.0,
            upscale_delay_s: delay,
            downscale_delay_s: delay,
            ..cfg(1, 10)
        };
        let mut m = Mid::new(c.clone());
        for trial in 0..1000 {
            let (cur, total) = if trial % 2 == 0 {
                (1, 100.0)
            } else {
                (2, 40.0)
            };
            let want = if delay > 0.0 { cur } else { 3 - cur };
            assert_eq!(once(&c, cur, cur, total), want, "newest [{delay}] {trial}");
            assert_eq!(m.step(cur, cur, total), want, "mid [{delay}] {trial}");
        }
    }
}

#[test]
fn single_replica_receives_all_requests() {
    // test_single_replica_receives_all_requests[ongoing_requests]: 4
    // running, [1, 50], target 5, delays 0: ongoing / target (exact).
    let c = RayServeConfig {
        target_ongoing_requests: 5.0,
        upscale_delay_s: 0.0,
        downscale_delay_s: 0.0,
        ..cfg(1, 50)
    };
    for (ongoing, want) in [(20u32, 4), (100, 20), (10, 2)] {
        let total = f64::from(ongoing);
        assert_eq!(once(&c, 4, 4, total), want, "newest [{ongoing}]");
        let got = Mid::new(c.clone()).step(4, 4, total);
        assert_eq!(got, want, "mid [{ongoing}]");
    }
}

#[test]
fn autoscaling_config_parameters_building_blocks() {
    // TestAutoscalingConfigParameters: (test, desired, current, upscaling,
    // downscaling) -> _apply_scaling_factors.
    let cases = [
        ("test_apply_scaling_factors_upscale", 20.0, 10, 0.5, 1.0, 15),
        (
            "test_apply_scaling_factors_downscale",
            5.0,
            20,
            1.0,
            0.5,
            13,
        ),
        (
            "test_apply_scaling_factors_stuck_downscale",
            9.0,
            10,
            1.0,
            0.5,
            9,
        ),
    ];
    for (t, d, cur, up, down, want) in cases {
        assert_eq!(apply_scaling_factors(d, cur, up, down), want, "{t}");
    }
    assert_eq!(apply_bounds(5, 1, 10), 5, "test_apply_bounds");
}

#[test]
fn apply_delay_logic_upscale_and_downscale() {
    // test_apply_delay_logic_upscale: upscale delay 0.3 s, target 1,
    // desired 5: int(0.3 / 0.1) == 2 holds, then 5.
    let c = RayServeConfig {
        upscale_delay_s: 0.3,
        ..cfg(1, 10)
    };
    let mut st = DelayState::default();
    let got: Vec<u32> = (0..3)
        .map(|_| apply_delay_logic(&c, &mut st, 5, 1))
        .collect();
    assert_eq!(got, [1, 1, 5], "test_apply_delay_logic_upscale");
    // test_apply_delay_logic_downscale: downscale 0.3 s (2 holds), to zero
    // 0.4 s (4 holds), desired 0 from target 4: 4 -> 1, then 1 -> 0; the
    // state carries over (upstream mutates the same dict).
    let c = RayServeConfig {
        downscale_delay_s: 0.3,
        downscale_to_zero_delay_s: Some(0.4),
        ..cfg(0, 10)
    };
    let mut st = DelayState::default();
    let got: Vec<u32> = (0..3)
        .map(|_| apply_delay_logic(&c, &mut st, 0, 4))
        .collect();
    assert_eq!(got, [4, 4, 1], "test_apply_delay_logic_downscale 4 -> 1");
    let got: Vec<u32> = (0..5)
        .map(|_| apply_delay_logic(&c, &mut st, 0, 1))
        .collect();
    assert_eq!(
        got,
        [1, 1, 1, 1, 0],
        "test_apply_delay_logic_downscale 1 -> 0"
    );
}

/// Newest generation, `TestAutoscalingConfigParameters`: the `_now` forms
/// of `test_apply_delay_logic_upscale` / `_downscale` (decisions at
/// `base + i × 0.05`, then at `base + 0.31`; the 1 → 0 step from
/// `base + 0.5` at 0.1 s steps, then `+ 0.41`) and
/// `test_upscale_delay_respected_with_slow_loop_steps` (100 s delay, a
/// decision every 0.6 s: fires no earlier than the delay and within one
/// iteration of it).
#[test]
fn wall_clock_apply_delay_logic() {
    let base = 1000.0;
    let wall = |c: RayServeConfig| RayServeConfig {
        delay_clock: DelayClock::WallClock,
        ..c
    };
    let c = wall(RayServeConfig {
        upscale_delay_s: 0.3,
        ..cfg(1, 10)
    });
    let mut st = DelayState::default();
    let mut got: Vec<u32> = (0..3)
        .map(|i| apply_delay_logic_at(&c, &mut st, 5, 1, base + f64::from(i) * 0.05))
        .collect();
    got.push(apply_delay_logic_at(&c, &mut st, 5, 1, base + 0.31));
    assert_eq!(got, [1, 1, 1, 5], "test_apply_delay_logic_upscale");
    let c = wall(RayServeConfig {
        downscale_delay_s: 0.3,
        downscale_to_zero_delay_s: Some(0.4),
        ..cfg(0, 10)
    });
    let mut st = DelayState::default();
    let mut got: Vec<u32> = (0..3)
        .map(|i| apply_delay_logic_at(&c, &mut st, 0, 4, base + f64::from(i) * 0.05))
        .collect();
    got.push(apply_delay_logic_at(&c, &mut st, 0, 4, base + 0.31));
    assert_eq!(got, [4, 4, 4, 1], "test_apply_delay_logic_downscale 4 -> 1");
    let base2 = base + 0.5;
    let mut got: Vec<u32> = (0..3)
        .map(|i| apply_delay_logic_at(&c, &mut st, 0, 1, base2 + f64::from(i) * 0.1))
        .collect();
    got.push(apply_delay_logic_at(&c, &mut st, 0, 1, base2 + 0.41));
    assert_eq!(got, [1, 1, 1, 0], "test_apply_delay_logic_downscale 1 -> 0");
    // Slow loop steps: 0.5 s of work + the 0.1 s interval per decision.
    let c = wall(RayServeConfig {
        upscale_delay_s: 100.0,
        ..cfg(1, 10)
    });
    let (mut st, mut now, iteration) = (DelayState::default(), 0.0, 0.6);
    let fired = loop {
        if apply_delay_logic_at(&c, &mut st, 5, 1, now) != 1 {
            break now;
        }
        now += iteration;
    };
    assert!(
        (100.0..=100.0 + iteration).contains(&fired) && fired / 100.0 < 1.1,
        "test_upscale_delay_respected_with_slow_loop_steps: fired at {fired}"
    );
}

#[test]
fn custom_policy_upscale_downscale_delay() {
    // TestCustomPolicyWithDefaultParameters::test_upscale_downscale_delay
    // [downscale_to_zero_delay_s]: [0, 4], target 1, delays 20 s / 400 s;
    // cold start to 1, then the flow with 70 requests, 1 -> 3.
    for z in [None, Some(300.0)] {
        let c = RayServeConfig {
            target_ongoing_requests: 1.0,
            upscale_delay_s: 20.0,
            downscale_delay_s: 400.0,
            downscale_to_zero_delay_s: z,
            ..cfg(0, 4)
        };
        let mut p = Custom(policy(&c));
        assert_eq!(p.step(0, 0, 1.0), 1, "[{z:?}]: cold start");
        run_upscale_downscale_flow(&format!("custom [{z:?}]"), &mut p, &c, 70.0, 1, 3, 70.0);
    }
}

#[test]
fn custom_policy_apply_scaling_factors() {
    // TestCustomPolicyWithDefaultParameters::test_apply_scaling_factors
    // [current, total, upscale_factor, downscale_factor, expected]: [0, 10],
    // all delays 0, the custom policy's raw 3 (requests) or 0.
    let cases = [
        (1, 100.0, Some(0.5), None, 2),
        (1, 100.0, Some(1.0), None, 3),
        (3, 0.0, None, Some(0.5), 2),
        (3, 0.0, None, Some(1.0), 1),
    ];
    for (cur, total, up, down, want) in cases {
        let c = RayServeConfig {
            upscaling_factor: up,
            downscaling_factor: down,
            upscale_delay_s: 0.0,
            downscale_delay_s: 0.0,
            downscale_to_zero_delay_s: Some(0.0),
            ..cfg(0, 10)
        };
        let got = Custom(policy(&c)).step(cur, cur, total);
        assert_eq!(got, want, "[{cur}-{total}-{up:?}-{down:?}]");
    }
}

#[test]
fn app_level_cold_start_fast_path() {
    // TestAppLevelPolicyWithDefaultParameters::test_cold_start_fast_path:
    // two deployments at 0 replicas with one request each, the app policy
    // asks for 5, delays 20 s / 200 s: both cold-start to 1 at once.
    let c = RayServeConfig {
        target_ongoing_requests: 10.0,
        upscale_delay_s: 20.0,
        downscale_delay_s: 200.0,
        ..cfg(0, 10)
    };
    for d in ["d1", "d2"] {
        assert_eq!(policy(&c).apply(5.0, 0, 0, 1.0), 1, "{d}");
    }
}
