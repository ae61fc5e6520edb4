//! Conformance cases of the llm-d WVA core: the case groups, their input and
//! expected JSON shapes, and how each case runs.

use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WvaReplica {
    #[allow(dead_code)]
    pod: String,
    #[allow(dead_code)]
    variant: String,
    kv_cache_usage: f64,
    queue_length: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnIn {
    config: llmd_wva::WvaConfig,
    replica_metrics: Vec<WvaReplica>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct AnOut {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    total_replicas: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    non_saturated_count: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    should_scale_up: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scale_down_safe: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VarAnalysis {
    variant: String,
    cost: f64,
    replica_count: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VarState {
    variant: String,
    current_replicas: u32,
    desired_replicas: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TgIn {
    should_scale_up: bool,
    scale_down_safe: bool,
    variant_analyses: Vec<VarAnalysis>,
    variant_states: Vec<VarState>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct TgOut {
    targets: BTreeMap<String, u32>,
}

pub(super) fn wva_case(group: &str, v: &Value, path: &str) -> Result<Outcome, VectorsError> {
    match group {
        "saturation_analysis" => {
            let c: Case<AnIn, AnOut> = parse(v, path)?;
            let rs: Vec<llmd_wva::ReplicaMetrics> = c
                .inputs
                .replica_metrics
                .iter()
                .map(|r| llmd_wva::ReplicaMetrics {
                    kv_cache_usage: r.kv_cache_usage,
                    queue_length: r.queue_length,
                })
                .collect();
            let actual = match c.inputs.config.validate() {
                Err(e) => failed(e),
                Ok(()) => {
                    let a = llmd_wva::analyze(&c.inputs.config, &rs);
                    to_json(&AnOut {
                        total_replicas: Some(a.total_replicas),
                        non_saturated_count: Some(a.non_saturated_count),
                        should_scale_up: Some(a.should_scale_up),
                        scale_down_safe: Some(a.scale_down_safe),
                    })
                }
            };
            Ok((c.id, to_json(&c.expected), actual))
        }
        "saturation_targets" => {
            let c: Case<TgIn, TgOut> = parse(v, path)?;
            let i = &c.inputs;
            let mut vs = Vec::new();
            for a in &i.variant_analyses {
                let Some(s) = i.variant_states.iter().find(|s| s.variant == a.variant) else {
                    return Err(err(
                        path,
                        format!(
                            "case `{}`: variant `{}` has an analysis but no state",
                            c.id, a.variant
                        ),
                    ));
                };
                vs.push(llmd_wva::Variant {
                    name: a.variant.clone(),
                    cost: a.cost,
                    metrics_count: a.replica_count,
                    current: s.current_replicas,
                    desired: s.desired_replicas,
                });
            }
            let t = llmd_wva::targets(i.should_scale_up, i.scale_down_safe, &vs);
            Ok((c.id, to_json(&c.expected), to_json(&TgOut { targets: t })))
        }
        g => Err(unknown_group(path, g)),
    }
}
