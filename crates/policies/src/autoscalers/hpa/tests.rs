use super::*;

fn tol() -> Tolerances {
    Tolerances::default()
}

fn pod(class: PodClass, request: i64, value: Option<i64>) -> PodMetric {
    PodMetric {
        class,
        request_milli: Some(request),
        value_milli: value,
    }
}

#[test]
fn tolerance_band_is_inclusive() {
    // (ratio, within?)
    let check = |r: f64, expect: bool| assert_eq!(tol().is_within(r), expect, "r={r}");
    check(1.0, true);
    check(1.1, true);
    check(0.9, true);
    check(1.1000001, false);
    check(0.8999999, false);
}

#[test]
fn resource_utilization_table() {
    use PodClass::*;
    // (current, target %, pods, expected replicas, util %)
    let check = |current: u32, target: i32, pods: &[PodMetric], want: u32, util: i64| {
        let r = resource_utilization_replicas(current, target, tol(), pods).expect("decides");
        assert_eq!(
            (r.replicas, r.utilization_percent),
            (want, util),
            "{pods:?}"
        );
    };
    // Plain scale-up: 80 % of requests against a 40 % target doubles.
    check(
        2,
        40,
        &[pod(Ready, 1000, Some(800)), pod(Ready, 1000, Some(800))],
        4,
        80,
    );
    // Within tolerance: 42 % vs 40 % keeps 2.
    check(
        2,
        40,
        &[pod(Ready, 1000, Some(420)), pod(Ready, 1000, Some(420))],
        2,
        42,
    );
    // Scale-down on ready pods only.
    check(4, 50, &[pod(Ready, 1000, Some(100)); 4], 1, 10);
    // Scale-up with an unready pod: it counts as 0 and damps the change
    // (2000/3000 = 66 % -> 1.32 x 3 samples -> 4, not 2 x 3 = 6).
    check(
        3,
        50,
        &[
            pod(Ready, 1000, Some(1000)),
            pod(Ready, 1000, Some(1000)),
            pod(Unready, 1000, Some(900)),
        ],
        4,
        100,
    );
    // Missing pod on a scale-down is filled with the target, which
    // flips the direction: keep current.
    check(
        2,
        50,
        &[pod(Ready, 1000, Some(400)), pod(Missing, 1000, None)],
        2,
        40,
    );
    // Ignored pods do not count.
    check(
        2,
        50,
        &[pod(Ready, 1000, Some(1000)), pod(Ignored, 1000, None)],
        2,
        100,
    );
}

#[test]
fn resource_bad_inputs_are_errors() {
    assert!(
        resource_utilization_replicas(1, 0, tol(), &[pod(PodClass::Ready, 1, Some(1))]).is_err()
    );
    assert!(resource_utilization_replicas(1, 50, tol(), &[]).is_err());
    assert!(
        resource_utilization_replicas(1, 50, tol(), &[pod(PodClass::Unready, 1, Some(1))]).is_err()
    );
    let no_req = PodMetric {
        class: PodClass::Ready,
        request_milli: None,
        value_milli: Some(5),
    };
    assert!(resource_utilization_replicas(1, 50, tol(), &[no_req]).is_err());
}

#[test]
fn pods_average_value_table() {
    use PodClass::*;
    let check = |current: u32, target: i64, vals: &[(PodClass, Option<i64>)], want: (u32, i64)| {
        let pods: Vec<PodMetric> = vals.iter().map(|&(c, v)| pod(c, 0, v)).collect();
        let r = pods_average_value_replicas(current, target, tol(), &pods).expect("decides");
        assert_eq!((r.replicas, r.usage_milli), want);
    };
    check(
        2,
        1000,
        &[(Ready, Some(2000)), (Ready, Some(2000))],
        (4, 2000),
    );
    check(
        2,
        1000,
        &[(Ready, Some(1050)), (Ready, Some(1000))],
        (2, 1025),
    );
    check(4, 1000, &[(Ready, Some(250)); 4], (1, 250));
    // Average is integer-floored: 1001 // 2 = 500.
    check(2, 1000, &[(Ready, Some(1000)), (Ready, Some(1))], (1, 500));
}

#[test]
fn object_and_per_pod_table() {
    let check = |cur: u32, v: i64, t: i64, ready: u32, want: u32| {
        assert_eq!(
            object_value_replicas(cur, v, t, ready, tol())
                .expect("ok")
                .replicas,
            want
        );
    };
    check(2, 3000, 1000, 2, 6);
    check(0, 2500, 1000, 0, 3); // scale from zero: ceil(r)
    check(4, 1050, 1000, 4, 4); // within tolerance
    let check_pp = |status: u32, v: i64, t: i64, want: (u32, i64)| {
        let r = per_pod_replicas(status, v, t, tol()).expect("ok");
        assert_eq!((r.replicas, r.usage_milli), want);
    };
    check_pp(2, 9000, 1000, (9, 4500));
    check_pp(5, 5200, 1000, (5, 1040));
    check_pp(3, 1000, 1000, (1, 334));
    assert!(per_pod_replicas(0, 1, 1, tol()).is_err());
}

#[test]
fn classify_pod_table() {
    let now = SimTime(1_000 * 1_000_000_000);
    let s = |x: i64| SimTime((1_000 + x) as u64 * 1_000_000_000);
    let timing = ReadinessTiming {
        cpu_initialization_period_s: 120,
        initial_readiness_delay_s: 10,
    };
    let sample = Some(MetricSample {
        timestamp: Some(s(0)),
        window: SimDuration::from_secs(30),
    });
    let base = PodStatus {
        phase: PodPhase::Running,
        deleting: false,
        start_time: Some(s(-600)),
        ready: Some(ReadyCondition {
            ready: true,
            last_transition: s(-500),
        }),
        sample,
    };
    let check = |p: PodStatus, cpu: bool, want: PodClass| {
        assert_eq!(classify_pod(&p, cpu, now, timing), want, "{p:?}");
    };
    check(base, true, PodClass::Ready);
    check(
        PodStatus {
            deleting: true,
            ..base
        },
        true,
        PodClass::Ignored,
    );
    check(
        PodStatus {
            phase: PodPhase::Pending,
            ..base
        },
        true,
        PodClass::Unready,
    );
    check(
        PodStatus {
            sample: None,
            ..base
        },
        true,
        PodClass::Missing,
    );
    check(
        PodStatus {
            ready: None,
            ..base
        },
        true,
        PodClass::Unready,
    );
    check(
        PodStatus {
            ready: None,
            ..base
        },
        false,
        PodClass::Ready,
    );
    // Young pod whose sample predates readiness + window: unready.
    let young = PodStatus {
        start_time: Some(s(-60)),
        ready: Some(ReadyCondition {
            ready: true,
            last_transition: s(-10),
        }),
        ..base
    };
    check(young, true, PodClass::Unready);
    // Old pod that went unready later (was ready once): counts.
    let flapped = PodStatus {
        ready: Some(ReadyCondition {
            ready: false,
            last_transition: s(-100),
        }),
        ..base
    };
    check(flapped, true, PodClass::Ready);
}

fn at(s: u64) -> SimTime {
    SimTime(s * 1_000_000_000)
}

#[test]
fn legacy_rules_table() {
    // (current, desired, min, max) -> (replicas, condition)
    let check =
        |c, d, mn, mx, want: (u32, Condition)| assert_eq!(convert_legacy(c, d, mn, mx), want);
    check(5, 6, 1, 10, (6, Condition::DesiredWithinRange));
    check(1, 100, 1, 1000, (4, Condition::ScaleUpLimit));
    check(10, 100, 1, 15, (15, Condition::TooManyReplicas));
    check(5, 0, 2, 10, (2, Condition::TooFewReplicas));
}

#[test]
fn legacy_stabilization_holds_scale_down() {
    let mut h = Hpa::new(HpaConfig::default()).expect("valid");
    assert_eq!(h.reconcile(at(1000), 5, &[Some(8)]).expect("ok").desired, 8);
    // 2 is wanted 60 s later, but 8 is in the 300 s window.
    assert_eq!(h.reconcile(at(1060), 8, &[Some(2)]).expect("ok").desired, 8);
    // 301 s after the 8, it is out: scale down to 2.
    let d = h.reconcile(at(1301), 8, &[Some(2)]).expect("ok");
    assert_eq!((d.desired, d.rescale), (2, true));
}

#[test]
fn behavior_rate_limits_and_events() {
    let cfg = HpaConfig {
        max_replicas: 1000,
        behavior: Some(Behavior::default()),
        ..HpaConfig::default()
    };
    let mut h = Hpa::new(cfg).expect("valid");
    // Default scale-up: max(+4, +100 %) per 15 s from 3 -> 7.
    assert_eq!(h.reconcile(at(100), 3, &[Some(50)]).expect("ok").desired, 7);
    // 5 s later the +4 event is still in the 15 s period: start = 3.
    let d = h.reconcile(at(105), 7, &[Some(50)]).expect("ok");
    assert_eq!((d.desired, d.condition), (7, Condition::ScaleUpLimit));
    // After the period: 7 -> 14.
    assert_eq!(
        h.reconcile(at(116), 7, &[Some(50)]).expect("ok").desired,
        14
    );
}

#[test]
fn reconcile_guards() {
    let mut h = Hpa::new(HpaConfig::default()).expect("valid");
    let d = h.reconcile(at(1), 0, &[Some(5)]).expect("ok");
    assert_eq!((d.desired, d.rescale), (0, false)); // scaling disabled
    assert_eq!(h.reconcile(at(2), 20, &[Some(5)]).expect("ok").desired, 10);
    assert!(h.reconcile(at(3), 5, &[None]).is_err());
    assert!(h.reconcile(at(4), 5, &[None, Some(3)]).is_err());
    assert_eq!(
        h.reconcile(at(5), 5, &[None, Some(8)]).expect("ok").desired,
        8
    );
}

#[test]
fn config_validation_rejects_bad_knobs() {
    let bad = |c: HpaConfig, needle: &str| {
        let e = c.validate().expect_err("invalid").to_string();
        assert!(e.contains(needle), "{e}");
    };
    bad(
        HpaConfig {
            min_replicas: 5,
            max_replicas: 2,
            ..HpaConfig::default()
        },
        "min_replicas > max_replicas",
    );
    bad(
        HpaConfig {
            max_replicas: 0,
            min_replicas: 0,
            ..HpaConfig::default()
        },
        "maxReplicas",
    );
    bad(
        HpaConfig {
            tolerance: Tolerances {
                scale_up: -0.1,
                scale_down: 0.1,
            },
            ..HpaConfig::default()
        },
        "non-negative",
    );
    bad(
        HpaConfig {
            downscale_stabilization_s: 3601,
            ..HpaConfig::default()
        },
        "3600",
    );
    let mut rules = ScalingRules::default_scale_up();
    rules.policies[0].period_s = 1801;
    bad(
        HpaConfig {
            behavior: Some(Behavior {
                scale_up: Some(rules),
                scale_down: None,
            }),
            ..HpaConfig::default()
        },
        "1800",
    );
    assert!(HpaConfig::default().validate().is_ok());
}
