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

    /// Whether a request of this size can ever complete on the replica: it
    /// is within `max_model_len` and its KV fits the whole cache.
    pub fn fits(&self, input_tokens: u32, output_tokens: u32) -> bool {
        let total = u64::from(input_tokens) + u64::from(output_tokens);
        total <= u64::from(self.max_model_len_tokens)
            && total.div_ceil(u64::from(self.block_size_tokens.max(1)))
                <= u64::from(self.kv_cache_blocks)
    }
}
