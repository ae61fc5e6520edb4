//! Conformance cases of the AIBrix core: the case groups, their input and
//! expected JSON shapes, and how each case runs.

use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApaIn {
    current_pod_count: u32,
    target_value: f64,
    current_use_per_pod: f64,
    up_fluctuation_tolerance: f64,
    down_fluctuation_tolerance: f64,
    max_scale_up_rate: f64,
    max_scale_down_rate: f64,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct DesiredOut {
    desired_replicas: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AKpaIn {
    current_pod_count: u32,
    target_value: f64,
    stable_value: f64,
    panic_value: f64,
    max_scale_up_rate: f64,
    max_scale_down_rate: f64,
    activation_scale: u32,
    #[allow(dead_code)]
    panic_threshold: f64,
    in_panic_mode: bool,
    max_panic_pods: u32,
    up_fluctuation_tolerance: f64,
    down_fluctuation_tolerance: f64,
    /// The mock context's bounds: `computeTargetReplicas` does not read
    /// them (the constraints apply after it).
    #[serde(default)]
    #[allow(dead_code)]
    min_replicas: Option<u32>,
    #[serde(default)]
    #[allow(dead_code)]
    max_replicas: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HpaStratIn {
    max_scale_up_rate: f64,
    max_scale_down_rate: f64,
    scale_up_cooldown_window_s: u32,
    scale_down_cooldown_window_s: u32,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct K8sPolicy {
    #[serde(rename = "type")]
    kind: hpa::PolicyType,
    value: u32,
    #[serde(rename = "periodSeconds")]
    period_seconds: u32,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct K8sRules {
    stabilization_window_seconds: u32,
    select_policy: hpa::SelectPolicy,
    policies: Vec<K8sPolicy>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct K8sBehavior {
    #[serde(rename = "scaleUp")]
    scale_up: K8sRules,
    #[serde(rename = "scaleDown")]
    scale_down: K8sRules,
}

fn k8s_rules(r: &ScalingRules) -> K8sRules {
    K8sRules {
        stabilization_window_seconds: r.stabilization_window_s,
        select_policy: r.select_policy,
        policies: r
            .policies
            .iter()
            .map(|p| K8sPolicy {
                kind: p.kind,
                value: p.value,
                period_seconds: p.period_s,
            })
            .collect(),
    }
}

pub(super) fn aibrix_case(group: &str, v: &Value, path: &str) -> Result<Outcome, VectorsError> {
    match group {
        "apa" => {
            let c: Case<ApaIn, DesiredOut> = parse(v, path)?;
            let i = &c.inputs;
            let d = aibrix::apa_replicas(
                i.current_pod_count,
                i.current_use_per_pod,
                i.target_value,
                i.up_fluctuation_tolerance,
                i.down_fluctuation_tolerance,
                i.max_scale_up_rate,
                i.max_scale_down_rate,
            );
            Ok((
                c.id,
                to_json(&c.expected),
                to_json(&DesiredOut {
                    desired_replicas: d,
                }),
            ))
        }
        "kpa" => {
            let c: Case<AKpaIn, DesiredOut> = parse(v, path)?;
            let i = &c.inputs;
            let input = aibrix::KpaInput {
                current: i.current_pod_count,
                target: i.target_value,
                stable: i.stable_value,
                panic: i.panic_value,
                max_scale_up_rate: i.max_scale_up_rate,
                max_scale_down_rate: i.max_scale_down_rate,
                activation_scale: i.activation_scale,
                up_tolerance: i.up_fluctuation_tolerance,
                down_tolerance: i.down_fluctuation_tolerance,
            };
            let (d, _) = aibrix::kpa_replicas(&input, i.in_panic_mode, i.max_panic_pods);
            Ok((
                c.id,
                to_json(&c.expected),
                to_json(&DesiredOut {
                    desired_replicas: d,
                }),
            ))
        }
        "hpa_strategy" => {
            let c: Case<HpaStratIn, K8sBehavior> = parse(v, path)?;
            let i = &c.inputs;
            let b = aibrix::hpa_behavior(
                i.max_scale_up_rate,
                i.max_scale_down_rate,
                i.scale_up_cooldown_window_s,
                i.scale_down_cooldown_window_s,
            );
            let actual = match (&b.scale_up, &b.scale_down) {
                (Some(u), Some(d)) => to_json(&K8sBehavior {
                    scale_up: k8s_rules(u),
                    scale_down: k8s_rules(d),
                }),
                _ => failed("behavior without both directions"),
            };
            Ok((c.id, to_json(&c.expected), actual))
        }
        g => Err(unknown_group(path, g)),
    }
}
