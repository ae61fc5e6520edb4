//! An autoscaling/v2 HorizontalPodAutoscaler as `[scaling] kind = "hpa"`:
//! bounds, the metrics the simulator observes (vLLM's waiting and running
//! requests and KV-cache usage, DCGM's GPU utilization, as Pods metrics;
//! the fleet's request rate, token rates and p95 TTFT as External metrics
//! named after the signal), and `spec.behavior` in its own spelling (also
//! KEDA's `advanced.horizontalPodAutoscalerConfig.behavior`).

use super::export::{emit, format_f64, num_text, s, ymap, Exporter};
use super::yaml::{Doc, Here};
use super::{K8sError, Out};
use toml::Table;
use toml_edit::{Array, InlineTable, Value};
use yaml_rust2::Yaml;

/// Pods metric names export writes for each scenario metric, and import
/// reads (besides the alternatives in [`metric_of`]).
pub const POD_METRICS: [(&str, &str); 4] = [
    ("num_requests_waiting", "vllm:num_requests_waiting"),
    ("num_requests_running", "vllm:num_requests_running"),
    ("kv_cache_usage_perc", "vllm:kv_cache_usage_perc"),
    ("gpu_busy_fraction", "DCGM_FI_DEV_GPU_UTIL"),
];

/// External metric names import reads and export writes: the scenario's
/// signal names (a metrics adapter names an External metric by its rule;
/// these are the names to give the rules).
pub const EXTERNAL_METRICS: [&str; 5] = [
    "request_rate",
    "prompt_tokens_per_s",
    "generation_tokens_per_s",
    "ttft_p95_s",
    "itl_p95_s",
];

/// The scenario metric of an External or Object metric name (`vllm:` /
/// `vllm_` prefixes allowed), if the simulator observes it. The HPA
/// walkthrough's Object metric, an Ingress's `requests-per-second`, is the
/// fleet's request rate: every request passes the object.
pub fn external_metric_of(name: &str) -> Option<&'static str> {
    let bare = (name
        .strip_prefix("vllm:")
        .or_else(|| name.strip_prefix("vllm_")))
    .unwrap_or(name);
    if matches!(bare, "requests-per-second" | "requests_per_second") {
        return Some("request_rate");
    }
    EXTERNAL_METRICS.iter().copied().find(|m| *m == bare)
}

/// An External or Object metric (`ty`) as a scenario metric, or `None`
/// (listed as unmapped): a Value target is `target_value`, an AverageValue
/// one `target_average_value`. Upstream computes both kinds alike (the
/// replica calculator's `GetExternal*` and `GetObject*`): a Value target
/// scales the ready pods by metric ÷ target, an AverageValue one divides
/// the metric by the target.
fn external(item: &Here<'_>, out: &mut Out, ty: &str) -> Result<Option<InlineTable>, K8sError> {
    let field = if ty == "Object" { "object" } else { "external" };
    let ext = item
        .get(field)
        .ok_or_else(|| item.error(format!("an {ty} metric needs `{field}`")))?;
    let name_at = (ext.at(&["metric", "name"])).ok_or_else(|| ext.error("needs metric.name"))?;
    let name = name_at.text()?;
    let Some(metric) = external_metric_of(name) else {
        out.unmapped(
            item,
            format!(
                "{ty} metric `{name}` is not observed by the simulator (mapped: {}, requests-per-second)",
                EXTERNAL_METRICS.join(", ")
            ),
        );
        return Ok(None);
    };
    if let Some(sel) = ext.at(&["metric", "selector"]) {
        out.unmapped(&sel, "label selector: the signal is the deployment's");
    }
    if ty == "Object" {
        let object = ext
            .get("describedObject")
            .ok_or_else(|| ext.error("an Object metric needs `describedObject`"))?;
        out.unmapped(
            &object,
            "the object the metric describes: the simulator reads the fleet's signal",
        );
    }
    let target = ext
        .get("target")
        .ok_or_else(|| ext.error("a metric needs `target`"))?;
    let tt = target
        .get("type")
        .ok_or_else(|| target.error("needs `type`"))?;
    let (field, key) = match tt.text()? {
        "Value" => ("value", "target_value"),
        "AverageValue" => ("averageValue", "target_average_value"),
        _ => {
            return Err(tt.error(format!(
                "an {ty} metric's target type must be Value or AverageValue"
            )))
        }
    };
    let v_at = target
        .get(field)
        .ok_or_else(|| target.error(format!("needs `{field}`")))?;
    let v = v_at.quantity()?;
    if !(v.is_finite() && v > 0.0) {
        return Err(v_at.error(format!("`{v}` is not allowed: a target > 0")));
    }
    let mut t = InlineTable::new();
    t.insert("metric", metric.into());
    t.insert(key, v.into());
    Ok(Some(t))
}

/// The scenario metric of a Pods metric name, if the simulator observes it.
pub fn metric_of(name: &str) -> Option<&'static str> {
    let bare = (name
        .strip_prefix("vllm:")
        .or_else(|| name.strip_prefix("vllm_")))
    .unwrap_or(name);
    match bare {
        "num_requests_waiting" => Some("num_requests_waiting"),
        "num_requests_running" => Some("num_requests_running"),
        "kv_cache_usage_perc" | "gpu_cache_usage_perc" => Some("kv_cache_usage_perc"),
        "DCGM_FI_DEV_GPU_UTIL" | "gpu_busy_fraction" => Some("gpu_busy_fraction"),
        _ => None,
    }
}

/// Checks that `spec.scaleTargetRef` names the serving object, if the
/// manifests have one.
pub fn check_target(root: &Here<'_>, server: Option<&str>) -> Result<(), K8sError> {
    let Some(target) = root.at(&["spec", "scaleTargetRef"]) else {
        return Ok(());
    };
    target.node.consume();
    if let (Some(server), Some(name)) = (server, target.get("name")) {
        let name = name.text()?;
        if name != server {
            return Err(target.error(format!(
                "names `{name}`, but the manifests' Deployment is `{server}`: \
                 import an autoscaler with the Deployment it scales"
            )));
        }
    }
    Ok(())
}

/// `[scaling]` from a HorizontalPodAutoscaler.
pub fn map(doc: &Doc, server: Option<&str>, out: &mut Out) -> Result<(), K8sError> {
    let root = doc.root();
    let api = root.get("apiVersion").map(|a| a.text()).transpose()?;
    if api != Some("autoscaling/v2") {
        let at = root.get("apiVersion").unwrap_or(root.clone());
        return Err(at.error(format!(
            "`{}` is not read: autoscaling/v2 only (v1 and v2beta2 objects convert to it \
             with `kubectl convert`)",
            api.unwrap_or("")
        )));
    }
    check_target(&root, server)?;
    let spec = root
        .get("spec")
        .ok_or_else(|| root.error("a HorizontalPodAutoscaler needs spec"))?;
    let kind = root.get("kind").unwrap_or(root.clone());
    out.from("scaling", "kind", "hpa", &kind);
    match spec.get("minReplicas") {
        Some(m) => {
            let n = m.u32_in(1..=100_000)?;
            out.from("scaling", "min_replicas", i64::from(n), &m);
        }
        None => out.set(
            "scaling",
            "min_replicas",
            1,
            "autoscaling/v2 default (no spec.minReplicas)".into(),
        ),
    }
    let max = spec
        .get("maxReplicas")
        .ok_or_else(|| spec.error("spec.maxReplicas is required"))?;
    let n = max.u32_in(1..=100_000)?;
    out.from("scaling", "max_replicas", i64::from(n), &max);
    map_metrics(&spec, out)?;
    if let Some(b) = spec.get("behavior") {
        map_behavior(&b, "scaling.behavior", true, out)?;
    }
    Ok(())
}

fn map_metrics(spec: &Here<'_>, out: &mut Out) -> Result<(), K8sError> {
    let mut list = Array::new();
    let mut origins = Vec::new();
    let items = match spec.get("metrics") {
        Some(m) => m.items()?,
        None => Vec::new(),
    };
    for item in &items {
        match metric(item, out)? {
            Some(table) => {
                list.push(table);
                origins.push(item.origin().to_string());
            }
            None => continue,
        }
    }
    if list.is_empty() {
        let mut t = InlineTable::new();
        t.insert("metric", "gpu_busy_fraction".into());
        t.insert("target_utilization_percent", 80.into());
        list.push(t);
        let why = if items.is_empty() {
            "no spec.metrics"
        } else {
            "no metric the simulator observes"
        };
        out.set(
            "scaling",
            "metrics",
            list,
            format!("PLACEHOLDER ({why}): set the metric the fleet scales on"),
        );
    } else {
        out.set(
            "scaling",
            "metrics",
            list,
            format!("from {}", origins.join(", ")),
        );
    }
    Ok(())
}

/// One metric as a scenario metric, or `None` (listed as unmapped).
fn metric(item: &Here<'_>, out: &mut Out) -> Result<Option<InlineTable>, K8sError> {
    let ty = item
        .get("type")
        .ok_or_else(|| item.error("a metric needs `type`"))?;
    let ty_text = ty.text()?;
    if ty_text == "External" || ty_text == "Object" {
        return external(item, out, ty_text);
    }
    if ty_text != "Pods" {
        let what = match ty_text {
            "Resource" | "ContainerResource" => {
                let name = (item
                    .get("resource")
                    .or_else(|| item.get("containerResource")))
                .and_then(|r| r.get("name"))
                .and_then(|n| n.text().ok())
                .unwrap_or("?");
                format!("{ty_text} metric `{name}`: the simulator models GPUs, not cpu or memory")
            }
            _ => format!(
                "{ty_text} metric: only Pods metrics on {} and External or Object metrics on {} are mapped",
                POD_METRICS
                    .iter()
                    .map(|(_, m)| *m)
                    .collect::<Vec<_>>()
                    .join(", "),
                EXTERNAL_METRICS.join(", ")
            ),
        };
        out.unmapped(item, what);
        return Ok(None);
    }
    let pods = item
        .get("pods")
        .ok_or_else(|| item.error("a Pods metric needs `pods`"))?;
    let name_at = (pods.at(&["metric", "name"])).ok_or_else(|| pods.error("needs metric.name"))?;
    let name = name_at.text()?;
    let Some(metric) = metric_of(name) else {
        out.unmapped(
            item,
            format!(
                "Pods metric `{name}` is not observed by the simulator (mapped: {})",
                POD_METRICS
                    .iter()
                    .map(|(_, m)| *m)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        return Ok(None);
    };
    if let Some(sel) = pods.at(&["metric", "selector"]) {
        out.unmapped(&sel, "label selector: one series per deployment");
    }
    let target = pods
        .get("target")
        .ok_or_else(|| pods.error("a metric needs `target`"))?;
    let tt = target
        .get("type")
        .ok_or_else(|| target.error("needs `type`"))?;
    if tt.text()? != "AverageValue" {
        return Err(tt.error("a Pods metric's target type must be AverageValue"));
    }
    let v_at = (target.get("averageValue")).ok_or_else(|| target.error("needs `averageValue`"))?;
    let v = v_at.quantity()?;
    let mut t = InlineTable::new();
    t.insert("metric", metric.into());
    match metric {
        "num_requests_waiting" | "num_requests_running" => {
            t.insert("target_average_value", v.into());
        }
        _ => {
            // A fraction (KV cache) or a percent (DCGM's GPU utilization).
            let percent = if metric == "kv_cache_usage_perc" {
                v * 100.0
            } else {
                v
            };
            let whole = percent.round();
            if (percent - whole).abs() > 1e-9 || whole < 1.0 {
                return Err(v_at.error(format!(
                    "`{v}` is not allowed for {name}: a whole percent >= 1 \
                     ({})",
                    if metric == "kv_cache_usage_perc" {
                        "0.01, 0.02, … of the cache"
                    } else {
                        "1 to 100"
                    }
                )));
            }
            t.insert("target_utilization_percent", Value::from(whole as i64));
        }
    }
    Ok(Some(t))
}

/// `behavior` (an HPA's, or KEDA's HPA's) into `table` with the
/// Kubernetes spelling; `tolerance` (KEP-4951) only where the scenario
/// has a knob for it (`hpa`).
pub fn map_behavior(
    b: &Here<'_>,
    table: &str,
    tolerance: bool,
    out: &mut Out,
) -> Result<(), K8sError> {
    let entries = b.entries()?;
    if entries.is_empty() {
        out.from(
            table.rsplit_once('.').map_or("scaling", |(t, _)| t),
            table.rsplit('.').next().unwrap_or(table),
            InlineTable::new(),
            b,
        );
        return Ok(());
    }
    for (dir, rules) in entries {
        let (tol_key, sub) = match dir {
            "scaleUp" => ("scale_up", format!("{table}.scaleUp")),
            "scaleDown" => ("scale_down", format!("{table}.scaleDown")),
            _ => return Err(rules.error("not allowed: scaleUp or scaleDown")),
        };
        let mut any = false;
        for (key, v) in rules.entries()? {
            match key {
                "stabilizationWindowSeconds" => {
                    let n = v.u32_in(0..=3600)?;
                    out.from(&sub, key, i64::from(n), &v);
                }
                "selectPolicy" => {
                    let p = v.text()?;
                    if !["Max", "Min", "Disabled"].contains(&p) {
                        return Err(v.error(format!("`{p}` is not allowed: Max, Min or Disabled")));
                    }
                    out.from(&sub, key, p, &v);
                }
                "policies" => {
                    let mut list = Array::new();
                    for p in v.items()? {
                        list.push(policy(&p)?);
                    }
                    if list.is_empty() {
                        return Err(v.error("at least one policy (or leave `policies` out)"));
                    }
                    out.from(&sub, key, list, &v);
                }
                "tolerance" if tolerance => {
                    let t = v.quantity()?;
                    out.from("scaling.tolerance", tol_key, t, &v);
                    continue;
                }
                _ => {
                    out.unmapped(
                        &v,
                        "not an autoscaling/v2 behavior field the simulator reads",
                    );
                    continue;
                }
            }
            any = true;
        }
        if !any {
            out.from(table, dir, InlineTable::new(), &rules);
        }
    }
    Ok(())
}

fn policy(p: &Here<'_>) -> Result<InlineTable, K8sError> {
    let get = |k: &str| {
        p.get(k)
            .ok_or_else(|| p.error(format!("a policy needs `{k}`")))
    };
    let ty = get("type")?;
    let ty_text = ty.text()?;
    if ty_text != "Pods" && ty_text != "Percent" {
        return Err(ty.error(format!("`{ty_text}` is not allowed: Pods or Percent")));
    }
    let value = get("value")?.u32_in(1..=u32::MAX)?;
    let period = get("periodSeconds")?.u32_in(1..=1800)?;
    let mut t = InlineTable::new();
    t.insert("type", ty_text.into());
    t.insert("value", i64::from(value).into());
    t.insert("periodSeconds", i64::from(period).into());
    Ok(t)
}

/// Export: the HorizontalPodAutoscaler of a `kind = "hpa"` scenario.
impl Exporter<'_> {
    /// `m` (entry `i` of an HPA's metrics) as an External metric named
    /// after its signal, or `None` when it is not one. Its window is the
    /// metrics adapter's query, not a manifest field.
    fn external_metric(&mut self, i: usize, m: &toml::Value, metric: &str) -> Option<Yaml> {
        if !EXTERNAL_METRICS.contains(&metric) {
            return None;
        }
        if m.get("window_s").is_some() {
            self.skip(
                &format!("scaling.metrics[{i}].window_s"),
                "the metrics adapter's query window, not a manifest field",
            );
        }
        let (ty, field, v) = match (m.get("target_value"), m.get("target_average_value")) {
            (Some(v), _) => ("Value", "value", v),
            (None, Some(v)) => ("AverageValue", "averageValue", v),
            (None, None) => return None,
        };
        Some(ymap(vec![
            ("type", s("External")),
            (
                "external",
                ymap(vec![
                    ("metric", ymap(vec![("name", s(metric))])),
                    (
                        "target",
                        ymap(vec![
                            ("type", s(ty)),
                            (field, s(&num_text(v).unwrap_or_default())),
                        ]),
                    ),
                ]),
            ),
        ]))
    }

    pub(super) fn hpa(&mut self, sc: &Table) -> Result<String, K8sError> {
        let mut spec = vec![("scaleTargetRef", self.target_ref())];
        let int = |k: &str, d: i64| {
            Yaml::Integer(sc.get(k).and_then(toml::Value::as_integer).unwrap_or(d))
        };
        spec.push(("minReplicas", int("min_replicas", 1)));
        spec.push(("maxReplicas", int("max_replicas", 10)));
        let mut metrics = Vec::new();
        let default_metric = {
            let mut t = Table::new();
            t.insert("metric".into(), "gpu_busy_fraction".into());
            t.insert("target_utilization_percent".into(), 80.into());
            vec![toml::Value::Table(t)]
        };
        let list = sc
            .get("metrics")
            .and_then(toml::Value::as_array)
            .unwrap_or(&default_metric);
        for (i, m) in list.iter().enumerate() {
            let metric = m.get("metric").and_then(toml::Value::as_str).unwrap_or("");
            if let Some(external) = self.external_metric(i, m, metric) {
                metrics.push(external);
                continue;
            }
            let Some((_, name)) = POD_METRICS.iter().find(|(n, _)| *n == metric) else {
                self.skip(
                    &format!("scaling.metrics[{i}]"),
                    &format!(
                        "metric `{metric}`: export writes Pods metrics on {} and External metrics on {}",
                        POD_METRICS
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", "),
                        EXTERNAL_METRICS.join(", ")
                    ),
                );
                continue;
            };
            let value = match (
                m.get("target_average_value"),
                m.get("target_utilization_percent"),
            ) {
                (Some(v), _) => num_text(v).unwrap_or_default(),
                (None, Some(p)) => {
                    let p = p.as_integer().unwrap_or(0);
                    if metric == "kv_cache_usage_perc" {
                        format_f64(p as f64 / 100.0)
                    } else {
                        p.to_string()
                    }
                }
                (None, None) => String::new(),
            };
            metrics.push(ymap(vec![
                ("type", s("Pods")),
                (
                    "pods",
                    ymap(vec![
                        ("metric", ymap(vec![("name", s(name))])),
                        (
                            "target",
                            ymap(vec![
                                ("type", s("AverageValue")),
                                ("averageValue", s(&value)),
                            ]),
                        ),
                    ]),
                ),
            ]));
        }
        spec.push(("metrics", Yaml::Array(metrics)));
        let tolerance = sc.get("tolerance").and_then(toml::Value::as_table);
        if let Some(b) = self.behavior(sc.get("behavior"), tolerance) {
            spec.push(("behavior", b));
        }
        for (key, flag) in [
            ("sync_period_s", "--horizontal-pod-autoscaler-sync-period"),
            (
                "downscale_stabilization_s",
                "--horizontal-pod-autoscaler-downscale-stabilization",
            ),
        ] {
            if sc.contains_key(key) {
                self.skip(
                    &format!("scaling.{key}"),
                    &format!("cluster-wide: kube-controller-manager {flag}"),
                );
            }
        }
        Ok(emit(&[ymap(vec![
            ("apiVersion", s("autoscaling/v2")),
            ("kind", s("HorizontalPodAutoscaler")),
            ("metadata", ymap(vec![("name", s(self.name))])),
            ("spec", ymap(spec)),
        ])]))
    }
}
