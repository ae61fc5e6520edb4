//! The batching replica's own state: what retiring keeps and frees, and
//! what a running sequence holds inline.

use super::*;
use crate::model::hardware::{gpu, model};
use crate::model::{Roofline, RooflineFactors};
use crate::replica::adapters::LoraConfig;
use crate::replica::prefix_cache::PrefixCacheConfig;

/// A retired replica keeps every counter it reported while serving,
/// the prefix cache's evictions and the adapters' loads included, and
/// holds no decode curves.
#[test]
fn retiring_keeps_the_counters_and_frees_the_caches() {
    let config = BatchingConfig {
        max_num_seqs: 4,
        max_num_batched_tokens: 2048,
        block_size_tokens: 16,
        // Room for 8 prefix blocks of 16 tokens: the prompts below evict.
        kv_cache_blocks: 8,
        max_model_len_tokens: 4096,
        stepping: Stepping::Jump,
        capacity_scheduler: CapacityScheduler::MaxUtilization,
        prefill: PrefillScheduling::Chunked,
        async_scheduling: false,
        prefix_cache: Some(PrefixCacheConfig { block_tokens: 16 }),
        lora: Some(LoraConfig {
            max_loras: 1,
            adapter_load_ns: 1_000,
        }),
        forming: BatchForming::Continuous,
    };
    let perf = Arc::new(Roofline::new(
        gpu("h100-sxm").unwrap(),
        model("llama-3.1-8b").unwrap(),
        1,
        2.0,
        2.0,
        RooflineFactors::default(),
    ));
    let mut r = BatchingReplica::new(Arc::new(config), perf);
    let (mut wakes, mut finished) = (Vec::new(), Vec::new());
    for i in 0..6u64 {
        let hashes: Vec<u64> = (0..5).map(|b| i * 100 + b).collect();
        let seq = Seq {
            id: i,
            arrival: SimTime(0),
            input_tokens: 80,
            output_tokens: 3,
            prefix_hashes: Some(Arc::from(&hashes[..])),
            adapter: Some(Arc::from(if i % 2 == 0 { "a" } else { "b" })),
            kv_present_tokens: 0,
        };
        r.admit(seq, SimTime(0), &mut wakes);
        while let Some(w) = wakes.pop() {
            r.on_wake(w.at, w.token, &mut finished, &mut wakes);
        }
    }
    assert_eq!(finished.len(), 6);
    let before = r.counters();
    assert!(
        before.prefix_evicted_blocks > 0 && before.adapter_loads > 1,
        "{before:?}"
    );
    r.retire();
    assert_eq!(r.counters(), before);
    assert!(r.curves.is_empty() && r.prefix.is_none() && r.adapters.is_none());
}

/// The running list is walked every iteration and shifted on every
/// completion: what it holds inline stays within 80 bytes (it was 136
/// with the whole request inline), the request itself behind one box.
#[test]
fn a_running_sequence_keeps_only_its_hot_fields_inline() {
    assert!(std::mem::size_of::<RunSeq>() <= 80);
    assert_eq!(std::mem::size_of::<Box<seq::Cold>>(), 8);
}
