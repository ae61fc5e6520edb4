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

mod aibrix_cases;
mod baseten_cases;
mod hpa_cases;
mod keda_cases;
mod kpa_cases;
mod llmd_wva_cases;
mod ray_serve_cases;

use aibrix_cases::aibrix_case;
use baseten_cases::baseten_case;
use hpa_cases::hpa_case;
use keda_cases::keda_case;
use kpa_cases::kpa_case;
use llmd_wva_cases::wva_case;
use ray_serve_cases::ray_case;

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

#[cfg(test)]
mod tests;
