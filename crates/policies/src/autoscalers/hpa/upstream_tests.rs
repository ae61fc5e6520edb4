//! Table cases ported from kubernetes/kubernetes
//! `pkg/controller/podautoscaler/replica_calculator_test.go` (facts only:
//! the inputs and the outputs each upstream case asserts). Conventions of
//! the port: upstream pods have two containers that request the same
//! amount each and report the same usage each, so a pod-level case has a
//! request of 2 × the container request and a usage of 2 × the container
//! level; a container-metric case (`container: "container2"`) carries that
//! container's request and level. Classes restate what `groupPods` makes
//! of each test pod: readiness False or a hot CPU start → unready (cpu),
//! Pending → unready, Failed or a deletion timestamp → ignored, no sample
//! → missing; a sample for a pod the pod list does not hold → unlisted.

use super::*;

const RU: PodClass = PodClass::Ready;
const UN: PodClass = PodClass::Unready;
const MI: PodClass = PodClass::Missing;
const IG: PodClass = PodClass::Ignored;
const UL: PodClass = PodClass::Unlisted;

fn p(class: PodClass, request: Option<i64>, value: Option<i64>) -> PodMetric {
    PodMetric {
        class,
        request_milli: request,
        value_milli: value,
    }
}

/// A listed pod with a request and a sample.
fn s(class: PodClass, request: i64, value: i64) -> PodMetric {
    p(class, Some(request), Some(value))
}

/// A listed pod with a request and no sample.
fn n(class: PodClass, request: i64) -> PodMetric {
    p(class, Some(request), None)
}

fn tol(scale_down: f64, scale_up: f64) -> Tolerances {
    Tolerances {
        scale_up,
        scale_down,
    }
}

const DEF: Tolerances = Tolerances {
    scale_up: 0.1,
    scale_down: 0.1,
};

/// What a Resource/Utilization case asserts: `(replicas, utilization %,
/// raw average)` or an error containing the text.
#[derive(Debug)]
enum Want {
    Ok(u32, i64, i64),
    Err(&'static str),
}

#[test]
fn get_resource_replicas() {
    let check =
        |name: &str, current: u32, target: i32, t: Tolerances, pods: &[PodMetric], want: Want| {
            let got = resource_utilization_replicas(current, target, t, pods);
            match (&want, got) {
                (Want::Ok(r, u, raw), Ok(g)) => assert_eq!(
                    (g.replicas, g.utilization_percent, g.raw_average_milli),
                    (*r, *u, *raw),
                    "{name}"
                ),
                (Want::Err(text), Err(e)) => {
                    assert!(e.to_string().contains(text), "{name}: {e}")
                }
                (w, g) => panic!("{name}: want {w:?}, got {g:?}"),
            }
        };
    // TestReplicaCalcResourceScale/scale up
    check(
        "scale up",
        3,
        30,
        DEF,
        &[s(RU, 2000, 600), s(RU, 2000, 1000), s(RU, 2000, 1400)],
        Want::Ok(5, 50, 1000),
    );
    // TestReplicaCalcResourceScale/scale up: container metric
    check(
        "container up",
        3,
        30,
        DEF,
        &[s(RU, 1000, 300), s(RU, 1000, 500), s(RU, 1000, 700)],
        Want::Ok(5, 50, 500),
    );
    // TestReplicaCalcResourceScale/scale up: hot-CPU container scales less
    check(
        "hot container",
        3,
        30,
        DEF,
        &[s(UN, 1000, 300), s(RU, 1000, 500), s(RU, 1000, 700)],
        Want::Ok(4, 60, 600),
    );
    // TestReplicaCalcResourceScale/scale up: failed pods ignored
    check(
        "failed up",
        2,
        30,
        DEF,
        &[
            s(RU, 2000, 1000),
            s(RU, 2000, 1400),
            n(IG, 2000),
            n(IG, 2000),
        ],
        Want::Ok(4, 60, 1200),
    );
    // TestReplicaCalcResourceScale/scale up: failed pods ignored with missing container metric
    check(
        "failed missing container",
        2,
        30,
        DEF,
        &[s(RU, 1000, 500), s(RU, 1000, 700), n(IG, 1000), n(IG, 1000)],
        Want::Ok(4, 60, 600),
    );
    // TestReplicaCalcResourceScale/scale up: container metrics with pods being deleted ignored
    check(
        "deleting container up",
        2,
        30,
        DEF,
        &[s(RU, 1000, 500), s(RU, 1000, 700), n(IG, 1000), n(IG, 1000)],
        Want::Ok(4, 60, 600),
    );
    // TestReplicaCalcResourceScale/scale down
    check(
        "scale down",
        5,
        50,
        DEF,
        &[
            s(RU, 2000, 200),
            s(RU, 2000, 600),
            s(RU, 2000, 1000),
            s(RU, 2000, 500),
            s(RU, 2000, 500),
        ],
        Want::Ok(3, 28, 560),
    );
    // TestReplicaCalcResourceScale/scale down: container metric
    check(
        "container down",
        5,
        50,
        DEF,
        &[
            s(RU, 1000, 100),
            s(RU, 1000, 300),
            s(RU, 1000, 500),
            s(RU, 1000, 250),
            s(RU, 1000, 250),
        ],
        Want::Ok(3, 28, 280),
    );
    // TestReplicaCalcResourceScale/scale down: container metric excludes unready pods
    check(
        "container unready down",
        5,
        50,
        DEF,
        &[
            s(RU, 1000, 100),
            s(RU, 1000, 300),
            s(RU, 1000, 500),
            s(UN, 1000, 250),
            s(UN, 1000, 250),
        ],
        Want::Ok(2, 30, 300),
    );
    // TestReplicaCalcResourceScale/scale down: container metric excludes unscheduled pods
    check(
        "container pending down",
        5,
        50,
        DEF,
        &[
            s(RU, 1000, 100),
            s(UN, 1000, 300),
            s(UN, 1000, 500),
            s(UN, 1000, 250),
            s(UN, 1000, 250),
        ],
        Want::Ok(1, 10, 100),
    );
    // TestReplicaCalcResourceScale/scale down: container metric ignores hot-CPU pods
    check(
        "container hot down",
        5,
        50,
        DEF,
        &[
            s(RU, 1000, 100),
            s(RU, 1000, 300),
            s(RU, 1000, 500),
            s(UN, 1000, 1000),
            s(UN, 1000, 1000),
        ],
        Want::Ok(2, 30, 300),
    );
    // TestReplicaCalcResourceScale/scale down: pods being deleted are ignored
    check(
        "deleting down",
        5,
        50,
        DEF,
        &[
            s(RU, 2000, 200),
            s(RU, 2000, 600),
            s(RU, 2000, 1000),
            s(RU, 2000, 500),
            s(RU, 2000, 500),
            n(IG, 2000),
            n(IG, 2000),
        ],
        Want::Ok(3, 28, 560),
    );
    // TestReplicaCalcResourceScale/scale down: still-running pods being deleted are ignored
    check(
        "deleting running container",
        5,
        50,
        DEF,
        &[
            s(RU, 1000, 100),
            s(RU, 1000, 300),
            s(RU, 1000, 500),
            s(RU, 1000, 250),
            s(RU, 1000, 250),
            n(IG, 1000),
            n(IG, 1000),
        ],
        Want::Ok(3, 28, 280),
    );
    // TestReplicaCalcResourceTolerance/within default tolerance (requests 0.9/1.0/1.1)
    check(
        "within default",
        3,
        100,
        DEF,
        &[s(RU, 1800, 2020), s(RU, 2000, 2060), s(RU, 2200, 2040)],
        Want::Ok(3, 102, 2040),
    );
    // TestReplicaCalcResourceTolerance/outside 0% tolerance
    check(
        "outside 0%",
        3,
        100,
        tol(0.0, 0.0),
        &[s(RU, 1800, 1818), s(RU, 2000, 2020), s(RU, 2200, 2222)],
        Want::Ok(4, 101, 2020),
    );
    // TestReplicaCalcResourceTolerance/outside 8% scale-up tolerance (superfluous scale-down tolerance)
    check(
        "outside 8% up",
        3,
        100,
        tol(2.0, 0.08),
        &[s(RU, 1800, 2200), s(RU, 2000, 2160), s(RU, 2200, 2180)],
        Want::Ok(4, 109, 2180),
    );
    // TestReplicaCalcResourceTolerance/within 36% scale-down tolerance
    check(
        "within 36% down",
        3,
        100,
        tol(0.36, 0.1),
        &[s(RU, 1800, 1320), s(RU, 2000, 1280), s(RU, 2200, 1300)],
        Want::Ok(3, 65, 1300),
    );
    // TestReplicaCalcResourceMissingMetrics/superfluous metrics counted
    check(
        "superfluous",
        4,
        100,
        DEF,
        &[
            s(RU, 2000, 8000),
            s(RU, 2000, 19000),
            s(RU, 2000, 6000),
            s(RU, 2000, 14000),
            p(UL, None, Some(6400)),
            p(UL, None, Some(4000)),
        ],
        Want::Ok(24, 587, 11750),
    );
    // TestReplicaCalcResourceMissingMetrics/some pods missing metrics scales down
    check(
        "missing scales down",
        4,
        100,
        DEF,
        &[s(RU, 2000, 800), s(RU, 2000, 190), n(MI, 2000), n(MI, 2000)],
        Want::Ok(3, 24, 495),
    );
    // TestReplicaCalcResourceMissingMetrics/no change: metric equal to target
    // (usage ratio exactly 1.0: missing pods are not filled, keep current)
    check(
        "equal to target",
        2,
        100,
        DEF,
        &[s(RU, 2000, 2000), n(MI, 2000)],
        Want::Ok(2, 100, 2000),
    );
    // The same at a 0 % tolerance: still exactly 1.0, still kept.
    check(
        "equal to target, 0%",
        2,
        100,
        tol(0.0, 0.0),
        &[s(RU, 2000, 2000), n(MI, 2000)],
        Want::Ok(2, 100, 2000),
    );
    // TestReplicaCalcResourceMissingMetrics/no change: metric above target
    check(
        "above target",
        2,
        100,
        DEF,
        &[s(RU, 2000, 3800), n(MI, 2000)],
        Want::Ok(2, 190, 3800),
    );
    // TestReplicaCalcResourceMissingMetrics/no change: metric below target
    check(
        "below target",
        2,
        100,
        DEF,
        &[s(RU, 2000, 1200), n(MI, 2000)],
        Want::Ok(2, 60, 1200),
    );
    // TestReplicaCalcResourceMissingMetrics/no change: unready pod metric missing
    check(
        "unready, missing",
        3,
        50,
        DEF,
        &[s(UN, 2000, 200), s(RU, 2000, 900), n(MI, 2000)],
        Want::Ok(3, 45, 900),
    );
    // TestReplicaCalcResourceMissingMetrics/scale up: unready pod metric missing
    check(
        "unready missing up",
        3,
        50,
        DEF,
        &[s(UN, 2000, 200), s(RU, 2000, 4000), n(MI, 2000)],
        Want::Ok(4, 200, 4000),
    );
    // TestReplicaCalcResourceMissingMetrics/scale down: unready pod metric missing
    check(
        "unready missing down",
        4,
        50,
        DEF,
        &[
            s(UN, 2000, 200),
            s(RU, 2000, 200),
            s(RU, 2000, 200),
            n(MI, 2000),
        ],
        Want::Ok(3, 10, 200),
    );
    // TestReplicaCalcResourceMissingMetrics/scale down: target over 100
    check(
        "target over 100",
        4,
        300,
        DEF,
        &[
            s(UN, 2000, 400),
            s(RU, 2000, 200),
            s(RU, 4000, 200),
            n(MI, 4000),
        ],
        Want::Ok(2, 6, 200),
    );
    // TestReplicaCalcResourceMissingMetrics/rolling update with maxSurge: extra pod missing metric
    check(
        "max surge",
        2,
        50,
        DEF,
        &[s(RU, 2000, 200), s(RU, 2000, 200), n(MI, 2000)],
        Want::Ok(2, 10, 200),
    );
    // TestReplicaCalcResourceMissingMetrics/disjoint pod and metric names
    check(
        "disjoint",
        1,
        100,
        DEF,
        &[n(MI, 2000), p(UL, None, Some(200))],
        Want::Err("no metrics returned matched known pods"),
    );
    // TestReplicaCalcResourceMissingMetrics/no metrics returned from metrics API
    check(
        "no metrics",
        4,
        100,
        DEF,
        &[n(MI, 2000), n(MI, 2000), n(MI, 2000), n(MI, 2000)],
        Want::Err("no metrics returned from resource metrics API"),
    );
    // TestReplicaCalcResourceMissingMetrics/missing CPU request on container
    check(
        "no request",
        1,
        100,
        DEF,
        &[p(RU, None, Some(400))],
        Want::Err("missing request for"),
    );
}

#[test]
fn get_metric_replicas() {
    // (current, target, pod samples, expected replicas, expected usage)
    let check = |name: &str,
                 current: u32,
                 target: i64,
                 t: Tolerances,
                 pods: &[PodMetric],
                 want: (u32, i64)| {
        let g = pods_average_value_replicas(current, target, t, pods).expect(name);
        assert_eq!((g.replicas, g.usage_milli), want, "{name}");
    };
    let r = |v: i64| p(RU, None, Some(v));
    // TestReplicaCalcPodMetric/scale up: unready hot-CPU pod scales less
    // (readiness rules are for cpu only: every pod with a sample counts)
    check(
        "unready hot",
        3,
        15000,
        DEF,
        &[r(50000), r(10000), r(30000)],
        (6, 30000),
    );
    // TestReplicaCalcPodMetric/scale up: unready hot-CPU pods avoid scale-down
    check(
        "unready hot pods",
        3,
        15000,
        DEF,
        &[r(50000), r(15000), r(30000)],
        (7, 31666),
    );
    // TestReplicaCalcPodMetric/scale down
    check(
        "scale down",
        5,
        20000,
        DEF,
        &[r(12000), r(12000), r(12000), r(12000), r(12000)],
        (3, 12000),
    );
    // TestReplicaCalcPodMetric/within default tolerance
    check(
        "within",
        3,
        20000,
        DEF,
        &[r(20000), r(21000), r(21000)],
        (3, 20666),
    );
    // TestReplicaCalcPodMetric/outside configurable 1% tolerance
    check(
        "outside 1%",
        3,
        20000,
        tol(0.1, 0.01),
        &[r(20000), r(21000), r(21000)],
        (4, 20666),
    );
    // TestReplicaCalcPodMetric/no change: missing metrics (usage ratio
    // exactly 1.0 with two pods missing: keep current)
    check(
        "missing at 1.0",
        5,
        20000,
        DEF,
        &[
            r(20000),
            r(19000),
            r(21000),
            p(MI, None, None),
            p(MI, None, None),
        ],
        (5, 20000),
    );
    // TestReplicaCalcPodMetric/rolling update with maxSurge: extra pod missing metric
    check(
        "max surge",
        2,
        17000,
        DEF,
        &[r(10000), r(10000), p(MI, None, None)],
        (2, 10000),
    );
}

#[test]
fn object_and_external_metrics() {
    // (current, total value, target, ready running pods) -> (replicas, usage)
    let value = |name: &str,
                 current: u32,
                 v: i64,
                 target: i64,
                 ready: u32,
                 t: Tolerances,
                 want: (u32, i64)| {
        let g = object_value_replicas(current, v, target, ready, t).expect(name);
        assert_eq!((g.replicas, g.usage_milli), want, "{name}");
    };
    // TestReplicaCalcObjectMetric/scale up: very large metric saturates replicas to MaxInt32
    value(
        "object saturates",
        3,
        i64::MAX,
        1,
        3,
        DEF,
        (i32::MAX as u32, i64::MAX),
    );
    // TestReplicaCalcObjectMetric/scale up: ignores unready pods
    value("object unready", 3, 50000, 10000, 1, DEF, (5, 50000));
    // TestReplicaCalcObjectMetric/scale down
    value("object down", 5, 12000, 20000, 5, DEF, (3, 12000));
    // TestReplicaCalcObjectMetric/outside configurable 1% tolerance
    value("object 1%", 3, 20666, 20000, 3, tol(0.1, 0.01), (4, 20666));
    // TestReplicaCalcExternalMetric/scale down: ignores unready pods (would otherwise scale up)
    value("external unready", 3, 8600, 4400, 1, DEF, (2, 8600));
    // TestReplicaCalcExternalMetric/usage overflow caps at MaxInt64 (the
    // two samples sum saturating to MaxInt64)
    let total = (i64::MAX / 2 + 1).saturating_add(i64::MAX / 2 + 1);
    value(
        "external overflow",
        3,
        total,
        i64::MAX,
        3,
        DEF,
        (3, i64::MAX),
    );

    // (status replicas, total value, per-pod target) -> (replicas, usage)
    let per_pod =
        |name: &str, status: u32, v: i64, target: i64, t: Tolerances, want: (u32, i64)| {
            let g = per_pod_replicas(status, v, target, t).expect(name);
            assert_eq!((g.replicas, g.usage_milli), want, "{name}");
        };
    // TestReplicaCalcExternalPerPodMetric/replica count overflow saturates to MaxInt32
    per_pod(
        "per-pod saturates",
        1,
        i64::MAX,
        1,
        DEF,
        (i32::MAX as u32, i64::MAX),
    );
    // TestReplicaCalcExternalPerPodMetric/usage overflow with huge target leaves replicas unchanged
    per_pod(
        "per-pod huge target",
        1,
        i64::MAX,
        i64::MAX,
        DEF,
        (1, i64::MAX),
    );
    // TestReplicaCalcExternalPerPodMetric/scale up
    per_pod("per-pod up", 3, 8600, 2150, DEF, (4, 2867));
    // TestReplicaCalcExternalPerPodMetric/scale down
    per_pod("per-pod down", 5, 8600, 2867, DEF, (3, 1720));
    // TestReplicaCalcExternalPerPodMetric/within default tolerance
    per_pod("per-pod within", 3, 8600, 2900, DEF, (3, 2867));
    // TestReplicaCalcExternalPerPodMetric/outside configurable 1% tolerance
    per_pod("per-pod 1%", 3, 8600, 2800, tol(0.1, 0.01), (4, 2867));
    // TestReplicaCalcObjectPerPodMetric/scale down
    per_pod("object per-pod down", 5, 6000, 2000, DEF, (3, 1200));
    // TestReplicaCalcObjectPerPodMetric/within default tolerance
    per_pod("object per-pod within", 4, 20166, 5000, DEF, (4, 5042));
    // TestReplicaCalcObjectPerPodMetric/outside configurable 1% tolerance
    per_pod(
        "object per-pod 1%",
        4,
        20208,
        5000,
        tol(0.1, 0.01),
        (5, 5052),
    );
}
