//! Resolving a deployment: perf model, engine defaults per GPU, KV-cache
//! sizing from memory, weights and reserve, prefix caching and LoRA.

use super::catalogue::Catalogue;
use super::engine::{self, Precision};
use super::*;
use fleetsim_core::model::calibration;
use fleetsim_core::model::{MixedSteps, TableWithFallback};
use raw::{PerfFallback, PerfMixedSteps};

pub(super) fn resolve_deployment(
    raw: &RawDeployment,
    base_dir: &Path,
    scheduled: bool,
    catalogue: &Catalogue,
    pools: &[(String, RawPool)],
) -> Result<(ReplicaSpec, DeploymentInfo, Option<Artifacts>), FieldError> {
    // A scheduled fleet may start empty (its schedule brings replicas up).
    let min = if scheduled { 0 } else { 1 };
    if raw.replicas < min || raw.replicas > MAX_REPLICAS {
        return Err(FieldError::new(
            "deployment.replicas",
            format!(
                "must be between {min} and {MAX_REPLICAS}, got {}",
                raw.replicas
            ),
        ));
    }
    if raw.tensor_parallel == 0 || raw.tensor_parallel > 64 {
        return Err(FieldError::new(
            "deployment.tensor_parallel",
            format!("must be between 1 and 64, got {}", raw.tensor_parallel),
        ));
    }
    if let Some(slots) = &raw.slots {
        for (key, set) in [
            ("mig_profile", raw.mig_profile.is_some()),
            ("time_slice", raw.time_slice.is_some()),
        ] {
            if set {
                return Err(FieldError::new(
                    format!("deployment.{key}"),
                    format!("a [deployment.slots] deployment holds no GPU to share: remove {key}"),
                ));
            }
        }
        if raw.lora.is_some() {
            return Err(FieldError::new(
                "deployment.lora",
                "LoRA adapters need a model deployment; [deployment.slots] has none",
            ));
        }
        // A slots replica has no engine and no performance model: their
        // keys would be read by nothing.
        if raw.engine != raw::RawEngine::default() {
            return Err(FieldError::new(
                "deployment.engine",
                "a [deployment.slots] deployment has no serving engine: remove \
                 [deployment.engine], or the slots to simulate the engine",
            ));
        }
        if raw.perf != raw::RawPerf::default() {
            return Err(FieldError::new(
                "deployment.perf",
                "a [deployment.slots] deployment has no performance model (its service \
                 times are [deployment.slots] service): remove [deployment.perf]",
            ));
        }
        if slots.slots == 0 || slots.slots > MAX_SLOTS {
            return Err(FieldError::new(
                "deployment.slots.slots",
                format!("must be between 1 and {MAX_SLOTS}, got {}", slots.slots),
            ));
        }
        if u64::from(slots.slots) * u64::from(raw.replicas) > MAX_FLEET_SLOTS {
            return Err(FieldError::new(
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
            .map_err(|e| e.within("deployment.slots.service"))?;
        let info = DeploymentInfo {
            model: "slots".into(),
            gpu: "slots".into(),
            tensor_parallel: raw.tensor_parallel,
            replicas: raw.replicas,
            kv_cache_tokens: 0,
            max_num_seqs: slots.slots,
            max_num_batched_tokens: 0,
            kv_bytes_per_token: 0,
            share: super::sharing::GpuShare::Whole,
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
        FieldError::new(
            "deployment.model",
            "missing: name a model, or configure [deployment.slots]",
        )
    })?;
    let gpu_name = raw.gpu.as_deref().ok_or_else(|| {
        FieldError::new(
            "deployment.gpu",
            "missing: name a GPU, or configure [deployment.slots]",
        )
    })?;
    let model = catalogue
        .model(model_name)
        .map_err(|m| FieldError::new("deployment.model", m))?;
    let gpu = catalogue
        .gpu(gpu_name)
        .map_err(|m| FieldError::new("deployment.gpu", m))?;
    // A replica on a shared GPU sees its share: the engine sizes its KV
    // cache and the roofline times its steps on the instance or slice.
    let (share, sliced) = super::sharing::deployment_slice(raw, gpu, pools)?;
    let (whole_gpu, gpu) = (gpu, &sliced);
    engine::check_tensor_parallel(raw.tensor_parallel, model)?;
    let precision = engine::precision(&raw.engine, gpu)?;
    let Precision {
        weights_bytes_per_param,
        kv_bytes_per_element,
    } = precision;
    let config = engine::batching_config(raw, gpu, model, precision)?;
    let roofline = || -> Result<Roofline, FieldError> {
        let calibrated = calibration::factors(raw.engine.kind.unwrap_or_default(), gpu.generation);
        let factors = raw.perf.roofline_factors(calibrated);
        factors
            .validate()
            .map_err(|e| e.within("deployment.perf"))?;
        let roofline = Roofline::new(
            gpu,
            model,
            raw.tensor_parallel,
            weights_bytes_per_param,
            kv_bytes_per_element,
            factors,
        );
        let kind = raw.engine.kind.unwrap_or_default();
        Ok(if engine::attention_data_parallel(kind, &raw.engine)? {
            roofline.with_attention_data_parallel(model, kv_bytes_per_element)
        } else {
            roofline
        })
    };
    let perf: Arc<dyn PerfModel> = match raw.perf.kind {
        PerfKind::Table => {
            let fallback = raw.perf.fallback.unwrap_or_default();
            if fallback == PerfFallback::Extrapolate {
                if let Some(key) = raw.perf.roofline_keys_set().first() {
                    return Err(FieldError::new(
                        format!("deployment.perf.{key}"),
                        "is a roofline factor; a `table` profile takes it only with `fallback = \"roofline\"`",
                    ));
                }
            }
            let path = raw.perf.path.as_deref().ok_or_else(|| {
                FieldError::new(
                    "deployment.perf.path",
                    "missing: a `table` profile needs the CSV's path",
                )
            })?;
            let path = existing_file(base_dir, path, "deployment.perf.path")?;
            let file = std::fs::File::open(&path).map_err(|e| {
                FieldError::caused_by(
                    "deployment.perf.path",
                    format!("cannot open {}", path.display()),
                    e,
                )
            })?;
            let table = MeasuredTable::from_reader(std::io::BufReader::new(file))
                .map_err(|e| {
                    FieldError::caused_by("deployment.perf.path", path.display().to_string(), e)
                })?
                .with_mixed_steps(match raw.perf.mixed_steps.unwrap_or_default() {
                    PerfMixedSteps::Sum => MixedSteps::Sum,
                    PerfMixedSteps::Merged => MixedSteps::Merged,
                });
            match fallback {
                PerfFallback::Extrapolate => Arc::new(table),
                PerfFallback::Roofline => {
                    Arc::new(TableWithFallback::new(table, Arc::new(roofline()?)))
                }
            }
        }
        PerfKind::Roofline => {
            if raw.perf.path.is_some() {
                return Err(FieldError::new(
                    "deployment.perf.path",
                    "only a `table` profile reads a file; set kind = \"table\"",
                ));
            }
            if raw.perf.fallback.is_some() {
                return Err(FieldError::new(
                    "deployment.perf.fallback",
                    "only a `table` profile has a fallback; set kind = \"table\"",
                ));
            }
            if raw.perf.mixed_steps.is_some() {
                return Err(FieldError::new(
                    "deployment.perf.mixed_steps",
                    "only a `table` profile takes it; set kind = \"table\"",
                ));
            }
            Arc::new(roofline()?)
        }
    };
    let info = DeploymentInfo {
        model: model.name.to_string(),
        gpu: whole_gpu.name.to_string(),
        tensor_parallel: raw.tensor_parallel,
        replicas: raw.replicas,
        kv_cache_tokens: u64::from(config.kv_cache_blocks) * u64::from(config.block_size_tokens),
        max_num_seqs: config.max_num_seqs,
        max_num_batched_tokens: config.max_num_batched_tokens,
        kv_bytes_per_token: model.kv_bytes_per_token(kv_bytes_per_element).round() as u64,
        share,
    };
    let artifacts = Artifacts::new(
        model,
        weights_bytes_per_param,
        whole_gpu,
        raw.tensor_parallel,
    );
    Ok((
        ReplicaSpec::Batching {
            config: Arc::new(config),
            perf,
        },
        info,
        artifacts,
    ))
}

/// Largest `prefix_block_tokens` accepted.
const MAX_PREFIX_BLOCK_TOKENS: u32 = 1 << 20;
/// Largest `max_loras` accepted.
const MAX_LORAS: u32 = 256;
/// Default adapter load time, ms: ServerlessLLM's baseline load of a LoRA
/// adapter (`../shared/reference/hardware.md`, cold-start loaders).
pub const DEFAULT_ADAPTER_LOAD_MS: f64 = 370.0;

/// Prefix caching: on by default (vLLM V1), 512-token blocks (Mooncake).
pub(super) fn prefix_cache_config(
    e: &raw::RawEngine,
) -> Result<Option<PrefixCacheConfig>, FieldError> {
    let block_tokens = e.prefix_block_tokens.unwrap_or(512);
    if !(1..=MAX_PREFIX_BLOCK_TOKENS).contains(&block_tokens) {
        return Err(FieldError::new(
            "deployment.engine.prefix_block_tokens",
            format!("must be between 1 and {MAX_PREFIX_BLOCK_TOKENS}, got {block_tokens}"),
        ));
    }
    Ok(e.prefix_caching
        .unwrap_or(true)
        .then_some(PrefixCacheConfig { block_tokens }))
}

pub(super) fn lora_config(l: &raw::RawLora) -> Result<LoraConfig, FieldError> {
    let max_loras = l.max_loras.unwrap_or(1);
    if !(1..=MAX_LORAS).contains(&max_loras) {
        return Err(FieldError::new(
            "deployment.lora.max_loras",
            format!("must be between 1 and {MAX_LORAS}, got {max_loras}"),
        ));
    }
    let ms = l.adapter_load_ms.unwrap_or(DEFAULT_ADAPTER_LOAD_MS);
    let load = SimDuration::try_from_secs_f64(ms / 1e3)
        .filter(|_| ms.is_finite() && ms >= 0.0)
        .ok_or_else(|| {
            FieldError::new(
                "deployment.lora.adapter_load_ms",
                format!("must be a finite number of ms ≥ 0, got {ms}"),
            )
        })?;
    Ok(LoraConfig {
        max_loras,
        adapter_load_ns: load.0,
    })
}
