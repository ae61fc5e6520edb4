//! Table cases ported from kubernetes/kubernetes
//! `pkg/controller/podautoscaler/horizontal_test.go`, revision
//! `003e86297d18a8538c9da3619871393f9703bf70` (autoscaling/v2, before the
//! per-direction tolerance plumbing): the pure normalization and behavior
//! tests, one table per upstream test, each row keeping upstream's case
//! name (`TestScalingWithRules` is in `horizontal_rules_tests.rs`).
//!
//! Conventions: upstream's `time.Now()` is [`NOW`]; a recommendation or an
//! event "`k` seconds ago" is stored at `NOW - k`. Upstream's test
//! `init()` raises `scaleUpLimitFactor` to 8, so the legacy conversion is
//! checked through [`convert_legacy_with_factor`] with 8 (production
//! keeps 2). `storeScaleEvent`'s `outdated` flag is not stored here: with
//! a fixed behavior and a clock that only moves forward an event is
//! outdated exactly when it is older than the longest policy period at
//! the last store, which is what the `outdated` column is checked against.
//!
//! Ported through the decision core: `TestNormalizeDesiredReplicas`,
//! `TestNormalizeDesiredReplicasWithBehavior`,
//! `TestConvertDesiredReplicasWithRules`,
//! `TestCalculateScaleUpLimitWithScalingRules`,
//! `TestCalculateScaleDownLimitWithBehaviors`, `TestStoreScaleEvents`,
//! `TestScalingWithRules`, and the reconciles whose decision needs no
//! status or event plumbing: `TestScaleUpRCImmediately`,
//! `TestScaleDownRCImmediately`, `TestStabilizeDownscale`,
//! `TestComputedToleranceAlgImplementation`.
//!
//! Skipped: every other `testCase.runTest` test (`TestScaleUp*`,
//! `TestScaleDown*`, `TestTolerance*`, `TestConditionFailed*`,
//! `TestNoBackoff*`, `TestAvoidUnnecessaryUpdates`, `TestUpscaleCap*`,
//! `TestMinReplicas*`, `TestMaxReplicas*`, `TestSuperfluousMetrics`,
//! `TestMissingMetrics`, `TestEmptyMetrics*`, `TestScaleUpOneMetric*`,
//! `TestNoScaleDownOneMetric*`, `TestMultipleHPAs`, the selector tests,
//! ...): they run the controller against fake API, metrics and scale
//! clients and informers and assert status conditions, events and
//! monitor labels; their replica arithmetic is the replica calculator
//! (ported in `upstream_tests.rs`) followed by the normalization ported
//! here. `TestGenerateScaleUpRules` / `TestGenerateScaleDownRules` are not
//! in this file (they live in `pkg/apis/autoscaling/v2/defaults_test.go`).

use super::*;

/// Upstream's `time.Now()`.
const NOW_S: u64 = 100_000;
const NOW: SimTime = SimTime(NOW_S * 1_000_000_000);

fn ago(s: u64) -> SimTime {
    SimTime((NOW_S - s) * 1_000_000_000)
}

fn rec(replicas: u32, age_s: u64) -> Recommendation {
    Recommendation {
        replicas,
        at: ago(age_s),
    }
}

fn ev(change: u32, age_s: u64) -> ScaleEvent {
    ScaleEvent {
        change,
        at: ago(age_s),
    }
}

/// `generateScalingRules`: Max of an optional Pods and an optional
/// Percent policy (a 0 value leaves that policy out).
pub(super) fn g(pods: u32, pods_p: u32, pct: u32, pct_p: u32, window: u32) -> ScalingRules {
    let mut policies = Vec::new();
    if pods != 0 {
        policies.push(ScalingPolicy {
            kind: PolicyType::Pods,
            value: pods,
            period_s: pods_p,
        });
    }
    if pct != 0 {
        policies.push(ScalingPolicy {
            kind: PolicyType::Percent,
            value: pct,
            period_s: pct_p,
        });
    }
    ScalingRules {
        stabilization_window_s: window,
        select_policy: SelectPolicy::Max,
        policies,
    }
}

fn hpa(min: u32, max: u32, behavior: Option<Behavior>) -> Hpa {
    Hpa::new(HpaConfig {
        min_replicas: min,
        max_replicas: max,
        behavior,
        ..HpaConfig::default()
    })
    .expect("valid config")
}

fn stored(h: &Hpa) -> Vec<u32> {
    h.recommendations().iter().map(|r| r.replicas).collect()
}

#[test]
fn normalize_desired_replicas() {
    // TestNormalizeDesiredReplicas: (name, log, prenormalized, stabilized,
    // log length after); window 5 min.
    let cases: Vec<(&str, Vec<Recommendation>, u32, u32, usize)> = vec![
        ("empty log", vec![], 5, 5, 1),
        ("stabilize", vec![rec(4, 120), rec(5, 60)], 3, 5, 3),
        ("no stabilize", vec![rec(1, 120), rec(2, 60)], 3, 3, 3),
        (
            "no stabilize - old recommendations",
            vec![rec(10, 600), rec(9, 540)],
            3,
            3,
            2,
        ),
        (
            "stabilize - old recommendations",
            vec![rec(10, 600), rec(4, 60), rec(5, 120), rec(9, 540)],
            3,
            5,
            4,
        ),
    ];
    for (name, log, desired, want, len) in cases {
        let mut h = hpa(1, 10, None);
        assert_eq!(h.config().downscale_stabilization_s, 300);
        h.set_recommendations(log);
        assert_eq!(h.stabilize_legacy(NOW, desired), want, "{name}");
        assert_eq!(h.recommendations().len(), len, "{name}");
        // The new recommendation is stored at NOW.
        assert!(
            h.recommendations()
                .iter()
                .any(|r| r.replicas == desired && r.at == NOW),
            "{name}"
        );
    }
}

/// One `TestNormalizeDesiredReplicasWithBehavior` row.
struct StabCase {
    name: &'static str,
    recs: Vec<Recommendation>,
    current: u32,
    desired: u32,
    want: u32,
    /// Stored recommendations afterwards (`None`: upstream checks none).
    stored: Option<Vec<u32>>,
    up_window: u32,
    down_window: u32,
}

#[test]
fn normalize_desired_replicas_with_behavior() {
    let c = |name, recs, current, desired, want, stored, up_window, down_window| StabCase {
        name,
        recs,
        current,
        desired,
        want,
        stored,
        up_window,
        down_window,
    };
    let cases = vec![
        c(
            "empty recommendations for scaling down",
            vec![],
            100,
            5,
            5,
            Some(vec![5]),
            0,
            0,
        ),
        c(
            "simple scale down stabilization",
            vec![rec(4, 120), rec(5, 60)],
            100,
            3,
            5,
            Some(vec![4, 5, 3]),
            0,
            180,
        ),
        c(
            "simple scale up stabilization",
            vec![rec(4, 120), rec(5, 60)],
            1,
            7,
            4,
            Some(vec![4, 5, 7]),
            300,
            0,
        ),
        c(
            "no scale down stabilization",
            vec![rec(1, 120), rec(2, 60)],
            100,
            3,
            3,
            Some(vec![1, 2, 3]),
            300,
            0,
        ),
        c(
            "no scale up stabilization",
            vec![rec(4, 120), rec(5, 60)],
            1,
            3,
            3,
            Some(vec![4, 5, 3]),
            0,
            300,
        ),
        c(
            "no scale down stabilization, reuse recommendation element",
            vec![rec(10, 600), rec(9, 540)],
            100,
            3,
            3,
            Some(vec![10, 3]),
            0,
            0,
        ),
        c(
            "no scale up stabilization, reuse recommendation element",
            vec![rec(10, 600), rec(9, 540)],
            1,
            100,
            100,
            Some(vec![10, 100]),
            0,
            0,
        ),
        c(
            "scale down stabilization, reuse one of obsolete recommendation element",
            vec![rec(10, 600), rec(4, 60), rec(5, 120), rec(9, 540)],
            100,
            3,
            5,
            Some(vec![10, 4, 5, 3]),
            0,
            180,
        ),
        c(
            "scale up stabilization, reuse one of obsolete recommendation element",
            vec![rec(10, 6000), rec(6, 60), rec(5, 120), rec(9, 180)],
            1,
            100,
            5,
            Some(vec![100, 6, 5, 9]),
            300,
            0,
        ),
        c(
            "scale up and down stabilization, do not scale up when prenormalized rec goes down",
            vec![rec(2, 6000), rec(3, 180)],
            2,
            1,
            2,
            None,
            300,
            300,
        ),
        c(
            "scale up and down stabilization, do not scale down when prenormalized rec goes up",
            vec![rec(2, 6000), rec(1, 180)],
            2,
            3,
            2,
            None,
            300,
            300,
        ),
    ];
    assert_eq!(cases.len(), 11);
    for t in cases {
        let window = |w: u32, mut r: ScalingRules| {
            r.stabilization_window_s = w;
            Some(r)
        };
        let mut h = hpa(
            1,
            1000,
            Some(Behavior {
                scale_up: window(t.up_window, ScalingRules::default_scale_up()),
                scale_down: window(t.down_window, ScalingRules::default_scale_down(300)),
            }),
        );
        h.set_recommendations(t.recs);
        let got = h.stabilize_with_behaviors(NOW, t.current, t.desired);
        assert_eq!(got, t.want, "{}", t.name);
        if let Some(want) = t.stored {
            assert_eq!(stored(&h), want, "{}", t.name);
        }
    }
}

#[test]
fn convert_desired_replicas_with_rules() {
    use Condition::*;
    // TestConvertDesiredReplicasWithRules: (annotation, current, desired,
    // min, max, converted, condition); scaleUpLimitFactor = 8 as in
    // upstream's test init(), so calculateScaleUpLimit(3) = max(24, 4).
    let cases = [
        (
            "prenormalized desired replicas within range",
            5,
            7,
            3,
            8,
            7,
            DesiredWithinRange,
        ),
        (
            "prenormalized desired replicas < minReplicas",
            3,
            1,
            2,
            8,
            2,
            TooFewReplicas,
        ),
        (
            "prenormalized desired zeroed replicas within range",
            1,
            0,
            0,
            10,
            0,
            DesiredWithinRange,
        ),
        (
            "maxReplicas is the limit because maxReplicas < scaleUpLimit",
            20,
            1000,
            1,
            10,
            10,
            TooManyReplicas,
        ),
        (
            "scaleUpLimit is the limit because scaleUpLimit < maxReplicas",
            3,
            1000,
            1,
            2000,
            24,
            ScaleUpLimit,
        ),
    ];
    for (name, current, desired, min, max, want, cond) in cases {
        let got = convert_legacy_with_factor(current, desired, min, max, 8.0);
        assert_eq!(got, (want, cond), "{name}");
    }
    // The production factor (2) caps the last case at max(2·3, 4).
    assert_eq!(convert_legacy(3, 1000, 1, 2000), (6, ScaleUpLimit));
}

fn min_policy_rules() -> ScalingRules {
    // Min of +/-2 pods per 60 s and 50 % per 60 s, window 300 s.
    let mut r = g(2, 60, 50, 60, 300);
    r.select_policy = SelectPolicy::Min;
    r
}

#[test]
fn calculate_scale_up_limit_with_scaling_rules() {
    // TestCalculateScaleUpLimitWithScalingRules: min(1 + 2, ceil(1 · 1.5)).
    assert_eq!(scale_up_limit(1, &[], &[], &min_policy_rules(), NOW), 2);
}

#[test]
fn calculate_scale_down_limit_with_behaviors() {
    // TestCalculateScaleDownLimitWithBehaviors: max(5 - 2, trunc(5 · 0.5)).
    assert_eq!(scale_down_limit(5, &[], &[], &min_policy_rules(), NOW), 3);
}

/// One `TestStoreScaleEvents` row.
struct StoreCase {
    name: &'static str,
    change: u32,
    prev: Vec<ScaleEvent>,
    /// Events afterwards: (replica change, stored now, outdated).
    new: Vec<(u32, bool, bool)>,
    rules: Option<ScalingRules>,
    /// `getReplicasChangePerPeriod(60, prev)`.
    change_60: i64,
}

#[test]
fn store_scale_events() {
    let c = |name, change, prev, new, rules, change_60| StoreCase {
        name,
        change,
        prev,
        new,
        rules,
        change_60,
    };
    let cases = vec![
        c(
            "empty entries with default behavior",
            5,
            vec![],
            vec![],
            None,
            0,
        ),
        c(
            "empty entries with two-policy-behavior",
            5,
            vec![],
            vec![(5, true, false)],
            Some(g(10, 60, 100, 60, 0)),
            0,
        ),
        c(
            "one outdated entry to be kept untouched without behavior",
            5,
            vec![ev(7, 61)],
            vec![(7, false, false)],
            None,
            0,
        ),
        c(
            "one outdated entry to be replaced with behavior",
            5,
            vec![ev(7, 61)],
            vec![(5, true, false)],
            Some(g(10, 60, 100, 60, 0)),
            0,
        ),
        c(
            "one actual entry to be not touched with behavior",
            5,
            vec![ev(7, 58)],
            vec![(7, false, false), (5, true, false)],
            Some(g(10, 60, 100, 60, 0)),
            7,
        ),
        c(
            "two entries, one of them to be replaced",
            5,
            vec![ev(7, 61), ev(6, 59)],
            vec![(5, true, false), (6, false, false)],
            Some(g(10, 60, 0, 0, 0)),
            6,
        ),
        c(
            "replace one entry, use policies with different periods",
            5,
            vec![ev(8, 29), ev(6, 59), ev(7, 61), ev(9, 61)],
            vec![
                (8, false, false),
                (6, false, false),
                (7, false, true),
                (5, true, false),
            ],
            Some(g(10, 60, 100, 30, 0)),
            14,
        ),
        c(
            "two entries, both actual",
            5,
            vec![ev(7, 58), ev(6, 59)],
            vec![(7, false, false), (6, false, false), (5, true, false)],
            Some(g(10, 120, 100, 30, 0)),
            13,
        ),
    ];
    assert_eq!(cases.len(), 8);
    for t in cases {
        for up in [true, false] {
            let dir = if up { "up" } else { "down" };
            let behavior = t.rules.as_ref().map(|r| Behavior {
                scale_up: up.then(|| r.clone()),
                scale_down: (!up).then(|| r.clone()),
            });
            let mut h = hpa(1, 1000, behavior);
            let (prev_up, prev_down) = match up {
                true => (t.prev.clone(), vec![]),
                false => (vec![], t.prev.clone()),
            };
            h.set_scale_events(prev_up, prev_down);
            let events = |h: &Hpa| match up {
                true => h.up_events.clone(),
                false => h.down_events.clone(),
            };
            assert_eq!(
                change_in_period(60, &events(&h), NOW),
                t.change_60,
                "{} ({dir})",
                t.name
            );
            let new = if up { 10 + t.change } else { 10 - t.change };
            h.store_scale_event(NOW, 10, new);
            let longest = t.rules.as_ref().map_or(0, |r| r.longest_period());
            let cutoff = ago(u64::from(longest));
            let got: Vec<(u32, bool, bool)> = events(&h)
                .iter()
                .map(|e| (e.change, e.at == NOW, t.rules.is_some() && e.at < cutoff))
                .collect();
            assert_eq!(got, t.new, "{} ({dir})", t.name);
        }
    }
}

#[test]
fn scale_up_rc_immediately() {
    // TestScaleUpRCImmediately: spec 1 < min 2 scales to 2 without a
    // metric (no stabilization, no rate limit).
    let mut h = hpa(2, 6, None);
    let d = h.reconcile(NOW, 1, &[]).expect("decides");
    assert_eq!((d.desired, d.rescale), (2, true));
}

#[test]
fn scale_down_rc_immediately() {
    // TestScaleDownRCImmediately: spec 6 > max 5 scales to 5 at once.
    let mut h = hpa(2, 5, None);
    let d = h.reconcile(NOW, 6, &[Some(9)]).expect("decides");
    assert_eq!((d.desired, d.rescale), (5, true));
}

fn cpu_pod(request: i64, usage: i64) -> PodMetric {
    PodMetric {
        class: PodClass::Ready,
        request_milli: Some(request),
        value_milli: Some(usage),
    }
}

#[test]
fn stabilize_downscale() {
    // TestStabilizeDownscale: 3 pods at 50m of 100m against a 100 % target
    // ask for fewer than 4, but a 4 one minute ago holds the count (the
    // 10 from ten minutes ago is outside the 5 min window).
    let pods = [cpu_pod(100, 50); 3];
    let metric = resource_utilization_replicas(4, 100, Tolerances::default(), &pods)
        .expect("decides")
        .replicas;
    assert!(metric < 4, "the metric asks to scale down, got {metric}");
    let mut h = hpa(1, 5, None);
    h.set_recommendations(vec![rec(10, 600), rec(4, 60)]);
    let d = h.reconcile(NOW, 4, &[Some(metric)]).expect("decides");
    assert_eq!((d.desired, d.rescale), (4, false));
}

#[test]
fn computed_tolerance_alg_implementation() {
    // TestComputedToleranceAlgImplementation: 10 pods use 150m each of
    // ~300m (the harness halves each request per container in integer
    // millis: 301m -> 300m, 299m -> 298m). Target int32((1/(2·0.9) +
    // 0.01)·100) = 56 % breaches the tolerance: ceil(0.884·10) = 9.
    // Target int32((1/(2·0.9) + 0.004)·100) = 55 % stays within it: 10.
    let requests = [400, 200, 310, 290, 302, 298, 300, 298, 300, 300];
    let pods: Vec<PodMetric> = requests.iter().map(|&r| cpu_pod(r, 150)).collect();
    for (case, target, want) in [("tc1", 56, 9), ("tc2", 55, 10)] {
        let metric = resource_utilization_replicas(10, target, Tolerances::default(), &pods)
            .expect("decides")
            .replicas;
        let mut h = hpa(0, 1000, None);
        h.set_recommendations(vec![]);
        let d = h.reconcile(NOW, 10, &[Some(metric)]).expect("decides");
        assert_eq!((d.desired, d.rescale), (want, want != 10), "{case}");
    }
}
