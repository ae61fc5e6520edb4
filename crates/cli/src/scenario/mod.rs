//! Scenario files: the TOML a user writes ([`raw::RawScenario`]) and the
//! validated, resolved [`Scenario`] a run is built from. Every error names
//! the file, the line and the dotted field.

pub mod edit;
pub mod raw;

use fleetsim_core::autoscale::MetricsSpec;
use fleetsim_core::coldstart::{default_provisioning_time, Artifacts, BYTES_PER_GB};
use fleetsim_core::cost::{BillingGranularity, BillingPolicy, PoolPricing};
use fleetsim_core::engine::{DeploymentSpec, FleetSpec, PipelineSpec, ReplicaSpec, SimConfig};
use fleetsim_core::lifecycle::LifecycleSpec;
use fleetsim_core::model::hardware::{self, GpuSpec, ModelSpec};
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
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The quickstart scenario, embedded so `fleetsim run` works with no file.
pub const QUICKSTART_TOML: &str = include_str!("../../../../scenarios/quickstart.toml");

/// A scenario that could not be loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioError {
    /// The scenario file (or `<embedded quickstart>`).
    pub file: String,
    /// 1-based line of the offending key, when known.
    pub line: Option<usize>,
    /// Dotted field name, when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ScenarioError {}

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
}

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
    /// Each deployment's autoscaler and the metrics it sees (`None`: fixed
    /// or scheduled).
    pub autoscalers: Vec<Option<(AutoscalerConfig, MetricsSpec)>>,
    /// Facts about each deployment, in order.
    pub deployments: Vec<DeploymentInfo>,
}

/// Loads a scenario file, applying `--set` overrides.
pub fn load_file(path: &Path, sets: &[String]) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: file.clone(),
        line: None,
        field: None,
        message: format!("cannot read: {e}"),
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
    resolve(raw, base_dir).map_err(|(field, message)| locate(field, message, None))
}

/// The `--set` flag that assigned `field` or a section holding it (or a key
/// inside `field`, when `field` is a section).
fn set_flag_for<'a>(sets: &'a [String], field: &str) -> Option<&'a str> {
    sets.iter().map(String::as_str).find(|set| {
        let key = set.split('=').next().unwrap_or("").trim();
        let nested = |outer: &str, inner: &str| {
            inner
                .strip_prefix(outer)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        };
        !key.is_empty() && (key == field || nested(key, field) || nested(field, key))
    })
}

/// Default per-request latency outside the engine, ms: the fixed part of
/// TTFT in TensorRT-LLM's online-serving measurements (`docs/validation.md`).
pub const DEFAULT_FRONTEND_LATENCY_MS: f64 = 10.45;

/// Result of a validation step: the dotted field and the message.
type Invalid = (String, String);

fn invalid(field: &str, message: impl Into<String>) -> Invalid {
    (field.to_string(), message.into())
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
fn rebase(prefix: &str, (field, message): Invalid) -> Invalid {
    if prefix == "deployment" {
        return (field, message);
    }
    let field = match field.strip_prefix("deployment") {
        Some(rest) => format!("{prefix}{rest}"),
        None if ["queue", "scaling", "router"]
            .iter()
            .any(|s| field == *s || field.starts_with(&format!("{s}."))) =>
        {
            format!("{prefix}.{field}")
        }
        None => field,
    };
    (field, message)
}

/// The deployments of a scenario: one `[deployment]` with top-level
/// `[router]`, `[queue]` and `[scaling]`, or a list of `[[deployments]]`
/// each carrying its own.
fn deployment_entries(raw: &RawScenario) -> Result<Vec<DeploymentEntry>, Invalid> {
    match (&raw.deployment, &raw.deployments) {
        (Some(_), Some(_)) => Err(invalid(
            "deployments",
            "give either one [deployment] or a list of [[deployments]], not both",
        )),
        (None, None) => Err(invalid(
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
                    return Err(invalid(
                        &format!("deployment.{key}"),
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
                    return Err(invalid(
                        key,
                        format!("with [[deployments]], give each deployment its own `{key}` table"),
                    ));
                }
            }
            if list.is_empty() {
                return Err(invalid("deployments", "must list at least one deployment"));
            }
            let mut entries: Vec<DeploymentEntry> = Vec::with_capacity(list.len());
            for (i, d) in list.iter().enumerate() {
                let prefix = format!("deployments[{i}]");
                let name = d.name.as_deref().unwrap_or("");
                if name.trim().is_empty() {
                    return Err(invalid(
                        &format!("{prefix}.name"),
                        "missing: every [[deployments]] entry needs a unique name",
                    ));
                }
                if entries.iter().any(|e| e.raw.name.as_deref() == Some(name)) {
                    return Err(invalid(
                        &format!("{prefix}.name"),
                        format!("deployment {name:?} is listed twice"),
                    ));
                }
                if let Some(share) = d.share.filter(|s| !(s.is_finite() && *s >= 0.0)) {
                    return Err(invalid(
                        &format!("{prefix}.share"),
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
pub fn resolve(raw: RawScenario, base_dir: &Path) -> Result<Scenario, Invalid> {
    let workload = resolve_workload(&raw.workload, base_dir)?;
    let entries = deployment_entries(&raw)?;
    raw.sla
        .validate()
        .map_err(|(f, m)| (format!("sla.{f}"), m))?;
    let resolution = SimDuration::try_from_secs_f64(raw.output.timeseries_resolution_s)
        .filter(|d| d.0 > 0)
        .ok_or_else(|| {
            invalid(
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
            return Err(invalid(
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
        (None, Some(_)) => return Err(invalid("pools", "must list at least one pool")),
        (None, None) => vec![("pool".to_string(), RawPool::default())],
    };
    let mut deployments = Vec::with_capacity(entries.len());
    let mut infos = Vec::with_capacity(entries.len());
    let mut routers = Vec::with_capacity(entries.len());
    let mut autoscalers = Vec::with_capacity(entries.len());
    for e in &entries {
        let at = |r: Invalid| rebase(&e.prefix, r);
        // A fleet that changes size: its replicas start during the run.
        let scheduled = !matches!(e.scaling.policy, RawPolicy::Fixed);
        let (replica, info, artifacts) =
            resolve_deployment(&e.raw, base_dir, scheduled).map_err(at)?;
        let placement = match artifacts {
            Some(artifacts) if placed => Some(Arc::new(
                resolve_placement(&pools, &raw.cold_start, artifacts, &info).map_err(at)?,
            )),
            Some(_) => None,
            None if scheduled => {
                return Err(at(invalid(
                    "scaling.kind",
                    "scheduled scaling needs a model deployment (a `slots` deployment has no cold-start model)",
                )))
            }
            None if placed && entries.len() > 1 => {
                return Err(invalid(
                    &format!("{}.slots", e.prefix),
                    "deployments sharing node pools must all be model deployments (a `slots` deployment holds no GPUs)",
                ))
            }
            None => None,
        };
        let frontend_ms = match e.raw.slots {
            Some(_) => 0.0,
            None => e
                .raw
                .engine
                .frontend_latency_ms
                .unwrap_or(DEFAULT_FRONTEND_LATENCY_MS),
        };
        let frontend_latency =
            SimDuration::try_from_secs_f64(frontend_ms / 1e3).ok_or_else(|| {
                at(invalid(
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
        });
        routers.push(e.router.clone());
        infos.push(info);
    }
    let routes = deployments.len() + raw.pipelines.len();
    let shares = (deployments.iter().map(|d| d.share))
        .chain(raw.pipelines.iter().map(|p| p.share.unwrap_or(0.0)));
    if routes > 1 && shares.clone().all(|s| s == 0.0) {
        // Requests that name no model cannot be placed: say so at load time
        // only if the workload cannot name one (synthetic, ServeGen).
        if !matches!(workload, WorkloadSpec::Trace { .. }) {
            return Err(invalid(
                "deployments",
                "a generated workload names no model: give the deployments (and pipelines) a `share` each",
            ));
        }
    }
    let pipelines = resolve_pipelines(&raw.pipelines, &deployments)?;
    let sim = SimConfig {
        seed: raw.seed,
        deployments,
        pipelines,
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
    })
}

fn resolve_workload(raw: &RawWorkload, base_dir: &Path) -> Result<WorkloadSpec, Invalid> {
    let check_transforms = |transforms: &[Transform]| -> Result<(), Invalid> {
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
                "servegen" => return Err(invalid("workload.format", "ServeGen windows are not a request trace: use `kind = \"servegen\"`")),
                other => {
                    return Err(invalid(
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

/// Default price per GPU-hour, USD, for the GPUs the reference has prices
/// for (`../shared/reference/hardware.md` §3): H100 at AWS's P5 rate after
/// the June 2025 cut, H200 at AWS Capacity Blocks, A100-80GB, L40S and L4
/// at Modal's per-second rates. B200 has no default.
fn default_usd_per_gpu_hour(gpu: &str) -> Option<f64> {
    match gpu {
        "h100-sxm" => Some(3.90),
        "h200" => Some(5.41),
        "a100-80gb" => Some(2.50),
        "l40s" => Some(1.95),
        "l4" => Some(0.80),
        _ => None,
    }
}

fn resolve_placement(
    pools: &[(String, RawPool)],
    cold_start: &fleetsim_core::coldstart::ColdStartConfig,
    artifacts: Artifacts,
    deployment: &DeploymentInfo,
) -> Result<Placement, Invalid> {
    let mut specs = Vec::with_capacity(pools.len());
    for (i, (prefix, raw)) in pools.iter().enumerate() {
        specs.push(resolve_pool(raw, prefix, i, deployment)?);
    }
    // The initial replicas must fit the pools' quotas.
    let per_replica = u64::from(deployment.tensor_parallel);
    let room: Option<u64> = specs.iter().try_fold(0u64, |acc, p| {
        p.max_nodes
            .map(|max| acc + u64::from(max) * (u64::from(p.pricing.gpus_per_node) / per_replica))
    });
    if let Some(room) = room {
        if room < u64::from(deployment.replicas) {
            let field = if pools.len() == 1 {
                format!("{}.max_nodes", pools[0].0)
            } else {
                "pools".to_string()
            };
            return Err(invalid(
                &field,
                format!(
                    "the quotas hold {room} replicas of {} GPUs, fewer than the {} initial replicas",
                    deployment.tensor_parallel, deployment.replicas
                ),
            ));
        }
    }
    cold_start.validate("cold_start")?;
    Ok(Placement {
        pools: specs,
        cold_start: cold_start.clone(),
        artifacts,
    })
}

fn resolve_pool(
    raw: &RawPool,
    prefix: &str,
    index: usize,
    deployment: &DeploymentInfo,
) -> Result<PoolSpec, Invalid> {
    if let Some(gpu) = &raw.gpu {
        if !gpu.eq_ignore_ascii_case(&deployment.gpu) {
            return Err(invalid(
                &format!("{prefix}.gpu"),
                format!(
                    "the pool's nodes have {gpu} but the deployment runs on {}: a deployment uses one GPU type",
                    deployment.gpu
                ),
            ));
        }
    }
    let gpus_per_node = raw.gpus_per_node.unwrap_or(8);
    if gpus_per_node < deployment.tensor_parallel {
        return Err(invalid(
            &format!("{prefix}.gpus_per_node"),
            format!(
                "a replica needs {} GPUs on one node (tensor_parallel) but a node has {gpus_per_node}",
                deployment.tensor_parallel
            ),
        ));
    }
    let usd_per_gpu_hour = match raw.usd_per_gpu_hour {
        Some(p) => p,
        None => default_usd_per_gpu_hour(&deployment.gpu).ok_or_else(|| {
            invalid(
                &format!("{prefix}.usd_per_gpu_hour"),
                format!("missing: no default price is known for {}", deployment.gpu),
            )
        })?,
    };
    let pricing = PoolPricing {
        name: raw.name.clone().unwrap_or_else(|| {
            if index == 0 {
                "default".to_string()
            } else {
                format!("pool-{index}")
            }
        }),
        gpus_per_node,
        usd_per_gpu_hour,
        billing: raw.billing.clone().unwrap_or(BillingPolicy {
            granularity: BillingGranularity::PerSecond,
            minimum_s: 60.0,
        }),
    };
    pricing
        .validate()
        .map_err(|(f, m)| (format!("{prefix}.{f}"), m))?;
    let provisioning = raw
        .provisioning
        .clone()
        .unwrap_or_else(default_provisioning_time);
    provisioning.validate(&format!("{prefix}.provisioning"))?;
    if raw.max_nodes == Some(0) {
        return Err(invalid(
            &format!("{prefix}.max_nodes"),
            "must be at least 1 (omit it for no quota)",
        ));
    }
    let idle_release_delay = seconds(
        &format!("{prefix}.idle_release_delay_s"),
        raw.idle_release_delay_s.unwrap_or(600.0),
    )?;
    let disk_gb = raw.weight_disk_gb.unwrap_or(500.0);
    let weight_disk_bytes = fleetsim_core::coldstart::bytes_from_f64(disk_gb * BYTES_PER_GB)
        .filter(|_| disk_gb.is_finite() && disk_gb >= 0.0)
        .ok_or_else(|| {
            invalid(
                &format!("{prefix}.weight_disk_gb"),
                format!("must be a finite number of GB ≥ 0, got {disk_gb}"),
            )
        })?;
    let spot = match &raw.spot {
        None => None,
        Some(spot) => {
            let rate = spot.interruptions_per_node_hour;
            if !(rate.is_finite() && rate >= 0.0) {
                return Err(invalid(
                    &format!("{prefix}.spot.interruptions_per_node_hour"),
                    format!("must be a finite number ≥ 0, got {rate}"),
                ));
            }
            Some(SpotSpec {
                interruptions_per_node_hour: rate,
                notice: seconds(
                    &format!("{prefix}.spot.notice_s"),
                    spot.notice_s.unwrap_or(120.0),
                )?,
            })
        }
    };
    Ok(PoolSpec {
        pricing,
        provisioning,
        max_nodes: raw.max_nodes,
        idle_release_delay,
        weight_disk_bytes,
        spot,
        warm_nodes: raw.warm_nodes.unwrap_or(0),
    })
}

/// The pipelines, with stage names resolved to deployment indices.
fn resolve_pipelines(
    raw: &[raw::RawPipeline],
    deployments: &[DeploymentSpec],
) -> Result<Vec<PipelineSpec>, Invalid> {
    let mut out: Vec<PipelineSpec> = Vec::with_capacity(raw.len());
    for (i, p) in raw.iter().enumerate() {
        let field = |f: &str| format!("pipelines[{i}].{f}");
        if p.name.trim().is_empty() {
            return Err(invalid(&field("name"), "must not be empty"));
        }
        if deployments.iter().any(|d| *d.name == *p.name) || out.iter().any(|o| *o.name == *p.name)
        {
            return Err(invalid(
                &field("name"),
                format!("{:?} already names a deployment or pipeline", p.name),
            ));
        }
        if let Some(share) = p.share.filter(|s| !(s.is_finite() && *s >= 0.0)) {
            return Err(invalid(
                &field("share"),
                format!("must be a finite number ≥ 0, got {share}"),
            ));
        }
        if p.stages.is_empty() {
            return Err(invalid(
                &field("stages"),
                "must list at least one deployment",
            ));
        }
        let mut stages: Vec<u16> = Vec::with_capacity(p.stages.len());
        for name in &p.stages {
            let Some(d) = deployments.iter().position(|d| *d.name == **name) else {
                let names: Vec<&str> = deployments.iter().map(|d| &*d.name).collect();
                return Err(invalid(
                    &field("stages"),
                    format!(
                        "{name:?} is not a deployment (deployments: {})",
                        names.join(", ")
                    ),
                ));
            };
            if stages.contains(&(d as u16)) {
                return Err(invalid(
                    &field("stages"),
                    format!("{name:?} appears twice: a pipeline may not visit a deployment again (a cycle)"),
                ));
            }
            stages.push(d as u16);
        }
        if p.hops_ms.len() + 1 != p.stages.len() {
            return Err(invalid(
                &field("hops_ms"),
                format!(
                    "needs one latency per hop: {} for {} stages, got {}",
                    p.stages.len() - 1,
                    p.stages.len(),
                    p.hops_ms.len()
                ),
            ));
        }
        let mut hops = vec![SimDuration::ZERO];
        for (h, ms) in p.hops_ms.iter().enumerate() {
            hops.push(SimDuration::try_from_secs_f64(ms / 1e3).ok_or_else(|| {
                invalid(
                    &format!("pipelines[{i}].hops_ms[{h}]"),
                    format!("must be a finite number of ms ≥ 0, got {ms}"),
                )
            })?);
        }
        out.push(PipelineSpec {
            name: p.name.as_str().into(),
            share: p.share.unwrap_or(0.0),
            stages,
            hops,
        });
    }
    Ok(out)
}

/// The most priority classes a deployment may have (class indices are
/// stored in one byte per request).
const MAX_CLASSES: usize = 255;

fn resolve_queue(
    raw: &RawQueue,
    sla: &fleetsim_core::metrics::SlaConfig,
    deployment: &DeploymentInfo,
) -> Result<QueueSpec, Invalid> {
    let mode = match (raw.mode, raw.max_concurrency_per_replica) {
        (RawQueueMode::PerReplica, Some(_)) => {
            return Err(invalid(
                "queue.max_concurrency_per_replica",
                "applies only to `mode = \"central\"` (per-replica queues have no cap)",
            ))
        }
        (RawQueueMode::PerReplica, None) => QueueMode::PerReplica,
        (RawQueueMode::Central, Some(0)) => {
            return Err(invalid(
                "queue.max_concurrency_per_replica",
                "must be at least 1",
            ))
        }
        (RawQueueMode::Central, cap) => QueueMode::Central {
            max_concurrency_per_replica: cap.unwrap_or(deployment.max_num_seqs),
        },
    };
    if raw.classes.len() > MAX_CLASSES {
        return Err(invalid(
            "queue.classes",
            format!("at most {MAX_CLASSES} classes, got {}", raw.classes.len()),
        ));
    }
    let mut classes: Vec<ClassSpec> = Vec::with_capacity(raw.classes.len());
    for (i, c) in raw.classes.iter().enumerate() {
        let field = |f: &str| format!("queue.classes[{i}].{f}");
        if c.name.trim().is_empty() {
            return Err(invalid(&field("name"), "must not be empty"));
        }
        if classes.iter().any(|k| *k.name == *c.name) {
            return Err(invalid(
                &field("name"),
                format!("class {:?} is listed twice", c.name),
            ));
        }
        let share = c.share.unwrap_or(0.0);
        if !(share.is_finite() && share >= 0.0) {
            return Err(invalid(
                &field("share"),
                format!("must be a finite number ≥ 0, got {share}"),
            ));
        }
        let timeout = c
            .timeout_s
            .map(|t| seconds(&field("timeout_s"), t))
            .transpose()?;
        let sla = c.sla.clone().unwrap_or_else(|| sla.clone());
        sla.validate()
            .map_err(|(f, m)| (field(&format!("sla.{f}")), m))?;
        classes.push(ClassSpec {
            name: c.name.as_str().into(),
            share,
            timeout,
            max_queue_length: c.max_queue_length,
            sla,
        });
    }
    Ok(QueueSpec {
        mode,
        discipline: match raw.discipline {
            RawDiscipline::Fifo => Discipline::Fifo,
            RawDiscipline::Priority => Discipline::Priority,
        },
        classes,
    })
}

fn seconds(field: &str, value: f64) -> Result<SimDuration, Invalid> {
    SimDuration::try_from_secs_f64(value).ok_or_else(|| {
        invalid(
            field,
            format!("must be a finite number of seconds ≥ 0, got {value}"),
        )
    })
}

/// What `[scaling]` resolves to: the engine's lifecycle, and an autoscaler
/// with its metrics pipeline when the kind is one.
type ResolvedScaling = (LifecycleSpec, Option<(AutoscalerConfig, MetricsSpec)>);

fn resolve_scaling(scaling: &RawScaling) -> Result<ResolvedScaling, Invalid> {
    let mut spec = LifecycleSpec::default();
    let dynamic = !matches!(scaling.policy, RawPolicy::Fixed);
    for (key, given) in [
        ("drain_grace_s", scaling.drain_grace_s.is_some()),
        (
            "max_replicas_started_per_minute",
            scaling.max_replicas_started_per_minute.is_some(),
        ),
    ] {
        if given && !dynamic {
            return Err(invalid(
                &format!("scaling.{key}"),
                "applies only to a fleet that changes size (`kind = \"scheduled\"` or an autoscaler)",
            ));
        }
    }
    if let Some(g) = scaling.drain_grace_s {
        spec.drain_grace = seconds("scaling.drain_grace_s", g)?;
    }
    if scaling.max_replicas_started_per_minute == Some(0) {
        return Err(invalid(
            "scaling.max_replicas_started_per_minute",
            "must be at least 1 (omit it for no limit)",
        ));
    }
    spec.max_starts_per_minute = scaling.max_replicas_started_per_minute;
    let config = match &scaling.policy {
        RawPolicy::Fixed => None,
        RawPolicy::Scheduled { schedule } => {
            let mut previous = SimTime::ZERO;
            for (i, step) in schedule.iter().enumerate() {
                let at =
                    SimTime::ZERO + seconds(&format!("scaling.schedule[{i}].at_s"), step.at_s)?;
                if at < previous {
                    return Err(invalid(
                        &format!("scaling.schedule[{i}].at_s"),
                        format!(
                            "entries must be in time order; {} s comes after {} s",
                            step.at_s,
                            previous.as_secs_f64()
                        ),
                    ));
                }
                if step.replicas > MAX_REPLICAS {
                    return Err(invalid(
                        &format!("scaling.schedule[{i}].replicas"),
                        format!("must be at most {MAX_REPLICAS}, got {}", step.replicas),
                    ));
                }
                previous = at;
                spec.schedule.push((at, step.replicas));
            }
            if schedule.is_empty() {
                return Err(invalid(
                    "scaling.schedule",
                    "a scheduled policy needs at least one entry",
                ));
            }
            None
        }
        RawPolicy::Autoscaler(config) => {
            // The policy's own checks, with the upstream rule in the message.
            config.build().map_err(|e| {
                let field = match &e {
                    AutoscalerError::InvalidKnob { knob, .. } => format!("scaling.{knob}"),
                    _ => "scaling".to_string(),
                };
                invalid(&field, e.to_string())
            })?;
            let mut metrics = config.default_metrics();
            if let Some(m) = &scaling.scrape {
                if let Some(v) = m.interval_s {
                    metrics.scrape_interval = seconds("scaling.scrape.interval_s", v)?;
                    if metrics.scrape_interval.0 == 0 {
                        return Err(invalid("scaling.scrape.interval_s", "must be > 0 seconds"));
                    }
                }
                if let Some(v) = m.lag_s {
                    metrics.lag = seconds("scaling.scrape.lag_s", v)?;
                }
                if let Some(v) = m.lookback_s {
                    metrics.lookback = seconds("scaling.scrape.lookback_s", v)?;
                }
            }
            Some((config.clone(), metrics))
        }
    };
    if scaling.scrape.is_some() && config.is_none() {
        return Err(invalid(
            "scaling.scrape",
            "only an autoscaler reads metrics",
        ));
    }
    Ok((spec, config))
}

/// `path` resolved against `base_dir`, if it names a readable file: a
/// missing trace is reported against `field` in the scenario, not later
/// when the run opens it.
fn existing_file(base_dir: &Path, path: &str, field: &str) -> Result<PathBuf, Invalid> {
    let resolved = base_dir.join(path);
    match std::fs::metadata(&resolved) {
        Ok(m) if m.is_file() => Ok(resolved),
        Ok(_) => Err(invalid(
            field,
            format!("{} is not a file", resolved.display()),
        )),
        Err(e) => Err(invalid(
            field,
            format!("cannot open {}: {e}", resolved.display()),
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
) -> Result<TokenLengths, Invalid> {
    let TokenLengths::Trace { path, side } = lengths else {
        return Ok(lengths.clone());
    };
    let path_field = format!("{field}.path");
    let file = existing_file(base_dir, path, &path_field)?;
    let in_file = |e: fleetsim_core::workload::WorkloadError| {
        let e = crate::workload::Explained(&e);
        invalid(&path_field, format!("{}: {e}", file.display()))
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
        return Err(invalid(
            &path_field,
            format!("{} holds no requests", file.display()),
        ));
    }
    Ok(TokenLengths::Resample { values })
}

fn workload_invalid(e: fleetsim_core::workload::WorkloadError) -> Invalid {
    match e {
        fleetsim_core::workload::WorkloadError::InvalidParameter { field, message } => {
            (field, message)
        }
        other => (
            "workload".to_string(),
            crate::workload::Explained(&other).to_string(),
        ),
    }
}

/// The largest fleet a scenario may ask for. Every replica is allocated up
/// front, so an absurd count would exhaust memory before the run starts.
pub const MAX_REPLICAS: u32 = 100_000;
/// The most servers per replica of a `slots` deployment.
pub const MAX_SLOTS: u32 = 100_000;
/// The most servers of a `slots` deployment over all replicas.
pub const MAX_FLEET_SLOTS: u64 = 10_000_000;

/// Bytes in a decimal gigabyte.
const GB: f64 = 1e9;

fn dtype_bytes(field: &str, value: Option<&str>, default: f64) -> Result<f64, Invalid> {
    match value {
        None | Some("auto") => Ok(default),
        Some("bf16") | Some("fp16") => Ok(2.0),
        Some("fp8") => Ok(1.0),
        Some(other) => Err(invalid(
            field,
            format!("unknown dtype {other:?}; expected bf16, fp16 or fp8"),
        )),
    }
}

fn resolve_deployment(
    raw: &RawDeployment,
    base_dir: &Path,
    scheduled: bool,
) -> Result<(ReplicaSpec, DeploymentInfo, Option<Artifacts>), Invalid> {
    // A scheduled fleet may start empty (its schedule brings replicas up).
    let min = if scheduled { 0 } else { 1 };
    if raw.replicas < min || raw.replicas > MAX_REPLICAS {
        return Err(invalid(
            "deployment.replicas",
            format!(
                "must be between {min} and {MAX_REPLICAS}, got {}",
                raw.replicas
            ),
        ));
    }
    if raw.tensor_parallel == 0 || raw.tensor_parallel > 64 {
        return Err(invalid(
            "deployment.tensor_parallel",
            format!("must be between 1 and 64, got {}", raw.tensor_parallel),
        ));
    }
    if let Some(slots) = &raw.slots {
        if raw.lora.is_some() {
            return Err(invalid(
                "deployment.lora",
                "LoRA adapters need a model deployment; [deployment.slots] has none",
            ));
        }
        if slots.slots == 0 || slots.slots > MAX_SLOTS {
            return Err(invalid(
                "deployment.slots.slots",
                format!("must be between 1 and {MAX_SLOTS}, got {}", slots.slots),
            ));
        }
        if u64::from(slots.slots) * u64::from(raw.replicas) > MAX_FLEET_SLOTS {
            return Err(invalid(
                "deployment.slots.slots",
                format!(
                    "{} replicas × {} slots is more than {MAX_FLEET_SLOTS} slots in all",
                    raw.replicas, slots.slots
                ),
            ));
        }
        slots
            .service
            .validate()
            .map_err(|(f, m)| (format!("deployment.slots.service.{f}"), m))?;
        let info = DeploymentInfo {
            model: "slots".into(),
            gpu: "slots".into(),
            tensor_parallel: raw.tensor_parallel,
            replicas: raw.replicas,
            kv_cache_tokens: 0,
            max_num_seqs: slots.slots,
            max_num_batched_tokens: 0,
        };
        return Ok((
            ReplicaSpec::Slots {
                slots: slots.slots,
                service: slots.service.clone(),
            },
            info,
            None,
        ));
    }
    let model_name = raw.model.as_deref().ok_or_else(|| {
        invalid(
            "deployment.model",
            "missing: name a model, or configure [deployment.slots]",
        )
    })?;
    let gpu_name = raw.gpu.as_deref().ok_or_else(|| {
        invalid(
            "deployment.gpu",
            "missing: name a GPU, or configure [deployment.slots]",
        )
    })?;
    let model = hardware::model(model_name).ok_or_else(|| {
        invalid(
            "deployment.model",
            format!(
                "unknown model {model_name:?}; known: {}",
                hardware::model_names().join(", ")
            ),
        )
    })?;
    let gpu = hardware::gpu(gpu_name).ok_or_else(|| {
        invalid(
            "deployment.gpu",
            format!(
                "unknown GPU {gpu_name:?}; known: {}",
                hardware::gpu_names().join(", ")
            ),
        )
    })?;
    let e = &raw.engine;
    let weights_bytes_per_param = dtype_bytes(
        "deployment.engine.weights_dtype",
        e.weights_dtype.as_deref(),
        2.0,
    )?;
    if weights_bytes_per_param < 2.0 && gpu.fp8_flops_per_s.is_none() {
        return Err(invalid(
            "deployment.engine.weights_dtype",
            format!("{} has no FP8 tensor cores", gpu.name),
        ));
    }
    let kv_bytes_per_element = dtype_bytes(
        "deployment.engine.kv_cache_dtype",
        e.kv_cache_dtype.as_deref(),
        weights_bytes_per_param,
    )?;
    let config = batching_config(
        raw,
        gpu,
        model,
        weights_bytes_per_param,
        kv_bytes_per_element,
    )?;
    let perf: Arc<dyn PerfModel> = match raw.perf.kind {
        PerfKind::Table => {
            if let Some(key) = raw.perf.roofline_keys_set().first() {
                return Err(invalid(
                    &format!("deployment.perf.{key}"),
                    "is a roofline factor; a `table` profile takes only `path`",
                ));
            }
            let path = raw.perf.path.as_deref().ok_or_else(|| {
                invalid(
                    "deployment.perf.path",
                    "missing: a `table` profile needs the CSV's path",
                )
            })?;
            let path = existing_file(base_dir, path, "deployment.perf.path")?;
            let file = std::fs::File::open(&path).map_err(|e| {
                invalid(
                    "deployment.perf.path",
                    format!("cannot open {}: {e}", path.display()),
                )
            })?;
            let table = MeasuredTable::from_reader(std::io::BufReader::new(file))
                .map_err(|e| invalid("deployment.perf.path", format!("{}: {e}", path.display())))?;
            Arc::new(table)
        }
        PerfKind::Roofline => {
            if raw.perf.path.is_some() {
                return Err(invalid(
                    "deployment.perf.path",
                    "only a `table` profile reads a file; set kind = \"table\"",
                ));
            }
            let factors = raw.perf.roofline_factors();
            factors
                .validate()
                .map_err(|(f, m)| (format!("deployment.perf.{f}"), m))?;
            Arc::new(Roofline::new(
                gpu,
                model,
                raw.tensor_parallel,
                weights_bytes_per_param,
                kv_bytes_per_element,
                factors,
            ))
        }
    };
    let info = DeploymentInfo {
        model: model.name.to_string(),
        gpu: gpu.name.to_string(),
        tensor_parallel: raw.tensor_parallel,
        replicas: raw.replicas,
        kv_cache_tokens: u64::from(config.kv_cache_blocks) * u64::from(config.block_size_tokens),
        max_num_seqs: config.max_num_seqs,
        max_num_batched_tokens: config.max_num_batched_tokens,
    };
    let artifacts = Artifacts::new(model, weights_bytes_per_param, gpu, raw.tensor_parallel);
    Ok((
        ReplicaSpec::Batching {
            config: Arc::new(config),
            perf,
        },
        info,
        artifacts,
    ))
}

/// vLLM's defaults for a GPU (`get_batch_defaults`): large-memory GPUs other
/// than the A100 get `max_num_seqs` 1024 and an 8,192-token budget.
fn engine_defaults(gpu: &GpuSpec) -> (u32, u32) {
    let large = gpu.memory_bytes >= 70.0 * 1024.0 * 1024.0 * 1024.0 && !gpu.is_a100;
    if large {
        (1024, 8192)
    } else {
        (256, 2048)
    }
}

fn batching_config(
    raw: &RawDeployment,
    gpu: &GpuSpec,
    model: &ModelSpec,
    weights_bytes_per_param: f64,
    kv_bytes_per_element: f64,
) -> Result<BatchingConfig, Invalid> {
    let e = &raw.engine;
    let (default_seqs, default_tokens) = engine_defaults(gpu);
    let max_num_seqs = e.max_num_seqs.unwrap_or(default_seqs);
    let max_num_batched_tokens = e.max_num_batched_tokens.unwrap_or(default_tokens);
    let block_size_tokens = e.block_size_tokens.unwrap_or(16);
    let utilization = e.gpu_memory_utilization.unwrap_or(0.9);
    let reserve_gb = e.activation_reserve_gb_per_gpu.unwrap_or(3.0);
    let max_model_len_tokens = e.max_model_len_tokens.unwrap_or(model.max_context_tokens);
    if max_num_seqs == 0 {
        return Err(invalid(
            "deployment.engine.max_num_seqs",
            "must be at least 1",
        ));
    }
    if max_num_batched_tokens < max_num_seqs {
        return Err(invalid(
            "deployment.engine.max_num_batched_tokens",
            format!("must be at least max_num_seqs ({max_num_seqs}), as vLLM requires; got {max_num_batched_tokens}"),
        ));
    }
    if !(1..=1024).contains(&block_size_tokens) {
        return Err(invalid(
            "deployment.engine.block_size_tokens",
            format!("must be between 1 and 1024, got {block_size_tokens}"),
        ));
    }
    if !(utilization > 0.0 && utilization <= 1.0) {
        return Err(invalid(
            "deployment.engine.gpu_memory_utilization",
            format!("must be in (0, 1], got {utilization}"),
        ));
    }
    if !(reserve_gb.is_finite() && reserve_gb >= 0.0) {
        return Err(invalid(
            "deployment.engine.activation_reserve_gb_per_gpu",
            format!("must be a finite number ≥ 0, got {reserve_gb}"),
        ));
    }
    if max_model_len_tokens == 0 {
        return Err(invalid(
            "deployment.engine.max_model_len_tokens",
            "must be at least 1",
        ));
    }
    let tp = f64::from(raw.tensor_parallel);
    let usable = gpu.memory_bytes * utilization * tp;
    let weights = model.weights_bytes(weights_bytes_per_param);
    let reserve = reserve_gb * GB * tp;
    let kv_bytes = usable - weights - reserve;
    let block_bytes = model.kv_bytes_per_token(kv_bytes_per_element) * f64::from(block_size_tokens);
    if kv_bytes < block_bytes {
        return Err(invalid(
            "deployment.gpu",
            format!(
                "{} × {} cannot hold {}: weights {:.1} GB + reserve {:.1} GB exceed the usable {:.1} GB \
                 (memory × gpu_memory_utilization); use more tensor_parallel GPUs, FP8 weights or a larger GPU",
                raw.tensor_parallel,
                gpu.name,
                model.name,
                weights / GB,
                reserve / GB,
                usable / GB
            ),
        ));
    }
    let kv_cache_blocks = (kv_bytes / block_bytes).floor().min(f64::from(u32::MAX)) as u32;
    Ok(BatchingConfig {
        max_num_seqs,
        max_num_batched_tokens,
        block_size_tokens,
        kv_cache_blocks,
        max_model_len_tokens,
        stepping: e.stepping.unwrap_or_default(),
        prefix_cache: prefix_cache_config(e)?,
        lora: raw.lora.as_ref().map(lora_config).transpose()?,
    })
}

/// Largest `prefix_block_tokens` accepted.
const MAX_PREFIX_BLOCK_TOKENS: u32 = 1 << 20;
/// Largest `max_loras` accepted.
const MAX_LORAS: u32 = 256;
/// Default adapter load time, ms: ServerlessLLM's baseline load of a LoRA
/// adapter (`../shared/reference/hardware.md`, cold-start loaders).
pub const DEFAULT_ADAPTER_LOAD_MS: f64 = 370.0;

/// Prefix caching: on by default (vLLM V1), 512-token blocks (Mooncake).
fn prefix_cache_config(e: &raw::RawEngine) -> Result<Option<PrefixCacheConfig>, Invalid> {
    let block_tokens = e.prefix_block_tokens.unwrap_or(512);
    if !(1..=MAX_PREFIX_BLOCK_TOKENS).contains(&block_tokens) {
        return Err(invalid(
            "deployment.engine.prefix_block_tokens",
            format!("must be between 1 and {MAX_PREFIX_BLOCK_TOKENS}, got {block_tokens}"),
        ));
    }
    Ok(e.prefix_caching
        .unwrap_or(true)
        .then_some(PrefixCacheConfig { block_tokens }))
}

fn lora_config(l: &raw::RawLora) -> Result<LoraConfig, Invalid> {
    let max_loras = l.max_loras.unwrap_or(1);
    if !(1..=MAX_LORAS).contains(&max_loras) {
        return Err(invalid(
            "deployment.lora.max_loras",
            format!("must be between 1 and {MAX_LORAS}, got {max_loras}"),
        ));
    }
    let ms = l.adapter_load_ms.unwrap_or(DEFAULT_ADAPTER_LOAD_MS);
    let load = SimDuration::try_from_secs_f64(ms / 1e3)
        .filter(|_| ms.is_finite() && ms >= 0.0)
        .ok_or_else(|| {
            invalid(
                "deployment.lora.adapter_load_ms",
                format!("must be a finite number of ms ≥ 0, got {ms}"),
            )
        })?;
    Ok(LoraConfig {
        max_loras,
        adapter_load_ns: load.0,
    })
}
