//! A KEDA ScaledObject as `[scaling] kind = "keda"`: bounds, polling and
//! cooldowns, the Prometheus trigger (a query on a signal the simulator
//! observes), `fallback`, `advanced.scalingModifiers`, the behavior of the
//! HPA KEDA creates, and the `autoscaling.keda.sh/*` annotations.

use super::export::{emit, num, num_text, s, ymap, Exporter};
use super::hpa::{check_target, map_behavior};
use super::yaml::{Doc, Here};
use super::{K8sError, Out};
use fleetsim_policies::autoscalers::promql::Query;
use toml::{Table, Value};
use toml_edit::InlineTable;
use yaml_rust2::Yaml;

/// The trigger metrics (`trigger_metric`) and the query export writes for
/// each; import maps `sum(vllm:x)`, `vllm:x`, `sum(x)` and `x` back.
pub const TRIGGER_QUERIES: [(&str, &str); 5] = [
    ("num_requests_waiting", "sum(vllm:num_requests_waiting)"),
    ("num_requests_running", "sum(vllm:num_requests_running)"),
    ("kv_cache_usage_perc", "sum(vllm:kv_cache_usage_perc)"),
    ("concurrency", "sum(concurrency)"),
    ("gpu_busy_fraction", "sum(gpu_busy_fraction)"),
];

/// The `autoscaling.keda.sh/*` annotations and their scenario keys.
pub const ANNOTATIONS: [(&str, &str); 5] = [
    ("autoscaling.keda.sh/paused-replicas", "paused_replicas"),
    ("autoscaling.keda.sh/paused", "paused"),
    ("autoscaling.keda.sh/paused-scale-in", "paused_scale_in"),
    ("autoscaling.keda.sh/paused-scale-out", "paused_scale_out"),
    ("autoscaling.keda.sh/force-activation", "force_activation"),
];

/// `[scaling]` from a ScaledObject.
pub fn map(doc: &Doc, server: Option<&str>, out: &mut Out) -> Result<(), K8sError> {
    let root = doc.root();
    check_target(&root, server)?;
    let spec = root
        .get("spec")
        .ok_or_else(|| root.error("a ScaledObject needs spec"))?;
    out.from(
        "scaling",
        "kind",
        "keda",
        &root.get("kind").unwrap_or(root.clone()),
    );
    const S: &str = "scaling";
    let defaults = [
        ("minReplicaCount", "min_replicas", 0),
        ("maxReplicaCount", "max_replicas", 100),
    ];
    for (field, key, default) in defaults {
        match spec.get(field) {
            Some(v) => {
                let n = v.u32_in(0..=100_000)?;
                out.from(S, key, i64::from(n), &v);
            }
            None => out.set(S, key, default, format!("KEDA's default (no spec.{field})")),
        }
    }
    for (field, key) in [
        ("pollingInterval", "polling_interval_s"),
        ("cooldownPeriod", "cooldown_period_s"),
        ("initialCooldownPeriod", "initial_cooldown_period_s"),
        ("idleReplicaCount", "idle_replicas"),
    ] {
        if let Some(v) = spec.get(field) {
            let n = v.u32_in(0..=u32::MAX)?;
            out.from(S, key, i64::from(n), &v);
        }
    }
    if let Some(f) = spec.get("fallback") {
        let mut t = InlineTable::new();
        for (field, key) in [
            ("failureThreshold", "failure_threshold"),
            ("replicas", "replicas"),
        ] {
            let v = f
                .get(field)
                .ok_or_else(|| f.error(format!("fallback needs `{field}`")))?;
            let n: i64 = v
                .text()?
                .trim()
                .parse()
                .map_err(|_| v.error("a whole number"))?;
            t.insert(key, n.into());
        }
        if let Some(b) = f.get("behavior") {
            t.insert("behavior", b.text()?.into());
        }
        out.from(S, "fallback", t, &f);
    }
    let advanced = spec.get("advanced");
    let modifiers = advanced.as_ref().and_then(|a| a.get("scalingModifiers"));
    if let Some(a) = &advanced {
        if let Some(hpa) = a.get("horizontalPodAutoscalerConfig") {
            if let Some(b) = hpa.get("behavior") {
                map_behavior(&b, "scaling.hpa_behavior", false, out)?;
            }
            if let Some(n) = hpa.get("name") {
                out.unmapped(
                    &n,
                    "the name of the HPA KEDA creates: the scenario needs none",
                );
            }
        }
        if let Some(r) = a.get("restoreToOriginalReplicaCount") {
            out.unmapped(
                &r,
                "what happens when the ScaledObject is deleted: not simulated",
            );
        }
    }
    if let Some(m) = &modifiers {
        let mut t = InlineTable::new();
        for (field, key) in [
            ("formula", "formula"),
            ("target", "target"),
            ("activationTarget", "activation_target"),
            ("metricType", "metric_type"),
        ] {
            if let Some(v) = m.get(field) {
                t.insert(key, v.text()?.into());
            }
        }
        out.from(S, "scaling_modifiers", t, m);
    }
    map_annotations(&root, out)?;
    let triggers = match spec.get("triggers") {
        Some(t) => t.items()?,
        None => return Err(spec.error("a ScaledObject needs spec.triggers")),
    };
    map_triggers(&triggers, modifiers.is_some(), out)
}

fn map_annotations(root: &Here<'_>, out: &mut Out) -> Result<(), K8sError> {
    let Some(annotations) = root.at(&["metadata", "annotations"]) else {
        return Ok(());
    };
    for (name, key) in ANNOTATIONS {
        let Some(v) = annotations.get(name) else {
            continue;
        };
        if key == "paused_replicas" {
            let n = v.u32_in(0..=100_000)?;
            out.from("scaling", key, i64::from(n), &v);
        } else {
            // Go's strconv.ParseBool; anything else reads as true (KEDA).
            let on = !matches!(
                v.text()?.trim(),
                "0" | "f" | "F" | "false" | "FALSE" | "False"
            );
            out.from("scaling", key, on, &v);
        }
    }
    Ok(())
}

fn map_triggers(triggers: &[Here<'_>], composite: bool, out: &mut Out) -> Result<(), K8sError> {
    let mut named = toml_edit::Array::new();
    let mut mapped = 0;
    for trig in triggers {
        let ty = trig
            .get("type")
            .ok_or_else(|| trig.error("a trigger needs `type`"))?;
        if ty.text()? != "prometheus" {
            let t = ty.text()?;
            out.unmapped(trig, format!("`{t}` trigger: only prometheus triggers on a signal the simulator observes are mapped"));
            continue;
        }
        if !composite && mapped == 1 {
            out.unmapped(
                trig,
                "a second trigger without scalingModifiers: the scenario's keda kind takes one \
                 (KEDA's HPA would take the larger of their replica counts)",
            );
            continue;
        }
        let meta = trig
            .get("metadata")
            .ok_or_else(|| trig.error("a trigger needs `metadata`"))?;
        let q = meta
            .get("query")
            .ok_or_else(|| meta.error("a prometheus trigger needs `query`"))?;
        let (key, value) = query(&q, out)?;
        if composite {
            let name = trig
                .get("name")
                .ok_or_else(|| trig.error("with scalingModifiers each trigger needs `name`"))?;
            let mut t = InlineTable::new();
            t.insert("name", name.text()?.into());
            t.insert(key, value.into());
            named.push(t);
            for k in ["threshold", "activationThreshold"] {
                if let Some(v) = meta.get(k) {
                    out.unmapped(
                        &v,
                        "with scalingModifiers the composite's target and activationTarget apply",
                    );
                }
            }
        } else {
            out.from("scaling", key, value.as_str(), &q);
            if let Some(v) = meta.get("threshold") {
                out.from("scaling", "threshold", v.quantity()?, &v);
            }
            if let Some(v) = meta.get("activationThreshold") {
                out.from("scaling", "activation_threshold", v.quantity()?, &v);
            }
            if let Some(v) = trig.get("metricType") {
                let t = v.text()?;
                if t != "AverageValue" && t != "Value" {
                    return Err(v.error(format!("`{t}` is not allowed: AverageValue or Value")));
                }
                out.from("scaling", "metric_type", t, &v);
            }
        }
        if let Some(v) = meta.get("ignoreNullValues") {
            out.from("scaling", "ignore_null_values", v.bool()?, &v);
        }
        for k in [
            "serverAddress",
            "namespace",
            "customHeaders",
            "authModes",
            "unsafeSsl",
        ] {
            if let Some(v) = meta.get(k) {
                out.unmapped(
                    &v,
                    "how KEDA reaches Prometheus: the simulator reads its own metrics",
                );
            }
        }
        mapped += 1;
    }
    if composite {
        out.set(
            "scaling",
            "triggers",
            toml_edit::Value::Array(named),
            "from the named prometheus triggers of spec.triggers".into(),
        );
    } else if mapped == 0 {
        out.set(
            "scaling",
            "trigger_metric",
            "num_requests_waiting",
            "PLACEHOLDER (no prometheus trigger on an observed signal): set the metric".into(),
        );
    }
    Ok(())
}

/// A trigger's query as `trigger_metric` (a plain sum of an observed
/// gauge) or `query`; label matchers are dropped and listed.
fn query(q: &Here<'_>, out: &mut Out) -> Result<(&'static str, String), K8sError> {
    let text = q.text()?;
    let mut bare = String::new();
    let mut depth = 0;
    let mut dropped = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '{' => {
                depth += 1;
                current.push(c);
            }
            '}' if depth > 0 => {
                depth -= 1;
                current.push(c);
                if depth == 0 {
                    dropped.push(std::mem::take(&mut current));
                }
            }
            _ if depth > 0 => current.push(c),
            _ => bare.push(c),
        }
    }
    let bare: String = bare.split_whitespace().collect::<Vec<_>>().join(" ");
    if !dropped.is_empty() {
        out.unmapped.push(super::Unmapped {
            origin: q.origin(),
            reason: format!(
                "label matchers {}: the simulator has one series per deployment",
                dropped.join(", ")
            ),
        });
    }
    let inner = (bare.strip_prefix("sum(").and_then(|s| s.strip_suffix(')'))).unwrap_or(&bare);
    let inner = inner.strip_prefix("vllm:").unwrap_or(inner);
    let inner = if inner == "gpu_cache_usage_perc" {
        "kv_cache_usage_perc"
    } else {
        inner
    };
    if let Some((metric, _)) = TRIGGER_QUERIES.iter().find(|(m, _)| *m == inner) {
        return Ok(("trigger_metric", (*metric).to_string()));
    }
    match Query::parse(&bare) {
        Ok(_) => Ok(("query", bare)),
        Err(e) => Err(q.error(format!(
            "`{bare}` is not a query the simulator can answer: {e}; allowed: a sum, rate or \
             histogram_quantile over vLLM's metrics (docs/autoscalers.md, `query`)"
        ))),
    }
}

impl Exporter<'_> {
    /// The ScaledObject.
    pub(super) fn keda(&mut self, sc: &Table) -> Result<String, K8sError> {
        let mut annotations = Vec::new();
        for (name, key) in ANNOTATIONS {
            if let Some(v) = sc.get(key) {
                let text = match v {
                    Value::Boolean(b) => b.to_string(),
                    other => num_text(other).unwrap_or_default(),
                };
                annotations.push((name, s(&text)));
            }
        }
        let mut metadata = vec![("name", s(self.name))];
        if !annotations.is_empty() {
            metadata.push(("annotations", ymap(annotations)));
        }
        let mut spec = vec![("scaleTargetRef", ymap(vec![("name", s(self.name))]))];
        for (key, field) in [
            ("polling_interval_s", "pollingInterval"),
            ("cooldown_period_s", "cooldownPeriod"),
            ("initial_cooldown_period_s", "initialCooldownPeriod"),
            ("idle_replicas", "idleReplicaCount"),
            ("min_replicas", "minReplicaCount"),
            ("max_replicas", "maxReplicaCount"),
        ] {
            if let Some(v) = sc.get(key).and_then(num) {
                spec.push((field, v));
            }
        }
        if let Some(f) = sc.get("fallback").and_then(Value::as_table) {
            let mut entries = Vec::new();
            for (key, field) in [
                ("failure_threshold", "failureThreshold"),
                ("replicas", "replicas"),
            ] {
                if let Some(v) = f.get(key).and_then(num) {
                    entries.push((field, v));
                }
            }
            if let Some(b) = f.get("behavior").and_then(Value::as_str) {
                entries.push(("behavior", s(b)));
            }
            spec.push(("fallback", ymap(entries)));
        }
        let mut advanced = Vec::new();
        if let Some(b) = self.behavior(sc.get("hpa_behavior"), None) {
            advanced.push(("horizontalPodAutoscalerConfig", ymap(vec![("behavior", b)])));
        }
        if let Some(m) = sc.get("scaling_modifiers").and_then(Value::as_table) {
            let mut entries = Vec::new();
            for (key, field) in [
                ("formula", "formula"),
                ("target", "target"),
                ("activation_target", "activationTarget"),
                ("metric_type", "metricType"),
            ] {
                if let Some(v) = m.get(key).and_then(Value::as_str) {
                    entries.push((field, s(v)));
                }
            }
            advanced.push(("scalingModifiers", ymap(entries)));
        }
        if !advanced.is_empty() {
            spec.push(("advanced", ymap(advanced)));
        }
        self.needs
            .push("serverAddress: `http://prometheus.monitoring:9090`: your Prometheus".into());
        let trigger = |name: Option<&str>, query: String, with_threshold: bool| {
            let mut meta = vec![
                ("serverAddress", s("http://prometheus.monitoring:9090")),
                ("query", s(&query)),
            ];
            if with_threshold {
                let t = sc
                    .get("threshold")
                    .and_then(num_text)
                    .unwrap_or_else(|| "5".into());
                meta.push(("threshold", s(&t)));
                if let Some(a) = sc.get("activation_threshold").and_then(num_text) {
                    meta.push(("activationThreshold", s(&a)));
                }
            }
            if let Some(b) = sc.get("ignore_null_values").and_then(Value::as_bool) {
                meta.push(("ignoreNullValues", s(&b.to_string())));
            }
            let mut t = vec![("type", s("prometheus"))];
            if let Some(n) = name {
                t.push(("name", s(n)));
            }
            if with_threshold {
                if let Some(m) = sc.get("metric_type").and_then(Value::as_str) {
                    t.push(("metricType", s(m)));
                }
            }
            t.push(("metadata", ymap(meta)));
            ymap(t)
        };
        let query_of = |t: &Table| -> String {
            match (
                t.get("trigger_metric").and_then(Value::as_str),
                t.get("query").and_then(Value::as_str),
            ) {
                (_, Some(q)) => q.to_string(),
                (m, None) => {
                    let m = m.unwrap_or("num_requests_waiting");
                    (TRIGGER_QUERIES.iter().find(|(n, _)| *n == m))
                        .map_or(m.to_string(), |(_, q)| q.to_string())
                }
            }
        };
        let triggers = match sc.get("triggers").and_then(Value::as_array) {
            Some(list) => list
                .iter()
                .filter_map(Value::as_table)
                .map(|t| trigger(t.get("name").and_then(Value::as_str), query_of(t), false))
                .collect(),
            None => vec![trigger(None, query_of(sc), true)],
        };
        spec.push(("triggers", Yaml::Array(triggers)));
        Ok(emit(&[ymap(vec![
            ("apiVersion", s("keda.sh/v1alpha1")),
            ("kind", s("ScaledObject")),
            ("metadata", ymap(metadata)),
            ("spec", ymap(spec)),
        ])]))
    }
}
