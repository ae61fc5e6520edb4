//! GPU and LLM specifications shipped with fleetsim.
//!
//! Figures are dense (no 2:4 sparsity) and come from the sources listed,
//! entry by entry, in `docs/catalogue.md`; GB here is 10⁹ bytes.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;

pub mod mig;
pub mod time_slicing;

/// A GPU architecture generation: what a calibration is kept per.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Generation {
    /// A100 (sm80).
    Ampere,
    /// L40S, L4 (sm89).
    Ada,
    /// H100, H200, GH200 (sm90).
    Hopper,
    /// B200, GB200 (sm100).
    Blackwell,
}

/// How the GPUs of one replica talk to each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// NVLink through NVSwitch: every GPU pair at full link bandwidth.
    #[serde(rename = "nvlink")]
    NvLink,
    /// PCIe through the host's switches.
    Pcie,
}

/// A GPU model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GpuSpec {
    /// Name, e.g. `h100-sxm`: borrowed for the catalogue's entries, owned
    /// for a GPU a scenario describes.
    pub name: Cow<'static, str>,
    /// Dense BF16/FP16 tensor throughput, FLOP/s.
    pub bf16_flops_per_s: f64,
    /// Dense FP8 tensor throughput, FLOP/s (`None`: no FP8 tensor cores).
    pub fp8_flops_per_s: Option<f64>,
    /// Device memory, bytes.
    pub memory_bytes: f64,
    /// Device memory bandwidth, bytes/s.
    pub memory_bandwidth_bytes_per_s: f64,
    /// GPU-to-GPU link bandwidth per direction, bytes/s (NVLink or PCIe).
    pub interconnect_bytes_per_s: f64,
    /// Dense FP4 tensor throughput, FLOP/s (`None`: no FP4 tensor cores).
    pub fp4_flops_per_s: Option<f64>,
    /// What the GPUs of a multi-GPU replica are linked by.
    pub link: LinkKind,
    /// Architecture generation.
    pub generation: Generation,
    /// True for the A100 family, which vLLM gives smaller scheduler defaults.
    pub is_a100: bool,
}

/// A decoder-only transformer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelSpec {
    /// Name, e.g. `llama-3.1-8b`: borrowed for the catalogue's entries,
    /// owned for a model a scenario describes.
    pub name: Cow<'static, str>,
    /// All parameters (what must be loaded).
    pub params_total: f64,
    /// Parameters touched per token (differs for mixture-of-experts).
    pub params_active: f64,
    /// Transformer layers.
    pub layers: u32,
    /// Hidden size.
    pub hidden_size: u32,
    /// Query heads.
    pub query_heads: u32,
    /// Key/value heads (grouped-query attention).
    pub kv_heads: u32,
    /// Dimension of one query (and key) head.
    pub head_dim: u32,
    /// Longest context the model accepts, tokens.
    pub max_context_tokens: u32,
    /// What each layer caches per token.
    pub attention: Attention,
}

/// What a layer's attention keeps in the KV cache for each token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Attention {
    /// Multi-head or grouped-query attention: a key and a value of
    /// `head_dim` elements for each of the `kv_heads` heads.
    Grouped,
    /// Multi-head latent attention (DeepSeek-V2/V3): one compressed latent
    /// of `latent_dim` elements (`kv_lora_rank + qk_rope_head_dim` in the
    /// model's config.json), shared by every query head. The model then has
    /// one KV head: tensor parallelism copies the latent to every GPU, as
    /// vLLM's MLA backends do.
    Latent {
        /// Cached elements per token per layer.
        latent_dim: u32,
    },
}

impl ModelSpec {
    /// Bytes of weights at `bytes_per_param`.
    pub fn weights_bytes(&self, bytes_per_param: f64) -> f64 {
        self.params_total * bytes_per_param
    }

    /// KV-cache bytes per token at `bytes_per_element`, every layer: K and
    /// V of every KV head, or the one latent of multi-head latent attention.
    pub fn kv_bytes_per_token(&self, bytes_per_element: f64) -> f64 {
        match self.attention {
            Attention::Grouped => {
                2.0 * f64::from(self.layers)
                    * f64::from(self.kv_heads)
                    * f64::from(self.head_dim)
                    * bytes_per_element
            }
            Attention::Latent { latent_dim } => {
                f64::from(self.layers) * f64::from(latent_dim) * bytes_per_element
            }
        }
    }

    /// Parameters of the attention projections (Q, K, V and O over every
    /// layer): what attention data parallelism copies to every GPU. For
    /// multi-head latent attention, the query and output projections plus
    /// the latent's down-projection and its key and value up-projections.
    pub fn attention_params(&self) -> f64 {
        let layers = f64::from(self.layers);
        let hidden = f64::from(self.hidden_size);
        let q_width = f64::from(self.query_heads) * f64::from(self.head_dim);
        match self.attention {
            Attention::Grouped => {
                let kv_width = f64::from(self.kv_heads) * f64::from(self.head_dim);
                layers * hidden * 2.0 * (q_width + kv_width)
            }
            Attention::Latent { latent_dim } => {
                let latent = f64::from(latent_dim);
                layers * (2.0 * hidden * q_width + hidden * latent + 2.0 * latent * q_width)
            }
        }
    }

    /// Attention FLOPs per cached token per generated token (QKᵀ and PV,
    /// `head_dim` wide each).
    ///
    /// For multi-head latent attention this is the count of attention over
    /// decompressed heads (how engines run prefill). Decoding in the
    /// weight-absorbed form attends over the latent instead, `2 ×
    /// (kv_lora_rank + qk_rope_head_dim + kv_lora_rank)` FLOPs per head: for
    /// DeepSeek-V3, 2,176 against the 768 counted here.
    pub fn attention_flops_per_context_token(&self) -> f64 {
        4.0 * f64::from(self.layers) * f64::from(self.query_heads) * f64::from(self.head_dim)
    }
}

impl GpuSpec {
    /// This GPU with its compute scaled by `compute`, its memory by
    /// `memory` and its bandwidth by `bandwidth` (each in (0, 1]).
    pub(crate) fn scaled(
        &self,
        name: String,
        compute: f64,
        memory: f64,
        bandwidth: f64,
    ) -> GpuSpec {
        GpuSpec {
            name: Cow::Owned(name),
            bf16_flops_per_s: self.bf16_flops_per_s * compute,
            fp8_flops_per_s: self.fp8_flops_per_s.map(|f| f * compute),
            fp4_flops_per_s: self.fp4_flops_per_s.map(|f| f * compute),
            memory_bytes: self.memory_bytes * memory,
            memory_bandwidth_bytes_per_s: self.memory_bandwidth_bytes_per_s * bandwidth,
            ..self.clone()
        }
    }
}

const GB: f64 = 1e9;
const TB: f64 = 1e12;
const TFLOPS: f64 = 1e12;

/// GPUs fleetsim knows by name.
pub const GPUS: &[GpuSpec] = &[
    GpuSpec {
        name: Cow::Borrowed("h100-sxm"),
        bf16_flops_per_s: 989.4 * TFLOPS,
        fp8_flops_per_s: Some(1978.9 * TFLOPS),
        memory_bytes: 80.0 * GB,
        memory_bandwidth_bytes_per_s: 3.35 * TB,
        interconnect_bytes_per_s: 450.0 * GB,
        is_a100: false,
        fp4_flops_per_s: None,
        link: LinkKind::NvLink,
        generation: Generation::Hopper,
    },
    GpuSpec {
        name: Cow::Borrowed("h200"),
        bf16_flops_per_s: 989.0 * TFLOPS,
        fp8_flops_per_s: Some(1979.0 * TFLOPS),
        memory_bytes: 141.0 * GB,
        memory_bandwidth_bytes_per_s: 4.8 * TB,
        interconnect_bytes_per_s: 450.0 * GB,
        is_a100: false,
        fp4_flops_per_s: None,
        link: LinkKind::NvLink,
        generation: Generation::Hopper,
    },
    GpuSpec {
        name: Cow::Borrowed("a100-80gb"),
        bf16_flops_per_s: 312.0 * TFLOPS,
        fp8_flops_per_s: None,
        memory_bytes: 80.0 * GB,
        memory_bandwidth_bytes_per_s: 2.039 * TB,
        interconnect_bytes_per_s: 300.0 * GB,
        is_a100: true,
        fp4_flops_per_s: None,
        link: LinkKind::NvLink,
        generation: Generation::Ampere,
    },
    GpuSpec {
        name: Cow::Borrowed("l40s"),
        bf16_flops_per_s: 362.05 * TFLOPS,
        fp8_flops_per_s: Some(733.0 * TFLOPS),
        memory_bytes: 48.0 * GB,
        memory_bandwidth_bytes_per_s: 864.0 * GB,
        interconnect_bytes_per_s: 32.0 * GB,
        is_a100: false,
        fp4_flops_per_s: None,
        link: LinkKind::Pcie,
        generation: Generation::Ada,
    },
    GpuSpec {
        name: Cow::Borrowed("l4"),
        bf16_flops_per_s: 121.0 * TFLOPS,
        fp8_flops_per_s: Some(242.0 * TFLOPS),
        memory_bytes: 24.0 * GB,
        memory_bandwidth_bytes_per_s: 300.0 * GB,
        interconnect_bytes_per_s: 32.0 * GB,
        is_a100: false,
        fp4_flops_per_s: None,
        link: LinkKind::Pcie,
        generation: Generation::Ada,
    },
    GpuSpec {
        name: Cow::Borrowed("b200"),
        bf16_flops_per_s: 2250.0 * TFLOPS,
        fp8_flops_per_s: Some(4500.0 * TFLOPS),
        memory_bytes: 180.0 * GB,
        memory_bandwidth_bytes_per_s: 7.7 * TB,
        interconnect_bytes_per_s: 900.0 * GB,
        is_a100: false,
        fp4_flops_per_s: Some(9000.0 * TFLOPS),
        link: LinkKind::NvLink,
        generation: Generation::Blackwell,
    },
    // The GH200 superchip's Hopper GPU as TensorRT-LLM's "GH200 480GB":
    // 96 GB HBM3 (the 144 GB HBM3e variant is faster), NVLink-C2C to its
    // Grace CPU; GPU-to-GPU NVLink 4 as on the H100 SXM.
    GpuSpec {
        name: Cow::Borrowed("gh200"),
        bf16_flops_per_s: 990.0 * TFLOPS,
        fp8_flops_per_s: Some(1979.0 * TFLOPS),
        memory_bytes: 96.0 * GB,
        memory_bandwidth_bytes_per_s: 4.0 * TB,
        interconnect_bytes_per_s: 450.0 * GB,
        is_a100: false,
        fp4_flops_per_s: None,
        link: LinkKind::NvLink,
        generation: Generation::Hopper,
    },
    // One Blackwell GPU of a GB200 superchip (NVL72), NVLink 5.
    GpuSpec {
        name: Cow::Borrowed("gb200"),
        bf16_flops_per_s: 2500.0 * TFLOPS,
        fp8_flops_per_s: Some(5000.0 * TFLOPS),
        memory_bytes: 186.0 * GB,
        memory_bandwidth_bytes_per_s: 8.0 * TB,
        interconnect_bytes_per_s: 900.0 * GB,
        is_a100: false,
        fp4_flops_per_s: Some(10000.0 * TFLOPS),
        link: LinkKind::NvLink,
        generation: Generation::Blackwell,
    },
];

/// Models fleetsim knows by name.
pub const MODELS: &[ModelSpec] = &[
    ModelSpec {
        name: Cow::Borrowed("llama-3.1-8b"),
        params_total: 8.03e9,
        params_active: 8.03e9,
        layers: 32,
        hidden_size: 4096,
        query_heads: 32,
        kv_heads: 8,
        head_dim: 128,
        max_context_tokens: 131_072,
        attention: Attention::Grouped,
    },
    ModelSpec {
        name: Cow::Borrowed("llama-3.1-70b"),
        params_total: 70.6e9,
        params_active: 70.6e9,
        layers: 80,
        hidden_size: 8192,
        query_heads: 64,
        kv_heads: 8,
        head_dim: 128,
        max_context_tokens: 131_072,
        attention: Attention::Grouped,
    },
    ModelSpec {
        name: Cow::Borrowed("qwen2.5-7b"),
        params_total: 7.61e9,
        params_active: 7.61e9,
        layers: 28,
        hidden_size: 3584,
        query_heads: 28,
        kv_heads: 4,
        head_dim: 128,
        max_context_tokens: 131_072,
        attention: Attention::Grouped,
    },
    ModelSpec {
        name: Cow::Borrowed("qwen2.5-32b"),
        params_total: 32.5e9,
        params_active: 32.5e9,
        layers: 64,
        hidden_size: 5120,
        query_heads: 40,
        kv_heads: 8,
        head_dim: 128,
        max_context_tokens: 131_072,
        attention: Attention::Grouped,
    },
    ModelSpec {
        name: Cow::Borrowed("qwen2.5-72b"),
        params_total: 72.7e9,
        params_active: 72.7e9,
        layers: 80,
        hidden_size: 8192,
        query_heads: 64,
        kv_heads: 8,
        head_dim: 128,
        max_context_tokens: 131_072,
        attention: Attention::Grouped,
    },
    ModelSpec {
        name: Cow::Borrowed("mixtral-8x7b"),
        params_total: 46.7e9,
        params_active: 12.9e9,
        layers: 32,
        hidden_size: 4096,
        query_heads: 32,
        kv_heads: 8,
        head_dim: 128,
        max_context_tokens: 32_768,
        attention: Attention::Grouped,
    }, // The architecture of Llama-3.1-70B.
    ModelSpec {
        name: Cow::Borrowed("llama-3.3-70b"),
        params_total: 70.6e9,
        params_active: 70.6e9,
        layers: 80,
        hidden_size: 8192,
        query_heads: 64,
        kv_heads: 8,
        head_dim: 128,
        max_context_tokens: 131_072,
        attention: Attention::Grouped,
    },
    ModelSpec {
        name: Cow::Borrowed("llama-3-70b"),
        params_total: 70.6e9,
        params_active: 70.6e9,
        layers: 80,
        hidden_size: 8192,
        query_heads: 64,
        kv_heads: 8,
        head_dim: 128,
        max_context_tokens: 8_192,
        attention: Attention::Grouped,
    },
    ModelSpec {
        name: Cow::Borrowed("llama-2-70b"),
        params_total: 69.0e9,
        params_active: 69.0e9,
        layers: 80,
        hidden_size: 8192,
        query_heads: 64,
        kv_heads: 8,
        head_dim: 128,
        max_context_tokens: 4_096,
        attention: Attention::Grouped,
    },
    ModelSpec {
        name: Cow::Borrowed("llama-3.1-405b"),
        params_total: 405.9e9,
        params_active: 405.9e9,
        layers: 126,
        hidden_size: 16384,
        query_heads: 128,
        kv_heads: 8,
        head_dim: 128,
        max_context_tokens: 131_072,
        attention: Attention::Grouped,
    },
    // v0.3 (v0.1 and v0.2 share the layers; v0.1 attends over a 4,096-token
    // sliding window, which this KV formula ignores).
    ModelSpec {
        name: Cow::Borrowed("mistral-7b"),
        params_total: 7.25e9,
        params_active: 7.25e9,
        layers: 32,
        hidden_size: 4096,
        query_heads: 32,
        kv_heads: 8,
        head_dim: 128,
        max_context_tokens: 32_768,
        attention: Attention::Grouped,
    },
    // Mixture of experts: 8 experts, 2 per token.
    ModelSpec {
        name: Cow::Borrowed("mixtral-8x22b"),
        params_total: 140.6e9,
        params_active: 39.2e9,
        layers: 56,
        hidden_size: 6144,
        query_heads: 48,
        kv_heads: 8,
        head_dim: 128,
        max_context_tokens: 65_536,
        attention: Attention::Grouped,
    },
    ModelSpec {
        name: Cow::Borrowed("qwen3-14b"),
        params_total: 14.8e9,
        params_active: 14.8e9,
        layers: 40,
        hidden_size: 5120,
        query_heads: 40,
        kv_heads: 8,
        head_dim: 128,
        max_context_tokens: 40_960,
        attention: Attention::Grouped,
    },
    // Mixture of experts: 128 experts, 8 per token. Its hidden size is half of
    // query heads × head_dim, as config.json gives it.
    ModelSpec {
        name: Cow::Borrowed("qwen3-30b-a3b"),
        params_total: 30.5e9,
        params_active: 3.35e9,
        layers: 48,
        hidden_size: 2048,
        query_heads: 32,
        kv_heads: 4,
        head_dim: 128,
        max_context_tokens: 40_960,
        attention: Attention::Grouped,
    },
    // Mixture of experts: 128 experts, 8 per token.
    ModelSpec {
        name: Cow::Borrowed("qwen3-235b-a22b"),
        params_total: 235.1e9,
        params_active: 22.2e9,
        layers: 94,
        hidden_size: 4096,
        query_heads: 64,
        kv_heads: 4,
        head_dim: 128,
        max_context_tokens: 40_960,
        attention: Attention::Grouped,
    },
    ModelSpec {
        name: Cow::Borrowed("codellama-34b"),
        params_total: 33.7e9,
        params_active: 33.7e9,
        layers: 48,
        hidden_size: 8192,
        query_heads: 64,
        kv_heads: 8,
        head_dim: 128,
        max_context_tokens: 16_384,
        attention: Attention::Grouped,
    },
    // Mixture of experts (16 routed + 1 shared, 1 routed per token); the
    // total counts the vision encoder. Caveat: three layers in four attend
    // locally within 8,192-token chunks and a real engine keeps only the
    // current chunk of their KV; the standard formula used here counts the
    // whole context on every layer, so it overstates KV bytes (and attention
    // FLOPs) beyond 8,192 tokens, by up to 4× at long context.
    ModelSpec {
        name: Cow::Borrowed("llama-4-scout"),
        params_total: 109e9,
        params_active: 17e9,
        layers: 48,
        hidden_size: 5120,
        query_heads: 40,
        kv_heads: 8,
        head_dim: 128,
        max_context_tokens: 10_485_760,
        attention: Attention::Grouped,
    },
    // Mixture of experts (128 routed + 1 shared on every other layer, 1
    // routed per token); the same chunked-attention caveat as Llama 4 Scout.
    ModelSpec {
        name: Cow::Borrowed("llama-4-maverick"),
        params_total: 400e9,
        params_active: 17e9,
        layers: 48,
        hidden_size: 5120,
        query_heads: 40,
        kv_heads: 8,
        head_dim: 128,
        max_context_tokens: 1_048_576,
        attention: Attention::Grouped,
    },
    // Multi-head latent attention: the cached latent is kv_lora_rank (512) +
    // qk_rope_head_dim (64) wide, one "KV head"; head_dim is the query/key
    // head (qk_nope_head_dim 128 + qk_rope_head_dim 64). Mixture of experts
    // (256 routed + 1 shared, 8 routed per token); totals exclude the 14B
    // multi-token-prediction module.
    ModelSpec {
        name: Cow::Borrowed("deepseek-v3"),
        params_total: 671e9,
        params_active: 37e9,
        layers: 61,
        hidden_size: 7168,
        query_heads: 128,
        kv_heads: 1,
        head_dim: 192,
        max_context_tokens: 163_840,
        attention: Attention::Latent { latent_dim: 576 },
    },
    // DeepSeek-V3's architecture.
    ModelSpec {
        name: Cow::Borrowed("deepseek-r1"),
        params_total: 671e9,
        params_active: 37e9,
        layers: 61,
        hidden_size: 7168,
        query_heads: 128,
        kv_heads: 1,
        head_dim: 192,
        max_context_tokens: 163_840,
        attention: Attention::Latent { latent_dim: 576 },
    },
];

/// Looks up a GPU by catalogue name (case-insensitive).
pub fn gpu(name: &str) -> Option<&'static GpuSpec> {
    GPUS.iter().find(|g| g.name.eq_ignore_ascii_case(name))
}

/// Looks up a model by catalogue name (case-insensitive).
pub fn model(name: &str) -> Option<&'static ModelSpec> {
    MODELS.iter().find(|m| m.name.eq_ignore_ascii_case(name))
}

/// Catalogue names of all GPUs, for error messages.
pub fn gpu_names() -> Vec<&'static str> {
    GPUS.iter().map(|g| &*g.name).collect()
}

/// Catalogue names of all models, for error messages.
pub fn model_names() -> Vec<&'static str> {
    MODELS.iter().map(|m| &*m.name).collect()
}

#[cfg(test)]
mod tests;
