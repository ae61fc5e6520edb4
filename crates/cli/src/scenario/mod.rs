//! Scenario files: the TOML a user writes ([`raw::RawScenario`]) and the
//! validated, resolved [`Scenario`] a run is built from. Every error names
//! the file, the line and the dotted field.

pub mod edit;
pub mod model_routers;
pub mod raw;
mod raw_pool;

use fleetsim_core::autoscale::{MetricsOutage, MetricsSpec};
use fleetsim_core::coldstart::{default_provisioning_time, Artifacts, BYTES_PER_GB};
use fleetsim_core::cost::{BillingGranularity, BillingPolicy, PoolPricing};
use fleetsim_core::engine::{
    DeploymentSpec, FleetSpec, PipelineSpec, Records, ReplicaSpec, SimConfig,
};
use fleetsim_core::field::FieldError;
use fleetsim_core::lifecycle::LifecycleSpec;
use fleetsim_core::model::hardware::{GpuSpec, ModelSpec};
use fleetsim_core::model::{MeasuredTable, PerfModel, Roofline};
use fleetsim_core::nodes::{Placement, PoolSpec, SpotSpec};
use fleetsim_core::queue::{ClassSpec, Discipline, QueueMode, QueueSpec};
use fleetsim_core::replica::adapters::LoraConfig;
use fleetsim_core::replica::batching::BatchingConfig;
use fleetsim_core::replica::prefix_cache::PrefixCacheConfig;
use fleetsim_core::workload::detect::TraceFormat;
use fleetsim_core::workload::lengths::{TokenLengths, TraceSide};
use fleetsim_core::workload::servegen::ServeGenConfig;
use fleetsim_core::workload::synthetic::SyntheticConfig;
use fleetsim_core::workload::transforms::Transform;
use fleetsim_core::SimDuration;
use fleetsim_core::SimTime;
use fleetsim_policies::autoscalers::AutoscalerError;
use fleetsim_policies::{AutoscalerConfig, RouterConfig};
use raw::{
    PerfKind, RawDeployment, RawDiscipline, RawPolicy, RawPool, RawQueue, RawQueueMode, RawScaling,
    RawScenario, RawWorkload,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod api;
mod batching;
mod catalogue;
mod deployment;
pub mod disagg;
mod error;

pub use api::SetValue;
pub use error::ScenarioError;
mod engine;
mod fleet;
mod sharing;
mod variants;

use deployment::resolve_deployment;
use fleet::{resolve_pipelines, resolve_placement, resolve_queue, resolve_scaling};

/// The largest seed a scenario can hold: `seed` is a TOML integer (and
/// `--seed`, `--first-seed` and a sweep's seeds are applied as
/// `--set seed=N`), so at most 2^63 − 1.
pub const MAX_SEED: u64 = i64::MAX as u64;

/// The quickstart scenario, embedded so `fleetsim run` works with no file.
pub const QUICKSTART_TOML: &str = include_str!("../../../../scenarios/quickstart.toml");

/// Where requests come from, resolved.
#[derive(Clone, Debug, PartialEq)]
pub enum WorkloadSpec {
    /// Generated requests.
    Synthetic {
        /// Generator settings.
        config: SyntheticConfig,
        /// Applied in order.
        transforms: Vec<Transform>,
    },
    /// A request-level trace.
    Trace {
        /// Resolved file path.
        path: PathBuf,
        /// Format, or `None` to detect it from the contents.
        format: Option<TraceFormat>,
        /// Sort by arrival before replay.
        sort: bool,
        /// Applied in order.
        transforms: Vec<Transform>,
    },
    /// ServeGen client windows.
    Servegen {
        /// Resolved file path.
        path: PathBuf,
        /// Generator settings (token lengths, window selection, scaling).
        config: ServeGenConfig,
        /// Applied in order.
        transforms: Vec<Transform>,
    },
}

/// Facts about the deployment, for reports.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DeploymentInfo {
    /// Model name (or `slots`).
    pub model: String,
    /// GPU name (or `slots`).
    pub gpu: String,
    /// GPUs per replica.
    pub tensor_parallel: u32,
    /// Replicas.
    pub replicas: u32,
    /// KV cache capacity per replica, tokens.
    pub kv_cache_tokens: u64,
    /// `max_num_seqs`.
    pub max_num_seqs: u32,
    /// `max_num_batched_tokens`.
    pub max_num_batched_tokens: u32,
    /// KV-cache bytes per token at the cache's precision (0 for slots).
    pub kv_bytes_per_token: u64,
    /// How a replica holds its GPU: whole, a MIG instance or a time slice.
    #[serde(skip)]
    pub(crate) share: sharing::GpuShare,
}

/// A deployment's autoscaler, its metrics pipeline and the outages of its
/// metrics source.
pub type ResolvedAutoscaler = (AutoscalerConfig, MetricsSpec, Vec<MetricsOutage>);

/// A validated scenario, ready to run.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Name used in reports.
    pub name: String,
    /// Where requests come from.
    pub workload: WorkloadSpec,
    /// Engine configuration (seed, fleet, SLA, resolution).
    pub sim: SimConfig,
    /// One router per deployment, in order.
    pub routers: Vec<RouterConfig>,
    /// Each deployment's autoscaler, the metrics it sees and when its
    /// metrics source is down (`None`: fixed or scheduled).
    pub autoscalers: Vec<Option<ResolvedAutoscaler>>,
    /// Facts about each deployment, in order.
    pub deployments: Vec<DeploymentInfo>,
    /// The pay-per-token API price `[api]`, if given (`fleetsim plan`).
    pub api: Option<raw::ApiPrice>,
    /// What the run keeps and writes (`[output]`).
    pub output: OutputOptions,
    /// The text and overrides it was loaded from, so that
    /// [`Scenario::set`] can apply one more (`None`: built by [`resolve`]).
    source: Option<Arc<api::Source>>,
}

/// What a run keeps of each request and writes under `--out` (`[output]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputOptions {
    /// Keep every record (exact percentiles, `RunResult::records`, plots)
    /// or stream them (memory independent of the request count).
    pub records: Records,
    /// Write `requests.csv` under `--out`: after the run in id order when
    /// records are kept, row by row in completion order when they stream.
    pub requests_csv: bool,
}

impl Scenario {
    /// Replaces the workload by the request trace at `path` (format
    /// detected from its contents), as `--trace` does; `sort` reads it
    /// whole and sorts it by arrival. A file that cannot be opened is an
    /// error now, not at the run.
    pub fn replace_workload_with_trace(
        &mut self,
        path: &Path,
        sort: bool,
    ) -> Result<(), ScenarioError> {
        std::fs::File::open(path).map_err(|e| ScenarioError {
            file: format!("--trace {}", path.display()),
            line: None,
            field: None,
            message: "cannot open".into(),
            cause: Some(Arc::new(e)),
        })?;
        self.workload = WorkloadSpec::Trace {
            path: path.to_path_buf(),
            format: None,
            sort,
            transforms: Vec::new(),
        };
        Ok(())
    }
}

/// Loads a scenario file, applying `--set` overrides.
pub fn load_file(path: &Path, sets: &[String]) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: file.clone(),
        line: None,
        field: None,
        message: "cannot read".into(),
        cause: Some(Arc::new(e)),
    })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    load_str(&text, &file, &base, sets)
}

/// Loads scenario text. `file` names it in errors; relative paths inside
/// resolve against `base_dir`.
pub fn load_str(
    text: &str,
    file: &str,
    base_dir: &Path,
    sets: &[String],
) -> Result<Scenario, ScenarioError> {
    let err = |line, field: Option<String>, message: String| ScenarioError {
        file: file.to_string(),
        line,
        field,
        message,
        cause: None,
    };
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        let line = e.span().map(|s| edit::line_of_offset(text, s.start));
        err(line, None, e.message().trim().to_string())
    })?;
    edit::apply_sets(&mut doc, sets).map_err(|m| err(None, None, m))?;
    let edited = doc.to_string();
    // A field that is in error: its line in the file as written (a key set
    // only by --set has none; then its section's), and the --set flag that
    // gave it its value, if any.
    let locate = |field: String, message: String, fallback_line: Option<usize>| {
        let line = edit::line_of_field(text, &field).or(fallback_line);
        let message = match set_flag_for(sets, &field) {
            Some(flag) => format!("{message} (from --set {flag})"),
            None => message,
        };
        err(line, Some(field), message)
    };
    let raw: RawScenario = toml::from_str(&edited).map_err(|e: toml::de::Error| {
        let message = e.message().trim().to_string();
        // Lines of `edited` match the file's only when no --set added lines.
        let offset_line = e
            .span()
            .filter(|_| sets.is_empty())
            .map(|s| edit::line_of_offset(&edited, s.start));
        match e
            .span()
            .and_then(|s| edit::field_at_span(&edited, s, &message))
        {
            Some(field) => locate(field, message, offset_line),
            None => err(offset_line, None, message),
        }
    })?;
    let mut scenario = resolve(raw, base_dir).map_err(|e| ScenarioError {
        cause: e.cause,
        ..locate(e.field, e.problem, None)
    })?;
    scenario.source = Some(Arc::new(api::Source {
        text: text.to_string(),
        file: file.to_string(),
        base_dir: base_dir.to_path_buf(),
        sets: sets.to_vec(),
    }));
    Ok(scenario)
}

/// The `--set` flag that assigned `field`, a section holding it or (when
/// `field` is a section) a key inside it: the last such flag, since a later
/// flag overrides an earlier one.
fn set_flag_for<'a>(sets: &'a [String], field: &str) -> Option<&'a str> {
    let nested = |outer: &str, inner: &str| {
        inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    };
    sets.iter().rev().map(String::as_str).find(|set| {
        let key = set.split('=').next().unwrap_or("").trim();
        !key.is_empty() && (key == field || nested(key, field) || nested(field, key))
    })
}

/// One deployment as written, with the prefix its fields are named by in
/// errors (`deployment` or `deployments[i]`) and its router, queue and
/// scaling (top-level for `[deployment]`, inside each `[[deployments]]`).
struct DeploymentEntry {
    prefix: String,
    raw: RawDeployment,
    router: RouterConfig,
    queue: RawQueue,
    scaling: RawScaling,
}

/// Rebases a field named for a single `[deployment]` (`deployment.x`,
/// `queue.x`, `scaling.x`, `router.x`) onto `deployments[i]`.
fn rebase(prefix: &str, error: FieldError) -> FieldError {
    if prefix == "deployment" {
        return error;
    }
    let field = match error.field.strip_prefix("deployment") {
        Some(rest) => format!("{prefix}{rest}"),
        None if ["queue", "scaling", "router"]
            .iter()
            .any(|s| error.field == *s || error.field.starts_with(&format!("{s}."))) =>
        {
            format!("{prefix}.{}", error.field)
        }
        None => error.field.clone(),
    };
    FieldError { field, ..error }
}

/// The deployments of a scenario: one `[deployment]` with top-level
/// `[router]`, `[queue]` and `[scaling]`, or a list of `[[deployments]]`
/// each carrying its own.
fn deployment_entries(raw: &RawScenario) -> Result<Vec<DeploymentEntry>, FieldError> {
    match (&raw.deployment, &raw.deployments) {
        (Some(_), Some(_)) => Err(FieldError::new(
            "deployments",
            "give either one [deployment] or a list of [[deployments]], not both",
        )),
        (None, None) => Err(FieldError::new(
            "deployment",
            "missing: the scenario needs a [deployment]",
        )),
        (Some(d), None) => {
            for (key, given) in [
                ("router", d.router.is_some()),
                ("queue", d.queue.is_some()),
                ("scaling", d.scaling.is_some()),
                ("share", d.share.is_some()),
            ] {
                if given {
                    return Err(FieldError::new(
                        format!("deployment.{key}"),
                        format!("only for [[deployments]]; with one [deployment], write [{key}] at the top level"),
                    ));
                }
            }
            Ok(vec![DeploymentEntry {
                prefix: "deployment".into(),
                raw: d.clone(),
                router: raw.router.clone().unwrap_or_default(),
                queue: raw.queue.clone().unwrap_or_default(),
                scaling: raw.scaling.clone().unwrap_or_default(),
            }])
        }
        (None, Some(list)) => {
            for (key, given) in [
                ("router", raw.router.is_some()),
                ("queue", raw.queue.is_some()),
                ("scaling", raw.scaling.is_some()),
            ] {
                if given {
                    return Err(FieldError::new(
                        key,
                        format!("with [[deployments]], give each deployment its own `{key}` table"),
                    ));
                }
            }
            if list.is_empty() {
                return Err(FieldError::new(
                    "deployments",
                    "must list at least one deployment",
                ));
            }
            let mut entries: Vec<DeploymentEntry> = Vec::with_capacity(list.len());
            for (i, d) in list.iter().enumerate() {
                let prefix = format!("deployments[{i}]");
                let name = d.name.as_deref().unwrap_or("");
                if name.trim().is_empty() {
                    return Err(FieldError::new(
                        format!("{prefix}.name"),
                        "missing: every [[deployments]] entry needs a unique name",
                    ));
                }
                if entries.iter().any(|e| e.raw.name.as_deref() == Some(name)) {
                    return Err(FieldError::new(
                        format!("{prefix}.name"),
                        format!("deployment {name:?} is listed twice"),
                    ));
                }
                if let Some(share) = d.share.filter(|s| !(s.is_finite() && *s >= 0.0)) {
                    return Err(FieldError::new(
                        format!("{prefix}.share"),
                        format!("must be a finite number ≥ 0, got {share}"),
                    ));
                }
                entries.push(DeploymentEntry {
                    prefix,
                    raw: d.clone(),
                    router: d.router.clone().unwrap_or_default(),
                    queue: d.queue.clone().unwrap_or_default(),
                    scaling: d.scaling.clone().unwrap_or_default(),
                });
            }
            Ok(entries)
        }
    }
}

/// Validates a raw scenario and resolves defaults.
pub fn resolve(raw: RawScenario, base_dir: &Path) -> Result<Scenario, FieldError> {
    let workload = resolve_workload(&raw.workload, base_dir)?;
    let catalogue = catalogue::Catalogue::resolve(&raw.gpus, &raw.models)?;
    let entries = deployment_entries(&raw)?;
    let heads = variants::groups(&entries)?;
    raw.sla.validate().map_err(|e| e.within("sla"))?;
    if let Some(api) = &raw.api {
        validate_api(api)?;
    }
    let resolution = SimDuration::try_from_secs_f64(raw.output.timeseries_resolution_s)
        .filter(|d| d.0 > 0)
        .ok_or_else(|| {
            FieldError::new(
                "output.timeseries_resolution_s",
                format!(
                    "must be a number of seconds > 0, got {}",
                    raw.output.timeseries_resolution_s
                ),
            )
        })?;
    // Nodes are shared: with a pool, or any scheduled deployment, every
    // deployment is placed on the same pools.
    let placed = raw.pool.is_some()
        || raw.pools.is_some()
        || entries
            .iter()
            .any(|e| !matches!(e.scaling.policy, RawPolicy::Fixed));
    let pools: Vec<(String, RawPool)> = match (&raw.pool, &raw.pools) {
        (Some(_), Some(_)) => {
            return Err(FieldError::new(
                "pools",
                "give either one [pool] or a list of [[pools]], not both",
            ))
        }
        (Some(p), None) => vec![("pool".to_string(), p.clone())],
        (None, Some(list)) if !list.is_empty() => list
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("pools[{i}]"), p.clone()))
            .collect(),
        (None, Some(_)) => return Err(FieldError::new("pools", "must list at least one pool")),
        (None, None) => vec![("pool".to_string(), RawPool::default())],
    };
    let mut deployments = Vec::with_capacity(entries.len());
    let mut infos = Vec::with_capacity(entries.len());
    let mut routers = Vec::with_capacity(entries.len());
    let mut autoscalers = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let at = |r: FieldError| rebase(&e.prefix, r);
        // A fleet that changes size (a variant's, with its group's):
        // its replicas start during the run.
        let group = &entries[heads[i].map_or(i, usize::from)];
        let scheduled = !matches!(group.scaling.policy, RawPolicy::Fixed);
        let (replica, info, artifacts) =
            resolve_deployment(&e.raw, base_dir, scheduled, &catalogue, &pools).map_err(at)?;
        if let Some(e) = sharing::needs_pool(&info).filter(|_| !placed) {
            return Err(at(e));
        }
        let placement = match artifacts {
            Some(artifacts) if placed => Some(Arc::new(
                resolve_placement(&pools, &raw.cold_start, artifacts, &info).map_err(at)?,
            )),
            Some(_) => None,
            None if scheduled => {
                return Err(at(FieldError::new(
                    "scaling.kind",
                    "scheduled scaling needs a model deployment (a `slots` deployment has no cold-start model)",
                )))
            }
            None if placed && entries.len() > 1 => {
                return Err(FieldError::new(
                    format!("{}.slots", e.prefix),
                    "deployments sharing node pools must all be model deployments (a `slots` deployment holds no GPUs)",
                ))
            }
            None => None,
        };
        let frontend_ms = match e.raw.slots {
            Some(_) => 0.0,
            None => e.raw.engine.frontend_latency_ms.unwrap_or_else(|| {
                fleetsim_core::model::calibration::frontend_latency_ms(
                    e.raw.engine.kind.unwrap_or_default(),
                )
            }),
        };
        let frontend_latency =
            SimDuration::try_from_secs_f64(frontend_ms / 1e3).ok_or_else(|| {
                at(FieldError::new(
                    "deployment.engine.frontend_latency_ms",
                    format!("must be a finite number of ms ≥ 0, got {frontend_ms}"),
                ))
            })?;
        let name = e.raw.name.clone().unwrap_or_else(|| info.model.clone());
        let (lifecycle, autoscaler) = resolve_scaling(&e.scaling).map_err(at)?;
        autoscalers.push(autoscaler);
        deployments.push(DeploymentSpec {
            name: name.as_str().into(),
            share: e.raw.share.unwrap_or(0.0),
            fleet: FleetSpec {
                replicas: info.replicas,
                gpus_per_replica: info.tensor_parallel,
                replica,
                frontend_latency,
                lifecycle,
                placement,
                queue: resolve_queue(&e.queue, &raw.sla, &info).map_err(at)?,
            },
            variant_of: None,
        });
        routers.push(e.router.clone());
        infos.push(info);
    }
    shared_pools_agree(&deployments, &infos, &pools)?;
    let routes = deployments.len() + raw.pipelines.len() + raw.model_routers.len();
    let shares = (deployments.iter().map(|d| d.share))
        .chain(raw.pipelines.iter().map(|p| p.share.unwrap_or(0.0)))
        .chain(raw.model_routers.iter().map(|m| m.share.unwrap_or(0.0)));
    if routes > 1 && shares.clone().all(|s| s == 0.0) {
        // Requests that name no model cannot be placed: say so at load time
        // only if the workload cannot name one (synthetic, ServeGen).
        if !matches!(workload, WorkloadSpec::Trace { .. }) {
            return Err(FieldError::new(
                "deployments",
                "a generated workload names no model: give the deployments (and pipelines) a `share` each",
            ));
        }
    }
    variants::join(&entries, &heads, &infos, &mut deployments, &mut autoscalers)?;
    let pipelines = resolve_pipelines(&raw.pipelines, &deployments, &infos)?;
    let model_routers =
        model_routers::resolve_model_routers(&raw.model_routers, &deployments, &pipelines)?;
    let sim = SimConfig {
        seed: raw.seed,
        deployments,
        pipelines,
        model_routers,
        sla: raw.sla,
        timeseries_resolution: resolution,
    };
    Ok(Scenario {
        name: raw.name.unwrap_or_else(|| "scenario".to_string()),
        workload,
        sim,
        routers,
        autoscalers,
        deployments: infos,
        api: raw.api,
        output: OutputOptions {
            records: raw.output.records,
            requests_csv: raw.output.requests_csv,
        },
        source: None,
    })
}

/// Both `[api]` prices are finite and ≥ 0.
fn validate_api(api: &raw::ApiPrice) -> Result<(), FieldError> {
    for (key, v) in [
        (
            "usd_per_million_input_tokens",
            api.usd_per_million_input_tokens,
        ),
        (
            "usd_per_million_output_tokens",
            api.usd_per_million_output_tokens,
        ),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(FieldError::new(
                format!("api.{key}"),
                format!("must be a finite number of USD >= 0, got {v}"),
            ));
        }
    }
    Ok(())
}

/// Deployments share one list of node pools; a pool without a `gpu` takes
/// each deployment's GPU (its name and default price), so deployments on
/// different GPUs would read it differently: an error at that pool.
fn shared_pools_agree(
    deployments: &[DeploymentSpec],
    infos: &[DeploymentInfo],
    pools: &[(String, RawPool)],
) -> Result<(), FieldError> {
    let list = |d: &DeploymentSpec| d.fleet.placement.as_ref().map(|p| p.pools.clone());
    let Some(first) = deployments.first() else {
        return Ok(());
    };
    let (Some(base), base_info) = (list(first), &infos[0]) else {
        return Ok(());
    };
    for (d, info) in deployments.iter().zip(infos).skip(1) {
        let Some(other) = list(d) else { continue };
        let Some(i) = (0..base.len()).find(|&i| base.get(i) != other.get(i)) else {
            continue;
        };
        let prefix = pools.get(i).map_or("pools", |(p, _)| p.as_str());
        return Err(FieldError::new(
            prefix,
            format!(
                "is shared by {:?} on {} and {:?} on {}, and a pool without `gpu` takes each deployment's GPU and its price: give each GPU type its own pool with `gpu = \"...\"` (a node has one GPU type)",
                first.name, base_info.gpu, d.name, info.gpu
            ),
        ));
    }
    Ok(())
}

fn resolve_workload(raw: &RawWorkload, base_dir: &Path) -> Result<WorkloadSpec, FieldError> {
    let check_transforms = |transforms: &[Transform]| -> Result<(), FieldError> {
        for (i, t) in transforms.iter().enumerate() {
            t.validate(&format!("workload.transforms[{i}]"))
                .map_err(workload_invalid)?;
        }
        Ok(())
    };
    match raw {
        RawWorkload::Synthetic {
            arrival,
            input_tokens,
            output_tokens,
            duration_s,
            max_requests,
            transforms,
        } => {
            let config = SyntheticConfig {
                arrival: arrival.clone(),
                input_tokens: resolve_lengths(input_tokens, "workload.input_tokens", base_dir)?,
                output_tokens: resolve_lengths(output_tokens, "workload.output_tokens", base_dir)?,
                duration_s: *duration_s,
                max_requests: *max_requests,
            };
            config.validate("workload").map_err(workload_invalid)?;
            check_transforms(transforms)?;
            Ok(WorkloadSpec::Synthetic {
                config,
                transforms: transforms.clone(),
            })
        }
        RawWorkload::Trace {
            path,
            format,
            sort,
            transforms,
        } => {
            let format = match format.as_str() {
                "auto" => None,
                "azure" => Some(TraceFormat::Azure),
                "mooncake" => Some(TraceFormat::Mooncake),
                "burstgpt" => Some(TraceFormat::BurstGpt),
                "generic_csv" => Some(TraceFormat::GenericCsv),
                "servegen" => return Err(FieldError::new("workload.format", "ServeGen windows are not a request trace: use `kind = \"servegen\"`")),
                other => {
                    return Err(FieldError::new(
                        "workload.format",
                        format!("unknown trace format {other:?}; expected auto, azure, mooncake, burstgpt or generic_csv"),
                    ))
                }
            };
            check_transforms(transforms)?;
            Ok(WorkloadSpec::Trace {
                path: existing_file(base_dir, path, "workload.path")?,
                format,
                sort: *sort,
                transforms: transforms.clone(),
            })
        }
        RawWorkload::Servegen {
            path,
            input_tokens,
            output_tokens,
            time_scale,
            rate_multiplier,
            start_s,
            end_s,
            skip_zero_windows,
            max_requests,
            transforms,
        } => {
            let mut config = ServeGenConfig::new(
                resolve_lengths(input_tokens, "workload.input_tokens", base_dir)?,
                resolve_lengths(output_tokens, "workload.output_tokens", base_dir)?,
            );
            config.time_scale = time_scale.unwrap_or(config.time_scale);
            config.rate_multiplier = rate_multiplier.unwrap_or(config.rate_multiplier);
            config.start_s = start_s.unwrap_or(config.start_s);
            config.end_s = *end_s;
            // Zero-rate windows are collection gaps in the published data, not idle time.
            config.skip_zero_windows = skip_zero_windows.unwrap_or(true);
            config.max_requests = *max_requests;
            config.validate("workload").map_err(workload_invalid)?;
            check_transforms(transforms)?;
            Ok(WorkloadSpec::Servegen {
                path: existing_file(base_dir, path, "workload.path")?,
                config,
                transforms: transforms.clone(),
            })
        }
    }
}

/// `path` resolved against `base_dir`, if it names a readable file: a
/// missing trace is reported against `field` in the scenario, not later
/// when the run opens it.
fn existing_file(base_dir: &Path, path: &str, field: &str) -> Result<PathBuf, FieldError> {
    let resolved = base_dir.join(path);
    match std::fs::metadata(&resolved) {
        Ok(m) if m.is_file() => Ok(resolved),
        Ok(_) => Err(FieldError::new(
            field,
            format!("{} is not a file", resolved.display()),
        )),
        Err(e) => Err(FieldError::caused_by(
            field,
            format!("cannot open {}", resolved.display()),
            e,
        )),
    }
}

/// Turns `kind = "trace"` token lengths into `resample` over the lengths
/// read from the trace (the engine never opens files); other kinds pass
/// through.
fn resolve_lengths(
    lengths: &TokenLengths,
    field: &str,
    base_dir: &Path,
) -> Result<TokenLengths, FieldError> {
    let TokenLengths::Trace { path, side } = lengths else {
        return Ok(lengths.clone());
    };
    let path_field = format!("{field}.path");
    let file = existing_file(base_dir, path, &path_field)?;
    let in_file = |e: fleetsim_core::workload::WorkloadError| {
        let e = crate::workload::Explained(&e);
        FieldError::new(path_field.as_str(), format!("{}: {e}", file.display()))
    };
    let format = crate::workload::detect_file(&file).map_err(in_file)?;
    let reader = crate::workload::open_trace(&file, format).map_err(in_file)?;
    let mut values = Vec::new();
    for request in reader {
        let request = request.map_err(in_file)?;
        values.push(match side {
            TraceSide::Input => request.input_tokens,
            TraceSide::Output => request.output_tokens,
        });
    }
    if values.is_empty() {
        return Err(FieldError::new(
            &path_field,
            format!("{} holds no requests", file.display()),
        ));
    }
    Ok(TokenLengths::Resample { values })
}

fn workload_invalid(e: fleetsim_core::workload::WorkloadError) -> FieldError {
    match e {
        fleetsim_core::workload::WorkloadError::InvalidParameter { field, message } => {
            FieldError::new(field, message)
        }
        other => FieldError::new("workload", crate::workload::Explained(&other).to_string()),
    }
}

/// The largest fleet a scenario may ask for. Every replica is allocated up
/// front, so an absurd count would exhaust memory before the run starts.
pub const MAX_REPLICAS: u32 = 100_000;
/// The most servers per replica of a `slots` deployment.
pub const MAX_SLOTS: u32 = 100_000;
/// Most warm nodes one pool keeps (`warm_nodes`), as many as replicas: each
/// is kept, primed and billed from time 0.
pub const MAX_WARM_NODES: u32 = 100_000;
/// The most servers of a `slots` deployment over all replicas.
pub const MAX_FLEET_SLOTS: u64 = 10_000_000;
