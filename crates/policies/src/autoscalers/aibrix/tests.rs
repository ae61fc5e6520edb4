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
    assert_eq!(a.decide(at(10), 4, 20.0), Some(8));
    // Averages of last-value buckets: (20 + 2) / 2 = 11 -> 1.1 is within.
    assert_eq!(a.decide(at(20), 8, 2.0), Some(8));
    assert_eq!(a.decide(at(0), 0, 5.0), Some(0)); // current 0, min 1: no scaling
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
            max_scale_up_rate: 1.0,
            ..d()
        },
        "> 1",
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
