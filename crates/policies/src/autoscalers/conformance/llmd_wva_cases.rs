//! Conformance cases of the llm-d WVA core: the case groups, their input and
//! expected JSON shapes, and how each case runs.

use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WvaReplica {
    pod: String,
    variant: String,
    kv_cache_usage: f64,
    queue_length: f64,
    /// The variant's cost per replica (upstream `ReplicaMetrics.Cost`).
    #[serde(default)]
    cost: Option<f64>,
    #[serde(default)]
    #[allow(dead_code)]
    model_id: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    accelerator: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnIn {
    config: llmd_wva::WvaConfig,
    replica_metrics: Vec<WvaReplica>,
}

/// One variant's analysis; compared in variant-name order (upstream builds
/// them from a map) with saturated pods as a sorted set.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct VarOut {
    variant: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replica_count: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    non_saturated_count: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    saturated_replicas: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cost: Option<f64>,
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
    #[serde(
        default,
        alias = "avg_spare_kv",
        skip_serializing_if = "Option::is_none"
    )]
    avg_spare_kv_capacity: Option<f64>,
    #[serde(
        default,
        alias = "avg_spare_queue",
        skip_serializing_if = "Option::is_none"
    )]
    avg_spare_queue_length: Option<f64>,
    /// `analyzeVariant` on a single variant: its replica count and
    /// saturated pods (a sorted set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replica_count: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    saturated_replicas: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    variant_analyses: Option<Vec<VarOut>>,
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
    #[serde(default)]
    pending_replicas: u32,
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
            let mut c: Case<AnIn, AnOut> = parse(v, path)?;
            let pods: Vec<llmd_wva::PodMetrics> = c
                .inputs
                .replica_metrics
                .iter()
                .map(|r| llmd_wva::PodMetrics {
                    pod: r.pod.clone(),
                    variant: r.variant.clone(),
                    cost: r.cost.unwrap_or(0.0),
                    kv_cache_usage: r.kv_cache_usage,
                    queue_length: r.queue_length,
                })
                .collect();
            let actual = match c.inputs.config.validate() {
                Err(e) => failed(e),
                Ok(()) => {
                    let a = llmd_wva::analyze_model(&c.inputs.config, &pods);
                    let mut saturated: Vec<String> = (a.variants.iter())
                        .flat_map(|v| v.saturated_replicas.iter().cloned())
                        .collect();
                    saturated.sort();
                    let mut vars: Vec<VarOut> = (a.variants.iter())
                        .map(|v| {
                            let mut sat = v.saturated_replicas.clone();
                            sat.sort();
                            VarOut {
                                variant: v.name.clone(),
                                replica_count: Some(v.replica_count),
                                non_saturated_count: Some(v.non_saturated_count),
                                saturated_replicas: Some(sat),
                                cost: Some(v.cost),
                            }
                        })
                        .collect();
                    vars.sort_by(|x, y| x.variant.cmp(&y.variant));
                    to_json(&AnOut {
                        total_replicas: Some(a.total_replicas),
                        non_saturated_count: Some(a.non_saturated_count),
                        should_scale_up: Some(a.should_scale_up),
                        scale_down_safe: Some(a.scale_down_safe),
                        avg_spare_kv_capacity: Some(a.avg_spare_kv),
                        avg_spare_queue_length: Some(a.avg_spare_queue),
                        replica_count: Some(a.total_replicas),
                        saturated_replicas: Some(saturated),
                        variant_analyses: Some(vars),
                    })
                }
            };
            if let Some(s) = &mut c.expected.saturated_replicas {
                s.sort();
            }
            if let Some(vs) = &mut c.expected.variant_analyses {
                vs.sort_by(|x, y| x.variant.cmp(&y.variant));
                for v in vs.iter_mut() {
                    if let Some(s) = &mut v.saturated_replicas {
                        s.sort();
                    }
                }
            }
            Ok((c.id, to_json(&c.expected), actual))
        }
        "saturation_targets" => {
            let c: Case<TgIn, TgOut> = parse(v, path)?;
            let i = &c.inputs;
            let analyses: Vec<llmd_wva::VariantCost> = (i.variant_analyses.iter())
                .map(|a| llmd_wva::VariantCost {
                    name: a.variant.clone(),
                    cost: a.cost,
                    replica_count: a.replica_count,
                })
                .collect();
            let states: Vec<llmd_wva::VariantState> = (i.variant_states.iter())
                .map(|s| llmd_wva::VariantState {
                    name: s.variant.clone(),
                    current: s.current_replicas,
                    desired: s.desired_replicas,
                    pending: s.pending_replicas,
                })
                .collect();
            let t = llmd_wva::targets(i.should_scale_up, i.scale_down_safe, &analyses, &states);
            Ok((c.id, to_json(&c.expected), to_json(&TgOut { targets: t })))
        }
        g => Err(unknown_group(path, g)),
    }
}
