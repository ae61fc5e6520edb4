//! Conformance cases of the Kubernetes HPA core: the case groups, their input and
//! expected JSON shapes, and how each case runs.

use super::*;

/// The raw test-pod state a pod's `hpa_class` was derived from
/// (`_schema.conventions.hpa_class`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    #[serde(default)]
    phase: Option<PodPhase>,
    /// `True` / `False` / `Unknown`.
    #[serde(default)]
    ready_condition: Option<String>,
    /// `hot` (now), `cool` (now − 3 min) or `unset` (the zero time).
    #[serde(default)]
    start_time: Option<String>,
    #[serde(default)]
    deletion_timestamp: Option<Deletion>,
}

/// A deletion timestamp: set or not, or its time in seconds.
#[derive(Deserialize, Clone, Copy)]
#[serde(untagged)]
enum Deletion {
    Set(bool),
    At(#[allow(dead_code)] f64),
}

impl Deletion {
    fn is_set(d: Option<Deletion>) -> bool {
        matches!(d, Some(Deletion::Set(true)) | Some(Deletion::At(_)))
    }
}

impl Fixture {
    /// `groupPods` on the upstream test pod (cpuInitializationPeriod 2 min,
    /// delayOfInitialReadinessStatus 10 s, samples at the zero time with a
    /// 60 s window, Ready conditions without a transition time): deleting
    /// or Failed → ignored; Pending → unready; no sample → missing; for cpu,
    /// not Ready, or started `hot` (its sample is older than a window after
    /// readiness), → unready.
    fn class(
        &self,
        has_sample: bool,
        cpu: bool,
        id: &str,
        path: &str,
    ) -> Result<PodClass, VectorsError> {
        let phase = self.phase.unwrap_or(PodPhase::Running);
        if Deletion::is_set(self.deletion_timestamp) || phase == PodPhase::Failed {
            return Ok(PodClass::Ignored);
        }
        if phase == PodPhase::Pending {
            return Ok(PodClass::Unready);
        }
        if !has_sample {
            return Ok(PodClass::Missing);
        }
        let ready = match self.ready_condition.as_deref().unwrap_or("True") {
            "True" => true,
            "False" | "Unknown" => false,
            o => {
                return Err(err(
                    path,
                    format!("case `{id}`: fixture.ready_condition `{o}` is not True/False/Unknown"),
                ))
            }
        };
        let hot = match self.start_time.as_deref().unwrap_or("unset") {
            "hot" => true,
            "cool" | "unset" => false,
            o => {
                return Err(err(
                    path,
                    format!("case `{id}`: fixture.start_time `{o}` is not hot/cool/unset"),
                ))
            }
        };
        Ok(if cpu && (!ready || hot) {
            PodClass::Unready
        } else {
            PodClass::Ready
        })
    }
}

/// A pod's class: the case's `hpa_class`, else derived from its `fixture`.
fn pod_class(
    class: Option<PodClass>,
    fixture: Option<&Fixture>,
    has_sample: bool,
    cpu: bool,
    id: &str,
    path: &str,
) -> Result<PodClass, VectorsError> {
    match (class, fixture) {
        (Some(c), _) => Ok(c),
        (None, Some(f)) => f.class(has_sample, cpu, id, path),
        (None, None) => Err(err(
            path,
            format!("case `{id}`: a pod needs `hpa_class` (ready, unready, missing, ignored, unlisted) or a `fixture`"),
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResPod {
    #[serde(default)]
    #[allow(dead_code)]
    name: Option<String>,
    /// The pod's request (the named container's with `container`); `None`
    /// for a sample of a pod the selector does not list.
    #[serde(default)]
    request_milli: Option<i64>,
    #[serde(default)]
    usage_milli: Option<i64>,
    #[serde(default)]
    hpa_class: Option<PodClass>,
    #[serde(default)]
    fixture: Option<Fixture>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResIn {
    current_replicas: u32,
    target_utilization_percent: i32,
    #[serde(default)]
    tolerance: Tolerances,
    pods: Vec<ResPod>,
    /// ContainerResource metric: the container the values are for.
    #[serde(default)]
    #[allow(dead_code)]
    container: Option<String>,
    /// The resource (`cpu` unless said; readiness rules apply to cpu only).
    #[serde(default)]
    resource: Option<String>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ResOut {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    desired_replicas: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    utilization_percent: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    raw_average_usage_milli: Option<i64>,
    /// Upstream expects an error containing this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValPod {
    #[serde(default)]
    #[allow(dead_code)]
    name: Option<String>,
    #[serde(default)]
    value_milli: Option<i64>,
    #[serde(default)]
    hpa_class: Option<PodClass>,
    #[serde(default)]
    fixture: Option<Fixture>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PodsIn {
    current_replicas: u32,
    target_average_value_milli: i64,
    #[serde(default)]
    tolerance: Tolerances,
    pods: Vec<ValPod>,
    /// Resource/AverageValue: the resource (readiness rules for cpu only).
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    container: Option<String>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct UsageOut {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    desired_replicas: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    usage_milli: Option<i64>,
    /// Upstream expects an error containing this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValueIn {
    current_replicas: u32,
    metric_values_milli: Vec<i64>,
    target_value_milli: i64,
    ready_running_pods: u32,
    #[serde(default)]
    tolerance: Tolerances,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AvgIn {
    status_replicas: u32,
    metric_values_milli: Vec<i64>,
    target_average_value_milli: i64,
    #[serde(default)]
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
    #[serde(default)]
    name: Option<String>,
    phase: PodPhase,
    #[serde(default)]
    start_time_s: Option<f64>,
    #[serde(default)]
    ready_condition: Option<ReadyJson>,
    /// `metadata.deletionTimestamp`: set (`true` or its time) or not.
    #[serde(default)]
    deletion_timestamp: Option<Deletion>,
    /// The pod's sample, in the multi-pod form.
    #[serde(default)]
    metric: Option<GrpMetric>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrpMetric {
    present: bool,
    #[serde(default)]
    timestamp_s: Option<f64>,
    #[serde(default)]
    window_s: Option<f64>,
    #[serde(default)]
    #[allow(dead_code)]
    value: Option<f64>,
}

/// One pod and its sample (`pod` + `metric`), or several (`pods`, each
/// with its `metric`), as `TestGroupPods` lists them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrpIn {
    resource: String,
    #[serde(default)]
    pod: Option<GrpPod>,
    #[serde(default)]
    metric: Option<GrpMetric>,
    #[serde(default)]
    pods: Option<Vec<GrpPod>>,
}

/// One pod's class, or for several the counts and name sets upstream
/// asserts.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ClassOut {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hpa_class: Option<PodClass>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ready_pod_count: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unready_pods: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    missing_pods: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ignored_pods: Option<Vec<String>>,
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
            let cpu = c.inputs.resource.as_deref().unwrap_or("cpu") == "cpu";
            let mut pods = Vec::new();
            for p in &c.inputs.pods {
                pods.push(PodMetric {
                    class: pod_class(
                        p.hpa_class,
                        p.fixture.as_ref(),
                        p.usage_milli.is_some(),
                        cpu,
                        &c.id,
                        path,
                    )?,
                    request_milli: p.request_milli,
                    value_milli: p.usage_milli,
                });
            }
            let actual = match hpa::resource_utilization_replicas(
                c.inputs.current_replicas,
                c.inputs.target_utilization_percent,
                c.inputs.tolerance,
                &pods,
            ) {
                Ok(r) => to_json(&ResOut {
                    desired_replicas: Some(r.replicas),
                    utilization_percent: Some(r.utilization_percent),
                    raw_average_usage_milli: Some(r.raw_average_milli),
                    error: None,
                }),
                Err(e) => failed(e),
            };
            Ok((c.id, to_json(&c.expected), actual))
        }
        "pods_metric_average_value" => {
            let c: Case<PodsIn, UsageOut> = parse(v, path)?;
            // Custom Pods metrics have no resource: readiness rules off.
            let cpu = c.inputs.resource.as_deref() == Some("cpu");
            let mut pods = Vec::new();
            for p in &c.inputs.pods {
                pods.push(PodMetric {
                    class: pod_class(
                        p.hpa_class,
                        p.fixture.as_ref(),
                        p.value_milli.is_some(),
                        cpu,
                        &c.id,
                        path,
                    )?,
                    request_milli: None,
                    value_milli: p.value_milli,
                });
            }
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
            let cpu = i.resource == "cpu";
            let classify = |pod: &GrpPod,
                            metric: Option<&GrpMetric>|
             -> Result<PodClass, VectorsError> {
                let ready = match &pod.ready_condition {
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
                let status = hpa::PodStatus {
                    phase: pod.phase,
                    deleting: Deletion::is_set(pod.deletion_timestamp),
                    start_time: pod.start_time_s.map(at),
                    ready,
                    sample: metric.filter(|m| m.present).map(|m| hpa::MetricSample {
                        timestamp: m.timestamp_s.map(at),
                        window: crate::autoscalers::secs_f64(m.window_s.unwrap_or(60.0)),
                    }),
                };
                Ok(hpa::classify_pod(&status, cpu, now, timing))
            };
            let actual = match (&i.pod, &i.pods) {
                (Some(pod), None) => ClassOut {
                    hpa_class: Some(classify(pod, i.metric.as_ref().or(pod.metric.as_ref()))?),
                    ready_pod_count: None,
                    unready_pods: None,
                    missing_pods: None,
                    ignored_pods: None,
                },
                (None, Some(pods)) => {
                    let mut out = ClassOut {
                        hpa_class: None,
                        ready_pod_count: Some(0),
                        unready_pods: Some(Vec::new()),
                        missing_pods: Some(Vec::new()),
                        ignored_pods: Some(Vec::new()),
                    };
                    for (k, pod) in pods.iter().enumerate() {
                        let name = pod.name.clone().unwrap_or_else(|| format!("pod-{k}"));
                        let set = match classify(pod, pod.metric.as_ref())? {
                            PodClass::Ready => {
                                out.ready_pod_count = out.ready_pod_count.map(|n| n + 1);
                                continue;
                            }
                            PodClass::Unready => &mut out.unready_pods,
                            PodClass::Missing => &mut out.missing_pods,
                            PodClass::Ignored | PodClass::Unlisted => &mut out.ignored_pods,
                        };
                        if let Some(set) = set {
                            set.push(name);
                        }
                    }
                    for set in [
                        &mut out.unready_pods,
                        &mut out.missing_pods,
                        &mut out.ignored_pods,
                    ]
                    .into_iter()
                    .flatten()
                    {
                        set.sort();
                    }
                    out
                }
                _ => {
                    return Err(err(
                        path,
                        format!(
                            "case `{}`: inputs need either `pod` (with `metric`) or `pods`",
                            c.id
                        ),
                    ))
                }
            };
            let mut expected = c.expected;
            for set in [
                &mut expected.unready_pods,
                &mut expected.missing_pods,
                &mut expected.ignored_pods,
            ]
            .into_iter()
            .flatten()
            {
                set.sort();
            }
            Ok((c.id, to_json(&expected), to_json(&actual)))
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
            desired_replicas: Some(r.replicas),
            usage_milli: Some(r.usage_milli),
            error: None,
        }),
        Err(e) => failed(e),
    }
}
