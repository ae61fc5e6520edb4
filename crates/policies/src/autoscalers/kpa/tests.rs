use super::*;

fn t(s: f64) -> SimTime {
    SimTime((1_000_000.0 + s * 1e9) as u64 + 100_000 * 1_000_000_000)
}

fn spec() -> DeciderSpec {
    KpaConfig::default().decider_spec(true)
}

#[test]
fn default_target_is_70_and_panic_window_6s() {
    let c = KpaConfig::default();
    assert_eq!(c.resolve_target(), (100.0, 70.0));
    assert_eq!(c.panic_window_s(), 6);
    let cc = KpaConfig {
        container_concurrency: 10,
        target: Some(50.0),
        ..KpaConfig::default()
    };
    assert_eq!(cc.resolve_target(), (10.0, 7.0));
    let rps = KpaConfig {
        metric: ScalingMetric::Rps,
        ..KpaConfig::default()
    };
    assert_eq!(rps.resolve_target(), (200.0, 140.0));
}

#[test]
fn decider_table() {
    // (ready, stable, panic) -> desired, on a fresh default decider
    // (target 70, up rate 1000, down rate 2).
    let check = |ready: u32, stable: f64, panic: f64, want: i32| {
        let mut d = KpaDecider::new(spec(), 1, t(0.0)).expect("valid");
        let r = d.scale(t(0.0), ready, Some((stable, panic)));
        assert!(r.valid);
        assert_eq!(
            r.desired_pod_count, want,
            "ready={ready} stable={stable} panic={panic}"
        );
    };
    check(1, 0.0, 0.0, 0);
    check(1, 70.0, 70.0, 1);
    check(1, 71.0, 71.0, 2); // ceil(71/70) = 2, panic 2/1 >= 2
    check(4, 70.0, 70.0, 2); // max scale-down: floor(4/2) = 2
    check(10, 700.0, 140.0, 10);
    assert!(
        !KpaDecider::new(spec(), 1, t(0.0))
            .expect("valid")
            .scale(t(0.0), 1, None)
            .valid
    );
}

#[test]
fn panic_mode_holds_then_expires() {
    let mut d = KpaDecider::new(spec(), 1, t(0.0)).expect("valid");
    // Burst: 7 pods' worth in the panic window with 1 ready.
    assert_eq!(d.scale(t(0.0), 1, Some((70.0, 490.0))).desired_pod_count, 7);
    assert!(d.in_panic());
    // Load gone 30 s later: still in panic, hold 7.
    assert_eq!(d.scale(t(30.0), 7, Some((70.0, 0.0))).desired_pod_count, 7);
    // More than a stable window after the last over-threshold tick.
    let r = d.scale(t(61.0), 7, Some((70.0, 0.0)));
    assert!(!d.in_panic());
    assert_eq!(r.desired_pod_count, 3); // floor(7/2) scale-down limit
}

#[test]
fn starts_in_panic_with_many_ready_pods() {
    let mut d = KpaDecider::new(spec(), 5, t(0.0)).expect("valid");
    assert!(d.in_panic());
    assert_eq!(d.scale(t(2.0), 5, Some((0.0, 0.0))).desired_pod_count, 5);
}

#[test]
fn excess_burst_capacity_table() {
    let check = |tbc: f64, ready: u32, panic: f64, want: i32| {
        let s = DeciderSpec {
            target_burst_capacity: tbc,
            ..spec()
        };
        let mut d = KpaDecider::new(s, 1, t(0.0)).expect("valid");
        assert_eq!(
            d.scale(t(0.0), ready, Some((panic, panic)))
                .excess_burst_capacity,
            want
        );
    };
    check(211.0, 3, 50.0, 39); // 300 - 211 - 50
    check(211.0, 1, 0.0, -111);
    check(0.0, 3, 50.0, 0);
    check(-1.0, 3, 50.0, -1);
}

#[test]
fn scale_down_delay_keeps_the_max() {
    let s = DeciderSpec {
        scale_down_delay_s: 10,
        ..spec()
    };
    let mut d = KpaDecider::new(s, 1, t(0.0)).expect("valid");
    d.set_panic_state(None, 0);
    assert_eq!(
        d.scale(t(0.0), 5, Some((350.0, 350.0))).desired_pod_count,
        5
    );
    assert_eq!(
        d.scale(t(8.0), 5, Some((140.0, 140.0))).desired_pod_count,
        5
    );
    assert_eq!(
        d.scale(t(10.0), 5, Some((140.0, 140.0))).desired_pod_count,
        2
    );
}

#[test]
fn buckets_average_and_gap() {
    let mut b =
        TimedBuckets::new(SimDuration::from_secs(3), SimDuration::from_secs(1)).expect("ok");
    let at = |s: u64| SimTime(s * 1_000_000_000);
    b.record(at(10), 3.0);
    b.record(at(11), 6.0);
    assert!((b.window_average(at(11)) - 4.5).abs() < 1e-9);
    b.record(at(12), 9.0);
    b.record(at(13), 12.0); // bucket of 10 overwritten: 6, 9, 12
    assert!((b.window_average(at(13)) - 9.0).abs() < 1e-9);
    assert!((b.window_average(at(14)) - 10.5).abs() < 1e-9); // (9+12)/2
    assert!(b.window_average(at(16)).abs() < 1e-9);
    assert!(b.is_empty(at(17)));
}

#[test]
fn scale_to_zero_table() {
    let cfg = KpaConfig::default(); // window 60 s, grace 30 s
    let base = ScalerInput {
        desired: 0,
        deployment_replicas: Some(1),
        active: PaActive::Active,
        condition_age: SimDuration::from_secs(10),
        proxy_for: None,
        reachability: Reachability::Reachable,
        probe: ProbeResult::Activator,
        scale_target_initialized: true,
        initial_scale_annotation: None,
        window_annotation_s: None,
        retention_annotation_s: None,
        tbc_annotation: None,
    };
    let check = |inp: ScalerInput, want: (i32, bool)| {
        let o = scale_to_zero_step(&cfg, &inp);
        assert_eq!((o.scale, o.apply), want, "{inp:?}");
    };
    let secs = SimDuration::from_secs;
    check(base, (1, true)); // active < window: hold 1
    check(
        ScalerInput {
            condition_age: secs(60),
            ..base
        },
        (0, false),
    ); // mark inactive
    check(
        ScalerInput {
            active: PaActive::Inactive,
            condition_age: secs(30),
            ..base
        },
        (0, true),
    );
    check(
        ScalerInput {
            active: PaActive::Inactive,
            ..base
        },
        (0, false),
    ); // wait grace
    check(
        ScalerInput {
            active: PaActive::Inactive,
            proxy_for: Some(secs(30)),
            ..base
        },
        (0, true),
    );
    check(
        ScalerInput {
            active: PaActive::Inactive,
            probe: ProbeResult::Error,
            condition_age: secs(99),
            ..base
        },
        (0, false),
    );
    check(
        ScalerInput {
            active: PaActive::Activating,
            ..base
        },
        (-1, false),
    );
    check(
        ScalerInput {
            active: PaActive::Activating,
            condition_age: secs(630),
            ..base
        },
        (0, true),
    );
    check(ScalerInput { desired: 3, ..base }, (3, true));
    check(
        ScalerInput {
            desired: -1,
            ..base
        },
        (-1, false),
    );
    let no_s2z = KpaConfig {
        enable_scale_to_zero: false,
        ..KpaConfig::default()
    };
    assert_eq!(scale_to_zero_step(&no_s2z, &base).scale, 1);
    let init = ScalerInput {
        desired: 1,
        scale_target_initialized: false,
        initial_scale_annotation: Some(4),
        ..base
    };
    check(init, (4, true));
}

#[test]
fn config_validation_rejects_bad_knobs() {
    let bad = |c: KpaConfig, needle: &str| {
        let e = c.validate().expect_err("invalid").to_string();
        assert!(e.contains(needle), "{e}");
    };
    let d = KpaConfig::default;
    bad(
        KpaConfig {
            panic_threshold_percentage: 100.0,
            ..d()
        },
        "panic-threshold-percentage",
    );
    bad(
        KpaConfig {
            max_scale_up_rate: 1.0,
            ..d()
        },
        "max-scale-up-rate",
    );
    bad(
        KpaConfig {
            max_scale_down_rate: 0.5,
            ..d()
        },
        "max-scale-down-rate",
    );
    bad(
        KpaConfig {
            stable_window_s: 5,
            ..d()
        },
        "stable-window",
    );
    bad(
        KpaConfig {
            target_burst_capacity: -2.0,
            ..d()
        },
        "non-negative or -1",
    );
    bad(
        KpaConfig {
            scale_to_zero_grace_period_s: 0,
            ..d()
        },
        "grace",
    );
    bad(
        KpaConfig {
            min_scale: 5,
            max_scale: 2,
            ..d()
        },
        "min_replicas > max_replicas",
    );
    bad(
        KpaConfig {
            target_utilization_percentage: 0.0,
            ..d()
        },
        "(0, 100]",
    );
    bad(
        KpaConfig {
            panic_window_percentage: 0.5,
            ..d()
        },
        "panic-window-percentage",
    );
    bad(
        KpaConfig {
            max_scale_up_rate: f64::NAN,
            ..d()
        },
        "finite",
    );
    assert!(d().validate().is_ok());
    let s = DeciderSpec {
        panic_threshold: 1.0,
        ..spec()
    };
    let e = s.validate().expect_err("invalid").to_string();
    assert!(e.contains("panic threshold must be > 1"), "{e}");
}
