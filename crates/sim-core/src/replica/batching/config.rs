//! What a continuous-batching replica is configured with: scheduler
//! limits, KV capacity, the stepping mode, prefix caching, LoRA slots and
//! how batches are formed.

use super::forming::BatchForming;
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

/// How the scheduler computes prompts (prefill).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrefillScheduling {
    /// Running requests first, then waiting ones; a prompt longer than
    /// the token budget left is split into chunks over several iterations
    /// (vLLM V1's default, TensorRT-LLM's `enable_chunked_context`).
    #[default]
    Chunked,
    /// As `Chunked`, but a prompt is computed in one iteration or not at
    /// all: a waiting request whose prompt does not fit the budget left
    /// waits, and the iterations that carry a long prompt stall every
    /// decode beside it (vLLM with `enable_chunked_prefill = false`,
    /// TensorRT-LLM without chunked context).
    WholePrompt,
    /// Waiting requests first: an iteration computes the whole prompts of
    /// the requests it can admit and no decode, and decodes run only when
    /// nothing can be admitted (vLLM V0's default scheduler). Arrivals
    /// pause every running request's output for a whole prefill.
    PrefillFirst,
}

impl PrefillScheduling {
    /// The scenario's name for it.
    pub fn name(self) -> &'static str {
        match self {
            PrefillScheduling::Chunked => "chunked",
            PrefillScheduling::WholePrompt => "whole_prompt",
            PrefillScheduling::PrefillFirst => "prefill_first",
        }
    }
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
    /// Whether prompts may be split, and whether they wait for decodes.
    pub prefill: PrefillScheduling,
    /// The scheduler plans each iteration while the one before it runs
    /// (vLLM's async scheduling): a request that reaches a busy replica
    /// joins the iteration after the next one at the earliest.
    pub async_scheduling: bool,
    /// Automatic prefix caching (`None`: off).
    pub prefix_cache: Option<PrefixCacheConfig>,
    /// LoRA adapter slots (`None`: adapters are ignored).
    pub lora: Option<LoraConfig>,
    /// Continuous batching, or batches formed while the replica is free
    /// and run to completion (static, dynamic).
    pub forming: BatchForming,
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
    /// is within `max_model_len` and its KV fits the whole cache; when
    /// prompts are not split, its prompt and output (what a preempted
    /// request recomputes as one prompt) fit one iteration's token budget.
    pub fn fits(&self, input_tokens: u32, output_tokens: u32) -> bool {
        let total = u64::from(input_tokens) + u64::from(output_tokens);
        let one_iteration = match self.prefill {
            PrefillScheduling::Chunked => true,
            PrefillScheduling::WholePrompt | PrefillScheduling::PrefillFirst => {
                total <= u64::from(self.max_num_batched_tokens)
            }
        };
        one_iteration
            && total <= u64::from(self.max_model_len_tokens)
            && total.div_ceil(u64::from(self.block_size_tokens.max(1)))
                <= u64::from(self.kv_cache_blocks)
    }
}
