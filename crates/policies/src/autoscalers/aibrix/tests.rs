use super::*;

#[test]
fn apa_table() {
    // (cur, use, target) with default tolerances 0.1 and rates 2.
    let check = |cur: u32, u: f64, t: f64, want: u32| {
        assert_eq!(
            apa_replicas(cur, u, t, 0.1, 0.1, 2.0, 2.0),
            want,
            "cur={cur} u={u} t={t}"
        );
    };
    check(4, 60.0, 50.0, 5); // 1.2 > 1.1: ceil(4.8)
    check(4, 55.0, 50.0, 4); // 1.1 is not > 1.1 (strict)
    check(4, 45.0, 50.0, 4); // 0.9 is not < 0.9
    check(4, 200.0, 50.0, 8); // capped at 2x
    check(8, 5.0, 50.0, 4); // floored at 8/2
    check(4, 30.0, 0.0, 4); // target <= 0: keep
}

#[test]
fn kpa_table() {
    let base = KpaInput {
        current: 4,
        target: 10.0,
        stable: 40.0,
        panic: 40.0,
        max_scale_up_rate: 2.0,
        max_scale_down_rate: 2.0,
        activation_scale: 1,
        up_tolerance: 0.1,
        down_tolerance: 0.1,
    };
    let check = |i: KpaInput, panic: bool, mpp: u32, want: u32| {
        assert_eq!(kpa_replicas(&i, panic, mpp).0, want, "{i:?}")
    };
    check(base, false, 0, 4);
    check(
        KpaInput {
            stable: 10.5,
            ..base
        },
        false,
        0,
        4,
    ); // within band: current, not ceil(1.05)
    check(
        KpaInput {
            stable: 5.0,
            ..base
        },
        false,
        0,
        2,
    ); // ceil(0.5) -> floor(4/2)
    check(
        KpaInput {
            stable: 200.0,
            ..base
        },
        false,
        0,
        8,
    ); // rate cap
    check(
        KpaInput {
            stable: 10.0,
            panic: 60.0,
            ..base
        },
        true,
        0,
        6,
    );
    check(
        KpaInput {
            stable: 10.0,
            panic: 10.0,
            ..base
        },
        true,
        7,
        7,
    ); // hold in panic
}

#[test]
fn hpa_behavior_mapping() {
    let b = hpa_behavior(3.0, 4.0, 10, 120);
    let up = b.scale_up.expect("up");
    let down = b.scale_down.expect("down");
    assert_eq!(
        (
            up.policies[0].value,
            up.stabilization_window_s,
            up.select_policy
        ),
        (200, 10, SelectPolicy::Max)
    );
    assert_eq!(
        (
            down.policies[0].value,
            down.stabilization_window_s,
            down.select_policy
        ),
        (75, 120, SelectPolicy::Min)
    );
}

#[test]
fn autoscaler_scale_down_cooldown_takes_min() {
    let cfg = AibrixConfig {
        strategy: Strategy::Apa,
        target_value: 10.0,
        ..AibrixConfig::default()
    };
    let mut a = AibrixAutoscaler::new(cfg).expect("valid");
    let at = |s: u64| SimTime(s * 1_000_000_000);
    assert_eq!(a.decide(at(10), 4, 20.0), 8);
    // Averages of last-value buckets: (20 + 2) / 2 = 11 -> 1.1 is within.
    assert_eq!(a.decide(at(20), 8, 2.0), 8);
    // (20 + 2 + 2) / 3 = 8 -> 0.8 < 0.9: ceil(8 · 0.8) = 7; the min over
    // the 300 s down window is 7 (8 was a scale-up's and the hold's 8).
    assert_eq!(a.decide(at(30), 8, 2.0), 7);
    // The next recommendation on 7, ceil(7 · 0.65) = 5, and the min of
    // {8, 8, 7, 5} over the window is 5: the "cooldown" does not hold.
    assert_eq!(a.decide(at(40), 7, 2.0), 5);
}

#[test]
fn kpa_panic_is_decided_at_every_call_without_a_hold() {
    // Target 10 per pod on 2 pods, observe 60 s, panic 5 s (one 10 s
    // resync's value in the panic window).
    let cfg = AibrixConfig {
        target_value: 10.0,
        observe_window_s: 60,
        panic_window_s: 5,
        up_fluctuation_tolerance: 0.0,
        down_fluctuation_tolerance: 0.0,
        ..AibrixConfig::default()
    };
    let mut a = AibrixAutoscaler::new(cfg).expect("valid");
    let at = |s: u64| SimTime(s * 1_000_000_000);
    for s in (0..50).step_by(10) {
        let d = a.decide_detailed(at(s), 2, 10.0);
        assert_eq!((d.desired, d.in_panic), (2, false), "t={s}");
    }
    // A burst: panic window 40, stable (5·10 + 40)/6 = 15 → ratio 2.67 > 2:
    // panic, max(ceil(1.5), ceil(4)) = 4 (the rate cap of 2·2 = 4).
    let d = a.decide_detailed(at(50), 2, 40.0);
    assert_eq!((d.desired, d.in_panic), (4, true));
    // The burst is over: panic window 10 against stable 100/7: not in
    // panic at once (Knative would hold panic for a stable window), and
    // the stable count ceil(1.43) = 2 is below 4: the down window's min.
    let d = a.decide_detailed(at(60), 4, 10.0);
    assert!(!d.in_panic, "{d:?}");
    assert_eq!(d.desired, 2);
}

#[test]
fn the_floor_is_min_replicas_and_scale_to_zero_is_inert() {
    let at = |s: u64| SimTime(s * 1_000_000_000);
    for scale_to_zero in [false, true] {
        let mut a = AibrixAutoscaler::new(AibrixConfig {
            strategy: Strategy::Apa,
            min_replicas: 0,
            target_value: 10.0,
            scale_to_zero,
            ..AibrixConfig::default()
        })
        .expect("valid");
        // 1 pod idle: ceil(1 · 0) = 0 ≥ floor(1/2) = 0 → 0, min 0 allows it.
        assert_eq!(a.decide(at(1), 1, 0.0), 0, "scale_to_zero={scale_to_zero}");
        let mut b = AibrixAutoscaler::new(AibrixConfig {
            strategy: Strategy::Apa,
            min_replicas: 1,
            target_value: 10.0,
            scale_to_zero,
            ..AibrixConfig::default()
        })
        .expect("valid");
        assert_eq!(b.decide(at(1), 1, 0.0), 1, "scale_to_zero={scale_to_zero}");
    }
}

#[test]
fn hpa_behavior_truncates_and_replaces_negative_percents() {
    let pcts = |up: f64, down: f64| {
        let b = hpa_behavior(up, down, 0, 0);
        (
            b.scale_up.expect("up").policies[0].value,
            b.scale_down.expect("down").policies[0].value,
        )
    };
    // (1 − 1/3) · 100 = 66.67 truncates to 66; 1.5 → 50.
    assert_eq!(pcts(1.5, 3.0), (50, 66));
    // Rates below 1 give negative percents, replaced by 100.
    assert_eq!(pcts(0.5, 0.5), (100, 100));
    // -0.5 % truncates to 0, which is not negative: kept.
    assert_eq!(pcts(0.995, 1.0), (0, 0));
}

#[test]
fn validation_rejects_bad_knobs() {
    let bad = |c: AibrixConfig, needle: &str| {
        let e = c.validate().expect_err("invalid").to_string();
        assert!(e.contains(needle), "{e}");
    };
    let d = AibrixConfig::default;
    bad(
        AibrixConfig {
            min_replicas: 3,
            max_replicas: 2,
            ..d()
        },
        "min_replicas > max_replicas",
    );
    bad(
        AibrixConfig {
            panic_window_s: 200,
            ..d()
        },
        "panicWindowSeconds",
    );
    bad(
        AibrixConfig {
            observe_window_s: 0,
            ..d()
        },
        "observeWindowSeconds",
    );
    bad(
        AibrixConfig {
            max_scale_up_rate: 0.9,
            ..d()
        },
        "must be >= 1.0",
    );
    bad(
        AibrixConfig {
            panic_threshold: 0.5,
            ..d()
        },
        "panic threshold must be > 1",
    );
    bad(
        AibrixConfig {
            target_value: 0.0,
            ..d()
        },
        "targetValue",
    );
    assert!(d().validate().is_ok());
}

/// `autoscaler.go` `ComputeDesiredReplicas`: a source whose collection
/// fails is skipped (its windows are not fed); when every source fails
/// there is no decision; the bounds checks of `computeScaleDecision` come
/// before any metric.
#[test]
fn metric_sources_skip_failures_and_hold_when_all_fail() {
    let cfg = AibrixConfig {
        strategy: Strategy::Apa,
        min_replicas: 1,
        max_replicas: 10,
        max_scale_up_rate: 4.0,
        scale_down_cooldown_window_s: 0,
        ..AibrixConfig::default()
    };
    let t = |s: u64| SimTime(s * 1_000_000_000);
    // (per-pod values of sources with targets 10 and 20, current, expected)
    type Case<'a> = (&'a [Option<f64>], u32, Option<u32>);
    let cases: [Case<'_>; 5] = [
        // 30/10 → 3 × 2 = 6, 30/20 → 1.5 × 2 = 3: the larger wins.
        (&[Some(30.0), Some(30.0)], 2, Some(6)),
        // The first source down: the second alone.
        (&[None, Some(30.0)], 2, Some(3)),
        (&[Some(30.0), None], 2, Some(6)),
        // Both down: no decision.
        (&[None, None], 2, None),
        // Outside the bounds the bound applies whatever the metrics.
        (&[None, None], 12, Some(10)),
    ];
    for (i, (vals, cur, want)) in cases.into_iter().enumerate() {
        let mut a = AibrixAutoscaler::with_metric_targets(cfg.clone(), &[10.0, 20.0]).unwrap();
        let got = a.decide_metrics(t(i as u64), cur, vals).map(|d| d.desired);
        assert_eq!(got, want, "case {i}: {vals:?} on {cur}");
    }
    // A skipped source's window keeps only what it was fed: source 1 saw
    // 30 then nothing, source 2 saw 0 then 0, so the stable average of
    // source 1 is still 30 (APA: 30/10 on 2 → 6).
    let mut a = AibrixAutoscaler::with_metric_targets(cfg.clone(), &[10.0, 20.0]).unwrap();
    a.decide_metrics(t(0), 2, &[Some(30.0), Some(0.0)]);
    let d = a.decide_metrics(t(1), 2, &[None, Some(0.0)]).unwrap();
    assert_eq!(d.desired, 1, "source 2 alone at 0 → the floor");
    let d = a.decide_metrics(t(2), 2, &[Some(30.0), Some(0.0)]).unwrap();
    assert_eq!(d.stable, Some(30.0), "source 1's window: 30 at 0 s and 2 s");
    // No source at all is rejected as upstream does.
    let e = AibrixAutoscaler::with_metric_targets(cfg.clone(), &[]).unwrap_err();
    assert!(e.to_string().contains("no metricsSources"), "{e}");
    let e = AibrixAutoscaler::with_metric_targets(cfg, &[10.0, 0.0]).unwrap_err();
    assert!(e.to_string().contains("target_value"), "{e}");
}
