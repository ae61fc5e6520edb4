//! The scenario file as written: every section and key a user may type,
//! with `deny_unknown_fields` so a typo is an error, and units in key names.
//! Nothing here is validated beyond types; [`super::resolve`] turns it into
//! the checked [`super::Scenario`].

pub use super::batching::BatchingMode;
pub use super::raw_pool::{RawPool, RawSpot, RawTimeSlice};
use fleetsim_core::coldstart::ColdStartConfig;
use fleetsim_core::engine::Records;
use fleetsim_core::metrics::SlaConfig;
use fleetsim_core::model::{EngineKind, Generation, LinkKind, RooflineFactors};
use fleetsim_core::replica::batching::{CapacityScheduler, PrefillScheduling, Stepping};
use fleetsim_core::replica::slots::ServiceTime;
use fleetsim_core::workload::lengths::TokenLengths;
use fleetsim_core::workload::synthetic::ArrivalProcess;
use fleetsim_core::workload::transforms::Transform;
use fleetsim_policies::{AutoscalerConfig, RouterConfig};
use serde::{Deserialize, Serialize};

/// A whole scenario file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// Short name used in reports.
    #[serde(default)]
    pub name: Option<String>,
    /// What the scenario is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Seed of every random stream (default 1).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Where requests come from.
    pub workload: RawWorkload,
    /// What serves them: one deployment (`[deployment]`) …
    #[serde(default)]
    pub deployment: Option<RawDeployment>,
    /// … or several (`[[deployments]]`), each with its own `name`, and its
    /// own `router`, `queue` and `scaling` inside.
    #[serde(default)]
    pub deployments: Option<Vec<RawDeployment>>,
    /// Pipelines over the deployments (`[[pipelines]]`).
    #[serde(default)]
    pub pipelines: Vec<RawPipeline>,
    /// Model routers in front of the deployments (`[[model_routers]]`).
    #[serde(default)]
    pub model_routers: Vec<super::model_routers::RawModelRouter>,
    /// GPUs the catalogue lacks (`[[gpus]]`), for deployments to name.
    #[serde(default)]
    pub gpus: Vec<RawGpu>,
    /// Models the catalogue lacks (`[[models]]`), for deployments to name.
    #[serde(default)]
    pub models: Vec<RawModel>,
    /// How requests are spread over replicas (one deployment).
    #[serde(default)]
    pub router: Option<RouterConfig>,
    /// Where requests wait, in which order, and for how long (one deployment).
    #[serde(default)]
    pub queue: Option<RawQueue>,
    /// How the fleet changes during the run (one deployment).
    #[serde(default)]
    pub scaling: Option<RawScaling>,
    /// The GPU nodes the deployment runs on.
    #[serde(default)]
    pub pool: Option<RawPool>,
    /// Several node pools in order of preference (`[[pools]]`), instead of `[pool]`.
    #[serde(default)]
    pub pools: Option<Vec<RawPool>>,
    /// How a new replica comes up: image, weights, engine start-up.
    #[serde(default)]
    pub cold_start: ColdStartConfig,
    /// Service-level thresholds and targets.
    #[serde(default)]
    pub sla: SlaConfig,
    /// Output settings.
    #[serde(default)]
    pub output: RawOutput,
    /// A pay-per-token API to compare dedicated GPUs with (`fleetsim plan`).
    #[serde(default)]
    pub api: Option<ApiPrice>,
}

/// The `[api]` section: what a pay-per-token API charges for the same
/// model. No price is assumed: without this section `fleetsim plan`
/// reports no break-even.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiPrice {
    /// USD per million prompt tokens.
    pub usd_per_million_input_tokens: f64,
    /// USD per million generated tokens.
    pub usd_per_million_output_tokens: f64,
}

fn default_seed() -> u64 {
    1
}

/// The `[workload]` section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawWorkload {
    /// Generated requests.
    Synthetic {
        /// Arrival process.
        arrival: ArrivalProcess,
        /// Prompt lengths.
        input_tokens: TokenLengths,
        /// Output lengths.
        output_tokens: TokenLengths,
        /// Length of the workload, seconds.
        duration_s: f64,
        /// Stop after this many requests.
        #[serde(default)]
        max_requests: Option<u64>,
        /// Rescaling, slicing, repetition.
        #[serde(default)]
        transforms: Vec<Transform>,
    },
    /// A request-level trace file.
    Trace {
        /// Path, relative to the scenario file's directory.
        path: String,
        /// `auto` (detect from contents), `azure`, `mooncake`, `burstgpt`
        /// or `generic_csv`.
        #[serde(default = "default_format")]
        format: String,
        /// Sort by arrival time first (reads the whole trace into memory);
        /// otherwise a timestamp going backwards is an error.
        #[serde(default)]
        sort: bool,
        /// Rescaling, slicing, repetition.
        #[serde(default)]
        transforms: Vec<Transform>,
    },
    /// ServeGen per-client rate windows driving a generator.
    Servegen {
        /// Path to a `servegen_<model>_client_windows.csv` file.
        path: String,
        /// Prompt lengths (ServeGen has no per-request lengths).
        input_tokens: TokenLengths,
        /// Output lengths.
        output_tokens: TokenLengths,
        /// Multiplies every output time (default 1).
        #[serde(default)]
        time_scale: Option<f64>,
        /// Multiplies every window's request count, keeping the daily shape
        /// (default 1).
        #[serde(default)]
        rate_multiplier: Option<f64>,
        /// Keep windows starting at or after this time of the profile,
        /// seconds (default 0); generation starts there, nothing is skipped.
        #[serde(default)]
        start_s: Option<f64>,
        /// Keep windows starting before this time, seconds (default: the end).
        #[serde(default)]
        end_s: Option<f64>,
        /// Cut out windows where every client's rate is 0 (the published
        /// data's collection gaps); default true.
        #[serde(default)]
        skip_zero_windows: Option<bool>,
        /// Stop after this many requests.
        #[serde(default)]
        max_requests: Option<u64>,
        /// Rescaling, slicing, repetition.
        #[serde(default)]
        transforms: Vec<Transform>,
    },
}

fn default_format() -> String {
    "auto".to_string()
}

/// The `[deployment]` section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeployment {
    /// Name, as a trace's model column writes it (default: the model's
    /// catalogue name, or `slots`). Required in `[[deployments]]`.
    #[serde(default)]
    pub name: Option<String>,
    /// `[[deployments]]`: weight in the mix for requests that name no model.
    #[serde(default)]
    pub share: Option<f64>,
    /// `[[deployments]]`: its router (default least outstanding).
    #[serde(default)]
    pub router: Option<RouterConfig>,
    /// `[[deployments]]`: its queue (default per-replica queues).
    #[serde(default)]
    pub queue: Option<RawQueue>,
    /// `[[deployments]]`: its scaling (default fixed).
    #[serde(default)]
    pub scaling: Option<RawScaling>,
    /// `[[deployments]]`: the deployment whose variant group this one joins
    /// (the same model on another GPU type): it shares that deployment's
    /// gateway, router and queue, and its autoscaler scales both.
    #[serde(default)]
    pub variant_of: Option<String>,
    /// `[[deployments]]` in an `llmd_wva` variant group: cost per replica
    /// (upstream's `variantCost`; default: the replica's GPUs × its pool's
    /// price per GPU-hour).
    #[serde(default)]
    pub variant_cost: Option<f64>,
    /// Number of replicas (fixed fleet).
    pub replicas: u32,
    /// Model: a catalogue name, e.g. `llama-3.1-8b`, or a `[[models]]` one.
    #[serde(default)]
    pub model: Option<String>,
    /// GPU: a catalogue name, e.g. `h100-sxm`, or a `[[gpus]]` one.
    #[serde(default)]
    pub gpu: Option<String>,
    /// GPUs per replica.
    #[serde(default = "default_tp")]
    pub tensor_parallel: u32,
    /// A MIG instance per replica instead of whole GPUs, e.g. `1g.10gb`.
    #[serde(default)]
    pub mig_profile: Option<String>,
    /// A time-sliced share of a GPU per replica instead of whole GPUs.
    #[serde(default)]
    pub time_slice: Option<RawTimeSlice>,
    /// vLLM engine knobs; defaults follow vLLM for the GPU.
    #[serde(default)]
    pub engine: RawEngine,
    /// Iteration-time model.
    #[serde(default)]
    pub perf: RawPerf,
    /// Replace the batching engine by `slots` servers with batch-independent
    /// service times (queueing-theory validation; `model` and `gpu` unused).
    #[serde(default)]
    pub slots: Option<RawSlots>,
    /// LoRA adapter slots (default: none; requests' adapters are ignored).
    #[serde(default)]
    pub lora: Option<RawLora>,
}

/// One `[[gpus]]` entry: a GPU the catalogue lacks, with its dense
/// tensor peaks, memory and links (`docs/catalogue.md` has the catalogue's
/// figures and where they come from).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGpu {
    /// Name deployments give as `gpu`; not a catalogue GPU's.
    pub name: String,
    /// Architecture: `ampere`, `ada`, `hopper` or `blackwell` (selects the
    /// roofline calibration).
    pub generation: Generation,
    /// What links a replica's GPUs: `nvlink` or `pcie`.
    pub link: LinkKind,
    /// Dense BF16/FP16 tensor peak, TFLOPS.
    pub bf16_tflops: f64,
    /// Dense FP8 tensor peak, TFLOPS (omit: no FP8 tensor cores).
    #[serde(default)]
    pub fp8_tflops: Option<f64>,
    /// Dense FP4 tensor peak, TFLOPS (omit: no FP4 tensor cores).
    #[serde(default)]
    pub fp4_tflops: Option<f64>,
    /// Device memory, GB.
    pub memory_gb: f64,
    /// Device memory bandwidth, TB/s.
    pub memory_bandwidth_tb_per_s: f64,
    /// GPU-to-GPU bandwidth in one direction, GB/s.
    pub interconnect_gb_per_s: f64,
}

/// One `[[models]]` entry: a decoder-only transformer the catalogue lacks,
/// as its config.json describes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    /// Name deployments give as `model`; not a catalogue model's.
    pub name: String,
    /// All parameters (what must be loaded), billions.
    pub params_b: f64,
    /// Parameters a token touches, billions (default `params_b`: dense).
    #[serde(default)]
    pub active_params_b: Option<f64>,
    /// Transformer layers (`num_hidden_layers`).
    pub layers: u32,
    /// Hidden size (`hidden_size`).
    pub hidden_size: u32,
    /// Query heads (`num_attention_heads`).
    pub query_heads: u32,
    /// Key/value heads (`num_key_value_heads`); 1 or omitted with
    /// `kv_latent_dim`.
    #[serde(default)]
    pub kv_heads: Option<u32>,
    /// Dimension of one query/key head (`head_dim`).
    pub head_dim: u32,
    /// Longest context, tokens (`max_position_embeddings`).
    pub max_context_tokens: u32,
    /// Multi-head latent attention: elements cached per token and layer
    /// (`kv_lora_rank + qk_rope_head_dim`) instead of K and V per head.
    #[serde(default)]
    pub kv_latent_dim: Option<u32>,
}

/// `[deployment.lora]`: LoRA adapters each replica can hold.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLora {
    /// Adapters held at once (vLLM `max_loras`, default 1).
    pub max_loras: Option<u32>,
    /// Time to load an adapter that is not held, ms (default 370).
    pub adapter_load_ms: Option<f64>,
}

fn default_tp() -> u32 {
    1
}

/// `[deployment.engine]`: the serving engine, its scheduler and memory
/// settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEngine {
    /// `vllm` (default) or `trtllm`: the engine's defaults, KV sizing rule,
    /// capacity scheduler and performance calibration.
    pub kind: Option<EngineKind>,
    /// TensorRT-LLM: share of the memory left after weights and
    /// activations that the KV cache takes (default 0.9).
    pub kv_cache_free_gpu_mem_fraction: Option<f64>,
    /// How requests share the KV cache: `max_utilization` (vLLM's only
    /// policy, TensorRT-LLM's option) or `guaranteed_no_evict`
    /// (TensorRT-LLM's default).
    pub capacity_scheduler: Option<CapacityScheduler>,
    /// `max_num_seqs` (vLLM default 1024 on ≥ 70 GiB GPUs other than A100,
    /// else 256; TensorRT-LLM's `max_batch_size` default 2048).
    pub max_num_seqs: Option<u32>,
    /// `max_num_batched_tokens` (default 8192 on ≥ 70 GiB GPUs other than A100, else 2048).
    pub max_num_batched_tokens: Option<u32>,
    /// vLLM: `gpu_memory_utilization` (default 0.9).
    pub gpu_memory_utilization: Option<f64>,
    /// KV block size, tokens (default 16).
    pub block_size_tokens: Option<u32>,
    /// `max_model_len` (default the model's context length).
    pub max_model_len_tokens: Option<u32>,
    /// Memory per GPU kept for activations and CUDA graphs, GB (default 3).
    pub activation_reserve_gb_per_gpu: Option<f64>,
    /// `bf16` (default), `fp8` or `fp4` weights.
    pub weights_dtype: Option<String>,
    /// `auto` (same as weights, default), `bf16` or `fp8` KV cache.
    pub kv_cache_dtype: Option<String>,
    /// `jump` (default) or `every_iteration`.
    pub stepping: Option<Stepping>,
    /// How prompts are scheduled: `chunked` (default), `whole_prompt`
    /// (`enable_chunked_prefill = false`) or `prefill_first` (vLLM V0).
    pub prefill: Option<PrefillScheduling>,
    /// Plan each iteration while the previous one runs (vLLM's async
    /// scheduling); default on for vLLM, off for TensorRT-LLM.
    pub async_scheduling: Option<bool>,
    /// TensorRT-LLM's `enable_attention_dp`: every tensor-parallel GPU
    /// runs attention for its own requests (default false).
    pub attention_data_parallel: Option<bool>,
    /// Per-request latency outside the engine (API server, tokenisation),
    /// ms; default calibrated on TensorRT-LLM's online-serving measurements.
    pub frontend_latency_ms: Option<f64>,
    /// Automatic prefix caching over the trace's prefix-block hashes
    /// (default true, as in vLLM V1).
    pub prefix_caching: Option<bool>,
    /// Tokens per prefix block of the trace's hashes (default 512, Mooncake).
    pub prefix_block_tokens: Option<u32>,
    /// How batches form: `continuous` (default), `dynamic` or `static`.
    pub batching: Option<BatchingMode>,
    /// Dynamic: batch sizes sent as soon as the queue holds them.
    pub preferred_batch_sizes: Option<Vec<u32>>,
    /// Dynamic: longest a request waits on a free replica for more, ms.
    pub max_queue_delay_ms: Option<f64>,
    /// Static: sequences per batch.
    pub batch_size: Option<u32>,
    /// Static: longest a request waits on a free replica for a full batch, s.
    pub max_batch_wait_s: Option<f64>,
}

/// `[deployment.perf]`: the performance model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPerf {
    /// `roofline` (default) or `table`.
    #[serde(default)]
    pub kind: PerfKind,
    /// Roofline: achieved fraction of peak BF16/FP16 FLOP/s.
    pub compute_efficiency: Option<f64>,
    /// Roofline: achieved fraction of peak FP8 FLOP/s (FP8 weights).
    pub fp8_compute_efficiency: Option<f64>,
    /// Roofline: achieved fraction of peak FP4 FLOP/s (FP4 weights).
    pub fp4_compute_efficiency: Option<f64>,
    /// Roofline: achieved fraction of peak memory bandwidth.
    pub memory_efficiency: Option<f64>,
    /// Roofline: fixed overhead per iteration, seconds.
    pub step_overhead_s: Option<f64>,
    /// Roofline: overhead per scheduled sequence, seconds.
    pub per_seq_overhead_s: Option<f64>,
    /// Roofline: latency of one tensor-parallel all-reduce, seconds.
    pub allreduce_latency_s: Option<f64>,
    /// Table: the measured profile (CSV: phase, batch_size, tokens,
    /// step_ms), relative to the scenario file's directory.
    pub path: Option<String>,
    /// Table: what times the steps outside the measured range
    /// (default: the table extrapolates).
    pub fallback: Option<PerfFallback>,
    /// Table: how a step with both prefill and decode work is timed
    /// (default: the sum of the two).
    pub mixed_steps: Option<PerfMixedSteps>,
}

/// How a table times a step with both prefill and decode work.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PerfMixedSteps {
    /// Prefill time of the chunk tokens plus the decode time.
    #[default]
    Sum,
    /// Prefill time of the chunk tokens plus one per decoding sequence,
    /// plus the decode time's growth with context.
    Merged,
}

/// What times a table's steps outside its measured range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PerfFallback {
    /// The table's own linear extrapolation.
    #[default]
    Extrapolate,
    /// The calibrated roofline (with any roofline keys the scenario sets).
    Roofline,
}

/// Which performance model a deployment uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PerfKind {
    /// Roofline with calibration factors; each unset factor takes the
    /// default calibrated on H100 (see `docs/validation.md`).
    #[default]
    Roofline,
    /// A measured step-time profile, interpolated linearly; see
    /// `fleetsim_core::model::table`.
    Table,
}

impl RawPerf {
    /// The roofline factors: `d` (the engine's calibration for the GPU)
    /// with the keys the scenario sets.
    pub fn roofline_factors(&self, d: RooflineFactors) -> RooflineFactors {
        RooflineFactors {
            compute_efficiency: self.compute_efficiency.unwrap_or(d.compute_efficiency),
            fp8_compute_efficiency: self
                .fp8_compute_efficiency
                .unwrap_or(d.fp8_compute_efficiency),
            fp4_compute_efficiency: self
                .fp4_compute_efficiency
                .unwrap_or(d.fp4_compute_efficiency),
            memory_efficiency: self.memory_efficiency.unwrap_or(d.memory_efficiency),
            step_overhead_s: self.step_overhead_s.unwrap_or(d.step_overhead_s),
            per_seq_overhead_s: self.per_seq_overhead_s.unwrap_or(d.per_seq_overhead_s),
            allreduce_latency_s: self.allreduce_latency_s.unwrap_or(d.allreduce_latency_s),
        }
    }

    /// The roofline keys that are set, by name.
    pub fn roofline_keys_set(&self) -> Vec<&'static str> {
        [
            ("compute_efficiency", self.compute_efficiency.is_some()),
            (
                "fp8_compute_efficiency",
                self.fp8_compute_efficiency.is_some(),
            ),
            (
                "fp4_compute_efficiency",
                self.fp4_compute_efficiency.is_some(),
            ),
            ("memory_efficiency", self.memory_efficiency.is_some()),
            ("step_overhead_s", self.step_overhead_s.is_some()),
            ("per_seq_overhead_s", self.per_seq_overhead_s.is_some()),
            ("allreduce_latency_s", self.allreduce_latency_s.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }
}

/// `[deployment.slots]`: `slots` servers per replica.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlots {
    /// Servers per replica.
    pub slots: u32,
    /// Service-time distribution.
    pub service: ServiceTime,
}

/// The `[scaling]` section: how the fleet's size changes (`kind`), plus
/// the knobs the engine applies whatever the kind.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RawScaling {
    /// The policy and its own knobs.
    pub policy: RawPolicy,
    /// How long a draining replica may finish what it holds, seconds
    /// (default 30, Kubernetes' default termination grace period).
    pub drain_grace_s: Option<f64>,
    /// At most this many replicas start in any 60 s window (default: no
    /// limit); further starts wait their turn.
    pub max_replicas_started_per_minute: Option<u32>,
    /// How an autoscaler's metrics are scraped (`[scaling.scrape]`;
    /// default: the policy's own pipeline).
    pub scrape: Option<RawScrape>,
}

/// `scaling.kind` and the policy's knobs.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub enum RawPolicy {
    /// `deployment.replicas` for the whole run (default).
    #[default]
    Fixed,
    /// Desired replicas over time; `deployment.replicas` are ready at 0.
    Scheduled {
        /// `{ at_s, replicas }` entries, in time order.
        schedule: Vec<RawScheduleStep>,
    },
    /// An autoscaler (`kind = "concurrency"`, `"hpa"`, `"kpa"`, …).
    Autoscaler(AutoscalerConfig),
}

/// `[scaling.scrape]`: how an autoscaler's metrics are scraped.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScrape {
    /// Seconds between scrapes.
    #[serde(default)]
    pub interval_s: Option<f64>,
    /// Seconds before a scrape is visible to the autoscaler.
    #[serde(default)]
    pub lag_s: Option<f64>,
    /// Seconds of history kept for windowed queries.
    #[serde(default)]
    pub lookback_s: Option<f64>,
    /// Spans when the metrics source is down: no scrape is taken and a
    /// read at a sync fails (`[{ start_s = 600, end_s = 900 }]`).
    #[serde(default)]
    pub outages: Vec<RawOutage>,
}

/// One `[scaling.scrape] outages` entry: the metrics source is down from
/// `start_s` until `end_s` (seconds of simulated time).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutage {
    /// When the outage begins.
    pub start_s: f64,
    /// When it ends (after `start_s`).
    pub end_s: f64,
}

/// The keys of a `scheduled` policy besides `kind`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScheduled {
    schedule: Vec<RawScheduleStep>,
}

impl<'de> Deserialize<'de> for RawScaling {
    /// Reads the engine's knobs, then the policy: `fixed` and `scheduled`
    /// here, any other kind as an [`AutoscalerConfig`] (whose knobs are
    /// checked by its own `deny_unknown_fields`).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut table = toml::Table::deserialize(d)?;
        fn take<T: serde::de::DeserializeOwned, E: Error>(
            table: &mut toml::Table,
            key: &str,
        ) -> Result<Option<T>, E> {
            table
                .remove(key)
                .map(|v| v.try_into::<T>())
                .transpose()
                .map_err(|e| E::custom(format!("{} for key `{key}`", e.message().trim())))
        }
        let drain_grace_s = take::<f64, D::Error>(&mut table, "drain_grace_s")?;
        let max_replicas_started_per_minute =
            take::<u32, D::Error>(&mut table, "max_replicas_started_per_minute")?;
        let scrape = take::<RawScrape, D::Error>(&mut table, "scrape")?;
        let kind = match table.get("kind") {
            None => "fixed".to_string(),
            Some(toml::Value::String(k)) => k.clone(),
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "invalid type: {}, expected a string for key `kind`",
                    other.type_str()
                )))
            }
        };
        let policy = match kind.as_str() {
            "fixed" => {
                table.remove("kind");
                if let Some(key) = table.keys().next() {
                    return Err(D::Error::custom(format!(
                        "unknown field `{key}`: a fixed fleet has no knobs but `deployment.replicas`"
                    )));
                }
                RawPolicy::Fixed
            }
            "scheduled" => {
                table.remove("kind");
                let s: RawScheduled = toml::Value::Table(table)
                    .try_into()
                    .map_err(|e| D::Error::custom(e.message().trim()))?;
                RawPolicy::Scheduled {
                    schedule: s.schedule,
                }
            }
            k if !AutoscalerConfig::KINDS.contains(&k) => {
                return Err(D::Error::custom(format!(
                    "unknown variant `{kind}`, expected `fixed`, `scheduled` or an autoscaler: {}",
                    AutoscalerConfig::KINDS.join(", ")
                )))
            }
            _ => {
                // The kind is known: an error is about one of its knobs
                // (an unknown variant of `metrics[0].metric`, say), and its
                // message quotes the value so the caller finds the key.
                let config: AutoscalerConfig = toml::Value::Table(table)
                    .try_into()
                    .map_err(|e| D::Error::custom(e.message().trim()))?;
                RawPolicy::Autoscaler(config)
            }
        };
        Ok(RawScaling {
            policy,
            drain_grace_s,
            max_replicas_started_per_minute,
            scrape,
        })
    }
}

/// One entry of a scaling schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScheduleStep {
    /// From this time on, seconds from the start of the run…
    pub at_s: f64,
    /// …this many replicas are wanted.
    pub replicas: u32,
}

/// One `[[pipelines]]` entry: a request naming it passes through the
/// `stages` deployments in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPipeline {
    /// Name, as a trace's model column writes it.
    pub name: String,
    /// Weight in the mix for requests that name no model.
    #[serde(default)]
    pub share: Option<f64>,
    /// Deployment names, in order, each at most once.
    pub stages: Vec<String>,
    /// Network latency into each stage after the first, ms (one number
    /// per hop: `stages.len() − 1`).
    #[serde(default)]
    pub hops_ms: Vec<f64>,
    /// A disaggregated prefill/decode pair (`super::disagg`).
    pub kv_transfer: Option<super::disagg::RawKvTransfer>,
}

/// The `[queue]` section.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQueue {
    /// `per_replica` (default: vLLM behind a load balancer) or `central`
    /// (a gateway queue with a per-replica concurrency cap).
    #[serde(default)]
    pub mode: RawQueueMode,
    /// Central mode: requests one replica holds at once (default: its
    /// `max_num_seqs`, or its slot count).
    #[serde(default)]
    pub max_concurrency_per_replica: Option<u32>,
    /// `fifo` (default) or `priority` (strict, in `classes` order).
    #[serde(default)]
    pub discipline: RawDiscipline,
    /// Priority classes, highest first (`[[queue.classes]]`).
    #[serde(default)]
    pub classes: Vec<RawClass>,
}

/// `queue.mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawQueueMode {
    /// Routed at arrival to a replica's own queue.
    #[default]
    PerReplica,
    /// Held at the gateway under a per-replica concurrency cap.
    Central,
}

/// `queue.discipline`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawDiscipline {
    /// Oldest first.
    #[default]
    Fifo,
    /// Strict priority by class order.
    Priority,
}

/// One `[[queue.classes]]` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClass {
    /// Name, as the trace's priority column writes it.
    pub name: String,
    /// Weight in the class mix for requests whose trace names no class.
    #[serde(default)]
    pub share: Option<f64>,
    /// Longest wait at the gateway, seconds (default: none).
    #[serde(default)]
    pub timeout_s: Option<f64>,
    /// Most requests of the class waiting at the gateway (default: none).
    #[serde(default)]
    pub max_queue_length: Option<u32>,
    /// The class's SLA (default: the scenario's `[sla]`).
    #[serde(default)]
    pub sla: Option<SlaConfig>,
}

/// The `[output]` section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutput {
    /// Width of a time-series window, seconds (default 10).
    #[serde(default = "default_resolution")]
    pub timeseries_resolution_s: f64,
    /// Keep every request's record to the end of the run, or stream them
    /// (default `keep`).
    #[serde(default)]
    pub records: Records,
    /// Write `requests.csv` under `--out` (default true).
    #[serde(default = "default_true")]
    pub requests_csv: bool,
}

impl Default for RawOutput {
    fn default() -> Self {
        RawOutput {
            timeseries_resolution_s: default_resolution(),
            records: Records::default(),
            requests_csv: true,
        }
    }
}

fn default_true() -> bool {
    true
}

fn default_resolution() -> f64 {
    10.0
}
