//! A scenario as Kubernetes manifests (`fleetsim export`): a Deployment
//! running `vllm serve` with the scenario's engine settings and its
//! autoscaler — an autoscaling/v2 HorizontalPodAutoscaler (`hpa`), a KEDA
//! ScaledObject (`keda`), or a Knative Service with the KPA annotations
//! and a `config-autoscaler` ConfigMap (`kpa`). Every value comes from a
//! key the scenario sets (or, where it sets none and Kubernetes needs one,
//! the simulator's default for it); the few fields Kubernetes requires
//! that no scenario describes (the image, the Prometheus address) are
//! named in each file's header, as are the keys that have no manifest
//! equivalent.

use super::deployment::{model_id, GPU_LABELS, GPU_PRODUCTS};
use super::K8sError;
use crate::scenario;
use std::path::{Path, PathBuf};
use toml::{Table, Value};
use yaml_rust2::yaml::{Hash, Yaml};

/// The kinds export writes manifests for.
pub const KINDS: [&str; 4] = ["hpa", "keda", "kpa", "fixed"];

/// The vLLM image written into the container (no scenario key describes
/// it; the header says so).
const IMAGE: &str = "vllm/vllm-openai:latest";

/// What to export.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// The scenario file.
    pub scenario: PathBuf,
    /// The manifest a `kpa` scenario becomes.
    pub kpa_as: KpaManifest,
    /// What serves the model: plain Kubernetes objects, llm-d's
    /// modelservice chart or an NVIDIA Dynamo graph.
    pub stack: Stack,
}

/// The serving stack the manifests are written for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stack {
    /// A Deployment running `vllm serve`, plus the autoscaler's object.
    #[default]
    Kubernetes,
    /// Values for llm-d's `llm-d-modelservice` Helm chart (its decode
    /// Deployment), plus an HPA or ScaledObject aimed at that Deployment.
    LlmD,
    /// An NVIDIA Dynamo `DynamoGraphDeployment`: a frontend and a vLLM
    /// worker service.
    Dynamo,
}

/// The object that carries a `kpa` scenario's Knative autoscaling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KpaManifest {
    /// A Knative Service (`serving.knative.dev/v1`), every knob an
    /// annotation on its revision template.
    #[default]
    KnativeService,
    /// A KServe InferenceService (`serving.kserve.io/v1beta1`, Serverless
    /// mode): replicas, metric and target as `spec.predictor` fields, the
    /// other knobs as annotations KServe passes to the Knative revision.
    InferenceService,
}

/// The manifests of a scenario.
#[derive(Clone, Debug)]
pub struct Exported {
    /// `(file name, YAML text)`, each with its header comment.
    pub files: Vec<(String, String)>,
    /// Scenario keys with no manifest equivalent, each with why.
    pub not_exported: Vec<String>,
}

/// The scenario's text, tables and key lines.
struct Source {
    file: String,
    text: String,
    doc: toml_edit::Document<String>,
    /// The tables exported: the file's, or for entry `i` of
    /// `[[deployments]]` the file's with that entry as `[deployment]` and
    /// its `scaling` as `[scaling]`.
    table: Table,
    /// Which `[[deployments]]` entry `table` stands for (`None`: the file
    /// has one `[deployment]`).
    entry: Option<usize>,
}

impl Source {
    /// Where `path` (written against `table`) is in the file: the entry
    /// of `[[deployments]]` it is under (if any), its keys within, and its
    /// name as an error prints it.
    fn in_file<'p>(&self, path: &'p [&'p str]) -> (Option<usize>, Vec<&'p str>, String) {
        let Some(i) = self.entry else {
            return (None, path.to_vec(), path.join("."));
        };
        let rest: Vec<&str> = match path.first() {
            Some(&"deployment") => path[1..].to_vec(),
            Some(&"scaling") => path.to_vec(),
            _ => return (None, path.to_vec(), path.join(".")),
        };
        let name = std::iter::once(format!("deployments[{i}]"))
            .chain(rest.iter().map(|k| k.to_string()))
            .collect::<Vec<_>>()
            .join(".");
        (Some(i), rest, name)
    }

    /// The 1-based line of `path` (0 when absent).
    fn line(&self, path: &[&str]) -> usize {
        let (entry, keys, _) = self.in_file(path);
        let span = match entry {
            None => {
                let mut item = self.doc.as_item();
                for k in &keys {
                    match item.get(k) {
                        Some(i) => item = i,
                        None => return 0,
                    }
                }
                item.span()
            }
            Some(i) => {
                let Some(t) = (self.doc.get("deployments"))
                    .and_then(|d| d.as_array_of_tables())
                    .and_then(|a| a.get(i))
                else {
                    return 0;
                };
                let Some((first, rest)) = keys.split_first() else {
                    return t.span().map_or(0, |s| self.line_of(s.start));
                };
                let Some(mut item) = t.get(first) else {
                    return 0;
                };
                for k in rest {
                    match item.get(k) {
                        Some(i) => item = i,
                        None => return 0,
                    }
                }
                item.span()
            }
        };
        span.map_or(0, |s| self.line_of(s.start))
    }

    fn line_of(&self, byte: usize) -> usize {
        self.text[..byte].matches('\n').count() + 1
    }

    fn error(&self, path: &[&str], message: impl Into<String>) -> K8sError {
        K8sError::Unexportable {
            file: self.file.clone(),
            line: self.line(path),
            key: self.in_file(path).2,
            message: message.into(),
        }
    }
}

/// Writes the manifests of the scenario at `options.scenario`.
pub fn export(options: &ExportOptions) -> Result<Exported, K8sError> {
    let path = &options.scenario;
    let loaded = scenario::load_file(path, &[])?;
    let text = std::fs::read_to_string(path).map_err(|source| K8sError::Io {
        file: path.display().to_string(),
        source,
    })?;
    let file = (path.file_name()).map_or(path.display().to_string(), |n| {
        n.to_string_lossy().into_owned()
    });
    let doc =
        toml_edit::Document::parse(text.clone()).map_err(|e| K8sError::Missing(e.to_string()))?;
    let table: Table = text
        .parse()
        .map_err(|e: toml::de::Error| K8sError::Missing(e.to_string()))?;
    let entries = match table.get("deployments") {
        Some(Value::Array(a)) => a.clone(),
        _ => {
            let src = Source {
                file,
                text,
                doc,
                table,
                entry: None,
            };
            let origin = format!("scenario `{}`", loaded.name);
            return export_source(&src, &loaded.name, &origin, "", path, options);
        }
    };
    // Each of [[deployments]] is its own workload: its own manifests,
    // named after it, its file names prefixed with its name.
    let mut out = Exported {
        files: Vec::new(),
        not_exported: Vec::new(),
    };
    for (i, entry) in entries.iter().enumerate() {
        let Value::Table(dep) = entry else { continue };
        let name = dep
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("deployment");
        let mut own = table.clone();
        own.remove("deployments");
        let mut dep = dep.clone();
        if let Some(scaling) = dep.remove("scaling") {
            own.insert("scaling".into(), scaling);
        }
        own.insert("deployment".into(), Value::Table(dep));
        let src = Source {
            file: file.clone(),
            text: text.clone(),
            doc: doc.clone(),
            table: own,
            entry: Some(i),
        };
        let origin = format!("deployment `{name}` of scenario `{}`", loaded.name);
        let prefix = format!("{name}-");
        let one = export_source(&src, name, &origin, &prefix, path, options)?;
        out.files.extend(one.files);
        out.not_exported.extend(one.not_exported);
    }
    out.not_exported.sort();
    out.not_exported.dedup();
    Ok(out)
}

/// The manifests of one deployment, named `name`, files prefixed with
/// `prefix`, the header saying they come from `origin`.
fn export_source(
    src: &Source,
    name: &str,
    origin: &str,
    prefix: &str,
    path: &Path,
    options: &ExportOptions,
) -> Result<Exported, K8sError> {
    let kpa_as = options.kpa_as;
    let dep = match src.table.get("deployment") {
        Some(Value::Table(t)) => t,
        _ => return Err(src.error(&["deployment"], "export needs a [deployment] section")),
    };
    for key in ["slots", "lora", "perf"] {
        if dep.contains_key(key) {
            return Err(src.error(&["deployment", key], "has no Kubernetes manifest equivalent; export supports a vLLM deployment of a catalogue model"));
        }
    }
    let empty = Table::new();
    let scaling = match src.table.get("scaling") {
        Some(Value::Table(t)) => t,
        _ => &empty,
    };
    let kind = scaling
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("fixed");
    if !KINDS.contains(&kind) {
        return Err(src.error(
            &["scaling", "kind"],
            format!(
                "`{kind}` has no manifest equivalent; export supports kinds: {}",
                KINDS.join(", ")
            ),
        ));
    }
    let mut ex = Exporter {
        src,
        name,
        origin: origin.to_string(),
        not_exported: Vec::new(),
        needs: Vec::new(),
        target: name.to_string(),
        image: IMAGE,
    };
    for (key, why) in [
        ("share", "the simulator's traffic mix, not a manifest field"),
        (
            "variant_of",
            "a variant group has no manifest: each variant is its own Deployment, and the group's autoscaler is exported with the variant that carries it",
        ),
        ("variant_cost", "the autoscaler's cost ranking of variants, not a manifest field"),
    ] {
        if dep.contains_key(key) {
            ex.skip(&format!("deployment.{key}"), why);
        }
    }
    // A deployment's own router and queue (in [[deployments]]) are the
    // simulator's, as the top-level ones are.
    for key in dep.keys() {
        let known = [
            "name",
            "model",
            "gpu",
            "tensor_parallel",
            "replicas",
            "engine",
            "share",
            "variant_of",
            "variant_cost",
        ];
        if !known.contains(&key.as_str()) {
            ex.skip(
                &format!("deployment.{key}"),
                "what the simulator runs against, not part of the manifests",
            );
        }
    }
    let replicas = dep.get("replicas").and_then(Value::as_integer).unwrap_or(1);
    let gpu_label = ex.gpu_label(dep)?;
    let files = if options.stack == Stack::Kubernetes {
        ex.kubernetes_files(dep, scaling, kind, replicas, gpu_label, kpa_as)?
    } else {
        ex.stack_files(options.stack, dep, scaling, kind, replicas, gpu_label)?
    };
    for key in ["drain_grace_s", "max_replicas_started_per_minute", "scrape"] {
        if scaling.contains_key(key) {
            ex.skip(
                &format!("scaling.{key}"),
                "the simulator's engine setting, not a manifest field",
            );
        }
    }
    for key in [
        "workload",
        "sla",
        "pool",
        "pools",
        "cold_start",
        "router",
        "queue",
        "output",
        "api",
        "model_routers",
        "pipelines",
    ] {
        if src.table.contains_key(key) {
            ex.skip(
                key,
                "what the simulator runs against, not part of the manifests",
            );
        }
    }
    let header = ex.header(path);
    let files = (files.into_iter())
        .map(|(f, body)| (format!("{prefix}{f}"), format!("{header}{body}")))
        .collect();
    Ok(Exported {
        files,
        not_exported: ex.not_exported,
    })
}

/// A deployment's vLLM command line, in parts.
pub(super) struct VllmArgs {
    /// The Hugging Face model id.
    pub(super) model_id: String,
    /// GPUs per replica.
    pub(super) tensor_parallel: i64,
    /// The engine settings as vLLM flags (without the model and degree).
    pub(super) flags: Vec<Yaml>,
}

/// The manifests being written (the kinds' own parts are in `keda.rs` and
/// `knative.rs`, the serving stacks' in `stacks.rs`).
pub(super) struct Exporter<'a> {
    src: &'a Source,
    /// The scenario's (or its deployment's) name, which names every object.
    pub(super) name: &'a str,
    /// What the manifests come from, as the header says it.
    origin: String,
    not_exported: Vec<String>,
    /// Fields Kubernetes needs that no scenario key gives.
    pub(super) needs: Vec<String>,
    /// The Deployment the autoscaler scales.
    pub(super) target: String,
    /// The container image written (no scenario key describes it).
    pub(super) image: &'static str,
}

pub(super) fn s(text: &str) -> Yaml {
    Yaml::String(text.to_string())
}

pub(super) fn ymap(entries: Vec<(&str, Yaml)>) -> Yaml {
    let mut h = Hash::new();
    for (k, v) in entries {
        h.insert(s(k), v);
    }
    Yaml::Hash(h)
}

/// A TOML number as YAML (integers stay integers).
pub(super) fn num(v: &Value) -> Option<Yaml> {
    match v {
        Value::Integer(i) => Some(Yaml::Integer(*i)),
        Value::Float(f) => Some(Yaml::Real(format_f64(*f))),
        _ => None,
    }
}

/// A number as Kubernetes writes quantities and annotations (`"4"`, `"0.5"`).
pub(super) fn num_text(v: &Value) -> Option<String> {
    match v {
        Value::Integer(i) => Some(i.to_string()),
        Value::Float(f) => Some(format_f64(*f)),
        _ => None,
    }
}

pub(super) fn format_f64(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.0}")
    } else {
        format!("{f}")
    }
}

pub(super) fn emit(docs: &[Yaml]) -> String {
    let mut out = String::new();
    for d in docs {
        let mut text = String::new();
        let mut emitter = yaml_rust2::YamlEmitter::new(&mut text);
        // A Hash of Strings, Integers and Reals always emits.
        if emitter.dump(d).is_ok() {
            out.push_str(&text);
            out.push('\n');
        }
    }
    out
}

impl Exporter<'_> {
    /// An error at the scenario key `path`.
    pub(super) fn error(&self, path: &[&str], message: impl Into<String>) -> K8sError {
        self.src.error(path, message)
    }

    /// Lists the scenario key `key` as not exported.
    pub(super) fn skip(&mut self, key: &str, why: &str) {
        let path: Vec<&str> = key.split('.').collect();
        let line = self.src.line(&path);
        let key = self.src.in_file(&path).2;
        self.not_exported
            .push(format!("{}:{line}: {key}: {why}", self.src.file));
    }

    fn header(&self, path: &Path) -> String {
        let mut h = format!(
            "# Generated by fleetsim {} (`fleetsim export`) from {} ({}).\n\
             # Every value comes from the scenario, except these fields Kubernetes needs:\n",
            env!("CARGO_PKG_VERSION"),
            self.origin,
            path.display()
        );
        let mut needs = vec![format!("image: `{}`: pin the release you run", self.image)];
        needs.extend(self.needs.iter().cloned());
        for n in needs {
            h.push_str(&format!("#   {n}\n"));
        }
        if !self.not_exported.is_empty() {
            h.push_str("# Not exported (no manifest equivalent):\n");
            for n in &self.not_exported {
                h.push_str(&format!("#   {n}\n"));
            }
        }
        h
    }

    fn gpu_label(&self, dep: &Table) -> Result<Option<String>, K8sError> {
        let Some(gpu) = dep.get("gpu").and_then(Value::as_str) else {
            return Ok(None);
        };
        let found = GPU_PRODUCTS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(gpu));
        match found {
            Some((_, label)) => Ok(Some(label.to_string())),
            None => Err(self.src.error(
                &["deployment", "gpu"],
                format!(
                    "`{gpu}` has no GPU product label; export supports catalogue GPUs: {}",
                    GPU_PRODUCTS
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }

    /// The plain Kubernetes objects: the Deployment (or the Knative
    /// Service) and the autoscaler's object.
    fn kubernetes_files(
        &mut self,
        dep: &Table,
        scaling: &Table,
        kind: &str,
        replicas: i64,
        gpu_label: Option<String>,
        kpa_as: KpaManifest,
    ) -> Result<Vec<(String, String)>, K8sError> {
        let container = self.container(dep)?;
        let mut files = Vec::new();
        if kind == "kpa" {
            let (service, config) = self.kpa(scaling, container, gpu_label, replicas, kpa_as)?;
            let file = match kpa_as {
                KpaManifest::KnativeService => "service.yaml",
                KpaManifest::InferenceService => "inferenceservice.yaml",
            };
            files.push((file.to_string(), service));
            if let Some(c) = config {
                files.push(("config-autoscaler.yaml".to_string(), c));
            }
            return Ok(files);
        }
        files.push((
            "deployment.yaml".to_string(),
            self.deployment(container, gpu_label, replicas),
        ));
        files.extend(self.autoscaler_file(scaling, kind)?);
        Ok(files)
    }

    /// The HPA or ScaledObject of a `hpa` or `keda` scenario.
    pub(super) fn autoscaler_file(
        &mut self,
        scaling: &Table,
        kind: &str,
    ) -> Result<Option<(String, String)>, K8sError> {
        Ok(match kind {
            "hpa" => Some(("hpa.yaml".to_string(), self.hpa(scaling)?)),
            "keda" => Some(("scaledobject.yaml".to_string(), self.keda(scaling)?)),
            _ => None,
        })
    }

    /// The vLLM container.
    fn container(&mut self, dep: &Table) -> Result<Yaml, K8sError> {
        let engine = self.vllm_args(dep)?;
        let mut args: Vec<Yaml> = vec![s(&engine.model_id)];
        if dep.contains_key("tensor_parallel") {
            args.extend([
                s("--tensor-parallel-size"),
                s(&engine.tensor_parallel.to_string()),
            ]);
        }
        args.extend(engine.flags);
        let tp = engine.tensor_parallel;
        Ok(ymap(vec![
            ("name", s("vllm")),
            ("image", s(self.image)),
            ("command", Yaml::Array(vec![s("vllm"), s("serve")])),
            ("args", Yaml::Array(args)),
            (
                "ports",
                Yaml::Array(vec![ymap(vec![("containerPort", Yaml::Integer(8000))])]),
            ),
            (
                "resources",
                ymap(vec![(
                    "limits",
                    ymap(vec![("nvidia.com/gpu", Yaml::Integer(tp))]),
                )]),
            ),
        ]))
    }

    /// The model, the degree and the vLLM flags of the engine settings.
    pub(super) fn vllm_args(&mut self, dep: &Table) -> Result<VllmArgs, K8sError> {
        let model = dep.get("model").and_then(Value::as_str).ok_or_else(|| {
            self.src
                .error(&["deployment", "model"], "export needs a catalogue model")
        })?;
        let tp = dep
            .get("tensor_parallel")
            .and_then(Value::as_integer)
            .unwrap_or(1);
        let mut args: Vec<Yaml> = Vec::new();
        let empty = Table::new();
        let engine = match dep.get("engine") {
            Some(Value::Table(t)) => t,
            _ => &empty,
        };
        for (key, v) in engine {
            let flag = match key.as_str() {
                "max_num_seqs" => "--max-num-seqs",
                "max_num_batched_tokens" => "--max-num-batched-tokens",
                "gpu_memory_utilization" => "--gpu-memory-utilization",
                "max_model_len_tokens" => "--max-model-len",
                "block_size_tokens" => "--block-size",
                "kv_cache_dtype" => "--kv-cache-dtype",
                "weights_dtype" if v.as_str() == Some("fp8") => "--quantization",
                "prefix_caching" => {
                    let on = v.as_bool() == Some(true);
                    args.push(s(if on {
                        "--enable-prefix-caching"
                    } else {
                        "--no-enable-prefix-caching"
                    }));
                    continue;
                }
                "prefill" if matches!(v.as_str(), Some("chunked" | "whole_prompt")) => {
                    let on = v.as_str() == Some("chunked");
                    args.push(s(if on {
                        "--enable-chunked-prefill"
                    } else {
                        "--no-enable-chunked-prefill"
                    }));
                    continue;
                }
                "kind" if v.as_str() == Some("vllm") => continue,
                "kind" => {
                    return Err(self.src.error(
                        &["deployment", "engine", "kind"],
                        "export writes vLLM deployments only",
                    ))
                }
                _ => {
                    self.skip(&format!("deployment.engine.{key}"), "not a vLLM argument");
                    continue;
                }
            };
            let value = match v {
                Value::String(t) => t.clone(),
                other => num_text(other).unwrap_or_default(),
            };
            args.extend([s(flag), s(&value)]);
        }
        Ok(VllmArgs {
            model_id: model_id(model).to_string(),
            tensor_parallel: tp,
            flags: args,
        })
    }

    pub(super) fn pod_spec(
        &self,
        container: Yaml,
        gpu_label: Option<String>,
        extra: Vec<(&str, Yaml)>,
    ) -> Yaml {
        let mut entries = extra;
        entries.extend(self.pod_entries(container, gpu_label));
        ymap(entries)
    }

    /// A pod spec's node selector (the GPU type) and its one container.
    pub(super) fn pod_entries(
        &self,
        container: Yaml,
        gpu_label: Option<String>,
    ) -> Vec<(&'static str, Yaml)> {
        let mut entries = Vec::new();
        if let Some(label) = gpu_label {
            entries.push(("nodeSelector", ymap(vec![(GPU_LABELS[0], s(&label))])));
        }
        entries.push(("containers", Yaml::Array(vec![container])));
        entries
    }

    fn deployment(&self, container: Yaml, gpu_label: Option<String>, replicas: i64) -> String {
        let labels = || ymap(vec![("app", s(self.name))]);
        emit(&[ymap(vec![
            ("apiVersion", s("apps/v1")),
            ("kind", s("Deployment")),
            (
                "metadata",
                ymap(vec![("name", s(self.name)), ("labels", labels())]),
            ),
            (
                "spec",
                ymap(vec![
                    ("replicas", Yaml::Integer(replicas)),
                    ("selector", ymap(vec![("matchLabels", labels())])),
                    (
                        "template",
                        ymap(vec![
                            ("metadata", ymap(vec![("labels", labels())])),
                            ("spec", self.pod_spec(container, gpu_label, Vec::new())),
                        ]),
                    ),
                ]),
            ),
        ])])
    }

    pub(super) fn target_ref(&self) -> Yaml {
        ymap(vec![
            ("apiVersion", s("apps/v1")),
            ("kind", s("Deployment")),
            ("name", s(&self.target)),
        ])
    }

    /// A behavior table (either spelling) in the Kubernetes spelling,
    /// with the HPA's per-direction tolerance.
    pub(super) fn behavior(&self, b: Option<&Value>, tolerance: Option<&Table>) -> Option<Yaml> {
        let b = b.and_then(Value::as_table);
        if b.is_none() && tolerance.is_none() {
            return None;
        }
        let mut dirs = Vec::new();
        for (camel, snake) in [("scaleUp", "scale_up"), ("scaleDown", "scale_down")] {
            let rules = b
                .and_then(|b| b.get(camel).or_else(|| b.get(snake)))
                .and_then(Value::as_table);
            let tol = tolerance.and_then(|t| t.get(snake)).and_then(num_text);
            if rules.is_none() && tol.is_none() {
                continue;
            }
            let mut entries = Vec::new();
            if let Some(r) = rules {
                let get = |a: &str, b: &str| r.get(a).or_else(|| r.get(b));
                if let Some(w) =
                    get("stabilizationWindowSeconds", "stabilization_window_s").and_then(num)
                {
                    entries.push(("stabilizationWindowSeconds", w));
                }
                if let Some(p) = get("selectPolicy", "select_policy").and_then(Value::as_str) {
                    entries.push(("selectPolicy", s(p)));
                }
                if let Some(list) = r.get("policies").and_then(Value::as_array) {
                    let policies = list.iter().map(|p| {
                        let f = |a: &str, b: &str| {
                            p.get(a)
                                .or_else(|| p.get(b))
                                .and_then(num)
                                .unwrap_or(Yaml::Null)
                        };
                        ymap(vec![
                            (
                                "type",
                                s(p.get("type").and_then(Value::as_str).unwrap_or("")),
                            ),
                            ("value", f("value", "value")),
                            ("periodSeconds", f("periodSeconds", "period_s")),
                        ])
                    });
                    entries.push(("policies", Yaml::Array(policies.collect())));
                }
            }
            if let Some(t) = tol {
                entries.push(("tolerance", s(&t)));
            }
            dirs.push((camel, ymap(entries)));
        }
        Some(ymap(dirs))
    }
}
