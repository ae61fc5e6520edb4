//! Runs a conformance vectors file (the shared schema: `autoscalers` →
//! key → `case_groups` → group → cases) against the cores in this module.
//!
//! Parsing is strict: an unknown autoscaler key, group, case field, input
//! or expected field is an error naming its JSON path, never a skip. Each
//! case yields a [`CaseResult`] with the expected and actual values rendered
//! as compact JSON over the same keys (`null` expectations are "not
//! asserted" and not compared).

use super::hpa::{
    self, PodClass, PodMetric, PodPhase, Recommendation, ScaleEvent, ScalingRules, Tolerances,
};
use super::{aibrix, baseten, keda, kpa, llmd_wva, ray_serve};
use fleetsim_core::SimTime;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// Every instant in a case is this far after the start of the run, so
/// relative times (ages, negative start times) stay positive.
const BASE_S: f64 = 1_000_000.0;

fn at(rel_s: f64) -> SimTime {
    SimTime(super::secs_f64(BASE_S + rel_s).as_nanos())
}

fn ago(age_s: f64) -> SimTime {
    at(-age_s)
}

/// A malformed vectors file: where and what.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct VectorsError {
    /// JSON path of the offending element (`autoscalers.keda.case_groups.executor[2]`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

fn err(path: &str, message: impl Into<String>) -> VectorsError {
    VectorsError {
        path: path.to_string(),
        message: message.into(),
    }
}

/// One case's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseResult {
    /// The case id.
    pub id: String,
    /// Autoscaler key.
    pub autoscaler: String,
    /// Group name.
    pub group: String,
    /// Whether actual matched expected.
    pub passed: bool,
    /// Expected values, compact JSON.
    pub expected: String,
    /// Actual values (or the error the implementation returned).
    pub actual: String,
}

impl fmt::Display for CaseResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({}/{})\n  expected: {}\n  actual:   {}",
            if self.passed { "PASS" } else { "FAIL" },
            self.id,
            self.autoscaler,
            self.group,
            self.expected,
            self.actual
        )
    }
}

/// Autoscaler keys this runner knows, in report order.
pub const AUTOSCALERS: &[&str] = &[
    "kubernetes_hpa",
    "knative_kpa",
    "keda",
    "ray_serve",
    "aibrix",
    "llmd_wva",
    "baseten",
];

/// Parse and run a vectors file's text.
pub fn run_str(text: &str) -> Result<Vec<CaseResult>, VectorsError> {
    let root: Value =
        serde_json::from_str(text).map_err(|e| err("$", format!("not valid JSON: {e}")))?;
    run_value(&root)
}

/// Sum of metric values (milli-units), saturating like upstream's int64.
fn saturating_sum(values: &[i64]) -> i64 {
    values.iter().fold(0i64, |a, &b| a.saturating_add(b))
}

fn as_object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, VectorsError> {
    v.as_object()
        .ok_or_else(|| err(path, "expected a JSON object"))
}

/// Run an already parsed vectors document.
pub fn run_value(root: &Value) -> Result<Vec<CaseResult>, VectorsError> {
    let top = as_object(root, "$")?;
    for k in top.keys() {
        if ![
            "_schema",
            "upstream_revisions",
            "autoscalers",
            "case_counts",
        ]
        .contains(&k.as_str())
        {
            return Err(err(&format!("$.{k}"), "unknown top-level key (expected _schema, upstream_revisions, autoscalers, case_counts)"));
        }
    }
    let autoscalers = as_object(
        top.get("autoscalers")
            .ok_or_else(|| err("$", "missing key `autoscalers`"))?,
        "$.autoscalers",
    )?;
    let mut results = Vec::new();
    for (key, body) in autoscalers {
        let path = format!("autoscalers.{key}");
        if !AUTOSCALERS.contains(&key.as_str()) {
            return Err(err(
                &path,
                format!(
                    "unknown autoscaler key `{key}` (known: {})",
                    AUTOSCALERS.join(", ")
                ),
            ));
        }
        let body = as_object(body, &path)?;
        for k in body.keys() {
            if k != "description" && k != "case_groups" {
                return Err(err(
                    &format!("{path}.{k}"),
                    "unknown field (expected description, case_groups)",
                ));
            }
        }
        let groups = as_object(
            body.get("case_groups")
                .ok_or_else(|| err(&path, "missing `case_groups`"))?,
            &format!("{path}.case_groups"),
        )?;
        for (group, cases) in groups {
            let gpath = format!("{path}.case_groups.{group}");
            let cases = cases
                .as_array()
                .ok_or_else(|| err(&gpath, "expected an array of cases"))?;
            for (i, case) in cases.iter().enumerate() {
                let cpath = format!("{gpath}[{i}]");
                let (id, expected, actual) = run_case(key, group, case, &cpath)?;
                let passed = matches(&expected, &actual);
                results.push(CaseResult {
                    id,
                    autoscaler: key.clone(),
                    group: group.clone(),
                    passed,
                    expected: expected.to_string(),
                    actual: actual.to_string(),
                });
            }
        }
    }
    if let Some(counts) = top.get("case_counts").and_then(Value::as_object) {
        for (k, n) in counts {
            let have = results.iter().filter(|r| &r.autoscaler == k).count() as u64;
            if n.as_u64() != Some(have) {
                return Err(err(
                    &format!("$.case_counts.{k}"),
                    format!("declares {n} cases but the file holds {have}"),
                ));
            }
        }
    }
    Ok(results)
}

/// Numbers compare as f64 within 1e-9 (relative); `null` expectations and
/// `upstream_assertion` texts are not compared.
fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Null, _) => true,
        (Value::Number(e), Value::Number(a)) => {
            let (e, a) = (
                e.as_f64().unwrap_or(f64::NAN),
                a.as_f64().unwrap_or(f64::NAN),
            );
            (e - a).abs() <= 1e-9 * e.abs().max(1.0)
        }
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| matches(x, y))
        }
        (Value::Object(e), Value::Object(a)) => e.iter().all(|(k, ev)| {
            k == "upstream_assertion" || a.get(k).is_some_and(|av| matches(ev, av)) || ev.is_null()
        }),
        (e, a) => e == a,
    }
}

/// Fields every case has.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case<I, E> {
    id: String,
    #[allow(dead_code)]
    source: Value,
    function: String,
    inputs: I,
    expected: E,
    #[serde(default)]
    #[allow(dead_code)]
    notes: Option<String>,
}

/// Cases whose expectations sit in their steps.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepCase<I> {
    id: String,
    #[allow(dead_code)]
    source: Value,
    #[allow(dead_code)]
    function: String,
    inputs: I,
    #[serde(default)]
    #[allow(dead_code)]
    notes: Option<String>,
}

fn parse<T: DeserializeOwned>(v: &Value, path: &str) -> Result<T, VectorsError> {
    let id = v.get("id").and_then(Value::as_str).unwrap_or("?");
    T::deserialize(v).map_err(|e| err(path, format!("case `{id}`: {e}")))
}

fn to_json<T: Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

type Outcome = (String, Value, Value);

fn run_case(key: &str, group: &str, v: &Value, path: &str) -> Result<Outcome, VectorsError> {
    match (key, group) {
        ("kubernetes_hpa", g) => hpa_case(g, v, path),
        ("knative_kpa", g) => kpa_case(g, v, path),
        ("keda", g) => keda_case(g, v, path),
        ("ray_serve", g) => ray_case(g, v, path),
        ("aibrix", g) => aibrix_case(g, v, path),
        ("llmd_wva", g) => wva_case(g, v, path),
        ("baseten", g) => baseten_case(g, v, path),
        _ => Err(err(path, format!("unknown autoscaler key `{key}`"))),
    }
}

fn unknown_group(path: &str, group: &str) -> VectorsError {
    err(
        path,
        format!("unknown case group `{group}` for this autoscaler"),
    )
}

fn failed(e: impl fmt::Display) -> Value {
    json!({ "error": e.to_string() })
}

/// A metric recommendation as the HPA metric cases expect it.
fn usage_json(r: Result<hpa::MetricRecommendation, super::AutoscalerError>) -> Value {
    match r {
        Ok(r) => to_json(&UsageOut {
            desired_replicas: r.replicas,
            usage_milli: r.usage_milli,
        }),
        Err(e) => failed(e),
    }
}

// ---------------------------------------------------------------- HPA

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

fn hpa_case(group: &str, v: &Value, path: &str) -> Result<Outcome, VectorsError> {
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
                    window: super::secs_f64(i.metric.window_s.unwrap_or(60.0)),
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

// ---------------------------------------------------------------- KPA

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SpecUpdate {
    reachable: Option<bool>,
    scale_down_delay_s: Option<u64>,
    target: Option<f64>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct DeciderOut {
    scale_valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    desired_pod_count: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    excess_burst_capacity: Option<i32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeciderStep {
    t_s: f64,
    ready_pods: u32,
    observed_stable: f64,
    observed_panic: f64,
    #[serde(default)]
    metric_error: bool,
    #[serde(default)]
    spec_update_before_step: Option<SpecUpdate>,
    expected: DeciderOut,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PanicOverride {
    panic_started_s_before_first_step: f64,
    max_panic_pods: i32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeciderIn {
    spec: kpa::DeciderSpec,
    ready_pods_at_creation: u32,
    steps: Vec<DeciderStep>,
    #[serde(default)]
    state_override_before_first_step: Option<PanicOverride>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct S2zConfig {
    stable_window_s: u64,
    scale_to_zero_grace_period_s: u64,
    scale_to_zero_pod_retention_period_s: u64,
    progress_deadline_s: u64,
    activation_timeout_buffer_s: u64,
    enable_scale_to_zero: bool,
    target_burst_capacity: f64,
    initial_scale: u32,
    allow_zero_initial_scale: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct S2zIn {
    config: S2zConfig,
    deployment_replicas: Option<u32>,
    decider_desired_scale: i32,
    min_scale: u32,
    max_scale: u32,
    pa_active_condition: kpa::PaActive,
    pa_condition_age_s: f64,
    sks_proxy_mode_for_s: Option<f64>,
    pa_window_annotation_s: Option<u64>,
    pa_scale_to_zero_pod_retention_annotation_s: Option<u64>,
    reachability: kpa::Reachability,
    activator_probe_result: String,
    initial_scale_annotation: Option<u32>,
    scale_target_initialized: bool,
    pa_target_burst_capacity_annotation: Option<f64>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct S2zOut {
    returned_scale: i32,
    patches_deployment: bool,
    reenqueue_callbacks: u32,
    async_probes_started: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BucketIn {
    window_s: f64,
    granularity_s: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BucketStep {
    op: String,
    t_s: f64,
    #[serde(default)]
    value: Option<f64>,
    #[serde(default)]
    expected: Option<f64>,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BucketCase {
    id: String,
    #[allow(dead_code)]
    source: Value,
    #[allow(dead_code)]
    function: String,
    inputs: BucketIn,
    steps: Vec<BucketStep>,
    #[serde(default)]
    #[allow(dead_code)]
    notes: Option<String>,
}

fn kpa_case(group: &str, v: &Value, path: &str) -> Result<Outcome, VectorsError> {
    match group {
        "decider" => {
            let c: StepCase<DeciderIn> = parse(v, path)?;
            let i = c.inputs;
            let t0 = i.steps.first().map_or(0.0, |s| s.t_s);
            let expected = Value::Array(i.steps.iter().map(|s| to_json(&s.expected)).collect());
            let mut spec = i.spec;
            let mut d = match kpa::KpaDecider::new(spec.clone(), i.ready_pods_at_creation, at(t0)) {
                Ok(d) => d,
                Err(e) => return Ok((c.id, expected, failed(e))),
            };
            if let Some(o) = &i.state_override_before_first_step {
                d.set_panic_state(
                    Some(at(t0 - o.panic_started_s_before_first_step)),
                    o.max_panic_pods,
                );
            }
            let mut actual = Vec::new();
            for s in &i.steps {
                if let Some(u) = &s.spec_update_before_step {
                    if let Some(r) = u.reachable {
                        spec.reachable = r;
                    }
                    if let Some(x) = u.scale_down_delay_s {
                        spec.scale_down_delay_s = x;
                    }
                    if let Some(x) = u.target {
                        spec.target = x;
                    }
                    if let Err(e) = d.update(spec.clone()) {
                        actual.push(failed(e));
                        continue;
                    }
                }
                let obs = (!s.metric_error).then_some((s.observed_stable, s.observed_panic));
                let r = d.scale(at(s.t_s), s.ready_pods, obs);
                actual.push(to_json(&DeciderOut {
                    scale_valid: r.valid,
                    desired_pod_count: r.valid.then_some(r.desired_pod_count),
                    excess_burst_capacity: r.valid.then_some(r.excess_burst_capacity),
                }));
            }
            Ok((c.id, expected, Value::Array(actual)))
        }
        "scale_to_zero_and_bounds" => {
            let c: Case<S2zIn, S2zOut> = parse(v, path)?;
            let i = &c.inputs;
            let cfg = kpa::KpaConfig {
                stable_window_s: i.config.stable_window_s,
                scale_to_zero_grace_period_s: i.config.scale_to_zero_grace_period_s,
                scale_to_zero_pod_retention_period_s: i.config.scale_to_zero_pod_retention_period_s,
                progress_deadline_s: i.config.progress_deadline_s,
                activation_timeout_buffer_s: i.config.activation_timeout_buffer_s,
                enable_scale_to_zero: i.config.enable_scale_to_zero,
                target_burst_capacity: i.config.target_burst_capacity,
                initial_scale: i.config.initial_scale,
                allow_zero_initial_scale: i.config.allow_zero_initial_scale,
                min_scale: i.min_scale,
                max_scale: i.max_scale,
                ..kpa::KpaConfig::default()
            };
            let probe = match i.activator_probe_result.as_str() {
                "activator" => kpa::ProbeResult::Activator,
                // A probe that must not be called answers as a failure, so
                // calling it shows up as an async probe in the result.
                "error" | "not_called" => kpa::ProbeResult::Error,
                other => return Err(err(path, format!("case `{}`: activator_probe_result `{other}` is not activator/error/not_called", c.id))),
            };
            let actual = match cfg.validate() {
                Err(e) => failed(e),
                Ok(()) => {
                    let o = kpa::scale_to_zero_step(
                        &cfg,
                        &kpa::ScalerInput {
                            desired: i.decider_desired_scale,
                            deployment_replicas: i.deployment_replicas,
                            active: i.pa_active_condition,
                            condition_age: super::secs_f64(i.pa_condition_age_s),
                            proxy_for: i.sks_proxy_mode_for_s.map(super::secs_f64),
                            reachability: i.reachability,
                            probe,
                            scale_target_initialized: i.scale_target_initialized,
                            initial_scale_annotation: i.initial_scale_annotation,
                            window_annotation_s: i.pa_window_annotation_s,
                            retention_annotation_s: i.pa_scale_to_zero_pod_retention_annotation_s,
                            tbc_annotation: i.pa_target_burst_capacity_annotation,
                        },
                    );
                    to_json(&S2zOut {
                        returned_scale: o.scale,
                        patches_deployment: o.patches,
                        reenqueue_callbacks: u32::from(o.requeue_after.is_some()),
                        async_probes_started: u32::from(o.async_probe),
                    })
                }
            };
            Ok((c.id, to_json(&c.expected), actual))
        }
        "window_average_buckets" => {
            let c: BucketCase = parse(v, path)?;
            let mut expected = Vec::new();
            let mut actual = Vec::new();
            let mut b = match kpa::TimedBuckets::new(
                super::secs_f64(c.inputs.window_s),
                super::secs_f64(c.inputs.granularity_s),
            ) {
                Ok(b) => b,
                Err(e) => return Ok((c.id, Value::Null, failed(e))),
            };
            for (k, s) in c.steps.iter().enumerate() {
                match (s.op.as_str(), s.value, s.expected) {
                    ("record", Some(val), None) => b.record(at(s.t_s), val),
                    ("avg", None, Some(e)) => {
                        expected.push(json!({ "t_s": s.t_s, "avg": e }));
                        actual.push(json!({ "t_s": s.t_s, "avg": b.window_average(at(s.t_s)) }));
                    }
                    _ => {
                        return Err(err(
                            &format!("{path}.steps[{k}]"),
                            "step must be {op: record, value} or {op: avg, expected}",
                        ))
                    }
                }
            }
            Ok((c.id, Value::Array(expected), Value::Array(actual)))
        }
        g => Err(unknown_group(path, g)),
    }
}

// ---------------------------------------------------------------- KEDA

#[derive(Deserialize)]
#[serde(untagged)]
enum CreationAge {
    Seconds(f64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExecIn {
    current_replicas: u32,
    is_active: bool,
    is_error: bool,
    min_replica_count: u32,
    idle_replica_count: Option<u32>,
    annotations: BTreeMap<String, String>,
    last_active_time: Option<f64>,
    creation_age_s: CreationAge,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ExecOut {
    replicas_after: u32,
    scale_target_updated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    active_condition: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_active_time_set: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FallbackJson {
    failure_threshold: u32,
    replicas: u32,
    behavior: keda::FallbackBehavior,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FbIn {
    scaler_error: bool,
    fallback: FallbackJson,
    number_of_failures_before: u32,
    current_replicas: Option<u32>,
    metric_target_average_value: f64,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct FbOut {
    error_returned: bool,
    fallback_metric_value: Option<f64>,
    number_of_failures_after: u32,
    health_status_after: keda::HealthStatus,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggerJson {
    #[serde(default)]
    name: Option<String>,
    error: bool,
    is_active: bool,
    #[serde(default)]
    resource_metric: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActIn {
    triggers: Vec<TriggerJson>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ActOut {
    is_active: bool,
    is_error: bool,
    active_triggers: Vec<String>,
}

fn keda_case(group: &str, v: &Value, path: &str) -> Result<Outcome, VectorsError> {
    let now = at(0.0);
    match group {
        "executor" => {
            let c: Case<ExecIn, ExecOut> = parse(v, path)?;
            let i = &c.inputs;
            let mut cfg = keda::KedaConfig {
                min_replica_count: i.min_replica_count,
                idle_replica_count: i.idle_replica_count,
                ..keda::KedaConfig::default()
            };
            for (k, val) in &i.annotations {
                let flag = || match val.as_str() {
                    "true" => Ok(true),
                    "false" => Ok(false),
                    o => Err(err(
                        path,
                        format!("case `{}`: annotation {k} = `{o}` is not true/false", c.id),
                    )),
                };
                match k.as_str() {
                    "autoscaling.keda.sh/paused-scale-in" => cfg.paused_scale_in = flag()?,
                    "autoscaling.keda.sh/paused-scale-out" => cfg.paused_scale_out = flag()?,
                    "autoscaling.keda.sh/paused-replicas" => {
                        cfg.paused_replicas = Some(val.parse().map_err(|_| {
                            err(
                                path,
                                format!("case `{}`: paused-replicas `{val}` is not a count", c.id),
                            )
                        })?)
                    }
                    other => {
                        return Err(err(
                            path,
                            format!("case `{}`: unknown annotation `{other}`", c.id),
                        ))
                    }
                }
            }
            let created = match &i.creation_age_s {
                CreationAge::Seconds(s) => ago(*s),
                CreationAge::Text(t) if t.starts_with("large") => ago(BASE_S / 2.0),
                CreationAge::Text(t) => {
                    return Err(err(
                        path,
                        format!(
                            "case `{}`: creation_age_s `{t}` is neither seconds nor \"large …\"",
                            c.id
                        ),
                    ))
                }
            };
            let actual = match keda::KedaExecutor::new(cfg, created) {
                Err(e) => failed(e),
                Ok(mut ex) => {
                    ex.set_last_active_time(i.last_active_time.map(ago));
                    let d = ex.request_scale(now, i.current_replicas, i.is_active, i.is_error);
                    to_json(&ExecOut {
                        replicas_after: d.set_replicas.unwrap_or(i.current_replicas),
                        scale_target_updated: d.set_replicas.is_some(),
                        active_condition: d.active_condition,
                        last_active_time_set: Some(d.last_active_time_set),
                    })
                }
            };
            let mut expected = to_json(&c.expected);
            // Absent expectations are not asserted.
            if c.expected.last_active_time_set.is_none() {
                if let Value::Object(m) = &mut expected {
                    m.insert("last_active_time_set".into(), Value::Null);
                }
            }
            Ok((c.id, expected, actual))
        }
        "fallback" => {
            let c: Case<FbIn, FbOut> = parse(v, path)?;
            let i = &c.inputs;
            let fb = keda::FallbackConfig {
                failure_threshold: i.fallback.failure_threshold,
                replicas: i.fallback.replicas,
                behavior: i.fallback.behavior,
            };
            let mut state = keda::FallbackState {
                failures: i.number_of_failures_before,
                status: keda::HealthStatus::Happy,
            };
            let scaler = (!i.scaler_error).then_some(0.0);
            let r = keda::metric_with_fallback(
                &mut state,
                Some(&fb),
                scaler,
                i.current_replicas,
                i.metric_target_average_value,
            );
            let (error_returned, value) = match r {
                keda::FallbackResult::Error => (true, None),
                keda::FallbackResult::Fallback(v) => (false, Some(v)),
                keda::FallbackResult::Metric(_) => (false, None),
            };
            let actual = to_json(&FbOut {
                error_returned,
                fallback_metric_value: value,
                number_of_failures_after: state.failures,
                health_status_after: state.status,
            });
            Ok((c.id, to_json(&c.expected), actual))
        }
        "activity" => {
            let c: Case<ActIn, ActOut> = parse(v, path)?;
            let ts: Vec<keda::TriggerState> = c
                .inputs
                .triggers
                .iter()
                .enumerate()
                .map(|(k, t)| keda::TriggerState {
                    name: t.name.clone().unwrap_or_else(|| format!("trigger-{k}")),
                    is_active: t.is_active,
                    is_error: t.error,
                    is_resource: t.resource_metric,
                })
                .collect();
            let a = keda::aggregate_activity(&ts, None);
            Ok((
                c.id,
                to_json(&c.expected),
                to_json(&ActOut {
                    is_active: a.is_active,
                    is_error: a.is_error,
                    active_triggers: a.active_triggers,
                }),
            ))
        }
        g => Err(unknown_group(path, g)),
    }
}

// ---------------------------------------------------------------- Ray Serve

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RayCfg {
    min_replicas: u32,
    max_replicas: u32,
    target_ongoing_requests: f64,
    upscaling_factor_effective: f64,
    downscaling_factor_effective: f64,
    #[serde(default)]
    upscale_delay_s: Option<f64>,
    #[serde(default)]
    downscale_delay_s: Option<f64>,
    #[serde(default)]
    downscale_to_zero_delay_s: Option<f64>,
}

impl RayCfg {
    fn config(&self, interval: f64) -> ray_serve::RayServeConfig {
        let d = ray_serve::RayServeConfig::default();
        ray_serve::RayServeConfig {
            min_replicas: self.min_replicas,
            max_replicas: self.max_replicas,
            target_ongoing_requests: self.target_ongoing_requests,
            upscaling_factor: Some(self.upscaling_factor_effective),
            downscaling_factor: Some(self.downscaling_factor_effective),
            upscale_delay_s: self.upscale_delay_s.unwrap_or(d.upscale_delay_s),
            downscale_delay_s: self.downscale_delay_s.unwrap_or(d.downscale_delay_s),
            downscale_to_zero_delay_s: self.downscale_to_zero_delay_s,
            control_loop_interval_s: interval,
            ..d
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalcIn {
    config: RayCfg,
    total_num_requests: f64,
    num_running_replicas: u32,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct CalcOut {
    desired_num_replicas: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    upstream_assertion: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RayStep {
    current_num_replicas: u32,
    target_num_replicas: u32,
    total_num_requests: f64,
    expected_decision: u32,
    #[serde(default)]
    repeat: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeqIn {
    config: RayCfg,
    control_loop_interval_s: f64,
    steps: Vec<RayStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Phase {
    curr_target_num_replicas: u32,
    desired_sequence: Vec<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockIn {
    #[serde(default)]
    desired_num_replicas: Option<f64>,
    #[serde(default)]
    current_num_replicas: Option<u32>,
    #[serde(default)]
    upscaling_factor: Option<f64>,
    #[serde(default)]
    downscaling_factor: Option<f64>,
    #[serde(default)]
    upscale_delay_s: Option<f64>,
    #[serde(default)]
    downscale_delay_s: Option<f64>,
    #[serde(default)]
    downscale_to_zero_delay_s: Option<f64>,
    #[serde(default)]
    control_loop_interval_s: Option<f64>,
    #[serde(default)]
    phase1: Option<Phase>,
    #[serde(default)]
    phase2: Option<Phase>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct BlockOut {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    result: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phase1_decisions: Option<Vec<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phase2_decisions: Option<Vec<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomIn {
    current_num_replicas: u32,
    target_num_replicas: u32,
    total_num_requests: f64,
    custom_policy_raw_desired: f64,
    upscaling_factor: Option<f64>,
    downscaling_factor: Option<f64>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct CustomOut {
    decision: u32,
}

fn ray_case(group: &str, v: &Value, path: &str) -> Result<Outcome, VectorsError> {
    match group {
        "calculate_desired" => {
            let c: Case<CalcIn, CalcOut> = parse(v, path)?;
            let cfg = c.inputs.config.config(0.1);
            let actual = match cfg.validate().and_then(|()| {
                ray_serve::calculate_desired_num_replicas(
                    &cfg,
                    c.inputs.total_num_requests,
                    c.inputs.num_running_replicas,
                )
            }) {
                Ok(d) => to_json(&CalcOut {
                    desired_num_replicas: d,
                    upstream_assertion: None,
                }),
                Err(e) => failed(e),
            };
            Ok((c.id, to_json(&c.expected), actual))
        }
        "default_policy_sequences" => {
            let c: StepCase<SeqIn> = parse(v, path)?;
            let i = c.inputs;
            let mut expected = Vec::new();
            let mut actual = Vec::new();
            let mut p =
                match ray_serve::RayServePolicy::new(i.config.config(i.control_loop_interval_s)) {
                    Ok(p) => p,
                    Err(e) => return Ok((c.id, Value::Null, failed(e))),
                };
            for s in &i.steps {
                for _ in 0..s.repeat.unwrap_or(1) {
                    expected.push(json!(s.expected_decision));
                    actual.push(json!(p.decide(
                        s.current_num_replicas,
                        s.target_num_replicas,
                        s.total_num_requests
                    )));
                }
            }
            Ok((c.id, Value::Array(expected), Value::Array(actual)))
        }
        "building_blocks" => {
            let c: Case<BlockIn, BlockOut> = parse(v, path)?;
            let i = &c.inputs;
            let actual = if c.function.contains("_apply_scaling_factors") {
                let (Some(d), Some(cur)) = (i.desired_num_replicas, i.current_num_replicas) else {
                    return Err(err(path, format!("case `{}`: _apply_scaling_factors needs desired_num_replicas and current_num_replicas", c.id)));
                };
                let r = ray_serve::apply_scaling_factors(
                    d,
                    cur,
                    i.upscaling_factor.unwrap_or(1.0),
                    i.downscaling_factor.unwrap_or(1.0),
                );
                BlockOut {
                    result: Some(r),
                    phase1_decisions: None,
                    phase2_decisions: None,
                }
            } else if c.function.contains("_apply_delay_logic") {
                let d = ray_serve::RayServeConfig::default();
                let cfg = ray_serve::RayServeConfig {
                    upscale_delay_s: i.upscale_delay_s.unwrap_or(d.upscale_delay_s),
                    downscale_delay_s: i.downscale_delay_s.unwrap_or(d.downscale_delay_s),
                    downscale_to_zero_delay_s: i.downscale_to_zero_delay_s,
                    control_loop_interval_s: i
                        .control_loop_interval_s
                        .unwrap_or(d.control_loop_interval_s),
                    ..d
                };
                let mut st = ray_serve::DelayState::default();
                let mut run = |ph: &Option<Phase>| {
                    ph.as_ref().map(|ph| {
                        ph.desired_sequence
                            .iter()
                            .map(|&x| {
                                ray_serve::apply_delay_logic(
                                    &cfg,
                                    &mut st,
                                    x,
                                    ph.curr_target_num_replicas,
                                )
                            })
                            .collect::<Vec<u32>>()
                    })
                };
                let p1 = run(&i.phase1);
                let p2 = run(&i.phase2);
                BlockOut {
                    result: None,
                    phase1_decisions: p1,
                    phase2_decisions: p2,
                }
            } else {
                return Err(err(
                    path,
                    format!("case `{}`: unknown building block `{}`", c.id, c.function),
                ));
            };
            Ok((c.id, to_json(&c.expected), to_json(&actual)))
        }
        "custom_policy_with_defaults" => {
            let c: Case<CustomIn, CustomOut> = parse(v, path)?;
            let i = &c.inputs;
            // Delays 0, bounds [0, 10], as the group's function states.
            let cfg = ray_serve::RayServeConfig {
                min_replicas: 0,
                max_replicas: 10,
                upscale_delay_s: 0.0,
                downscale_delay_s: 0.0,
                upscaling_factor: i.upscaling_factor,
                downscaling_factor: i.downscaling_factor,
                ..ray_serve::RayServeConfig::default()
            };
            let actual = match ray_serve::RayServePolicy::new(cfg) {
                Ok(mut p) => to_json(&CustomOut {
                    decision: p.apply(
                        i.custom_policy_raw_desired,
                        i.current_num_replicas,
                        i.target_num_replicas,
                        i.total_num_requests,
                    ),
                }),
                Err(e) => failed(e),
            };
            Ok((c.id, to_json(&c.expected), actual))
        }
        g => Err(unknown_group(path, g)),
    }
}

// ---------------------------------------------------------------- AIBrix

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

fn aibrix_case(group: &str, v: &Value, path: &str) -> Result<Outcome, VectorsError> {
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

// ---------------------------------------------------------------- llm-d WVA

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

fn wva_case(group: &str, v: &Value, path: &str) -> Result<Outcome, VectorsError> {
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

// ---------------------------------------------------------------- Baseten

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BtIn {
    concurrency_target: u32,
    target_utilization_percent: u32,
    in_flight_requests_avg_over_window: f64,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct BtOut {
    desired_replicas: u32,
    scale_up_trigger_per_replica: f64,
}

fn baseten_case(group: &str, v: &Value, path: &str) -> Result<Outcome, VectorsError> {
    match group {
        "documentation_examples" => {
            let c: Case<BtIn, BtOut> = parse(v, path)?;
            let i = &c.inputs;
            // The documented example has no max: use a large one.
            let cfg = baseten::BasetenConfig {
                max_replicas: 1000,
                concurrency_target: i.concurrency_target,
                target_utilization_percent: i.target_utilization_percent,
                ..baseten::BasetenConfig::default()
            };
            let actual = match cfg.validate() {
                Err(e) => failed(e),
                Ok(()) => to_json(&BtOut {
                    desired_replicas: cfg.desired(i.in_flight_requests_avg_over_window),
                    scale_up_trigger_per_replica: cfg.trigger_per_replica(),
                }),
            };
            Ok((c.id, to_json(&c.expected), actual))
        }
        g => Err(unknown_group(path, g)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(autoscaler: &str, group: &str, case: Value) -> String {
        json!({ "_schema": {}, "autoscalers": { autoscaler: { "description": "", "case_groups": { group: [case] } } } }).to_string()
    }

    fn baseten_case_json(desired: u32) -> Value {
        json!({
            "id": "b-1", "source": {}, "function": "f",
            "inputs": { "concurrency_target": 10, "target_utilization_percent": 70, "in_flight_requests_avg_over_window": 25 },
            "expected": { "desired_replicas": desired, "scale_up_trigger_per_replica": 7 }
        })
    }

    #[test]
    fn passing_and_failing_cases() {
        let r = run_str(&file(
            "baseten",
            "documentation_examples",
            baseten_case_json(4),
        ))
        .expect("parses");
        assert_eq!(r.len(), 1);
        assert!(r[0].passed, "{}", r[0]);
        let r = run_str(&file(
            "baseten",
            "documentation_examples",
            baseten_case_json(5),
        ))
        .expect("parses");
        assert!(!r[0].passed);
        assert!(
            r[0].expected.contains("\"desired_replicas\":5")
                && r[0].actual.contains("\"desired_replicas\":4"),
            "{}",
            r[0]
        );
    }

    #[test]
    fn malformed_files_are_errors_with_paths() {
        let e = run_str(&file("nomad", "x", baseten_case_json(4))).expect_err("unknown key");
        assert!(
            e.to_string().contains("unknown autoscaler key `nomad`")
                && e.path == "autoscalers.nomad",
            "{e}"
        );
        let e = run_str(&file("baseten", "nope", baseten_case_json(4))).expect_err("unknown group");
        assert!(e.to_string().contains("unknown case group `nope`"), "{e}");
        let mut c = baseten_case_json(4);
        c["inputs"]["surprise"] = json!(1);
        let e = run_str(&file("baseten", "documentation_examples", c)).expect_err("unknown field");
        assert!(
            e.to_string().contains("unknown field `surprise`")
                && e.path.ends_with("documentation_examples[0]"),
            "{e}"
        );
        assert!(run_str("{ not json").is_err());
        let counted = json!({ "autoscalers": {}, "case_counts": { "baseten": 2 } }).to_string();
        assert!(run_str(&counted)
            .expect_err("count mismatch")
            .to_string()
            .contains("declares 2"));
    }

    #[test]
    fn matching_rules() {
        let check =
            |e: Value, a: Value, want: bool| assert_eq!(matches(&e, &a), want, "{e} vs {a}");
        check(json!(60), json!(60.0), true);
        check(json!(60), json!(60.1), false);
        check(json!({"a": null, "b": 1}), json!({"b": 1}), true);
        check(json!({"b": 1}), json!({}), false);
        check(json!([1, 2]), json!([1]), false);
        check(json!("Failing"), json!("Happy"), false);
    }
}
