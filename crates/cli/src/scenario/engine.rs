//! The serving engine of a deployment (`[deployment.engine]`): the
//! engine's own defaults (batch limits, how the KV cache is sized, how it
//! is shared), precisions, and the checks a real engine makes before it
//! starts (tensor-parallel degree against the model's heads, a precision
//! the GPU has tensor cores for).

use super::*;
use fleetsim_core::model::EngineKind;
use fleetsim_core::replica::batching::{CapacityScheduler, PrefillScheduling};

/// Bytes in a decimal gigabyte.
const GB: f64 = 1e9;

/// Weight and KV-cache precisions, bytes per element.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Precision {
    pub weights_bytes_per_param: f64,
    pub kv_bytes_per_element: f64,
}

fn dtype_bytes(field: &str, value: Option<&str>, default: f64) -> Result<f64, FieldError> {
    match value {
        None | Some("auto") => Ok(default),
        Some("bf16") | Some("fp16") => Ok(2.0),
        Some("fp8") => Ok(1.0),
        Some("fp4") if field.ends_with("weights_dtype") => Ok(0.5),
        Some(other) => Err(FieldError::new(
            field,
            if field.ends_with("weights_dtype") {
                format!("unknown dtype {other:?}; expected bf16, fp16, fp8 or fp4")
            } else {
                format!("unknown dtype {other:?}; expected auto, bf16, fp16 or fp8")
            },
        )),
    }
}

/// The weights' and KV cache's precisions, checked against the GPU's
/// tensor cores. FP4 weights keep an FP8 KV cache by default, as
/// NVIDIA's FP4 checkpoints do.
pub(super) fn precision(e: &raw::RawEngine, gpu: &GpuSpec) -> Result<Precision, FieldError> {
    let field = "deployment.engine.weights_dtype";
    let weights = dtype_bytes(field, e.weights_dtype.as_deref(), 2.0)?;
    let fp4 = weights <= 0.5;
    if !fp4 && weights < 2.0 && gpu.fp8_flops_per_s.is_none() {
        return Err(FieldError::new(
            field,
            format!("{} has no FP8 tensor cores; use bf16", gpu.name),
        ));
    }
    if fp4 && gpu.fp4_flops_per_s.is_none() {
        return Err(FieldError::new(
            field,
            format!(
                "{} has no FP4 tensor cores (FP4 needs a Blackwell GPU); use {}",
                gpu.name,
                if gpu.fp8_flops_per_s.is_some() {
                    "fp8 or bf16"
                } else {
                    "bf16"
                }
            ),
        ));
    }
    let kv = dtype_bytes(
        "deployment.engine.kv_cache_dtype",
        e.kv_cache_dtype.as_deref(),
        weights.max(1.0),
    )?;
    Ok(Precision {
        weights_bytes_per_param: weights,
        kv_bytes_per_element: kv,
    })
}

/// A tensor-parallel degree the model's attention heads split over:
/// query heads evenly, and KV heads evenly or each replicated on a whole
/// number of GPUs (vLLM's and TensorRT-LLM's rule).
pub(super) fn check_tensor_parallel(tp: u32, model: &ModelSpec) -> Result<(), FieldError> {
    let q = model.query_heads;
    let kv = model.kv_heads;
    let kv_ok = if tp <= kv { kv % tp == 0 } else { tp % kv == 0 };
    if q % tp == 0 && kv_ok {
        return Ok(());
    }
    let allowed: Vec<String> = (1..=q)
        .filter(|&t| q % t == 0 && if t <= kv { kv % t == 0 } else { t % kv == 0 })
        .map(|t| t.to_string())
        .collect();
    Err(FieldError::new(
        "deployment.tensor_parallel",
        format!(
            "{}'s {q} query heads and {kv} KV heads do not split over {tp} GPUs; use one of {}",
            model.name,
            allowed.join(", ")
        ),
    ))
}

/// The engine's batch limits by default: `(max_num_seqs,
/// max_num_batched_tokens)`.
fn batch_defaults(kind: EngineKind, gpu: &GpuSpec) -> (u32, u32) {
    match kind {
        // vLLM's `get_batch_defaults`: large-memory GPUs other than the
        // A100 get 1,024 sequences and an 8,192-token budget.
        EngineKind::Vllm => {
            let large = gpu.memory_bytes >= 70.0 * 1024.0 * 1024.0 * 1024.0 && !gpu.is_a100;
            if large {
                (1024, 8192)
            } else {
                (256, 2048)
            }
        }
        // TensorRT-LLM's runtime defaults: `max_batch_size` 2,048 and
        // `max_num_tokens` 8,192.
        EngineKind::Trtllm => (2048, 8192),
    }
}

/// Whether the engine plans the next iteration while one runs, by
/// default. vLLM does since async scheduling became its default
/// (vllm-project/vllm#27614; `VllmConfig` turns the unset flag on unless
/// pipeline parallelism or an incompatible speculative method is
/// configured, neither of which a scenario has). TensorRT-LLM's overlap
/// scheduler is the same mechanism, but the calibration's TensorRT-LLM
/// online measurements (v0.14's C++ runtime) were taken without it.
fn async_scheduling_default(kind: EngineKind) -> bool {
    match kind {
        EngineKind::Vllm => true,
        EngineKind::Trtllm => false,
    }
}

/// Whether the replica runs attention data-parallel (TensorRT-LLM's
/// `enable_attention_dp`). Only TensorRT-LLM has the setting here; vLLM's
/// data parallelism runs separate engines, which a scenario writes as
/// replicas.
pub(super) fn attention_data_parallel(
    kind: EngineKind,
    e: &raw::RawEngine,
) -> Result<bool, FieldError> {
    match (kind, e.attention_data_parallel) {
        (EngineKind::Vllm, Some(true)) => Err(FieldError::new(
            "deployment.engine.attention_data_parallel",
            "is TensorRT-LLM's enable_attention_dp; with kind = \"vllm\" data parallelism is \
             separate engines: write them as replicas",
        )),
        (_, v) => Ok(v.unwrap_or(false)),
    }
}

/// Bytes of KV cache one replica gets, and the memory it came from (for
/// the error when nothing is left).
struct KvMemory {
    kv_bytes: f64,
    weights: f64,
    reserve: f64,
    usable: f64,
    rule: &'static str,
}

/// How each engine sizes its KV cache. vLLM takes `gpu_memory_utilization`
/// of the whole memory and gives the KV cache what weights and activations
/// leave; TensorRT-LLM gives `kv_cache_free_gpu_mem_fraction` of the memory
/// still free after weights and activations.
fn kv_memory(
    kind: EngineKind,
    e: &raw::RawEngine,
    memory: f64,
    weights: f64,
    reserve: f64,
) -> Result<KvMemory, FieldError> {
    let wrong = |key: &str, other: &str| {
        FieldError::new(
            format!("deployment.engine.{key}"),
            format!(
                "is not a {} setting; with kind = \"{}\" set {other}",
                kind.name(),
                kind.name()
            ),
        )
    };
    let fraction = |key: &str, value: Option<f64>, default: f64| {
        let v = value.unwrap_or(default);
        if v > 0.0 && v <= 1.0 {
            Ok(v)
        } else {
            Err(FieldError::new(
                format!("deployment.engine.{key}"),
                format!("must be in (0, 1], got {v}"),
            ))
        }
    };
    match kind {
        EngineKind::Vllm => {
            if e.kv_cache_free_gpu_mem_fraction.is_some() {
                return Err(wrong(
                    "kv_cache_free_gpu_mem_fraction",
                    "gpu_memory_utilization",
                ));
            }
            let u = fraction("gpu_memory_utilization", e.gpu_memory_utilization, 0.9)?;
            let usable = memory * u;
            Ok(KvMemory {
                kv_bytes: usable - weights - reserve,
                weights,
                reserve,
                usable,
                rule: "memory × gpu_memory_utilization",
            })
        }
        EngineKind::Trtllm => {
            if e.gpu_memory_utilization.is_some() {
                return Err(wrong(
                    "gpu_memory_utilization",
                    "kv_cache_free_gpu_mem_fraction",
                ));
            }
            let f = fraction(
                "kv_cache_free_gpu_mem_fraction",
                e.kv_cache_free_gpu_mem_fraction,
                0.9,
            )?;
            Ok(KvMemory {
                kv_bytes: f * (memory - weights - reserve),
                weights,
                reserve,
                usable: memory,
                rule: "the GPUs' memory",
            })
        }
    }
}

/// How running requests share the KV cache: the engine's default, or the
/// one the scenario names if the engine has it.
fn capacity_scheduler(
    kind: EngineKind,
    e: &raw::RawEngine,
) -> Result<CapacityScheduler, FieldError> {
    match (kind, e.capacity_scheduler) {
        (EngineKind::Vllm, None) => Ok(CapacityScheduler::MaxUtilization),
        (EngineKind::Trtllm, None) => Ok(CapacityScheduler::GuaranteedNoEvict),
        (EngineKind::Vllm, Some(CapacityScheduler::GuaranteedNoEvict)) => Err(FieldError::new(
            "deployment.engine.capacity_scheduler",
            "vLLM has no guaranteed_no_evict scheduler: it admits while blocks are free and \
             preempts (max_utilization); use kind = \"trtllm\" for guaranteed_no_evict",
        )),
        (_, Some(s)) => Ok(s),
    }
}

/// `max_num_batched_tokens`: the scenario's, or the engine's default —
/// raised to `max_model_len` when prompts are not split, so that every
/// prompt fits one iteration, as vLLM does. A budget set below
/// `max_model_len` without chunking is refused, as vLLM refuses it.
fn token_budget(
    e: &raw::RawEngine,
    prefill: PrefillScheduling,
    default_tokens: u32,
    max_model_len_tokens: u32,
) -> Result<u32, FieldError> {
    let chunked = prefill == PrefillScheduling::Chunked;
    match e.max_num_batched_tokens {
        None if chunked => Ok(default_tokens),
        None => Ok(default_tokens.max(max_model_len_tokens)),
        Some(budget) if chunked || budget >= max_model_len_tokens => Ok(budget),
        Some(budget) => Err(FieldError::new(
            "deployment.engine.max_num_batched_tokens",
            format!(
                "{budget} is below max_model_len ({max_model_len_tokens} tokens): with prefill = \
                 \"{}\" a prompt is computed in one iteration, so the budget must hold the longest \
                 request; raise max_num_batched_tokens, lower max_model_len_tokens or use \
                 prefill = \"chunked\"",
                prefill.name()
            ),
        )),
    }
}

pub(super) fn batching_config(
    raw: &RawDeployment,
    gpu: &GpuSpec,
    model: &ModelSpec,
    precision: Precision,
) -> Result<BatchingConfig, FieldError> {
    let e = &raw.engine;
    let kind = e.kind.unwrap_or_default();
    let (default_seqs, default_tokens) = batch_defaults(kind, gpu);
    let attention_dp = attention_data_parallel(kind, e)?;
    let block_size_tokens = e.block_size_tokens.unwrap_or(16);
    let reserve_gb = e.activation_reserve_gb_per_gpu.unwrap_or(3.0);
    let max_model_len_tokens = e.max_model_len_tokens.unwrap_or(model.max_context_tokens);
    let prefill = e.prefill.unwrap_or_default();
    let max_num_batched_tokens = token_budget(e, prefill, default_tokens, max_model_len_tokens)?;
    let max_num_seqs = e.max_num_seqs.unwrap_or(default_seqs);
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
    // vLLM refuses a max_model_len beyond the model's context window too.
    if max_model_len_tokens > model.max_context_tokens {
        return Err(FieldError::new(
            "deployment.engine.max_model_len_tokens",
            format!(
                "must be at most the context of {}, {} tokens, got {max_model_len_tokens}",
                model.name, model.max_context_tokens
            ),
        ));
    }
    let tp = f64::from(raw.tensor_parallel);
    // Attention data parallelism copies the attention weights to every GPU.
    let replicated_attention = if attention_dp {
        model.attention_params() * precision.weights_bytes_per_param * (tp - 1.0)
    } else {
        0.0
    };
    let memory = kv_memory(
        kind,
        e,
        gpu.memory_bytes * tp,
        model.weights_bytes(precision.weights_bytes_per_param) + replicated_attention,
        reserve_gb * GB * tp,
    )?;
    // With more GPUs than KV heads, each GPU holds a copy of its head;
    // attention data parallelism splits the cache by request instead.
    let kv_copies = if attention_dp {
        1.0
    } else {
        (tp / f64::from(model.kv_heads)).max(1.0)
    };
    let block_bytes = model.kv_bytes_per_token(precision.kv_bytes_per_element)
        * kv_copies
        * f64::from(block_size_tokens);
    if memory.kv_bytes < block_bytes {
        return Err(FieldError::new(
            "deployment.gpu",
            format!(
                "{} × {} cannot hold {}: weights {:.1} GB + reserve {:.1} GB exceed the usable {:.1} GB \
                 ({}); use more tensor_parallel GPUs, FP8 weights or a larger GPU",
                raw.tensor_parallel,
                gpu.name,
                model.name,
                memory.weights / GB,
                memory.reserve / GB,
                memory.usable / GB,
                memory.rule,
            ),
        ));
    }
    let kv_cache_blocks = (memory.kv_bytes / block_bytes)
        .floor()
        .min(f64::from(u32::MAX)) as u32;
    // Under attention data parallelism each rank schedules its own batch
    // up to the engine's limits.
    let ranks = if attention_dp { raw.tensor_parallel } else { 1 };
    Ok(BatchingConfig {
        max_num_seqs: max_num_seqs.saturating_mul(ranks),
        max_num_batched_tokens: max_num_batched_tokens.saturating_mul(ranks),
        block_size_tokens,
        kv_cache_blocks,
        max_model_len_tokens,
        stepping: e.stepping.unwrap_or_default(),
        capacity_scheduler: capacity_scheduler(kind, e)?,
        prefill,
        async_scheduling: e.async_scheduling.unwrap_or(async_scheduling_default(kind)),
        prefix_cache: super::deployment::prefix_cache_config(e)?,
        lora: raw
            .lora
            .as_ref()
            .map(super::deployment::lora_config)
            .transpose()?,
        forming: super::batching::batch_forming(e, max_num_seqs)?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::load_str;
    use std::path::Path;

    /// The deployment of a one-replica scenario with `engine` as its
    /// `[deployment.engine]` table: (KV tokens, max_num_seqs,
    /// max_num_batched_tokens), or the error's field and message.
    fn resolve(model: &str, gpu: &str, tp: u32, engine: &str) -> Result<(u64, u32, u32), String> {
        let toml = format!(
            "[workload]\nkind = \"synthetic\"\nduration_s = 1\narrival = {{ kind = \"poisson\", rate_per_s = 1 }}\n\
             input_tokens = {{ kind = \"fixed\", tokens = 10 }}\noutput_tokens = {{ kind = \"fixed\", tokens = 10 }}\n\
             [deployment]\nmodel = \"{model}\"\ngpu = \"{gpu}\"\ntensor_parallel = {tp}\nreplicas = 1\n\
             [deployment.engine]\n{engine}\n"
        );
        let s = load_str(&toml, "t.toml", Path::new("."), &[])
            .map_err(|e| format!("{}: {}", e.field.unwrap_or_default(), e.message))?;
        let d = &s.deployments[0];
        Ok((d.kv_cache_tokens, d.max_num_seqs, d.max_num_batched_tokens))
    }

    #[test]
    fn each_engine_sizes_its_kv_cache_its_own_way() {
        // 70B FP8 on one H100: vLLM's 0.9 of 80 GB cannot hold 70.6 GB of
        // weights and 3 GB of activations; TensorRT-LLM gives 0.9 of the
        // 6.4 GB left to 163,840 B/token of FP8 KV: 35,136 tokens in
        // 16-token blocks.
        let vllm = resolve("llama-3.1-70b", "h100-sxm", 1, "weights_dtype = \"fp8\"");
        assert!(vllm.unwrap_err().contains("cannot hold"));
        let trt = resolve(
            "llama-3.1-70b",
            "h100-sxm",
            1,
            "kind = \"trtllm\"\nweights_dtype = \"fp8\"",
        )
        .unwrap();
        let blocks: f64 = 0.9 * (80e9 - 70.6e9 - 3e9) / (163_840.0 * 16.0);
        let expect_tokens = blocks.floor() as u64 * 16;
        assert_eq!(trt, (expect_tokens, 2048, 8192));
        // The vLLM defaults are unchanged: 1,024 and 8,192 on an H100.
        let (_, seqs, tokens) = resolve("llama-3.1-8b", "h100-sxm", 1, "").unwrap();
        assert_eq!((seqs, tokens), (1024, 8192));
    }

    #[test]
    fn kv_heads_copied_over_more_gpus_than_heads_cost_their_memory() {
        // Mixtral has 8 KV heads: TP 8 splits them, TP 16 holds each on
        // two GPUs (its 32 query heads allow it), so a byte of free memory
        // holds half the tokens.
        let at = |tp| resolve("mixtral-8x7b", "h100-sxm", tp, "").unwrap().0;
        let per_gpu = |tp: u32| at(tp) as f64 / f64::from(tp);
        // Free memory per GPU: 0.9 × 80 GB less 3 GB and its weight share.
        let free = |tp: f64| 72e9 - 3e9 - 46.7e9 * 2.0 / tp;
        let expect = free(16.0) / free(8.0) / 2.0;
        let ratio = per_gpu(16) / per_gpu(8);
        assert!((ratio / expect - 1.0).abs() < 0.001, "{ratio} vs {expect}");
    }

    #[test]
    fn attention_data_parallel_splits_the_kv_cache_by_request_and_copies_attention() {
        // Qwen3-235B has 4 KV heads: at TP 8 each head sits on two GPUs, so
        // plain tensor parallelism halves the tokens a byte holds; attention
        // data parallelism keeps no copy of the cache but one of the
        // attention weights (94 × 4,096 × 2 × (64 + 4) × 128 parameters) on
        // every GPU, and each of the 8 ranks schedules up to the defaults.
        let trt = "kind = \"trtllm\"\nweights_dtype = \"fp8\"";
        let tp = resolve("qwen3-235b-a22b", "h200", 8, trt).unwrap();
        let dp = resolve(
            "qwen3-235b-a22b",
            "h200",
            8,
            &format!("{trt}\nattention_data_parallel = true"),
        )
        .unwrap();
        let attention = 94.0 * 4096.0 * 2.0 * (64.0 + 4.0) * 128.0;
        let free = |extra: f64| 8.0 * 141e9 - 235.1e9 - 8.0 * 3e9 - extra;
        let expect = 2.0 * free(7.0 * attention) / free(0.0);
        let ratio = dp.0 as f64 / tp.0 as f64;
        assert!((ratio / expect - 1.0).abs() < 0.001, "{ratio} vs {expect}");
        assert_eq!((tp.1, tp.2), (2048, 8192));
        assert_eq!((dp.1, dp.2), (8 * 2048, 8 * 8192));
        // vLLM has no such setting: its data parallelism is replicas.
        let vllm = resolve(
            "llama-3.1-8b",
            "h100-sxm",
            2,
            "attention_data_parallel = true",
        );
        assert!(vllm
            .unwrap_err()
            .starts_with("deployment.engine.attention_data_parallel: "),);
    }

    #[test]
    fn tensor_parallel_degrees_follow_the_heads() {
        // llama-3.1-8b: 32 query heads, 8 KV heads.
        for (tp, ok) in [
            (1, true),
            (2, true),
            (3, false),
            (6, false),
            (8, true),
            (16, true),
            (12, false),
        ] {
            let r = resolve("llama-3.1-8b", "h100-sxm", tp, "");
            assert_eq!(r.is_ok(), ok, "TP {tp}: {r:?}");
            if !ok {
                assert!(r.unwrap_err().starts_with("deployment.tensor_parallel: "));
            }
        }
    }
}
