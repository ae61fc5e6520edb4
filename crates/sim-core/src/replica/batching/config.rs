//! What a continuous-batching replica is configured with: scheduler
//! limits, KV capacity, the stepping mode, prefix caching and LoRA slots.

use crate::replica::adapters::LoraConfig;
use crate::replica::prefix_cache::PrefixCacheConfig;

/// How a replica advances through steady decode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stepping {
    /// Jump over runs of identical-shape decode iterations in one event.
    #[default]
    Jump,
    /// One event per iteration (for testing the jump).
    EveryIteration,
}

/// How the scheduler shares the KV cache between requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapacityScheduler {
    /// Admit while the next iteration's blocks are free; when a running
    /// sequence needs a block and none is free, preempt the newest and
    /// recompute it later (vLLM V1's only policy; TensorRT-LLM's
    /// `MAX_UTILIZATION` packs the same way).
    #[default]
    MaxUtilization,
    /// Admit a request only when the blocks of its whole prompt and
    /// output fit beside what the running requests will still need, so no
    /// running request is ever evicted (TensorRT-LLM's default,
    /// `GUARANTEED_NO_EVICT`). The output length stands for the request's
    /// `max_tokens`, which a real engine reserves.
    GuaranteedNoEvict,
}

/// Scheduler limits and KV capacity of one replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchingConfig {
    /// Most sequences in one batch (`max_num_seqs`).
    pub max_num_seqs: u32,
    /// Most tokens computed in one iteration (`max_num_batched_tokens`).
    pub max_num_batched_tokens: u32,
    /// Tokens per KV block.
    pub block_size_tokens: u32,
    /// KV blocks available to sequences.
    pub kv_cache_blocks: u32,
    /// Longest prompt plus output a request may have (`max_model_len`).
    pub max_model_len_tokens: u32,
    /// Jump over steady decode, or step every iteration.
    pub stepping: Stepping,
    /// How requests share the KV cache.
    pub capacity_scheduler: CapacityScheduler,
    /// Automatic prefix caching (`None`: off).
    pub prefix_cache: Option<PrefixCacheConfig>,
    /// LoRA adapter slots (`None`: adapters are ignored).
    pub lora: Option<LoraConfig>,
}

impl BatchingConfig {
    /// Blocks needed to hold `tokens` tokens.
    pub fn blocks_for(&self, tokens: u32) -> u32 {
        tokens.div_ceil(self.block_size_tokens.max(1))
    }

    /// Prefix blocks the cache may hold: the KV capacity in tokens over the
    /// prefix block size (0 when prefix caching is off).
    pub fn prefix_cache_capacity_blocks(&self) -> u32 {
        self.prefix_cache.map_or(0, |p| {
            p.capacity_blocks(u64::from(self.kv_cache_blocks) * u64::from(self.block_size_tokens))
        })
    }

    /// Blocks a request holds once its whole prompt and output are cached.
    pub fn final_blocks(&self, input_tokens: u32, output_tokens: u32) -> u32 {
        self.blocks_for(input_tokens.saturating_add(output_tokens))
    }

    /// Whether a request of this size can ever complete on the replica: it
    /// is within `max_model_len` and its KV fits the whole cache.
    pub fn fits(&self, input_tokens: u32, output_tokens: u32) -> bool {
        let total = u64::from(input_tokens) + u64::from(output_tokens);
        total <= u64::from(self.max_model_len_tokens)
            && total.div_ceil(u64::from(self.block_size_tokens.max(1)))
                <= u64::from(self.kv_cache_blocks)
    }
}
