//! Knative's autoscaler (KPA) as `[scaling] kind = "kpa"`: a Knative
//! Service's revision annotations (`autoscaling.knative.dev/*`), a KServe
//! InferenceService's (its annotations, which KServe passes to the
//! revision, and `spec.predictor`'s `minReplicas`, `maxReplicas`,
//! `scaleTarget`, `scaleMetric`, `containerConcurrency`), and the
//! cluster-wide `config-autoscaler` ConfigMap for the settings that have no
//! annotation (scale to zero, rates).

use super::export::{emit, num, num_text, s, ymap, Exporter, KpaManifest};
use super::yaml::{format_duration_s, Doc, Here};
use super::{K8sError, Out};
use toml::{Table, Value};
use yaml_rust2::Yaml;

/// The annotation prefix.
pub const PREFIX: &str = "autoscaling.knative.dev/";

/// How a value is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// A whole number.
    Count,
    /// A number.
    Number,
    /// A duration (`90s`), whole seconds.
    Duration,
    /// `true` / `false`.
    Bool,
}

/// Revision annotations (after [`PREFIX`]) and their `[scaling]` keys
/// (`target` goes to `rps_target` under the `rps` metric;
/// `initial-scale` to `deployment.replicas`).
pub const ANNOTATIONS: [(&str, &str, Form); 12] = [
    ("min-scale", "min_replicas", Form::Count),
    ("max-scale", "max_replicas", Form::Count),
    ("initial-scale", "replicas", Form::Count),
    ("target", "target", Form::Number),
    (
        "target-utilization-percentage",
        "target_utilization_percentage",
        Form::Number,
    ),
    (
        "target-burst-capacity",
        "target_burst_capacity",
        Form::Number,
    ),
    ("window", "stable_window_s", Form::Duration),
    (
        "panic-window-percentage",
        "panic_window_percentage",
        Form::Number,
    ),
    (
        "panic-threshold-percentage",
        "panic_threshold_percentage",
        Form::Number,
    ),
    ("scale-down-delay", "scale_down_delay_s", Form::Duration),
    (
        "scale-to-zero-pod-retention-period",
        "scale_to_zero_pod_retention_period_s",
        Form::Duration,
    ),
    ("activation-scale", "activation_scale", Form::Count),
];

/// `config-autoscaler` keys (namespace `knative-serving`) and their
/// `[scaling]` keys; the revision annotations override them.
pub const CONFIG_KEYS: [(&str, &str, Form); 13] = [
    ("enable-scale-to-zero", "enable_scale_to_zero", Form::Bool),
    (
        "scale-to-zero-grace-period",
        "scale_to_zero_grace_period_s",
        Form::Duration,
    ),
    ("max-scale-up-rate", "max_scale_up_rate", Form::Number),
    ("max-scale-down-rate", "max_scale_down_rate", Form::Number),
    (
        "container-concurrency-target-default",
        "target",
        Form::Number,
    ),
    (
        "requests-per-second-target-default",
        "rps_target",
        Form::Number,
    ),
    (
        "container-concurrency-target-percentage",
        "target_utilization_percentage",
        Form::Number,
    ),
    (
        "target-burst-capacity",
        "target_burst_capacity",
        Form::Number,
    ),
    ("stable-window", "stable_window_s", Form::Duration),
    (
        "panic-window-percentage",
        "panic_window_percentage",
        Form::Number,
    ),
    (
        "panic-threshold-percentage",
        "panic_threshold_percentage",
        Form::Number,
    ),
    ("scale-down-delay", "scale_down_delay_s", Form::Duration),
    (
        "scale-to-zero-pod-retention-period",
        "scale_to_zero_pod_retention_period_s",
        Form::Duration,
    ),
];

/// The class annotation's value for the KPA.
pub const KPA_CLASS: &str = "kpa.autoscaling.knative.dev";

fn set(
    out: &mut Out,
    key: &str,
    form: Form,
    v: &Here<'_>,
    bare_seconds: bool,
) -> Result<(), K8sError> {
    let table = if key == "replicas" {
        "deployment"
    } else {
        "scaling"
    };
    let value: toml_edit::Value = match form {
        Form::Count => i64::from(v.u32_in(0..=100_000)?).into(),
        Form::Number => v.f64()?.into(),
        Form::Duration => {
            let s = v.duration_s(bare_seconds)?;
            i64::try_from(s).map_err(|_| v.error("too long"))?.into()
        }
        Form::Bool => v.bool()?.into(),
    };
    out.from(table, key, value, v);
    Ok(())
}

/// `[scaling]` (and `deployment.replicas`) from a Knative Service or an
/// InferenceService, with the `config-autoscaler` ConfigMap if given.
pub fn map(doc: &Doc, config: Option<&Doc>, out: &mut Out) -> Result<(), K8sError> {
    let root = doc.root();
    let is_isvc = root.get("kind").and_then(|k| k.text().ok()) == Some("InferenceService");
    let annotations = if is_isvc {
        root.at(&["metadata", "annotations"])
    } else {
        root.at(&["spec", "template", "metadata", "annotations"])
    };
    if is_isvc {
        if let Some(mode) = annotations
            .as_ref()
            .and_then(|a| a.get("serving.kserve.io/deploymentMode"))
        {
            let m = mode.text()?;
            if m != "Serverless" {
                return Err(mode.error(format!(
                    "`{m}` is not read: Serverless only (KServe's raw deployments scale with \
                     an HPA on cpu, which the simulator does not model; import an HPA manifest instead)"
                )));
            }
        }
    }
    let class = annotations
        .as_ref()
        .and_then(|a| a.get(&format!("{PREFIX}class")));
    match &class {
        Some(c) if c.text()? != KPA_CLASS => {
            return Err(c.error(format!(
                "`{}` is not read: {KPA_CLASS} only (Knative's HPA class scales on cpu or memory)",
                c.text()?
            )))
        }
        Some(c) => out.from("scaling", "kind", "kpa", c),
        None => out.set(
            "scaling",
            "kind",
            "kpa",
            "Knative's default autoscaler class (no class annotation)".into(),
        ),
    }
    let predictor = if is_isvc {
        root.at(&["spec", "predictor"])
    } else {
        None
    };
    // The metric decides where `target` goes.
    let metric_at = (annotations
        .as_ref()
        .and_then(|a| a.get(&format!("{PREFIX}metric"))))
    .or_else(|| predictor.as_ref().and_then(|p| p.get("scaleMetric")));
    let rps = match &metric_at {
        Some(m) => match m.text()? {
            "concurrency" => {
                out.from("scaling", "metric", "concurrency", m);
                false
            }
            "rps" => {
                out.from("scaling", "metric", "rps", m);
                true
            }
            other => {
                return Err(m.error(format!(
                    "`{other}` is not allowed: concurrency or rps (the KPA's metrics; cpu and \
                     memory need Knative's HPA class, which the simulator does not model)"
                )))
            }
        },
        None => false,
    };
    fn target_key(key: &'static str, rps: bool) -> &'static str {
        if key == "target" && rps {
            "rps_target"
        } else {
            key
        }
    }
    if let Some(cm) = config {
        if let Some(data) = cm.root().get("data") {
            for (name, key, form) in CONFIG_KEYS {
                if let Some(v) = data.get(name) {
                    set(out, key, form, &v, false)?;
                }
            }
        }
    }
    let mut min_set = false;
    if let Some(p) = &predictor {
        for (field, key, form) in [
            ("minReplicas", "min_replicas", Form::Count),
            ("maxReplicas", "max_replicas", Form::Count),
            ("scaleTarget", "target", Form::Number),
            ("containerConcurrency", "container_concurrency", Form::Count),
        ] {
            if let Some(v) = p.get(field) {
                set(out, target_key(key, rps), form, &v, false)?;
                min_set |= key == "min_replicas";
            }
        }
    } else if let Some(cc) = root.at(&["spec", "template", "spec", "containerConcurrency"]) {
        set(out, "container_concurrency", Form::Count, &cc, false)?;
    }
    if let Some(a) = &annotations {
        for (name, key, form) in ANNOTATIONS {
            // Knative also reads the older camelCase spellings.
            let old = match name {
                "min-scale" => Some("minScale"),
                "max-scale" => Some("maxScale"),
                "initial-scale" => Some("initialScale"),
                _ => None,
            };
            let v = (a.get(&format!("{PREFIX}{name}")))
                .or_else(|| old.and_then(|o| a.get(&format!("{PREFIX}{o}"))));
            if let Some(v) = v {
                set(out, target_key(key, rps), form, &v, false)?;
                min_set |= key == "min_replicas";
            }
        }
    }
    if !min_set && !out.has("scaling", "min_replicas") {
        let (n, note) = if is_isvc {
            (1, "KServe's default (no spec.predictor.minReplicas)")
        } else {
            (0, "Knative's default (no min-scale annotation)")
        };
        out.set("scaling", "min_replicas", n, note.into());
    }
    if !out.has("deployment", "replicas") {
        out.set(
            "deployment",
            "replicas",
            1,
            "Knative's default initial scale (no initial-scale annotation)".into(),
        );
    }
    Ok(())
}

impl Exporter<'_> {
    /// The Knative Service, and the `config-autoscaler` ConfigMap when a
    /// key has no annotation.
    pub(super) fn kpa(
        &mut self,
        sc: &Table,
        container: Yaml,
        gpu_label: Option<String>,
        replicas: i64,
        kpa_as: KpaManifest,
    ) -> Result<(String, Option<String>), K8sError> {
        let isvc = kpa_as == KpaManifest::InferenceService;
        let rps = sc.get("metric").and_then(Value::as_str) == Some("rps");
        let text = |v: &Value, form: Form| match (form, v) {
            (Form::Duration, Value::Integer(i)) => {
                format_duration_s(u64::try_from(*i).unwrap_or(0))
            }
            (_, Value::Boolean(b)) => b.to_string(),
            (_, other) => num_text(other).unwrap_or_default(),
        };
        let mut annotations = vec![(format!("{PREFIX}class"), s(KPA_CLASS))];
        // An InferenceService's own fields, in KServe's spelling.
        let mut predictor: Vec<(&str, Yaml)> = Vec::new();
        if let Some(m) = sc.get("metric").and_then(Value::as_str) {
            match isvc {
                true => predictor.push(("scaleMetric", s(m))),
                false => annotations.push((format!("{PREFIX}metric"), s(m))),
            }
        }
        let mut used = vec!["kind", "metric", "container_concurrency"];
        for (name, key, form) in ANNOTATIONS {
            let key = match key {
                "target" if rps => "rps_target",
                k => k,
            };
            let field = match name {
                "min-scale" => Some("minReplicas"),
                "max-scale" => Some("maxReplicas"),
                "target" => Some("scaleTarget"),
                _ => None,
            };
            if let (true, Some(field), Some(v)) = (isvc, field, sc.get(key)) {
                if let Some(n) = num(v) {
                    predictor.push((field, n));
                    used.push(key);
                    continue;
                }
            }
            let value = if key == "replicas" {
                Some(Value::Integer(replicas))
            } else {
                sc.get(key).cloned()
            };
            if let Some(v) = value {
                annotations.push((format!("{PREFIX}{name}"), s(&text(&v, form))));
                used.push(key);
            }
        }
        let mut config = Vec::new();
        for (name, key, form) in CONFIG_KEYS {
            if used.contains(&key) {
                continue;
            }
            if let Some(v) = sc.get(key) {
                config.push((name, s(&text(v, form))));
                used.push(key);
            }
        }
        for key in sc.keys() {
            if !used.contains(&key.as_str()) {
                self.skip(
                    &format!("scaling.{key}"),
                    "no Knative annotation or config-autoscaler key",
                );
            }
        }
        let mut extra = Vec::new();
        if let Some(cc) = sc.get("container_concurrency").and_then(num) {
            extra.push(("containerConcurrency", cc));
        }
        if isvc {
            annotations.push(("serving.kserve.io/deploymentMode".into(), s("Serverless")));
        }
        let annotations: Vec<(&str, Yaml)> = annotations
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let service = if isvc {
            // The predictor is a pod spec with KServe's fields beside it.
            predictor.extend(extra);
            predictor.extend(self.pod_entries(container, gpu_label));
            emit(&[ymap(vec![
                ("apiVersion", s("serving.kserve.io/v1beta1")),
                ("kind", s("InferenceService")),
                (
                    "metadata",
                    ymap(vec![
                        ("name", s(self.name)),
                        ("annotations", ymap(annotations)),
                    ]),
                ),
                ("spec", ymap(vec![("predictor", ymap(predictor))])),
            ])])
        } else {
            emit(&[ymap(vec![
                ("apiVersion", s("serving.knative.dev/v1")),
                ("kind", s("Service")),
                ("metadata", ymap(vec![("name", s(self.name))])),
                (
                    "spec",
                    ymap(vec![(
                        "template",
                        ymap(vec![
                            ("metadata", ymap(vec![("annotations", ymap(annotations))])),
                            ("spec", self.pod_spec(container, gpu_label, extra)),
                        ]),
                    )]),
                ),
            ])])
        };
        let config = (!config.is_empty()).then(|| {
            emit(&[ymap(vec![
                ("apiVersion", s("v1")),
                ("kind", s("ConfigMap")),
                (
                    "metadata",
                    ymap(vec![
                        ("name", s("config-autoscaler")),
                        ("namespace", s("knative-serving")),
                    ]),
                ),
                ("data", ymap(config)),
            ])])
        });
        Ok((service, config))
    }
}
