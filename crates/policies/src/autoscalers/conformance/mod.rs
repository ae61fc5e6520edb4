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
    /// Where the case comes from upstream (`repo path test`, or the
    /// documentation address), empty when the case names none.
    pub source: String,
    /// Why the case could not be read (JSON path, case id, field and what
    /// is allowed); such a case fails.
    pub error: Option<String>,
}

impl fmt::Display for CaseResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({}/{})",
            if self.passed { "PASS" } else { "FAIL" },
            self.id,
            self.autoscaler,
            self.group,
        )?;
        if !self.source.is_empty() {
            write!(f, "\n  upstream: {}", self.source)?;
        }
        match &self.error {
            Some(e) => write!(f, "\n  unreadable: {e}"),
            None => write!(
                f,
                "\n  expected: {}\n  actual:   {}",
                self.expected, self.actual
            ),
        }
    }
}

/// The `source` of a case as the schema documents it: `{repo, path, test}`
/// for an upstream test, `revision_note` when several versions of a file
/// exist, `{kind, url}` (and a `section`) for non-test material.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// `owner/name` of the upstream repository.
    #[serde(default)]
    pub repo: Option<String>,
    /// Test file path inside it.
    #[serde(default)]
    pub path: Option<String>,
    /// Test (and subtest) name.
    #[serde(default)]
    pub test: Option<String>,
    /// Which version of the file, when several exist.
    #[serde(default)]
    pub revision_note: Option<String>,
    /// Non-test material: its kind (documentation, ...).
    #[serde(default)]
    pub kind: Option<String>,
    /// Non-test material: its address.
    #[serde(default)]
    pub url: Option<String>,
    /// Non-test material: the section read.
    #[serde(default)]
    pub section: Option<String>,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<&str> = [
            &self.repo,
            &self.path,
            &self.test,
            &self.kind,
            &self.url,
            &self.section,
        ]
        .into_iter()
        .filter_map(|p| p.as_deref())
        .collect();
        write!(f, "{}", parts.join(" "))?;
        if let Some(r) = &self.revision_note {
            write!(f, " ({r})")?;
        }
        Ok(())
    }
}

/// A case's source for the report: the parsed `source` rendered, or a
/// located error when it is malformed.
fn case_source(case: &Value, path: &str) -> Result<String, VectorsError> {
    match case.get("source") {
        None | Some(Value::Null) => Ok(String::new()),
        Some(v) => Source::deserialize(v).map(|s| s.to_string()).map_err(|e| {
            err(
                &format!("{path}.source"),
                format!(
                    "case `{}`: {e} (allowed: repo, path, test, revision_note, kind, url, section)",
                    case_id(case)
                ),
            )
        }),
    }
}

fn case_id(case: &Value) -> &str {
    case.get("id").and_then(Value::as_str).unwrap_or("?")
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
                let read = case_source(case, &cpath)
                    .and_then(|source| Ok((source, run_case(key, group, case, &cpath)?)));
                results.push(match read {
                    Ok((source, (id, expected, actual))) => CaseResult {
                        id,
                        autoscaler: key.clone(),
                        group: group.clone(),
                        passed: matches(&expected, &actual),
                        expected: expected.to_string(),
                        actual: actual.to_string(),
                        source,
                        error: None,
                    },
                    // A case that cannot be read fails on its own, with
                    // where and why; the other cases still run.
                    Err(e) => CaseResult {
                        id: case_id(case).to_string(),
                        autoscaler: key.clone(),
                        group: group.clone(),
                        passed: false,
                        expected: String::new(),
                        actual: String::new(),
                        source: case_source(case, &cpath).unwrap_or_default(),
                        error: Some(e.to_string()),
                    },
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
/// `upstream_assertion` texts are not compared; an expected `error` text
/// must be contained in the actual error (upstream's `ErrorContains`).
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
            k == "upstream_assertion"
                || ev.is_null()
                || match (k.as_str(), ev, a.get(k)) {
                    // Upstream asserts that the error message contains the
                    // expected text.
                    ("error" | "expected_error", Value::String(want), Some(Value::String(got))) => {
                        got.contains(want.as_str())
                    }
                    (_, _, Some(av)) => matches(ev, av),
                    (_, _, None) => false,
                }
        }),
        (e, a) => e == a,
    }
}

/// Fields every case has.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case<I, E> {
    id: String,
    #[serde(default)]
    #[allow(dead_code)]
    source: Option<Source>,
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
    #[serde(default)]
    #[allow(dead_code)]
    source: Option<Source>,
    #[allow(dead_code)]
    function: String,
    inputs: I,
    #[serde(default)]
    #[allow(dead_code)]
    notes: Option<String>,
}

fn parse<T: DeserializeOwned>(v: &Value, path: &str) -> Result<T, VectorsError> {
    let id = case_id(v);
    T::deserialize(v).map_err(|e| {
        let msg = e.to_string();
        // serde names the field but not where it sits: find it in the case.
        let at = msg
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
            .and_then(|field| locate_key(v, field, String::new()));
        match at {
            Some(at) => err(&format!("{path}{at}"), format!("case `{id}`: {msg}")),
            None => err(path, format!("case `{id}`: {msg}")),
        }
    })
}

/// JSON path (`.inputs.pods[2].fixture.extra`) of the first key `key` in `v`.
fn locate_key(v: &Value, key: &str, here: String) -> Option<String> {
    match v {
        Value::Object(m) => {
            if m.contains_key(key) {
                return Some(format!("{here}.{key}"));
            }
            m.iter()
                .find_map(|(k, x)| locate_key(x, key, format!("{here}.{k}")))
        }
        Value::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, x)| locate_key(x, key, format!("{here}[{i}]"))),
        _ => None,
    }
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
