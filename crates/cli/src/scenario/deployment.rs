//! Resolving a deployment: perf model, engine defaults per GPU, KV-cache
//! sizing from memory, weights and reserve, prefix caching and LoRA.

use super::*;

/// Bytes in a decimal gigabyte.
const GB: f64 = 1e9;

fn dtype_bytes(field: &str, value: Option<&str>, default: f64) -> Result<f64, FieldError> {
    match value {
        None | Some("auto") => Ok(default),
        Some("bf16") | Some("fp16") => Ok(2.0),
        Some("fp8") => Ok(1.0),
        Some(other) => Err(FieldError::new(
            field,
            format!("unknown dtype {other:?}; expected bf16, fp16 or fp8"),
        )),
    }
}

pub(super) fn resolve_deployment(
    raw: &RawDeployment,
    base_dir: &Path,
    scheduled: bool,
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
        if raw.lora.is_some() {
            return Err(FieldError::new(
                "deployment.lora",
                "LoRA adapters need a model deployment; [deployment.slots] has none",
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
    let model = hardware::model(model_name).ok_or_else(|| {
        FieldError::new(
            "deployment.model",
            format!(
                "unknown model {model_name:?}; known: {}",
                hardware::model_names().join(", ")
            ),
        )
    })?;
    let gpu = hardware::gpu(gpu_name).ok_or_else(|| {
        FieldError::new(
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
        return Err(FieldError::new(
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
                return Err(FieldError::new(
                    format!("deployment.perf.{key}"),
                    "is a roofline factor; a `table` profile takes only `path`",
                ));
            }
            let path = raw.perf.path.as_deref().ok_or_else(|| {
                FieldError::new(
                    "deployment.perf.path",
                    "missing: a `table` profile needs the CSV's path",
                )
            })?;
            let path = existing_file(base_dir, path, "deployment.perf.path")?;
            let file = std::fs::File::open(&path).map_err(|e| {
                FieldError::new(
                    "deployment.perf.path",
                    format!("cannot open {}: {e}", path.display()),
                )
            })?;
            let table = MeasuredTable::from_reader(std::io::BufReader::new(file)).map_err(|e| {
                FieldError::new("deployment.perf.path", format!("{}: {e}", path.display()))
            })?;
            Arc::new(table)
        }
        PerfKind::Roofline => {
            if raw.perf.path.is_some() {
                return Err(FieldError::new(
                    "deployment.perf.path",
                    "only a `table` profile reads a file; set kind = \"table\"",
                ));
            }
            let factors = raw.perf.roofline_factors();
            factors
                .validate()
                .map_err(|e| e.within("deployment.perf"))?;
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
) -> Result<BatchingConfig, FieldError> {
    let e = &raw.engine;
    let (default_seqs, default_tokens) = engine_defaults(gpu);
    let max_num_seqs = e.max_num_seqs.unwrap_or(default_seqs);
    let max_num_batched_tokens = e.max_num_batched_tokens.unwrap_or(default_tokens);
    let block_size_tokens = e.block_size_tokens.unwrap_or(16);
    let utilization = e.gpu_memory_utilization.unwrap_or(0.9);
    let reserve_gb = e.activation_reserve_gb_per_gpu.unwrap_or(3.0);
    let max_model_len_tokens = e.max_model_len_tokens.unwrap_or(model.max_context_tokens);
    if max_num_seqs == 0 {
        return Err(FieldError::new(
            "deployment.engine.max_num_seqs",
            "must be at least 1",
        ));
    }
    if max_num_batched_tokens < max_num_seqs {
        return Err(FieldError::new(
            "deployment.engine.max_num_batched_tokens",
            format!("must be at least max_num_seqs ({max_num_seqs}), as vLLM requires; got {max_num_batched_tokens}"),
        ));
    }
    if !(1..=1024).contains(&block_size_tokens) {
        return Err(FieldError::new(
            "deployment.engine.block_size_tokens",
            format!("must be between 1 and 1024, got {block_size_tokens}"),
        ));
    }
    if !(utilization > 0.0 && utilization <= 1.0) {
        return Err(FieldError::new(
            "deployment.engine.gpu_memory_utilization",
            format!("must be in (0, 1], got {utilization}"),
        ));
    }
    if !(reserve_gb.is_finite() && reserve_gb >= 0.0) {
        return Err(FieldError::new(
            "deployment.engine.activation_reserve_gb_per_gpu",
            format!("must be a finite number ≥ 0, got {reserve_gb}"),
        ));
    }
    if max_model_len_tokens == 0 {
        return Err(FieldError::new(
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
        return Err(FieldError::new(
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
fn prefix_cache_config(e: &raw::RawEngine) -> Result<Option<PrefixCacheConfig>, FieldError> {
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

fn lora_config(l: &raw::RawLora) -> Result<LoraConfig, FieldError> {
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
