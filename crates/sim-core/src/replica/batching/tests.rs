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

/// The running list is shifted on every completion: what it holds inline
/// stays within 72 bytes (it was 136 with the whole request inline, 80
/// with two `Option<SimTime>`s and no decode-group step), the request
/// itself behind one box.
#[test]
fn a_running_sequence_keeps_only_its_hot_fields_inline() {
    assert!(std::mem::size_of::<RunSeq>() <= 72);
    assert_eq!(std::mem::size_of::<Box<seq::Cold>>(), 8);
}

/// A sequence of `input` prompt and `output` output tokens.
fn seq_of(id: u64, input: u32, output: u32) -> Seq {
    Seq {
        id,
        arrival: SimTime(0),
        input_tokens: input,
        output_tokens: output,
        prefix_hashes: None,
        adapter: None,
        kv_present_tokens: 0,
    }
}

/// What a replica showed a driver: every wake-up it asked for, every
/// request it finished, and its gauges before each arrival and at the end.
#[derive(Debug, PartialEq)]
struct Trace {
    wakes: Vec<(u64, u64)>,
    finished: Vec<Finished>,
    gauges: Vec<(u32, u32, u32, ReplicaCounters)>,
}

/// Runs `arrivals` (time ns, input, output) through `r` as the engine
/// would: wake-ups in time order, a wake-up before an arrival at the same
/// instant, stale ones delivered and ignored.
fn drive(mut r: BatchingReplica, arrivals: &[(u64, u32, u32)]) -> Trace {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut trace = Trace {
        wakes: Vec::new(),
        finished: Vec::new(),
        gauges: Vec::new(),
    };
    let (mut queue, mut wakes) = (BinaryHeap::new(), Vec::new());
    let mut next = 0;
    loop {
        let wake = queue.peek().map(|Reverse((at, _))| *at);
        let arrival = arrivals.get(next).map(|a| a.0);
        let wake_first = match (wake, arrival) {
            (None, None) => break,
            (Some(at), Some(a)) => at <= a,
            (Some(_), None) => true,
            (None, Some(_)) => false,
        };
        if wake_first {
            let Some(Reverse((at, token))) = queue.pop() else {
                break;
            };
            r.on_wake(SimTime(at), token, &mut trace.finished, &mut wakes);
        } else {
            let (at, input, output) = arrivals[next];
            let now = SimTime(at);
            let load = r.load();
            trace.gauges.push((
                r.used_blocks_at(now),
                load.waiting,
                load.running,
                r.counters(),
            ));
            r.admit(seq_of(next as u64, input, output), now, &mut wakes);
            next += 1;
        }
        for w in wakes.drain(..) {
            trace.wakes.push((w.at.0, w.token));
            queue.push(Reverse((w.at.0, w.token)));
        }
    }
    let load = r.load();
    let end = SimTime(trace.wakes.last().map_or(0, |w| w.0));
    trace.gauges.push((
        r.used_blocks_at(end),
        load.waiting,
        load.running,
        r.counters(),
    ));
    trace
}

fn perf() -> Arc<Roofline> {
    Arc::new(Roofline::new(
        gpu("h100-sxm").unwrap(),
        model("llama-3.1-8b").unwrap(),
        1,
        2.0,
        2.0,
        RooflineFactors::default(),
    ))
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(192))]

    /// The decode group is an optimisation only: with it, a replica asks
    /// for the same wake-ups, finishes the same requests with the same
    /// times, token counts, waits and preemptions, and shows the same
    /// gauges as the same replica walking every sequence every iteration,
    /// under tight and loose token budgets, KV caches and batch limits,
    /// every prefill and capacity scheduler, async scheduling and both
    /// stepping modes.
    #[test]
    fn the_decode_group_changes_nothing_but_the_cost(
        requests in proptest::collection::vec((0u64..30_000_000, 1u32..300, 1u32..300), 1..40),
        kv_cache_blocks in 4u32..200,
        block_size_tokens in proptest::sample::select(vec![1u32, 4, 16]),
        max_num_batched_tokens in proptest::sample::select(vec![8u32, 64, 512, 8192]),
        max_num_seqs in 1u32..40,
        prefill in proptest::sample::select(vec![
            PrefillScheduling::Chunked,
            PrefillScheduling::WholePrompt,
            PrefillScheduling::PrefillFirst,
        ]),
        guaranteed in proptest::bool::ANY,
        async_scheduling in proptest::bool::ANY,
        every_iteration in proptest::bool::ANY,
    ) {
        let config = Arc::new(BatchingConfig {
            max_num_seqs,
            max_num_batched_tokens,
            block_size_tokens,
            kv_cache_blocks,
            max_model_len_tokens: 4096,
            stepping: if every_iteration { Stepping::EveryIteration } else { Stepping::Jump },
            capacity_scheduler: if guaranteed {
                CapacityScheduler::GuaranteedNoEvict
            } else {
                CapacityScheduler::MaxUtilization
            },
            prefill,
            async_scheduling,
            prefix_cache: None,
            lora: None,
            forming: BatchForming::Continuous,
        });
        // Arrival gaps to times; requests that can never complete are
        // the engine's to reject, not the replica's.
        let mut t = 0;
        let arrivals: Vec<(u64, u32, u32)> = (requests.iter())
            .filter(|&&(_, i, o)| config.fits(i, o))
            .map(|&(gap, i, o)| {
                t += gap;
                (t, i, o)
            })
            .collect();
        // Any batch joins the group, so these small ones exercise it.
        let mut eager = BatchingReplica::new(Arc::clone(&config), perf());
        eager.join_from_running = 0;
        let lazy = drive(eager, &arrivals);
        let mut walking = BatchingReplica::new(Arc::clone(&config), perf());
        walking.lazy_decode = false;
        let walked = drive(walking, &arrivals);
        proptest::prop_assert_eq!(lazy.finished.len(), arrivals.len());
        proptest::prop_assert_eq!(lazy, walked);
    }
}

/// The group's block count over any span of steps equals the per-member
/// count it replaces, for members that joined at different steps and
/// phases.
#[test]
fn the_groups_block_need_is_the_sum_over_its_members() {
    let config = small_config(16);
    let mut group = group::DecodeGroup::default();
    let mut members: Vec<RunSeq> = Vec::new();
    let now = SimTime(0);
    for (i, computed) in [0u32, 1, 15, 16, 17, 31, 40, 100].into_iter().enumerate() {
        let mut s = RunSeq::new(seq_of(i as u64, computed + 1, 1_000), now);
        s.computed = computed;
        s.generated = 1;
        s.blocks = config.blocks_for(computed);
        group.join(&mut s, i as u64, now, &config);
        members.push(s);
        // Members join at different steps.
        group.advance(3, now, now, 0, members.iter());
    }
    let steps = 3 * members.len() as u32;
    for skip in 0..20u32 {
        for n in 0..40u32 {
            let expected: u64 = (members.iter().enumerate())
                .map(|(i, s)| {
                    let c = s.computed + (steps - 3 * i as u32) + skip;
                    u64::from(config.blocks_for(c + n) - config.blocks_for(c))
                })
                .sum();
            assert_eq!(
                group.blocks_needed(u64::from(skip), u64::from(n)),
                expected,
                "skip {skip}, n {n}"
            );
        }
    }
}

fn small_config(block_size_tokens: u32) -> BatchingConfig {
    BatchingConfig {
        max_num_seqs: 64,
        max_num_batched_tokens: 2048,
        block_size_tokens,
        kv_cache_blocks: 1_000,
        max_model_len_tokens: 4096,
        stepping: Stepping::Jump,
        capacity_scheduler: CapacityScheduler::MaxUtilization,
        prefill: PrefillScheduling::Chunked,
        async_scheduling: false,
        prefix_cache: None,
        lora: None,
        forming: BatchForming::Continuous,
    }
}

/// A member leaving the group takes the longest wait between the group's
/// tokens since it joined (its own earlier ones kept), its tokens and
/// blocks counted from its join step, and the group's last token time.
#[test]
fn a_member_leaves_with_the_longest_wait_since_it_joined() {
    let config = small_config(4);
    let mut group = group::DecodeGroup::default();
    let mut members: Vec<RunSeq> = Vec::new();
    // Waits since each member joined, the brute-force record.
    let mut seen: Vec<Vec<u64>> = Vec::new();
    let mut now = SimTime(1_000);
    // Runs of (steps, first wait, later wait): waits rise and fall.
    let runs = [
        (1, 50, 0),
        (5, 30, 70),
        (1, 20, 0),
        (3, 90, 40),
        (2, 10, 15),
        (1, 5, 0),
    ];
    for (r, &(steps, first_ns, later_ns)) in runs.iter().enumerate() {
        let mut s = RunSeq::new(seq_of(r as u64, 10, 1_000), now);
        s.computed = 10;
        s.generated = 1;
        s.blocks = config.blocks_for(10);
        s.itl_max_ns = 7 * r as u64;
        s.last_token = now;
        group.join(&mut s, r as u64, now, &config);
        members.push(s);
        seen.push(vec![7 * r as u64]);
        let first_at = SimTime(now.0 + first_ns);
        now = SimTime(first_at.0 + later_ns * (steps - 1));
        group.advance(steps, first_at, now, later_ns, members.iter());
        for w in &mut seen {
            w.push(first_ns);
            w.push(if steps > 1 { later_ns } else { 0 });
        }
    }
    let total_steps: u64 = runs.iter().map(|r| r.0).sum();
    let mut joined_steps = 0;
    for (i, (mut s, waits)) in members.into_iter().zip(seen).enumerate() {
        group.leave(&mut s, &config);
        let expected = waits.into_iter().max().unwrap();
        assert_eq!(s.itl_max_ns, expected, "member {i}");
        let steps = (total_steps - joined_steps) as u32;
        assert_eq!((s.computed, s.generated), (10 + steps, 1 + steps));
        assert_eq!(s.blocks, config.blocks_for(10 + steps));
        assert_eq!(s.last_token, now);
        joined_steps += runs[i].0;
    }
    assert_eq!(group.members(), 0);
}
