//! `TestGenerateScaleDownRules` and `TestGenerateScaleUpRules` of
//! kubernetes/kubernetes `pkg/apis/autoscaling/v2/defaults_test.go`
//! (revision `e0a566e71f693433f4bed729380e215e98a263ea`; the same ten
//! rows at `0a74a85e`), through the scenario reader: each row's partial
//! `HPAScalingRules` is written as a `[scaling]` behavior (both spellings,
//! kinds `hpa` and `keda`), read, and defaulted the way the API server's
//! `GenerateHPAScale{Up,Down}Rules` fills it.
//!
//! A row holds upstream's inputs as upstream names them: a Pods policy
//! `(value, periodSeconds)` is appended when either number is non-zero,
//! then a Percent one likewise, exactly as the upstream loop builds the
//! rules; `stabilizationSeconds` and `selectPolicy` are left out when
//! upstream leaves them nil. An expected window of `None` is upstream's
//! nil (the scale-down default): the controller then takes its
//! `--horizontal-pod-autoscaler-downscale-stabilization` flag, which is
//! checked here by defaulting with two different flags.
//!
//! `TestHorizontalPodAutoscalerAnnotations` (three rows) round-trips
//! annotations through the API codec; a scenario has no annotations, so
//! it has nothing here to port.

use super::*;
use crate::autoscalers::AutoscalerConfig;
use PolicyType::{Percent, Pods};
use SelectPolicy::{Max, Min};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Dir {
    Up,
    Down,
}

struct Row {
    /// `<upstream test>/<annotation>`.
    source: &'static str,
    dir: Dir,
    /// `rate{Up,Down}Pods`, `rate{Up,Down}PodsPeriodSeconds`.
    pods: (u32, u32),
    /// `rate{Up,Down}Percent`, `rate{Up,Down}PercentPeriodSeconds`.
    percent: (u32, u32),
    stabilization_seconds: Option<u32>,
    select_policy: Option<SelectPolicy>,
    expected_policies: &'static [(PolicyType, u32, u32)],
    expected_stabilization: Option<u32>,
    expected_select_policy: SelectPolicy,
}

#[allow(clippy::too_many_arguments)]
const fn row(
    source: &'static str,
    dir: Dir,
    pods: (u32, u32),
    percent: (u32, u32),
    stabilization_seconds: Option<u32>,
    select_policy: Option<SelectPolicy>,
    expected_policies: &'static [(PolicyType, u32, u32)],
    expected_stabilization: Option<u32>,
    expected_select_policy: SelectPolicy,
) -> Row {
    Row {
        source,
        dir,
        pods,
        percent,
        stabilization_seconds,
        select_policy,
        expected_policies,
        expected_stabilization,
        expected_select_policy,
    }
}

/// Every row of both upstream tables, in upstream order.
fn rows() -> Vec<Row> {
    use Dir::{Down, Up};
    vec![
        row(
            "TestGenerateScaleDownRules/Default values",
            Down,
            (0, 0),
            (0, 0),
            None,
            None,
            &[(Percent, 100, 15)],
            None,
            Max,
        ),
        row(
            "TestGenerateScaleDownRules/All parameters are specified",
            Down,
            (1, 2),
            (3, 4),
            Some(25),
            Some(Max),
            &[(Pods, 1, 2), (Percent, 3, 4)],
            Some(25),
            Max,
        ),
        row(
            "TestGenerateScaleDownRules/Percent policy is specified",
            Down,
            (0, 0),
            (1, 2),
            None,
            Some(Min),
            &[(Percent, 1, 2)],
            None,
            Min,
        ),
        row(
            "TestGenerateScaleDownRules/Pods policy is specified",
            Down,
            (3, 4),
            (0, 0),
            None,
            None,
            &[(Pods, 3, 4)],
            None,
            Max,
        ),
        row(
            "TestGenerateScaleUpRules/Default values",
            Up,
            (0, 0),
            (0, 0),
            None,
            None,
            &[(Pods, 4, 15), (Percent, 100, 15)],
            Some(0),
            Max,
        ),
        row(
            "TestGenerateScaleUpRules/All parameters are specified",
            Up,
            (1, 2),
            (3, 4),
            Some(25),
            Some(Max),
            &[(Pods, 1, 2), (Percent, 3, 4)],
            Some(25),
            Max,
        ),
        row(
            "TestGenerateScaleUpRules/Pod policy is specified",
            Up,
            (1, 2),
            (0, 0),
            None,
            Some(Min),
            &[(Pods, 1, 2)],
            Some(0),
            Min,
        ),
        row(
            "TestGenerateScaleUpRules/Percent policy is specified",
            Up,
            (0, 0),
            (7, 10),
            None,
            None,
            &[(Percent, 7, 10)],
            Some(0),
            Max,
        ),
        row(
            "TestGenerateScaleUpRules/Pod policy and stabilization window are specified",
            Up,
            (4, 2),
            (0, 0),
            Some(25),
            None,
            &[(Pods, 4, 2)],
            Some(25),
            Max,
        ),
        row(
            "TestGenerateScaleUpRules/Percent policy and stabilization window are specified",
            Up,
            (0, 0),
            (7, 60),
            Some(25),
            None,
            &[(Percent, 7, 60)],
            Some(25),
            Max,
        ),
    ]
}

/// The row's partial rules as one behavior direction, written the way a
/// user would: `k8s` picks the autoscaling/v2 spelling.
fn rules_text(r: &Row, k8s: bool) -> String {
    let key = |snake: &'static str, kube: &'static str| if k8s { kube } else { snake };
    let mut fields = Vec::new();
    if let Some(s) = r.stabilization_seconds {
        fields.push(format!(
            "{} = {s}",
            key("stabilization_window_s", "stabilizationWindowSeconds")
        ));
    }
    if let Some(p) = r.select_policy {
        fields.push(format!(
            "{} = \"{p:?}\"",
            key("select_policy", "selectPolicy")
        ));
    }
    let mut policies = Vec::new();
    for (kind, (value, period)) in [("Pods", r.pods), ("Percent", r.percent)] {
        if value != 0 || period != 0 {
            policies.push(format!(
                "{{ type = \"{kind}\", value = {value}, {} = {period} }}",
                key("period_s", "periodSeconds")
            ));
        }
    }
    if !policies.is_empty() {
        fields.push(format!("policies = [{}]", policies.join(", ")));
    }
    let dir = match r.dir {
        Dir::Up => key("scale_up", "scaleUp"),
        Dir::Down => key("scale_down", "scaleDown"),
    };
    format!("{{ {dir} = {{ {} }} }}", fields.join(", "))
}

/// `[scaling]` of `kind` with the row's behavior, as the scenario reads it.
fn read(kind: &str, key: &str, behavior: &str) -> AutoscalerConfig {
    toml::from_str(&format!("kind = \"{kind}\"\n{key} = {behavior}\n"))
        .unwrap_or_else(|e| panic!("{behavior}: {}", e.message()))
}

/// The row's direction as written (before defaulting).
fn written(config: &AutoscalerConfig, dir: Dir) -> Option<RulesConfig> {
    let b = match config {
        AutoscalerConfig::Hpa(c) => c.behavior.clone(),
        AutoscalerConfig::Keda(c) => c.hpa_behavior.as_deref().cloned(),
        other => panic!("{} has no HPA behavior", other.kind()),
    }
    .expect("a behavior");
    match dir {
        Dir::Up => b.scale_up,
        Dir::Down => b.scale_down,
    }
}

#[test]
fn generate_hpa_scaling_rules_tables() {
    let rows = rows();
    assert_eq!(rows.len(), 10, "4 scale-down rows + 6 scale-up rows");
    let mut checked = 0;
    for r in &rows {
        let want_policies: Vec<ScalingPolicy> = (r.expected_policies.iter())
            .map(|&(kind, value, period_s)| ScalingPolicy {
                kind,
                value,
                period_s,
            })
            .collect();
        for k8s in [true, false] {
            let text = rules_text(r, k8s);
            for (kind, key) in [("hpa", "behavior"), ("keda", "hpa_behavior")] {
                let config = read(kind, key, &text);
                let what = format!("{} ({kind}, {text})", r.source);
                let rules = written(&config, r.dir).unwrap_or_else(|| panic!("{what}: no rules"));
                // Upstream's nil window stays unset until the controller
                // fills it from its flag.
                assert_eq!(
                    rules.stabilization_window_s, r.stabilization_seconds,
                    "{what}"
                );
                for flag_s in [300, 45] {
                    let defaults = match r.dir {
                        Dir::Up => ScalingRules::default_scale_up(),
                        Dir::Down => ScalingRules::default_scale_down(flag_s),
                    };
                    let got = rules.over(defaults);
                    assert_eq!(got.policies, want_policies, "{what}");
                    assert_eq!(got.select_policy, r.expected_select_policy, "{what}");
                    let want_window = r.expected_stabilization.unwrap_or(flag_s);
                    assert_eq!(got.stabilization_window_s, want_window, "{what}");
                    // The configuration the HPA runs with says the same.
                    if let AutoscalerConfig::Hpa(mut c) = config.clone() {
                        c.downscale_stabilization_s = flag_s;
                        let b = c.core().behavior.expect("a behavior");
                        let ran = match r.dir {
                            Dir::Up => b.scale_up,
                            Dir::Down => b.scale_down,
                        };
                        assert_eq!(ran.as_ref(), Some(&got), "{what}");
                    }
                    checked += 1;
                }
                assert!(config.build().is_ok(), "{what}: builds");
            }
        }
    }
    assert_eq!(checked, 10 * 2 * 2 * 2);
}

/// `SetDefaults_HorizontalPodAutoscalerBehavior`: a behavior that gives
/// one direction gets the other from `GenerateHPAScale{Up,Down}Rules(nil)`,
/// which is the "Default values" row of the other table.
#[test]
fn the_direction_left_out_is_the_default_values_row() {
    let rows = rows();
    let default_row = |dir| {
        (rows.iter())
            .find(|r| r.dir == dir && r.source.ends_with("/Default values"))
            .expect("a Default values row")
    };
    for r in &rows {
        let config = read("hpa", "behavior", &rules_text(r, true));
        let AutoscalerConfig::Hpa(c) = &config else {
            unreachable!()
        };
        let b = c.core().behavior.expect("a behavior");
        let (other_dir, other) = match r.dir {
            Dir::Up => (Dir::Down, b.scale_down),
            Dir::Down => (Dir::Up, b.scale_up),
        };
        let d = default_row(other_dir);
        let other = other.expect("filled in");
        let want: Vec<(PolicyType, u32, u32)> = (other.policies.iter())
            .map(|p| (p.kind, p.value, p.period_s))
            .collect();
        assert_eq!(want, d.expected_policies, "{}", r.source);
        assert_eq!(other.select_policy, d.expected_select_policy);
        assert_eq!(
            other.stabilization_window_s,
            d.expected_stabilization
                .unwrap_or(c.downscale_stabilization_s),
            "{}",
            r.source
        );
    }
}
