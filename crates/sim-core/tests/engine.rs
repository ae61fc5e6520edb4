//! Engine-level tests: closed-form decode jumps equal per-iteration
//! stepping, outcomes add up, and hand-computed single-request timelines.
#![allow(clippy::unwrap_used)]

mod common;

use common::{roofline, LeastOutstanding};

use fleetsim_core::model::PrefillChunk;
use fleetsim_core::replica::batching::{
    BatchForming, BatchingConfig, CapacityScheduler, PrefillScheduling, Stepping,
};
use fleetsim_core::workload::BoxedWorkload;
use fleetsim_core::{ReplicaSpec, Request, RunResult, SimTime, Simulation};
use proptest::prelude::*;
use std::sync::Arc;

fn batching(
    max_num_seqs: u32,
    max_num_batched_tokens: u32,
    kv_cache_blocks: u32,
    stepping: Stepping,
) -> Arc<BatchingConfig> {
    Arc::new(BatchingConfig {
        max_num_seqs,
        max_num_batched_tokens,
        block_size_tokens: 16,
        kv_cache_blocks,
        max_model_len_tokens: 131_072,
        stepping,
        capacity_scheduler: CapacityScheduler::MaxUtilization,
        prefill: PrefillScheduling::Chunked,
        async_scheduling: false,
        prefix_cache: None,
        lora: None,
        forming: BatchForming::Continuous,
    })
}

fn run(requests: Vec<(u64, u32, u32)>, replicas: u32, config: Arc<BatchingConfig>) -> RunResult {
    let workload: BoxedWorkload = Box::new(
        requests
            .into_iter()
            .map(|(t, i, o)| Ok(Request::new(SimTime(t), i, o)))
            .collect::<Vec<_>>()
            .into_iter(),
    );
    let sim_config = common::config(common::fleet(
        replicas,
        ReplicaSpec::Batching {
            config,
            perf: roofline(),
        },
    ));
    Simulation::new(sim_config, workload, vec![Box::new(LeastOutstanding)])
        .unwrap()
        .run()
        .unwrap()
}

#[test]
fn lone_request_timeline_is_prefill_then_decodes() {
    let perf = roofline();
    let result = run(
        vec![(1_000, 100, 5)],
        1,
        batching(256, 8192, 10_000, Stepping::Jump),
    );
    let r = &result.records[0];
    let prefill = perf.mixed_step(
        0,
        0,
        &[PrefillChunk {
            new_tokens: 100,
            cached_tokens: 0,
        }],
    );
    // Four decodes follow, at contexts 101..104 (the token being generated included).
    let curve = perf.decode_curve(1);
    let decodes: u64 = (101..105).map(|c| curve.step(c).0).sum();
    assert_eq!(r.queue_ns, Some(0));
    assert_eq!(r.ttft_ns, Some(prefill.0));
    assert_eq!(r.e2e_ns, Some(prefill.0 + decodes));
    assert_eq!(r.tpot_ns, Some(decodes / 4));
}

/// Async scheduling plans an iteration when the one before it starts: a
/// request that reaches a busy replica mid-iteration waits one more
/// decode step than with synchronous scheduling, in both stepping modes;
/// one that reaches an idle replica is scheduled at once.
#[test]
fn async_scheduling_admits_an_arrival_one_iteration_later() {
    let perf = roofline();
    let prefill = perf
        .mixed_step(
            0,
            0,
            &[PrefillChunk {
                new_tokens: 100,
                cached_tokens: 0,
            }],
        )
        .0;
    let curve = perf.decode_curve(1);
    // B arrives halfway through A's tenth decode step (context 110).
    let arrival_b =
        prefill + (101..110).map(|c| curve.step(c).0).sum::<u64>() + curve.step(110).0 / 2;
    let requests = vec![(0, 100, 50), (arrival_b, 100, 5)];
    for stepping in [Stepping::Jump, Stepping::EveryIteration] {
        let with = |async_scheduling| {
            let config = Arc::new(BatchingConfig {
                async_scheduling,
                ..(*batching(256, 8192, 10_000, stepping)).clone()
            });
            run(requests.clone(), 1, config)
        };
        let (sync, asynchronous) = (with(false), with(true));
        let queue = |r: &RunResult| r.records[1].queue_ns.unwrap();
        assert_eq!(
            queue(&asynchronous) - queue(&sync),
            curve.step(111).0,
            "{stepping:?}: one more decode step of A"
        );
        // A reached an idle replica: no wait either way.
        assert_eq!(sync.records[0].ttft_ns, Some(prefill));
        assert_eq!(asynchronous.records[0].ttft_ns, Some(prefill));
    }
}

#[test]
fn long_prompt_is_chunked_by_the_token_budget() {
    let perf = roofline();
    let result = run(
        vec![(0, 5_000, 1)],
        1,
        batching(256, 2048, 10_000, Stepping::Jump),
    );
    let chunk = |n, c| {
        perf.mixed_step(
            0,
            0,
            &[PrefillChunk {
                new_tokens: n,
                cached_tokens: c,
            }],
        )
        .0
    };
    assert_eq!(
        result.records[0].ttft_ns,
        Some(chunk(2048, 0) + chunk(2048, 2048) + chunk(904, 4096))
    );
    assert_eq!(result.summary.fleet.iterations, 3);
}

#[test]
fn request_larger_than_the_kv_cache_is_rejected() {
    // 10 blocks of 16 tokens = 160 tokens of KV.
    let result = run(
        vec![(0, 150, 20), (5, 100, 10)],
        1,
        batching(256, 8192, 10, Stepping::Jump),
    );
    let s = &result.summary.requests;
    assert_eq!((s.arrived, s.completed, s.rejected), (2, 1, 1));
    assert_eq!(result.records[0].outcome, fleetsim_core::Outcome::Rejected);
}

#[test]
fn kv_pressure_preempts_the_newest_and_everyone_still_completes() {
    // Two 60-token prompts that each grow to 160 tokens in 16 blocks of 16:
    // they cannot both fit, so the newer one is preempted and recomputed.
    let result = run(
        vec![(0, 60, 100), (0, 60, 100)],
        1,
        batching(256, 8192, 12, Stepping::Jump),
    );
    assert_eq!(result.summary.requests.completed, 2);
    assert!(result.summary.fleet.preemptions >= 1);
    assert_eq!(
        result.records[0].preemptions, 0,
        "the oldest is never the victim"
    );
    assert!(result.records[1].preemptions >= 1);
}

#[test]
fn guaranteed_no_evict_waits_instead_of_preempting() {
    // The same two requests as above: reserving each one's 10 final blocks
    // admits the second only once the first has finished, so nobody is
    // preempted and the second waits for the first's whole run.
    let no_evict = |stepping| {
        Arc::new(BatchingConfig {
            capacity_scheduler: CapacityScheduler::GuaranteedNoEvict,
            ..(*batching(256, 8192, 12, stepping)).clone()
        })
    };
    for stepping in [Stepping::Jump, Stepping::EveryIteration] {
        let result = run(vec![(0, 60, 100), (0, 60, 100)], 1, no_evict(stepping));
        assert_eq!(result.summary.requests.completed, 2);
        assert_eq!(result.summary.fleet.preemptions, 0);
        let first_end = result.records[0].e2e_ns.unwrap();
        assert!(
            result.records[1].queue_ns.unwrap() >= first_end,
            "the second starts after the first ends: queued {:?}, first ended at {first_end}",
            result.records[1].queue_ns
        );
    }
    // With room for both (20 blocks), reserving changes nothing: the
    // second joins at the first iteration boundary, as without reserving.
    let roomy = Arc::new(BatchingConfig {
        capacity_scheduler: CapacityScheduler::GuaranteedNoEvict,
        ..(*batching(256, 8192, 20, Stepping::Jump)).clone()
    });
    let reserved = run(vec![(0, 60, 100), (0, 60, 100)], 1, roomy);
    let packed = run(
        vec![(0, 60, 100), (0, 60, 100)],
        1,
        batching(256, 8192, 20, Stepping::Jump),
    );
    assert_eq!(reserved.records, packed.records);
    assert!(
        reserved.records[1].queue_ns.unwrap() < reserved.records[0].e2e_ns.unwrap(),
        "both run at once"
    );
}

#[test]
fn a_kv_cache_too_small_for_the_batch_is_reported_as_preemption_bound() {
    // Eight requests that each grow to 900 tokens on 120 blocks of 16
    // (1,920 tokens): packing admits them all and preempts over and over.
    let requests: Vec<(u64, u32, u32)> = (0..8).map(|_| (0, 400, 500)).collect();
    let packed = run(
        requests.clone(),
        1,
        batching(256, 8192, 120, Stepping::Jump),
    );
    let f = &packed.summary.fleet;
    assert_eq!(packed.summary.requests.completed, 8);
    assert!(f.preemptions > 0 && f.recomputed_tokens > 0, "{f:?}");
    // The share is what was redone over all the work done.
    let needed = 8.0 * 900.0;
    let share = f.recomputed_tokens as f64 / (needed + f.recomputed_tokens as f64);
    assert!((f.recompute_share - share).abs() < 1e-12);
    assert!(f.recompute_share >= fleetsim_core::summary::PREEMPTION_BOUND_SHARE);
    assert!(f.preemption_bound);
    // Reserving each request's KV at admission redoes nothing.
    let reserved = Arc::new(BatchingConfig {
        capacity_scheduler: CapacityScheduler::GuaranteedNoEvict,
        ..(*batching(256, 8192, 120, Stepping::Jump)).clone()
    });
    let r = run(requests, 1, reserved);
    let f = &r.summary.fleet;
    assert_eq!(r.summary.requests.completed, 8);
    assert_eq!((f.preemptions, f.recomputed_tokens), (0, 0));
    assert!(!f.preemption_bound);
}

fn arb_workload() -> impl Strategy<Value = Vec<(u64, u32, u32)>> {
    prop::collection::vec((0u64..2_000_000_000, 1u32..3_000, 1u32..400), 1..60).prop_map(|mut v| {
        v.sort_by_key(|r| r.0);
        v
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The architecture invariant: jumping over steady decode gives exactly
    /// the per-request results of stepping every iteration, with fewer events.
    #[test]
    fn jump_equals_every_iteration(
        requests in arb_workload(),
        replicas in 1u32..4,
        max_num_seqs in 1u32..64,
        max_num_batched_tokens in 64u32..4096,
        kv_cache_blocks in 300u32..3_000,
        prefill in prop_oneof![
            Just(PrefillScheduling::Chunked),
            Just(PrefillScheduling::WholePrompt),
            Just(PrefillScheduling::PrefillFirst),
        ],
        no_evict in any::<bool>(),
        async_scheduling in any::<bool>(),
    ) {
        let config = |stepping| Arc::new(BatchingConfig {
            prefill,
            async_scheduling,
            capacity_scheduler: if no_evict {
                CapacityScheduler::GuaranteedNoEvict
            } else {
                CapacityScheduler::MaxUtilization
            },
            ..(*batching(max_num_seqs, max_num_batched_tokens, kv_cache_blocks, stepping)).clone()
        });
        let jump = run(requests.clone(), replicas, config(Stepping::Jump));
        let step = run(requests.clone(), replicas, config(Stepping::EveryIteration));
        prop_assert_eq!(&jump.records, &step.records);
        prop_assert_eq!(jump.summary.fleet.iterations, step.summary.fleet.iterations);
        prop_assert_eq!(jump.summary.fleet.preemptions, step.summary.fleet.preemptions);
        prop_assert!(jump.summary.sim.events <= step.summary.sim.events);
        let s = &jump.summary.requests;
        prop_assert_eq!(s.arrived, requests.len() as u64);
        prop_assert_eq!(s.arrived, s.completed + s.rejected + s.timed_out + s.failed);
    }
}

#[test]
fn the_longest_wait_between_tokens_is_the_stall_a_whole_prompt_causes() {
    // A answers 400 tokens; B's 6,000-token prompt arrives 100 ms in.
    let requests = vec![(0, 100, 400), (100_000_000, 6_000, 2)];
    let with = |prefill, budget| {
        let config = Arc::new(BatchingConfig {
            prefill,
            ..(*batching(256, budget, 10_000, Stepping::Jump)).clone()
        });
        run(requests.clone(), 1, config)
    };
    // Alone, A's longest wait is its slowest decode step: about its mean.
    let alone = run(
        vec![requests[0]],
        1,
        batching(256, 8192, 10_000, Stepping::Jump),
    );
    let a = &alone.records[0];
    let (tpot, itl_max) = (a.tpot_ns.unwrap(), a.itl_max_ns.unwrap());
    assert!(
        tpot <= itl_max && itl_max < tpot + tpot / 10,
        "{tpot} {itl_max}"
    );

    for prefill in [
        PrefillScheduling::WholePrompt,
        PrefillScheduling::PrefillFirst,
    ] {
        let r = with(prefill, 8192);
        let (a, b) = (&r.records[0], &r.records[1]);
        // B's prompt is computed in the one iteration that ends with its
        // first token; A waits for all of it.
        let prefill_ns = b.ttft_ns.unwrap() - b.queue_ns.unwrap();
        assert!(
            a.itl_max_ns.unwrap() >= prefill_ns,
            "{prefill:?}: {:?} < {prefill_ns}",
            a.itl_max_ns
        );
        assert!(a.itl_max_ns.unwrap() > 5 * itl_max);
    }
    // In 512-token chunks the stall is a chunk's, not the prompt's.
    let chunked = with(PrefillScheduling::Chunked, 512);
    let whole = with(PrefillScheduling::WholePrompt, 8192);
    let stall = |r: &RunResult| r.records[0].itl_max_ns.unwrap();
    assert!(
        4 * stall(&chunked) < stall(&whole),
        "{} vs {}",
        stall(&chunked),
        stall(&whole)
    );
}

/// A static batch waits to be full, runs to completion and takes no
/// arrival on the way: A waits for B; A's early finish leaves its slot
/// empty, so C, arriving during the batch, waits for it to end and then,
/// alone, for the batch timeout. Dynamic batching sends A alone after its
/// queue delay. The same in both stepping modes.
#[test]
fn a_formed_batch_waits_runs_to_completion_and_is_not_refilled() {
    const MS: u64 = 1_000_000;
    let requests = vec![(0, 100, 3), (10 * MS, 100, 20), (20 * MS, 100, 2)];
    let with = |forming: BatchForming, stepping| {
        let config = Arc::new(BatchingConfig {
            forming,
            ..(*batching(8, 8192, 10_000, stepping)).clone()
        });
        run(requests.clone(), 1, config)
    };
    let fixed = BatchForming::Static {
        batch_size: 2,
        max_batch_wait: fleetsim_core::SimDuration(1_000 * MS),
    };
    for stepping in [Stepping::Jump, Stepping::EveryIteration] {
        let r = with(fixed.clone(), stepping).records;
        let (a, b, c) = (&r[0], &r[1], &r[2]);
        assert_eq!((a.queue_ns, b.queue_ns), (Some(10 * MS), Some(0)));
        // Prefilled together: one first token for both.
        assert_eq!(
            a.arrival.0 + a.ttft_ns.unwrap(),
            b.arrival.0 + b.ttft_ns.unwrap()
        );
        let end = |x: &fleetsim_core::metrics::RequestRecord| x.arrival.0 + x.e2e_ns.unwrap();
        assert!(end(a) < end(b));
        // C: after B's end, it waits alone for the timeout from its arrival.
        assert!(end(b) < c.arrival.0 + 1_000 * MS);
        assert_eq!(c.queue_ns, Some(1_000 * MS));
        let dynamic = BatchForming::Dynamic {
            preferred_batch_sizes: vec![2],
            max_queue_delay: fleetsim_core::SimDuration(5 * MS),
        };
        let d = with(dynamic, stepping).records;
        assert_eq!(d[0].queue_ns, Some(5 * MS));
        // Continuous batching admits C at the next iteration boundary.
        let cont = with(BatchForming::Continuous, stepping).records;
        assert!(
            cont[2].queue_ns.unwrap() < 20 * MS,
            "{:?}",
            cont[2].queue_ns
        );
    }
}
