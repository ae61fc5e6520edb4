//! Kubernetes manifests in and out (`fleetsim import`, `fleetsim export`).
//!
//! [`import`] reads the manifests a fleet already runs on — a Deployment
//! serving vLLM, and its autoscaler: an autoscaling/v2
//! HorizontalPodAutoscaler ([`hpa`](self) mapping), a KEDA ScaledObject,
//! or Knative / KServe autoscaling annotations — and writes a scenario
//! TOML whose every key carries a comment saying where it came from
//! (`# from hpa.yaml:14: spec.behavior.scaleDown.stabilizationWindowSeconds`).
//! What the manifests do not give (the workload, the SLA) is written as
//! explicit placeholders with a comment saying to set them, and whatever
//! the import did not read is listed ([`Imported::unmapped`]), never
//! dropped. [`export`] goes the other way, for the kinds that have a
//! manifest (`hpa`, `keda`, `kpa`, and a fixed fleet).
//!
//! The YAML reader is `yaml-rust2`'s event parser, because each value's
//! line is what the comments and the located errors cite
//! (`docs/kubernetes.md`).

mod deployment;
mod export;
mod hpa;
mod keda;
mod knative;
mod stacks;
mod yaml;

pub use export::{export, ExportOptions, Exported, KpaManifest, Stack};

use crate::scenario::{self, ScenarioError};
use std::fmt;
use std::path::{Path, PathBuf};
use yaml::{Doc, Here};

/// Where a value was read: file, line and the field's path in the
/// manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The file's name (without its directory).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// Path inside the object, e.g. `spec.behavior.scaleDown.policies[0]`.
    pub path: String,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}:{}", self.file, self.line)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.path)
        }
    }
}

/// A field of the manifests the scenario does not carry, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmapped {
    /// Where it is.
    pub origin: Origin,
    /// Why it is not in the scenario.
    pub reason: String,
}

impl fmt::Display for Unmapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.reason)
    }
}

/// What can go wrong reading or writing manifests.
#[derive(Debug, thiserror::Error)]
pub enum K8sError {
    /// A file could not be read or written.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file is not YAML.
    #[error("{file}:{line}:{col}: not valid YAML: {message}")]
    Yaml {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// The parser's message.
        message: String,
    },
    /// A field has a value the import cannot use; the message says what is
    /// allowed.
    #[error("{origin}: {message}")]
    Field {
        /// Where.
        origin: Origin,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// Something the scenario needs is in no manifest.
    #[error("{0}")]
    Missing(String),
    /// The scenario written from the manifests does not load; the message
    /// names the manifest fields its keys came from.
    #[error("the imported scenario does not load: {message}")]
    Invalid {
        /// The scenario's error and the origins of the keys it names.
        message: String,
    },
    /// A scenario key has no manifest equivalent (export).
    #[error("{file}:{line}: {key}: {message}")]
    Unexportable {
        /// The scenario file.
        file: String,
        /// 1-based line of the key (0 when the key is absent).
        line: usize,
        /// The key.
        key: String,
        /// Why, and what export supports.
        message: String,
    },
    /// The scenario does not load.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
}

/// Options of [`import`] for what the manifests may not say.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// Catalogue model to use when the manifests name none or one the
    /// catalogue lacks (`--model`).
    pub model: Option<String>,
    /// Catalogue GPU to use when the manifests name none (`--gpu`).
    pub gpu: Option<String>,
    /// A trace file for the workload instead of the placeholder
    /// (`--trace`), written as given.
    pub trace: Option<String>,
}

/// The scenario an import wrote.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The scenario TOML, comments included.
    pub toml: String,
    /// The manifest fields not in it, in file order.
    pub unmapped: Vec<Unmapped>,
}

/// One scenario key and the comment that says where it came from.
#[derive(Clone, Debug)]
struct Entry {
    table: String,
    key: String,
    value: toml_edit::Value,
    note: String,
}

/// The scenario being built: keys by table, and what is left out.
#[derive(Debug, Default)]
pub(crate) struct Out {
    entries: Vec<Entry>,
    unmapped: Vec<Unmapped>,
}

impl Out {
    /// Sets `table.key` (replacing an earlier value: an annotation wins
    /// over a ConfigMap default, say) with its comment.
    fn set(&mut self, table: &str, key: &str, value: impl Into<toml_edit::Value>, note: String) {
        let entry = Entry {
            table: table.to_string(),
            key: key.to_string(),
            value: value.into(),
            note,
        };
        match (self.entries.iter_mut()).find(|e| e.table == table && e.key == key) {
            Some(e) => *e = entry,
            None => self.entries.push(entry),
        }
    }

    /// Sets `table.key` read from `here`.
    fn from(
        &mut self,
        table: &str,
        key: &str,
        value: impl Into<toml_edit::Value>,
        here: &Here<'_>,
    ) {
        self.set(table, key, value, format!("from {}", here.origin()));
    }

    /// Whether `table.key` is set.
    fn has(&self, table: &str, key: &str) -> bool {
        self.entries
            .iter()
            .any(|e| e.table == table && e.key == key)
    }

    /// Lists `here` as not mapped.
    fn unmapped(&mut self, here: &Here<'_>, reason: impl Into<String>) {
        here.node.consume();
        self.unmapped.push(Unmapped {
            origin: here.origin(),
            reason: reason.into(),
        });
    }
}

/// The object kinds the import reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Deployment,
    Hpa,
    ScaledObject,
    KnativeService,
    InferenceService,
    KnativeConfig,
}

fn kind_of(doc: &Doc) -> Option<Kind> {
    let root = doc.root();
    let api = root.get("apiVersion").and_then(|h| h.text().ok())?;
    let kind = root.get("kind").and_then(|h| h.text().ok())?;
    let group = api.split('/').next().unwrap_or(api);
    Some(match (group, kind) {
        ("apps", "Deployment") => Kind::Deployment,
        ("autoscaling", "HorizontalPodAutoscaler") => Kind::Hpa,
        ("keda.sh", "ScaledObject") => Kind::ScaledObject,
        ("serving.knative.dev", "Service") => Kind::KnativeService,
        ("serving.kserve.io", "InferenceService") => Kind::InferenceService,
        ("v1", "ConfigMap")
            if root.at(&["metadata", "name"]).and_then(|h| h.text().ok())
                == Some("config-autoscaler") =>
        {
            Kind::KnativeConfig
        }
        _ => return None,
    })
}

/// Reads `paths` and writes the scenario (see [`import_sources`]).
pub fn import(paths: &[PathBuf], options: &ImportOptions) -> Result<Imported, K8sError> {
    let mut sources = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path).map_err(|source| K8sError::Io {
            file: path.display().to_string(),
            source,
        })?;
        sources.push((display_name(path), text));
    }
    import_sources(&sources, options)
}

/// A file's name as comments cite it.
fn display_name(path: &Path) -> String {
    (path.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The scenario of the manifests in `sources` (`(file name, text)`,
/// multi-document YAML allowed).
pub fn import_sources(
    sources: &[(String, String)],
    options: &ImportOptions,
) -> Result<Imported, K8sError> {
    let mut docs = Vec::new();
    for (file, text) in sources {
        docs.extend(yaml::parse(file, text)?);
    }
    let kinds: Vec<Option<Kind>> = docs.iter().map(kind_of).collect();
    let of = |wanted: &[Kind]| -> Vec<&Doc> {
        (docs.iter().zip(&kinds))
            .filter(|(_, k)| k.is_some_and(|k| wanted.contains(&k)))
            .map(|(d, _)| d)
            .collect()
    };
    let mut out = Out::default();
    // The object running the pods: a Deployment, or a Knative Service /
    // InferenceService, which is also the autoscaler.
    let servers = of(&[
        Kind::Deployment,
        Kind::KnativeService,
        Kind::InferenceService,
    ]);
    let server = one_of(
        &servers,
        "serving object (Deployment, Knative Service or InferenceService)",
    )?;
    let scalers = of(&[Kind::Hpa, Kind::ScaledObject]);
    let scaler = one_of(
        &scalers,
        "autoscaler (HorizontalPodAutoscaler or ScaledObject)",
    )?;
    let name_at = (server.and_then(|d| d.root().at(&["metadata", "name"])))
        .or_else(|| scaler.and_then(|d| d.root().at(&["metadata", "name"])));
    let name = match &name_at {
        Some(h) => {
            let name = h.text()?.to_string();
            out.from("", "name", name.as_str(), h);
            name
        }
        None => {
            out.set(
                "",
                "name",
                "imported",
                "no metadata.name in the manifests".into(),
            );
            "imported".to_string()
        }
    };
    let mut what: Vec<&str> = Vec::new();
    if let Some(doc) = server {
        let server_kind = kind_of(doc);
        deployment::map(doc, &mut out, options)?;
        match server_kind {
            Some(Kind::Deployment) => what.push("Deployment"),
            Some(Kind::KnativeService) => what.push("Knative Service"),
            _ => what.push("InferenceService"),
        }
        if server_kind != Some(Kind::Deployment) {
            if let Some(s) = scaler {
                let other = s.root();
                return Err(other.error(format!(
                    "a {} autoscales itself; import it alone, without a separate autoscaler",
                    what[0]
                )));
            }
            let config = of(&[Kind::KnativeConfig]);
            knative::map(doc, config.first().copied(), &mut out)?;
        }
    } else {
        deployment::map_without_server(&mut out, options)?;
    }
    let server_name = server.map(|_| name.as_str());
    if let Some(doc) = scaler {
        if kind_of(doc) == Some(Kind::Hpa) {
            hpa::map(doc, server_name, &mut out)?;
            what.push("HorizontalPodAutoscaler");
        } else {
            keda::map(doc, server_name, &mut out)?;
            what.push("KEDA ScaledObject");
        }
    }
    let description = format!("imported from Kubernetes manifests ({})", what.join(", "));
    out.set("", "description", description.as_str(), String::new());
    if !out.has("scaling", "kind") {
        out.set(
            "scaling",
            "kind",
            "fixed",
            "no autoscaler in the manifests: deployment.replicas for the whole run".into(),
        );
    }
    placeholders(&mut out, options);
    for (doc, kind) in docs.iter().zip(&kinds) {
        if kind.is_none() {
            let root = doc.root();
            let kind = (root.get("kind").and_then(|h| h.text().ok())).unwrap_or("(no kind)");
            let reason = format!("kind {kind} is not modelled by the simulator");
            root.node.consume();
            out.unmapped.push(Unmapped {
                origin: Origin {
                    file: doc.file.clone(),
                    line: doc.root.line,
                    path: format!("{kind} {}", object_name(doc))
                        .trim_end()
                        .to_string(),
                },
                reason,
            });
            continue;
        }
        if *kind == Some(Kind::KnativeConfig)
            && server.is_none_or(|d| kind_of(d) == Some(Kind::Deployment))
        {
            out.unmapped.push(Unmapped {
                origin: Origin {
                    file: doc.file.clone(),
                    line: doc.root.line,
                    path: "ConfigMap config-autoscaler".into(),
                },
                reason: "Knative settings without a Knative Service or InferenceService".into(),
            });
            doc.root.consume();
        }
        out.unmapped
            .extend(doc.unread(&|path| unread_reason(*kind, path)));
    }
    // In file order: by file as given, then by line.
    let rank = |file: &str| {
        sources
            .iter()
            .position(|(f, _)| f == file)
            .unwrap_or(usize::MAX)
    };
    (out.unmapped).sort_by_key(|u| (rank(&u.origin.file), u.origin.line));
    let toml = write_toml(&out);
    let base = Path::new(".");
    if let Err(e) = scenario::load_str(&toml, "<imported scenario>", base, &[]) {
        return Err(invalid(&out, &e));
    }
    Ok(Imported {
        toml,
        unmapped: out.unmapped,
    })
}

fn object_name(doc: &Doc) -> String {
    (doc.root()
        .at(&["metadata", "name"])
        .and_then(|h| h.text().ok()))
    .unwrap_or("")
    .to_string()
}

/// At most one of `docs`; two are an error naming both.
fn one_of<'a>(docs: &[&'a Doc], what: &str) -> Result<Option<&'a Doc>, K8sError> {
    match docs {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        [first, second, ..] => Err(second.root().error(format!(
            "`{}` is a second {what} (the first is `{}` at {}:{}); a scenario is one \
             deployment: import one at a time",
            object_name(second),
            object_name(first),
            first.file,
            first.root.line
        ))),
    }
}

/// Why a field nobody read is not in the scenario.
fn unread_reason(kind: Option<Kind>, path: &str) -> String {
    let last = path.rsplit('.').next().unwrap_or(path);
    if path.contains(".annotations") {
        return "an annotation the simulator does not read".into();
    }
    if path.starts_with("metadata") || ["selector", "metadata", "labels", "name"].contains(&last) {
        return "names and labels: the scenario has one deployment and needs none".into();
    }
    match (kind, last) {
        (_, "image") => {
            "the container image: the engine is the scenario's `deployment.engine`".into()
        }
        (_, "ports" | "livenessProbe" | "readinessProbe" | "startupProbe") => {
            "networking and probes are not modelled (cold starts are `[cold_start]`)".into()
        }
        (_, "metricName") => "the name KEDA gives the metric: the scenario needs none".into(),
        (_, "env" | "volumes" | "volumeMounts") => {
            "environment and volumes are not modelled".into()
        }
        _ if path.contains(".resources.") => {
            "cpu and memory are not modelled (the nvidia.com/gpu count is)".into()
        }
        _ => "not modelled by the simulator".into(),
    }
}

/// The workload and SLA, which no manifest describes: a trace given with
/// `--trace`, or placeholders that run, each marked.
fn placeholders(out: &mut Out, options: &ImportOptions) {
    const SET_ME: &str = "PLACEHOLDER: the manifests do not say; set it";
    let note = || SET_ME.to_string();
    match &options.trace {
        Some(path) => {
            out.set("workload", "kind", "trace", "from --trace".into());
            out.set("workload", "path", path.as_str(), "from --trace".into());
        }
        None => {
            out.set("workload", "kind", "synthetic", note());
            out.set("workload", "duration_s", 300.0, note());
            let mut arrival = toml_edit::InlineTable::new();
            arrival.insert("kind", "poisson".into());
            arrival.insert("rate_per_s", 2.0.into());
            out.set("workload", "arrival", arrival, note());
            for (key, median, max) in [("input_tokens", 1000, 8000), ("output_tokens", 200, 1000)] {
                let mut t = toml_edit::InlineTable::new();
                t.insert("kind", "lognormal".into());
                t.insert("median_tokens", i64::from(median).into());
                t.insert("sigma", 0.8.into());
                t.insert("max_tokens", i64::from(max).into());
                out.set("workload", key, t, note());
            }
        }
    }
    out.set("sla", "ttft_ms", 500.0, note());
    out.set("sla", "tpot_ms", 50.0, note());
}

/// The scenario's error, with the manifest fields of the keys it names.
fn invalid(out: &Out, e: &ScenarioError) -> K8sError {
    let text = e.to_string();
    let origins: Vec<&str> = (out.entries.iter())
        .filter(|en| text.contains(&en.key) && en.note.starts_with("from "))
        .map(|en| en.note.as_str())
        .collect();
    let message = if origins.is_empty() {
        text
    } else {
        format!("{text} (the key came {})", origins.join("; "))
    };
    K8sError::Invalid { message }
}

/// The tables in the order a scenario is read.
const TABLE_ORDER: [&str; 5] = ["", "workload", "deployment", "deployment.engine", "scaling"];

fn write_toml(out: &Out) -> String {
    let mut tables: Vec<&str> = TABLE_ORDER.to_vec();
    for e in &out.entries {
        if !tables.contains(&e.table.as_str()) && e.table != "sla" {
            tables.push(&e.table);
        }
    }
    tables.push("sla");
    let mut s = String::from(
        "# Written by `fleetsim import` from Kubernetes manifests. Each key's comment\n\
         # says which manifest field it came from; PLACEHOLDER keys are not in any\n\
         # manifest and must be set. The fields not mapped are listed at the end.\n",
    );
    for table in tables {
        let entries: Vec<&Entry> = out.entries.iter().filter(|e| e.table == table).collect();
        if entries.is_empty() {
            continue;
        }
        if !table.is_empty() {
            s.push_str(&format!("\n[{table}]\n"));
        }
        for e in entries {
            let value = e.value.clone().decorated("", "");
            let line = format!("{} = {value}", toml_key(&e.key));
            if e.note.is_empty() {
                s.push_str(&format!("{line}\n"));
            } else {
                s.push_str(&format!("{line}  # {}\n", e.note));
            }
        }
    }
    if !out.unmapped.is_empty() {
        s.push_str("\n# Not mapped (the simulator does not read these fields):\n");
        for u in &out.unmapped {
            s.push_str(&format!("#   {u}\n"));
        }
    }
    s
}

fn toml_key(key: &str) -> String {
    if key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}
