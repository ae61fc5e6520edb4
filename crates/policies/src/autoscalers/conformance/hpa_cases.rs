//! Conformance cases of the Kubernetes HPA core: the case groups, their input and
//! expected JSON shapes, and how each case runs.

use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    #[allow(dead_code)]
    phase: PodPhase,
    #[allow(dead_code)]
    ready_condition: String,
    #[allow(dead_code)]
    start_time: String,
    #[allow(dead_code)]
    deletion_timestamp: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResPod {
    #[allow(dead_code)]
    name: String,
    request_milli: i64,
    usage_milli: Option<i64>,
    hpa_class: PodClass,
    #[allow(dead_code)]
    fixture: Fixture,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResIn {
    current_replicas: u32,
    target_utilization_percent: i32,
    tolerance: Tolerances,
    pods: Vec<ResPod>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ResOut {
    desired_replicas: u32,
    utilization_percent: i64,
    raw_average_usage_milli: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValPod {
    #[allow(dead_code)]
    name: String,
    value_milli: Option<i64>,
    hpa_class: PodClass,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PodsIn {
    current_replicas: u32,
    target_average_value_milli: i64,
    tolerance: Tolerances,
    pods: Vec<ValPod>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct UsageOut {
    desired_replicas: u32,
    usage_milli: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValueIn {
    current_replicas: u32,
    metric_values_milli: Vec<i64>,
    target_value_milli: i64,
    ready_running_pods: u32,
    tolerance: Tolerances,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AvgIn {
    status_replicas: u32,
    metric_values_milli: Vec<i64>,
    target_average_value_milli: i64,
    tolerance: Tolerances,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadyJson {
    status: String,
    last_transition_s: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrpPod {
    phase: PodPhase,
    start_time_s: Option<f64>,
    ready_condition: Option<ReadyJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrpMetric {
    present: bool,
    #[serde(default)]
    timestamp_s: Option<f64>,
    #[serde(default)]
    window_s: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrpIn {
    resource: String,
    pod: GrpPod,
    metric: GrpMetric,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ClassOut {
    hpa_class: PodClass,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecJson {
    replicas: u32,
    age_s: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LStabIn {
    downscale_stabilization_window_s: u32,
    recommendations: Vec<RecJson>,
    prenormalized_desired_replicas: u32,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct LStabOut {
    stabilized_replicas: u32,
    recommendation_log_length_after: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConvIn {
    current_replicas: u32,
    desired_replicas: u32,
    min_replicas: u32,
    max_replicas: u32,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ConvOut {
    replicas: u32,
    condition: hpa::Condition,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BStabIn {
    recommendations: Vec<RecJson>,
    current_replicas: u32,
    prenormalized_desired_replicas: u32,
    scale_up_stabilization_window_s: u32,
    scale_down_stabilization_window_s: u32,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct BStabOut {
    stabilized_replicas: u32,
    stored_recommendations_after: Option<Vec<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventJson {
    replica_change: u32,
    age_s: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RateIn {
    current_replicas: u32,
    desired_replicas: u32,
    min_replicas: u32,
    max_replicas: u32,
    scale_up_rules: Option<ScalingRules>,
    scale_down_rules: Option<ScalingRules>,
    scale_up_events: Vec<EventJson>,
    scale_down_events: Vec<EventJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitIn {
    direction: String,
    current_replicas: u32,
    scale_up_events: Vec<EventJson>,
    scale_down_events: Vec<EventJson>,
    rules: ScalingRules,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct LimitOut {
    limit: i64,
}

fn recs(r: &[RecJson]) -> Vec<Recommendation> {
    r.iter()
        .map(|r| Recommendation {
            replicas: r.replicas,
            at: ago(r.age_s),
        })
        .collect()
}

fn events(e: &[EventJson]) -> Vec<ScaleEvent> {
    e.iter()
        .map(|e| ScaleEvent {
            change: e.replica_change,
            at: ago(e.age_s),
        })
        .collect()
}

fn hpa_with(cfg: hpa::HpaConfig) -> Result<hpa::Hpa, Value> {
    hpa::Hpa::new(cfg).map_err(failed)
}

pub(super) fn hpa_case(group: &str, v: &Value, path: &str) -> Result<Outcome, VectorsError> {
    let now = at(0.0);
    match group {
        "resource_utilization" => {
            let c: Case<ResIn, ResOut> = parse(v, path)?;
            let pods: Vec<PodMetric> = c
                .inputs
                .pods
                .iter()
                .map(|p| PodMetric {
                    class: p.hpa_class,
                    request_milli: Some(p.request_milli),
                    value_milli: p.usage_milli,
                })
                .collect();
            let actual = match hpa::resource_utilization_replicas(
                c.inputs.current_replicas,
                c.inputs.target_utilization_percent,
                c.inputs.tolerance,
                &pods,
            ) {
                Ok(r) => to_json(&ResOut {
                    desired_replicas: r.replicas,
                    utilization_percent: r.utilization_percent,
                    raw_average_usage_milli: r.raw_average_milli,
                }),
                Err(e) => failed(e),
            };
            Ok((c.id, to_json(&c.expected), actual))
        }
        "pods_metric_average_value" => {
            let c: Case<PodsIn, UsageOut> = parse(v, path)?;
            let pods: Vec<PodMetric> = c
                .inputs
                .pods
                .iter()
                .map(|p| PodMetric {
                    class: p.hpa_class,
                    request_milli: None,
                    value_milli: p.value_milli,
                })
                .collect();
            let actual = usage_json(hpa::pods_average_value_replicas(
                c.inputs.current_replicas,
                c.inputs.target_average_value_milli,
                c.inputs.tolerance,
                &pods,
            ));
            Ok((c.id, to_json(&c.expected), actual))
        }
        "object_or_external_value" => {
            let c: Case<ValueIn, UsageOut> = parse(v, path)?;
            let i = &c.inputs;
            let total = saturating_sum(&i.metric_values_milli);
            let actual = usage_json(hpa::object_value_replicas(
                i.current_replicas,
                total,
                i.target_value_milli,
                i.ready_running_pods,
                i.tolerance,
            ));
            Ok((c.id, to_json(&c.expected), actual))
        }
        "object_or_external_average_value" => {
            let c: Case<AvgIn, UsageOut> = parse(v, path)?;
            let i = &c.inputs;
            let total = saturating_sum(&i.metric_values_milli);
            let actual = usage_json(hpa::per_pod_replicas(
                i.status_replicas,
                total,
                i.target_average_value_milli,
                i.tolerance,
            ));
            Ok((c.id, to_json(&c.expected), actual))
        }
        "pod_classification" => {
            let c: Case<GrpIn, ClassOut> = parse(v, path)?;
            // cpuInitializationPeriod and delayOfInitialReadinessStatus as in
            // the upstream tests (the case's `function` says so).
            let timing = hpa::ReadinessTiming {
                cpu_initialization_period_s: 120,
                initial_readiness_delay_s: 10,
            };
            let i = &c.inputs;
            let ready = match &i.pod.ready_condition {
                None => None,
                Some(r) => Some(hpa::ReadyCondition {
                    ready: match r.status.as_str() {
                        "True" => true,
                        "False" | "Unknown" => false,
                        other => return Err(err(path, format!("case `{}`: ready_condition.status `{other}` is not True/False/Unknown", c.id))),
                    },
                    last_transition: at(r.last_transition_s),
                }),
            };
            let pod = hpa::PodStatus {
                phase: i.pod.phase,
                deleting: false,
                start_time: i.pod.start_time_s.map(at),
                ready,
                sample: i.metric.present.then(|| hpa::MetricSample {
                    timestamp: i.metric.timestamp_s.map(at),
                    window: crate::autoscalers::secs_f64(i.metric.window_s.unwrap_or(60.0)),
                }),
            };
            let class = hpa::classify_pod(&pod, i.resource == "cpu", now, timing);
            Ok((
                c.id,
                to_json(&c.expected),
                to_json(&ClassOut { hpa_class: class }),
            ))
        }
        "legacy_downscale_stabilization" => {
            let c: Case<LStabIn, LStabOut> = parse(v, path)?;
            let cfg = hpa::HpaConfig {
                downscale_stabilization_s: c.inputs.downscale_stabilization_window_s,
                ..hpa::HpaConfig::default()
            };
            let actual = match hpa_with(cfg) {
                Ok(mut h) => {
                    h.set_recommendations(recs(&c.inputs.recommendations));
                    let s = h.stabilize_legacy(now, c.inputs.prenormalized_desired_replicas);
                    to_json(&LStabOut {
                        stabilized_replicas: s,
                        recommendation_log_length_after: h.recommendations().len(),
                    })
                }
                Err(e) => e,
            };
            Ok((c.id, to_json(&c.expected), actual))
        }
        "legacy_rate_limit" => {
            let c: Case<ConvIn, ConvOut> = parse(v, path)?;
            let i = &c.inputs;
            let (replicas, condition) = hpa::convert_legacy(
                i.current_replicas,
                i.desired_replicas,
                i.min_replicas,
                i.max_replicas,
            );
            Ok((
                c.id,
                to_json(&c.expected),
                to_json(&ConvOut {
                    replicas,
                    condition,
                }),
            ))
        }
        "behavior_stabilization" => {
            let c: Case<BStabIn, BStabOut> = parse(v, path)?;
            let i = &c.inputs;
            let mut up = ScalingRules::default_scale_up();
            up.stabilization_window_s = i.scale_up_stabilization_window_s;
            let mut down = ScalingRules::default_scale_down(300);
            down.stabilization_window_s = i.scale_down_stabilization_window_s;
            let cfg = hpa::HpaConfig {
                max_replicas: 1000,
                behavior: Some(hpa::Behavior {
                    scale_up: Some(up),
                    scale_down: Some(down),
                }),
                ..hpa::HpaConfig::default()
            };
            let actual = match hpa_with(cfg) {
                Ok(mut h) => {
                    h.set_recommendations(recs(&i.recommendations));
                    let s = h.stabilize_with_behaviors(
                        now,
                        i.current_replicas,
                        i.prenormalized_desired_replicas,
                    );
                    let stored = c
                        .expected
                        .stored_recommendations_after
                        .as_ref()
                        .map(|_| h.recommendations().iter().map(|r| r.replicas).collect());
                    to_json(&BStabOut {
                        stabilized_replicas: s,
                        stored_recommendations_after: stored,
                    })
                }
                Err(e) => e,
            };
            Ok((c.id, to_json(&c.expected), actual))
        }
        "behavior_rate_limits" => {
            let c: Case<RateIn, ConvOut> = parse(v, path)?;
            let i = &c.inputs;
            let cfg = hpa::HpaConfig {
                min_replicas: i.min_replicas,
                max_replicas: i.max_replicas,
                behavior: Some(hpa::Behavior {
                    scale_up: i.scale_up_rules.clone(),
                    scale_down: i.scale_down_rules.clone(),
                }),
                ..hpa::HpaConfig::default()
            };
            let actual = match hpa_with(cfg) {
                Ok(mut h) => {
                    h.set_scale_events(events(&i.scale_up_events), events(&i.scale_down_events));
                    let (replicas, condition) =
                        h.convert_with_behavior_rate(now, i.current_replicas, i.desired_replicas);
                    to_json(&ConvOut {
                        replicas,
                        condition,
                    })
                }
                Err(e) => e,
            };
            Ok((c.id, to_json(&c.expected), actual))
        }
        "behavior_limit_functions" => {
            let c: Case<LimitIn, LimitOut> = parse(v, path)?;
            let i = &c.inputs;
            let (up, down) = (events(&i.scale_up_events), events(&i.scale_down_events));
            let limit = match i.direction.as_str() {
                "down" => hpa::scale_down_limit(i.current_replicas, &up, &down, &i.rules, now),
                "up" => hpa::scale_up_limit(i.current_replicas, &up, &down, &i.rules, now),
                d => {
                    return Err(err(
                        path,
                        format!("case `{}`: direction `{d}` is not up/down", c.id),
                    ))
                }
            };
            Ok((c.id, to_json(&c.expected), to_json(&LimitOut { limit })))
        }
        g => Err(unknown_group(path, g)),
    }
}

/// A metric recommendation as the HPA metric cases expect it.
fn usage_json(r: Result<hpa::MetricRecommendation, crate::autoscalers::AutoscalerError>) -> Value {
    match r {
        Ok(r) => to_json(&UsageOut {
            desired_replicas: r.replicas,
            usage_milli: r.usage_milli,
        }),
        Err(e) => failed(e),
    }
}
