//! Prefix caching and LoRA adapter slots in the batching replica, through
//! the engine: hand-computed TTFTs, what the router is shown, and the
//! jump-equals-stepping invariant with both features on.
#![allow(clippy::unwrap_used)]

mod common;

use common::roofline;

use fleetsim_core::model::PrefillChunk;
use fleetsim_core::replica::adapters::LoraConfig;
use fleetsim_core::replica::batching::{
    BatchForming, BatchingConfig, CapacityScheduler, PrefillScheduling, Stepping,
};
use fleetsim_core::replica::prefix_cache::PrefixCacheConfig;
use fleetsim_core::replica::ReplicaLoad;
use fleetsim_core::workload::BoxedWorkload;
use fleetsim_core::{ReplicaSpec, Request, RunResult, SimTime, Simulation};
use proptest::prelude::*;
use std::sync::{Arc, Mutex};

const MS: u64 = 1_000_000;
const S: u64 = 1_000_000_000;

/// Least outstanding, lowest index on ties; records the loads it is shown.
#[derive(Debug, Default)]
struct Recording {
    seen: Arc<Mutex<Vec<Vec<ReplicaLoad>>>>,
    prefix: bool,
    adapters: bool,
}

impl fleetsim_core::Router for Recording {
    fn route(&mut self, _: &Request, loads: &[ReplicaLoad]) -> usize {
        self.seen.lock().unwrap().push(loads.to_vec());
        common::least_outstanding(loads)
    }
    fn wants_prefix_match(&self) -> bool {
        self.prefix
    }
    fn wants_adapters(&self) -> bool {
        self.adapters
    }
}

fn config(
    prefix: bool,
    lora: Option<(u32, u64)>,
    max_num_batched_tokens: u32,
    kv_cache_blocks: u32,
    stepping: Stepping,
) -> Arc<BatchingConfig> {
    Arc::new(BatchingConfig {
        max_num_seqs: 64,
        max_num_batched_tokens,
        block_size_tokens: 16,
        kv_cache_blocks,
        max_model_len_tokens: 131_072,
        stepping,
        capacity_scheduler: CapacityScheduler::MaxUtilization,
        prefill: PrefillScheduling::Chunked,
        async_scheduling: false,
        prefix_cache: prefix.then_some(PrefixCacheConfig { block_tokens: 512 }),
        lora: lora.map(|(max_loras, adapter_load_ns)| LoraConfig {
            max_loras,
            adapter_load_ns,
        }),
        forming: BatchForming::Continuous,
    })
}

/// A request at `t` ns with `hashes` and `adapter`.
fn req(t: u64, input: u32, output: u32, hashes: &[u64], adapter: Option<&str>) -> Request {
    let mut r = Request::new(SimTime(t), input, output);
    r.prefix_hashes = hashes.into();
    r.adapter = adapter.map(Into::into);
    r
}

fn run_with(
    requests: Vec<Request>,
    replicas: u32,
    config: Arc<BatchingConfig>,
    router: Recording,
) -> RunResult {
    let workload: BoxedWorkload = Box::new(requests.into_iter().map(Ok));
    let sim_config = common::config(common::fleet(
        replicas,
        ReplicaSpec::Batching {
            config,
            perf: roofline(),
        },
    ));
    Simulation::new(sim_config, workload, vec![Box::new(router)])
        .unwrap()
        .run()
        .unwrap()
}

fn run(requests: Vec<Request>, config: Arc<BatchingConfig>) -> RunResult {
    run_with(requests, 1, config, Recording::default())
}

fn prefill(new_tokens: u32, cached_tokens: u32) -> u64 {
    roofline()
        .mixed_step(
            0,
            0,
            &[PrefillChunk {
                new_tokens,
                cached_tokens,
            }],
        )
        .0
}

#[test]
fn a_cached_prefix_skips_its_prefill() {
    let requests = || {
        vec![
            req(0, 2048, 2, &[1, 2, 3, 4], None),
            // Shares four blocks: 2,048 tokens start as computed.
            req(10 * S, 2560, 2, &[1, 2, 3, 4, 5], None),
            // Shares only the first block: the third hit follows a miss.
            req(20 * S, 1536, 2, &[1, 9, 3], None),
        ]
    };
    let on = run(requests(), config(true, None, 8192, 10_000, Stepping::Jump));
    let off = run(
        requests(),
        config(false, None, 8192, 10_000, Stepping::Jump),
    );
    assert_eq!(on.records[0].ttft_ns, Some(prefill(2048, 0)));
    assert_eq!(on.records[1].ttft_ns, Some(prefill(512, 2048)));
    assert_eq!(on.records[2].ttft_ns, Some(prefill(1024, 512)));
    assert_eq!(off.records[1].ttft_ns, Some(prefill(2560, 0)));
    assert!(prefill(512, 2048) < prefill(2560, 0));
    let p = on.summary.prefix_cache.unwrap();
    assert_eq!(
        (
            p.lookups,
            p.query_blocks,
            p.hit_blocks,
            p.cached_prefill_tokens
        ),
        (3, 12, 5, 2048 + 512)
    );
    assert_eq!(p.query_tokens, 2048 + 2560 + 1536);
    assert_eq!(p.capacity_blocks_per_replica, 10_000 * 16 / 512);
    assert!(off.summary.prefix_cache.is_none());
    assert_eq!(on.replicas[0].counters.prefix_hit_blocks, 5);
}

#[test]
fn a_fully_cached_prompt_still_computes_its_last_token() {
    let r = run(
        vec![
            req(0, 1024, 2, &[1, 2], None),
            req(10 * S, 1024, 2, &[1, 2], None),
        ],
        config(true, None, 8192, 10_000, Stepping::Jump),
    );
    let p = r.summary.prefix_cache.unwrap();
    assert_eq!(p.cached_prefill_tokens, 1023);
    assert!(r.records[1].ttft_ns.unwrap() < r.records[0].ttft_ns.unwrap());
}

#[test]
fn the_cache_is_bounded_by_kv_capacity() {
    // 64 blocks of 16 tokens = 1,024 tokens = 2 prefix blocks of 512.
    let r = run(
        vec![
            req(0, 512, 2, &[1], None),
            req(10 * S, 512, 2, &[2], None),
            req(20 * S, 512, 2, &[3], None), // evicts 1
            req(30 * S, 600, 2, &[1, 4], None),
        ],
        config(true, None, 8192, 64, Stepping::Jump),
    );
    let p = r.summary.prefix_cache.unwrap();
    assert_eq!(p.capacity_blocks_per_replica, 2);
    assert_eq!(p.hit_blocks, 0);
    assert_eq!(p.evicted_blocks, 3);
}

#[test]
fn a_missing_adapter_costs_exactly_its_load_time() {
    let load = 250 * MS;
    let r = run(
        vec![
            req(0, 100, 2, &[], Some("a")),
            req(5 * S, 100, 2, &[], Some("a")),
            req(10 * S, 100, 2, &[], Some("b")), // evicts a
            req(15 * S, 100, 2, &[], None),
        ],
        config(false, Some((1, load)), 8192, 10_000, Stepping::Jump),
    );
    let ttft: Vec<u64> = r.records.iter().map(|x| x.ttft_ns.unwrap()).collect();
    let p = prefill(100, 0);
    assert_eq!(ttft, [p + load, p, p + load, p]);
    let a = r.summary.adapters.unwrap();
    assert_eq!((a.loads, a.evictions, a.max_loras), (2, 1, 1));
    assert!((a.adapter_load_ms - 250.0).abs() < 1e-9);
}

#[test]
fn max_loras_holds_back_other_adapters_but_not_the_loaded_one() {
    // a runs long; b cannot load while a is in use (one slot), so it waits
    // until a finishes; a later request for a is admitted ahead of it.
    let r = run(
        vec![
            req(0, 100, 200, &[], Some("a")),
            req(10 * MS, 100, 2, &[], Some("b")),
            req(20 * MS, 100, 2, &[], Some("a")),
        ],
        config(false, Some((1, MS)), 8192, 10_000, Stepping::Jump),
    );
    let queue = |i: usize| r.records[i].queue_ns.unwrap();
    let end0 = r.records[0].e2e_ns.unwrap();
    assert!(queue(2) < queue(1), "{} {}", queue(2), queue(1));
    assert!(
        10 * MS + queue(1) >= end0,
        "b starts after a's first request ends"
    );
    assert_eq!(r.summary.requests.completed, 3);
}

#[test]
fn the_router_sees_cached_blocks_and_held_adapters_only_when_it_asks() {
    let requests = || {
        vec![
            req(0, 1024, 2, &[1, 2], Some("a")),
            req(10 * S, 1536, 2, &[1, 2, 3], Some("a")),
            req(20 * S, 512, 2, &[], None),
        ]
    };
    let seen = Arc::new(Mutex::new(Vec::new()));
    let router = Recording {
        seen: Arc::clone(&seen),
        prefix: true,
        adapters: true,
    };
    run_with(
        requests(),
        2,
        config(true, Some((1, MS)), 8192, 10_000, Stepping::Jump),
        router,
    );
    let seen = seen.lock().unwrap();
    let view = |i: usize| -> Vec<(u32, bool)> {
        seen[i]
            .iter()
            .map(|l| (l.cached_prefix_blocks, l.has_adapter))
            .collect()
    };
    assert_eq!(view(0), [(0, false), (0, false)]);
    assert_eq!(view(1), [(2, true), (0, false)]);
    // No hashes, no adapter: nothing left over from the previous request.
    assert_eq!(view(2), [(0, false), (0, false)]);

    let seen = Arc::new(Mutex::new(Vec::new()));
    let router = Recording {
        seen: Arc::clone(&seen),
        ..Recording::default()
    };
    run_with(
        requests(),
        2,
        config(true, Some((1, MS)), 8192, 10_000, Stepping::Jump),
        router,
    );
    let seen = seen.lock().unwrap();
    assert!(seen
        .iter()
        .flatten()
        .all(|l| l.cached_prefix_blocks == 0 && !l.has_adapter));
}

/// Requests in a few sessions: a session's prompts share leading blocks.
fn arb_requests() -> impl Strategy<Value = Vec<Request>> {
    prop::collection::vec(
        (
            0u64..2_000_000_000,
            1u32..3_000,
            1u32..300,
            0u64..4,
            0usize..4,
        ),
        1..50,
    )
    .prop_map(|mut v| {
        v.sort_by_key(|r| r.0);
        v.into_iter()
            .map(|(t, input, output, session, adapter)| {
                let hashes: Vec<u64> = (0..u64::from(input.div_ceil(512)))
                    .map(|k| session * 1_000 + k)
                    .collect();
                let adapter = ["a", "b", "c"].get(adapter).copied();
                req(t, input, output, &hashes, adapter)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Jumping over steady decode equals stepping every iteration with
    /// prefix caching and adapter slots on, and outcomes add up.
    #[test]
    fn jump_equals_every_iteration_with_prefix_and_lora(
        requests in arb_requests(),
        replicas in 1u32..4,
        max_loras in 1u32..3,
        max_num_batched_tokens in 64u32..4096,
        kv_cache_blocks in 300u32..3_000,
    ) {
        let run_mode = |stepping| {
            let seen = Arc::new(Mutex::new(Vec::new()));
            let router = Recording { seen, prefix: true, adapters: true };
            let c = config(true, Some((max_loras, 30 * MS)), max_num_batched_tokens, kv_cache_blocks, stepping);
            run_with(requests.clone(), replicas, c, router)
        };
        let jump = run_mode(Stepping::Jump);
        let step = run_mode(Stepping::EveryIteration);
        prop_assert_eq!(&jump.records, &step.records);
        prop_assert_eq!(&jump.summary.prefix_cache, &step.summary.prefix_cache);
        prop_assert_eq!(&jump.summary.adapters, &step.summary.adapters);
        let s = &jump.summary.requests;
        prop_assert_eq!(s.arrived, requests.len() as u64);
        prop_assert_eq!(s.arrived, s.completed + s.rejected + s.timed_out + s.failed);
    }
}
