//! `TestScalingWithRules` of kubernetes/kubernetes
//! `pkg/controller/podautoscaler/horizontal_test.go`, revision
//! `003e86297d18a8538c9da3619871393f9703bf70`, through
//! [`Hpa::convert_with_behavior_rate`]; one row per upstream case, with
//! upstream's name. Events come from `generateEventsUniformDistribution`
//! over 120 s (n events sit at `120 - (i + 1)·120/n + 60/n` seconds ago,
//! truncated to whole seconds as upstream's `time.Duration` conversion
//! does); an unset direction takes the API default rules
//! (`GenerateHPAScaleUpRules(nil)` / `GenerateHPAScaleDownRules(nil)`).
//! Upstream skips its `testThis` row at run time; it is checked here too.

use super::horizontal_tests::g;
use super::*;
use Condition::*;

const NOW_S: u64 = 100_000;
const NOW: SimTime = SimTime(NOW_S * 1_000_000_000);

/// `generateEventsUniformDistribution(raw, 120)`.
fn uniform(raw: &[u32]) -> Vec<ScaleEvent> {
    let seg = 120.0 / raw.len() as f64;
    raw.iter()
        .enumerate()
        .map(|(i, &change)| {
            let age = (120.0 - seg * (i + 1) as f64 + seg / 2.0) as u64;
            ScaleEvent {
                change,
                at: SimTime((NOW_S - age) * 1_000_000_000),
            }
        })
        .collect()
}

struct Case {
    name: &'static str,
    current: u32,
    desired: u32,
    min: u32,
    max: u32,
    want: u32,
    cond: Condition,
    up_events: &'static [u32],
    down_events: &'static [u32],
    up: Option<ScalingRules>,
    down: Option<ScalingRules>,
}

/// A row: `(current, prenormalized desired)`, `(min, max)`, `(expected
/// replicas, expected condition)`; rules and events default to none.
fn case(name: &'static str, cd: (u32, u32), mm: (u32, u32), want: (u32, Condition)) -> Case {
    Case {
        name,
        current: cd.0,
        desired: cd.1,
        min: mm.0,
        max: mm.1,
        want: want.0,
        cond: want.1,
        up_events: &[],
        down_events: &[],
        up: None,
        down: None,
    }
}

impl Case {
    fn up(mut self, r: ScalingRules) -> Self {
        self.up = Some(r);
        self
    }
    fn down(mut self, r: ScalingRules) -> Self {
        self.down = Some(r);
        self
    }
    fn up_ev(mut self, raw: &'static [u32]) -> Self {
        self.up_events = raw;
        self
    }
    fn down_ev(mut self, raw: &'static [u32]) -> Self {
        self.down_events = raw;
        self
    }
}

#[test]
fn generated_events_sit_where_upstream_puts_them() {
    let ages = |raw: &[u32]| -> Vec<u64> {
        uniform(raw)
            .iter()
            .map(|e| NOW_S - e.at.0 / 1_000_000_000)
            .collect()
    };
    assert_eq!(ages(&[1, 5, 9]), [100, 60, 20]);
    assert_eq!(ages(&[8, 12, 9, 11]), [105, 75, 45, 15]);
    assert_eq!(ages(&[4]), [60]);
}

#[test]
fn scaling_with_rules() {
    let cases = vec![
        case("prenormalized desired replicas within range", (5, 7), (3, 8), (7, DesiredWithinRange)),
        case("prenormalized desired replicas < minReplicas", (3, 1), (2, 8), (2, TooFewReplicas)),
        case(
            "prenormalized desired replicas within range when minReplicas is 0",
            (1, 0),
            (0, 10),
            (0, DesiredWithinRange),
        ),
        case(
            "maxReplicas is the limit because maxReplicas < scaleUpLimit",
            (20, 1000),
            (1, 10),
            (10, TooManyReplicas),
        ),
        case(
            "desired replica count is more than the maximum replica count",
            (100, 1000),
            (100, 150),
            (150, TooManyReplicas),
        ),
        case(
            "scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies",
            (3, 1000),
            (1, 2000),
            (4, ScaleUpLimit),
        )
        .up(g(0, 0, 1, 60, 0)),
        case(
            "scaleDownLimit is the limit because scaleDownLimit > minReplicas with user defined policies",
            (1000, 3),
            (3, 2000),
            (980, ScaleDownLimit),
        )
        .down(g(20, 60, 0, 0, 0)),
        case("scaleUp with default behavior", (10, 50), (1, 1000), (20, ScaleUpLimit)),
        case(
            "scaleUp with pods policy larger than percent policy",
            (10, 500),
            (1, 1000),
            (110, ScaleUpLimit),
        )
        .up(g(100, 60, 100, 60, 0)),
        case(
            "scaleUp with percent policy larger than pods policy",
            (10, 500),
            (1, 1000),
            (20, ScaleUpLimit),
        )
        .up(g(2, 60, 100, 60, 0)),
        case(
            "scaleUp with spec MaxReplicas limitation with large pod policy",
            (10, 50),
            (1, 1000),
            (50, DesiredWithinRange),
        )
        .up(g(100, 60, 0, 0, 0)),
        case(
            "scaleUp with spec MaxReplicas limitation with large percent policy",
            (10, 50),
            (1, 1000),
            (50, DesiredWithinRange),
        )
        .up(g(10000, 60, 0, 0, 0)),
        case("scaleUp with pod policy limitation", (10, 50), (1, 1000), (40, ScaleUpLimit))
            .up(g(30, 60, 0, 0, 0)),
        case("scaleUp with percent policy limitation", (10, 50), (1, 1000), (30, ScaleUpLimit))
            .up(g(0, 0, 200, 60, 0)),
        case(
            "scaleDown with percent policy larger than pod policy",
            (100, 2),
            (1, 1000),
            (80, ScaleDownLimit),
        )
        .down(g(20, 60, 1, 60, 300)),
        case(
            "scaleDown with pod policy larger than percent policy",
            (100, 2),
            (1, 1000),
            (98, ScaleDownLimit),
        )
        .down(g(2, 60, 1, 60, 300)),
        case(
            "scaleDown with spec MinReplicas=nil limitation with large pod policy",
            (10, 0),
            (1, 1000),
            (1, TooFewReplicas),
        )
        .down(g(100, 60, 0, 0, 300)),
        case(
            "scaleDown with spec MinReplicas limitation with large pod policy",
            (10, 0),
            (1, 1000),
            (1, TooFewReplicas),
        )
        .down(g(100, 60, 0, 0, 300)),
        case(
            "scaleDown with spec MinReplicas limitation with large percent policy",
            (10, 2),
            (5, 1000),
            (5, TooFewReplicas),
        )
        .down(g(0, 0, 100, 60, 300)),
        case("scaleDown with pod policy limitation", (10, 2), (1, 1000), (5, ScaleDownLimit))
            .down(g(5, 60, 0, 0, 300)),
        case(
            "scaleDown with percent policy limitation",
            (10, 5),
            (1, 1000),
            (5, DesiredWithinRange),
        )
        .down(g(0, 0, 50, 60, 300)),
        case(
            "scaleUp with spec MaxReplicas limitation with large pod policy and events",
            (100, 500),
            (1, 200),
            (200, TooManyReplicas),
        )
        .up_ev(&[1, 5, 9])
        .up(g(300, 60, 0, 0, 0)),
        case(
            "scaleUp with spec MaxReplicas limitation with large percent policy and events",
            (100, 500),
            (1, 200),
            (200, TooManyReplicas),
        )
        .up_ev(&[1, 5, 9])
        .up(g(0, 0, 10000, 60, 0)),
        case(
            "scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale up events",
            (100, 500),
            (1, 1000),
            (100, ScaleUpLimit),
        )
        .up_ev(&[1, 5, 9])
        .up(g(5, 120, 0, 0, 0)),
        case(
            "scaleUp with pod policy and previous scale up events",
            (100, 500),
            (1, 1000),
            (235, ScaleUpLimit),
        )
        .up_ev(&[1, 5, 9])
        .up(g(150, 120, 0, 0, 0)),
        case(
            "scaleUp with percent policy and previous scale up events",
            (100, 500),
            (1, 1000),
            (255, ScaleUpLimit),
        )
        .up_ev(&[1, 5, 9])
        .up(g(0, 0, 200, 120, 0)),
        case(
            "scaleUp with percent policy and previous scale up and down events",
            (6, 24),
            (1, 1000),
            (16, ScaleUpLimit),
        )
        .up_ev(&[4])
        .down_ev(&[2])
        .up(g(0, 0, 300, 300, 0)),
        case(
            "scaleDown with default policy and previous events",
            (10, 5),
            (1, 1000),
            (5, DesiredWithinRange),
        )
        .down_ev(&[1, 5, 9]),
        case(
            "scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events",
            (100, 0),
            (1, 1000),
            (1, TooFewReplicas),
        )
        .down_ev(&[1, 5, 9])
        .down(g(115, 120, 0, 0, 300)),
        case(
            "scaleDown with spec MinReplicas limitation with large pod policy and previous events",
            (100, 0),
            (5, 1000),
            (5, TooFewReplicas),
        )
        .down_ev(&[1, 5, 9])
        .down(g(130, 120, 0, 0, 300)),
        case(
            "scaleDown with spec MinReplicas limitation with large percent policy and previous events",
            (100, 2),
            (5, 1000),
            (5, TooFewReplicas),
        )
        .down_ev(&[1, 5, 9])
        .down(g(0, 0, 100, 120, 300)),
        case(
            "scaleDown with pod policy limitation and previous events",
            (100, 2),
            (1, 1000),
            (100, ScaleDownLimit),
        )
        .down_ev(&[1, 5, 9])
        .down(g(5, 120, 0, 0, 300)),
        case(
            "scaleDown with percent policy limitation and previous events",
            (100, 0),
            (1, 1000),
            (56, ScaleDownLimit),
        )
        .down_ev(&[2, 4, 6])
        .down(g(0, 0, 50, 120, 300)),
        case(
            "scaleDown with percent policy and previous scale up and down events",
            (10, 1),
            (1, 1000),
            (6, ScaleDownLimit),
        )
        .up_ev(&[2])
        .down_ev(&[4])
        .down(g(0, 0, 50, 180, 0)),
        case(
            "scaleDown with previous events preventing further scale down",
            (100, 0),
            (1, 1000),
            (100, ScaleDownLimit),
        )
        .down_ev(&[10, 10, 10])
        .down(g(0, 0, 10, 120, 300)),
        case(
            "scaleDown with with previous events still allowing more scale down",
            (10, 5),
            (1, 1000),
            (5, DesiredWithinRange),
        )
        .down_ev(&[10, 10, 10])
        .down(g(0, 0, 1000, 120, 300)),
        case(
            "check 'outdated' flag for events for one behavior for up",
            (100, 200),
            (1, 1000),
            (200, DesiredWithinRange),
        )
        .up_ev(&[8, 12, 9, 11])
        .up(g(1000, 60, 0, 0, 0)),
        case(
            "check that events were not marked 'outdated' for two different policies in the behavior for up",
            (100, 200),
            (1, 1000),
            (200, DesiredWithinRange),
        )
        .up_ev(&[8, 12, 9, 11])
        .up(g(1000, 120, 100, 60, 0)),
        case(
            "check that events were marked 'outdated' for two different policies in the behavior for up",
            (100, 200),
            (1, 1000),
            (200, DesiredWithinRange),
        )
        .up_ev(&[8, 12, 9, 11])
        .up(g(1000, 30, 100, 60, 0)),
        case(
            "check 'outdated' flag for events for one behavior for down",
            (100, 5),
            (1, 1000),
            (5, DesiredWithinRange),
        )
        .down_ev(&[8, 12, 9, 11])
        .down(g(1000, 60, 0, 0, 300)),
        case(
            "check that events were not marked 'outdated' for two different policies in the behavior for down",
            (100, 5),
            (1, 1000),
            (5, DesiredWithinRange),
        )
        .down_ev(&[8, 12, 9, 11])
        .down(g(1000, 120, 100, 60, 300)),
        case(
            "check that events were marked 'outdated' for two different policies in the behavior for down",
            (100, 5),
            (1, 1000),
            (5, DesiredWithinRange),
        )
        .down_ev(&[8, 12, 9, 11])
        .down(g(1000, 30, 100, 60, 300)),
    ];
    assert_eq!(cases.len(), 42);
    for t in cases {
        let mut h = Hpa::new(HpaConfig {
            min_replicas: t.min,
            max_replicas: t.max,
            behavior: Some(Behavior {
                scale_up: t.up,
                scale_down: t.down,
            }),
            ..HpaConfig::default()
        })
        .expect("valid config");
        h.set_scale_events(uniform(t.up_events), uniform(t.down_events));
        let got = h.convert_with_behavior_rate(NOW, t.current, t.desired);
        assert_eq!(got, (t.want, t.cond), "{}", t.name);
    }
}
