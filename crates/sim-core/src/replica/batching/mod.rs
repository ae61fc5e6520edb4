//! A vLLM-V1-like continuous-batching replica.
//!
//! Each iteration the scheduler walks the running list in admission order,
//! giving every sequence the tokens it still needs (one for a decode, a chunk
//! for a partly computed prompt) under the `max_num_batched_tokens` budget,
//! then admits waiting requests first-come first-served while the budget,
//! `max_num_seqs` and free KV blocks allow. KV is paged in blocks of
//! `block_size_tokens`; when a sequence's next tokens need a block and none is
//! free, the newest running sequence is preempted (its blocks freed, its
//! progress recomputed later, as vLLM V1's RECOMPUTE mode does), and no
//! waiting request is admitted in that iteration.
//!
//! **Prefill scheduling** ([`PrefillScheduling`]). By default a prompt longer
//! than the budget left is split into chunks. `WholePrompt` computes a prompt
//! in one iteration or leaves it waiting; `PrefillFirst` (vLLM V0) admits
//! before it decodes, and an iteration that admits anything decodes nothing.
//! The plan of one iteration is in `plan.rs`.
//!
//! **Steady decode.** When an iteration is pure decode over the whole running
//! batch, nothing about the batch can change until the first sequence
//! completes, the KV cache runs out, or a request arrives. The replica then
//! plans the whole run of iterations up to the first two of those at once
//! and sums their durations in closed form ([`DecodeCurve::sum_steps`]); an
//! arrival cuts the run at the first iteration boundary at or after it. The
//! `EveryIteration` stepping mode schedules one iteration at a time instead
//! and must give identical results (a property test checks this).
//!
//! **Decode group** (`group.rs`). While at least 8 sequences run, a
//! decoding sequence in step with the others joins a group that is advanced
//! by one step counter; its counts are written back only when it completes
//! or a preemption (or a budget that runs out before it) dissolves the
//! group. Planning visits only the sequences outside the group, so a decode
//! run and its end cost O(log batch) plus those few; the results are those
//! of walking every sequence (a property test checks this).
//!
//! **Batch forming** ([`BatchForming`], `forming.rs`): static and dynamic
//! batching admit only while forming a batch and run it to completion.

use super::adapters::AdapterSlots;
use super::prefix_cache::PrefixCache;
use super::{Aborted, Finished, ReplicaCounters, ReplicaLoad, Seq, Wake};
use crate::model::perf::{DecodeCurve, PerfModel, PrefillChunk};
use crate::time::{SimDuration, SimTime};
use std::collections::VecDeque;
use std::sync::Arc;

mod complete;
mod config;
mod forming;
mod group;
mod plan;
mod seq;
pub use config::{BatchingConfig, CapacityScheduler, PrefillScheduling, Stepping};
pub use forming::{BatchForming, Formed};
use group::{DecodeGroup, NOT_JOINED};
use plan::{Admission, Plan};
use seq::RunSeq;

/// Running sequences from which steady decoders join the decode group.
/// Measured (`docs/performance.md`, 2026-12-08): joining from 8 costs
/// kpa-concurrency no more instructions than joining always, and
/// azure-conv's small batches then never pay the group's bookkeeping.
const JOIN_FROM_RUNNING: usize = 8;

/// `d` stretched by the warm-up factor, if any.
fn scale(d: SimDuration, factor: Option<f64>) -> SimDuration {
    match factor {
        None => d,
        Some(f) => SimDuration::try_from_secs_f64(d.as_secs_f64() * f)
            .unwrap_or(SimDuration(u64::MAX))
            .max(d),
    }
}

#[derive(Clone, Copy, Debug)]
enum Current {
    Idle,
    /// One iteration with prefill work; per-sequence tokens in `scheduled`.
    Mixed {
        start: SimTime,
        end: SimTime,
    },
    /// Static or dynamic batching: nothing runs, and the queue waits for
    /// more requests until `until` (`forming.rs`).
    Forming {
        until: SimTime,
    },
    /// `steps` pure-decode iterations over `batch` sequences (those with
    /// `scheduled > 0`), starting at total context `context0`.
    Decode {
        start: SimTime,
        end: SimTime,
        steps: u64,
        batch: u32,
        context0: u64,
    },
}

/// A continuous-batching replica. See the module docs.
#[derive(Debug)]
pub struct BatchingReplica {
    config: Arc<BatchingConfig>,
    perf: Arc<dyn PerfModel>,
    /// In admission order (`Cold::key` ascending).
    running: Vec<RunSeq>,
    waiting: VecDeque<RunSeq>,
    /// Steady decoders advanced together (`group.rs`), and the positions
    /// in `running` of the sequences outside it, ascending.
    /// Boxed: the `Replica` enum stays small.
    group: Box<DecodeGroup>,
    active: Vec<u32>,
    /// Whether the group advances in the iteration in progress.
    group_scheduled: bool,
    /// Whether sequences may join the group; off, every iteration walks
    /// every sequence (the reference the group is tested against).
    lazy_decode: bool,
    /// Sequences join the group only while at least this many run: below
    /// it, walking them costs less than the group's bookkeeping.
    join_from_running: usize,
    next_key: u64,
    free_blocks: u32,
    current: Current,
    /// Token of the only wake-up that is current; older ones are stale.
    epoch: u64,
    curves: Vec<Option<DecodeCurve>>,
    chunks: Vec<PrefillChunk>,
    counters: ReplicaCounters,
    /// Boxed like the caches below: most replicas have none.
    warmup: Option<Box<Warmup>>,
    /// Boxed: most replicas have neither, and the `Replica` enum stays small.
    prefix: Option<Box<PrefixCache>>,
    adapters: Option<Box<AdapterSlots>>,
    /// Static or dynamic batching: members of the batch in progress not
    /// admitted yet (0 with continuous batching).
    batch_open: u32,
}

/// A freshly started replica's slow first iterations.
#[derive(Clone, Copy, Debug)]
struct Warmup {
    /// Iteration-time multiplier while warming up.
    factor: f64,
    /// Completions still to come before the request count is satisfied.
    requests_left: u32,
    /// The time window ends here.
    until: SimTime,
    /// When the request count was satisfied, if it was.
    requests_done_at: Option<SimTime>,
}

impl BatchingReplica {
    /// An empty replica.
    pub fn new(config: Arc<BatchingConfig>, perf: Arc<dyn PerfModel>) -> Self {
        let free_blocks = config.kv_cache_blocks;
        BatchingReplica {
            perf,
            running: Vec::new(),
            waiting: VecDeque::new(),
            group: Box::default(),
            active: Vec::new(),
            group_scheduled: false,
            lazy_decode: true,
            join_from_running: JOIN_FROM_RUNNING,
            next_key: 0,
            free_blocks,
            current: Current::Idle,
            epoch: 0,
            curves: Vec::new(),
            chunks: Vec::new(),
            counters: ReplicaCounters::default(),
            warmup: None,
            prefix: config
                .prefix_cache
                .map(|_| Box::new(PrefixCache::new(config.prefix_cache_capacity_blocks()))),
            adapters: config
                .lora
                .as_ref()
                .map(|l| Box::new(AdapterSlots::new(l.max_loras))),
            batch_open: 0,
            config,
        }
    }

    /// Leading blocks of `hashes` the prefix cache holds (0 without one).
    pub fn cached_prefix_blocks(&self, hashes: &[u64]) -> u32 {
        self.prefix.as_ref().map_or(0, |p| p.match_len(hashes))
    }

    /// Whether LoRA adapter `name` is held (`false` without LoRA).
    pub fn has_adapter(&self, name: &str) -> bool {
        self.adapters.as_ref().is_some_and(|a| a.holds(name))
    }

    /// Prefix blocks found for `s` and the tokens they let it skip: the
    /// leading run of its hashes in the cache, times the prefix block size,
    /// capped so at least one prompt token is computed (its logits give the
    /// first output token).
    fn prefix_match(&self, s: &RunSeq) -> (u32, u32) {
        let (Some(cache), Some(pc)) = (&self.prefix, self.config.prefix_cache) else {
            return (0, 0);
        };
        let blocks = cache.match_len(s.cold.seq.hashes());
        let tokens = (u64::from(blocks) * u64::from(pc.block_tokens))
            .min(u64::from(s.input_tokens.saturating_sub(1))) as u32;
        (blocks, tokens)
    }

    /// Queue and batch sizes.
    pub fn load(&self) -> ReplicaLoad {
        ReplicaLoad {
            waiting: self.waiting.len() as u32,
            running: self.running.len() as u32,
            ..ReplicaLoad::default()
        }
    }

    /// Busy time up to `now`, ns. The counter books an iteration (or a
    /// planned run of them) whole when it starts; the part still ahead of
    /// `now` is not spent yet, which matters to a time series sampled in
    /// the middle of one.
    pub fn busy_ns_at(&self, now: SimTime) -> u64 {
        let ahead = match self.current {
            Current::Idle | Current::Forming { .. } => 0,
            Current::Mixed { end, .. } | Current::Decode { end, .. } => end.0.saturating_sub(now.0),
        };
        self.counters.busy_ns.saturating_sub(ahead)
    }

    /// Frees what only a serving replica needs (decode curves, the prefix
    /// cache, adapter slots, queue capacity) once it is terminated, keeping
    /// its counters: a long autoscaled run creates replicas by the
    /// thousand, and memory should follow the live ones.
    pub fn retire(&mut self) {
        self.counters = self.counters();
        self.prefix = None;
        self.adapters = None;
        self.curves = Vec::new();
        self.chunks = Vec::new();
        self.running = Vec::new();
        self.waiting = VecDeque::new();
        self.clear_group();
        self.active = Vec::new();
    }

    /// Busy time and work so far.
    pub fn counters(&self) -> ReplicaCounters {
        let mut c = self.counters;
        if let Some(p) = &self.prefix {
            c.prefix_evicted_blocks = p.evictions();
        }
        if let Some(a) = &self.adapters {
            c.adapter_loads = a.loads();
            c.adapter_evictions = a.evictions();
        }
        c
    }

    /// Starts the warm-up of a replica that just became ready at `now`:
    /// until its first `requests` completions and for `duration` (whichever
    /// lasts longer), every iteration takes `factor` times as long. Warm-up
    /// iterations are never jumped over, so both stepping modes agree.
    pub fn begin_warmup(
        &mut self,
        now: SimTime,
        requests: u32,
        duration: SimDuration,
        factor: f64,
    ) {
        if !(factor.is_finite() && factor > 1.0) {
            return;
        }
        self.warmup = Some(Box::new(Warmup {
            factor,
            requests_left: requests,
            until: now + duration,
            requests_done_at: (requests == 0).then_some(now),
        }));
    }

    /// When the warm-up ended (`None`: it had none, or it has not ended by
    /// `now`).
    pub fn warmup_ended(&self, now: SimTime) -> Option<SimTime> {
        let w = self.warmup.as_deref()?;
        let done = w.requests_done_at?;
        let end = done.max(w.until);
        (end <= now).then_some(end)
    }

    /// The iteration-time multiplier at `now`: the warm-up factor while
    /// warming up, else 1.
    fn slowdown(&self, now: SimTime) -> Option<f64> {
        let w = self.warmup.as_deref()?;
        (w.requests_left > 0 || now < w.until).then_some(w.factor)
    }

    /// Fraction of the KV cache held by sequences (0 with no cache).
    pub fn kv_cache_usage(&self) -> f64 {
        let total = self.config.kv_cache_blocks;
        if total == 0 {
            0.0
        } else {
            f64::from(self.used_blocks()) / f64::from(total)
        }
    }

    /// KV blocks currently held by sequences.
    pub fn used_blocks(&self) -> u32 {
        self.config.kv_cache_blocks - self.free_blocks
    }

    /// KV blocks held at `now` as stepping every iteration holds them. A
    /// planned decode run allocates only its first iteration's blocks when
    /// it starts and the rest when it ends; stepping allocates each
    /// iteration's blocks as that iteration starts, so mid-run a gauge read
    /// from [`Self::used_blocks`] would lag behind by the iterations done.
    pub fn used_blocks_at(&self, now: SimTime) -> u32 {
        let Some(started) = self.decode_iterations_started(now) else {
            return self.used_blocks();
        };
        let outside: u32 = (self.active.iter())
            .map(|&p| &self.running[p as usize])
            .filter(|s| s.scheduled > 0)
            .map(|s| (self.config.blocks_for(s.computed + started)).saturating_sub(s.blocks))
            .sum();
        let members = match self.group_scheduled {
            true => self.group.blocks_needed(1, u64::from(started) - 1) as u32,
            false => 0,
        };
        self.used_blocks() + outside + members
    }

    /// In a planned decode run of more than one iteration, how many of its
    /// iterations have started by `now` (those done, and the one in
    /// progress): what stepping every iteration would have planned, counted
    /// and allocated blocks for. An iteration ending exactly at `now` is
    /// done: its wake-up runs before anything else at that instant.
    /// `None` outside such a run.
    fn decode_iterations_started(&self, now: SimTime) -> Option<u32> {
        let Current::Decode {
            start,
            end,
            steps,
            batch,
            context0,
        } = self.current
        else {
            return None;
        };
        if steps <= 1 || now >= end {
            return None;
        }
        let built;
        let curve = match self.curves.get(batch as usize).and_then(Option::as_ref) {
            Some(c) => c,
            None => {
                built = self.perf.decode_curve(batch);
                &built
            }
        };
        let elapsed = now.saturating_since(start);
        let growth = u64::from(batch);
        let m = curve.steps_to_reach(context0, growth, steps, elapsed);
        let done = if curve.sum_steps(context0, growth, m) == elapsed {
            m
        } else {
            m - 1
        };
        Some((done + 1).min(steps) as u32)
    }

    /// [`Self::kv_cache_usage`] at `now`, as stepping every iteration shows
    /// it (see [`Self::used_blocks_at`]).
    pub fn kv_cache_usage_at(&self, now: SimTime) -> f64 {
        let total = self.config.kv_cache_blocks;
        if total == 0 {
            0.0
        } else {
            f64::from(self.used_blocks_at(now)) / f64::from(total)
        }
    }

    /// Stops the replica at `now`: every sequence it holds, running or
    /// waiting, leaves without completing (a drain that ran out of time, or
    /// a node that went away). The iteration in progress is cut at `now`.
    pub fn abort_all(&mut self, now: SimTime) -> Vec<Aborted> {
        let end = match self.current {
            Current::Idle | Current::Forming { .. } => now,
            Current::Mixed { end, .. } | Current::Decode { end, .. } => end,
        };
        // Time and iterations planned past `now` were never spent.
        if let (Some(started), Current::Decode { steps, .. }) =
            (self.decode_iterations_started(now), self.current)
        {
            self.counters.iterations -= steps - u64::from(started);
        }
        self.counters.busy_ns -= end.0.saturating_sub(now.0).min(self.counters.busy_ns);
        self.current = Current::Idle;
        self.batch_open = 0;
        self.epoch += 1; // the pending wake-up is stale now
        self.free_blocks = self.config.kv_cache_blocks;
        if let Some(a) = self.adapters.as_mut() {
            a.release_all();
        }
        self.clear_group();
        self.active.clear();
        self.running
            .drain(..)
            .chain(self.waiting.drain(..))
            .map(|s| Aborted {
                seq: s.cold.seq,
                first_scheduled: s.first_scheduled.get(),
                first_token: s.first_token.get(),
                preemptions: s.cold.preemptions,
            })
            .collect()
    }

    /// Queues a request; starts an iteration if the replica was idle, or
    /// cuts a planned decode run at the next iteration boundary.
    pub fn admit(&mut self, seq: Seq, now: SimTime, wakes: &mut Vec<Wake>) {
        self.waiting.push_back(RunSeq::new(seq, now));
        match self.current {
            // A forming batch may be ready now.
            Current::Idle | Current::Forming { .. } => self.schedule(now, now, wakes),
            Current::Mixed { .. } => {}
            Current::Decode {
                start,
                end,
                steps,
                batch,
                context0,
            } => {
                // A closed batch takes no arrival: its run goes on.
                if steps > 1 && !self.batch_closed() {
                    let async_scheduling = self.config.async_scheduling;
                    let curve = self.curve(batch);
                    let elapsed = now.saturating_since(start);
                    let m = curve.steps_to_reach(context0, u64::from(batch), steps, elapsed);
                    // With async scheduling the arrival joins the first
                    // iteration planned (started by its predecessor) at
                    // or after it: one step past the boundary.
                    let m = match (async_scheduling, elapsed.0) {
                        (false, _) => m,
                        (true, 0) => 1,
                        (true, _) => (m + 1).min(steps),
                    };
                    if m < steps {
                        let new_end = start + curve.sum_steps(context0, u64::from(batch), m);
                        self.counters.busy_ns -= end.0 - new_end.0;
                        self.counters.iterations -= steps - m;
                        self.current = Current::Decode {
                            start,
                            end: new_end,
                            steps: m,
                            batch,
                            context0,
                        };
                        self.push_wake(new_end, wakes);
                    }
                }
            }
        }
    }

    /// Completes the iteration (or decode run) in progress and starts the next.
    pub fn on_wake(
        &mut self,
        now: SimTime,
        token: u64,
        finished: &mut Vec<Finished>,
        wakes: &mut Vec<Wake>,
    ) {
        if token != self.epoch {
            return; // superseded by a later plan
        }
        // vLLM's async scheduler planned this iteration when the last one
        // started, if anything was running to plan it for; an idle
        // engine plans at once.
        let last_step_start = match self.config.async_scheduling {
            true => self.last_step_start(),
            false => None,
        };
        self.complete_current(now, finished);
        let queued_by = match last_step_start {
            Some(t) if !self.running.is_empty() => t,
            _ => now,
        };
        self.schedule(now, queued_by, wakes);
    }

    /// When the last iteration of the plan in progress started.
    fn last_step_start(&mut self) -> Option<SimTime> {
        match self.current {
            Current::Idle | Current::Forming { .. } => None,
            Current::Mixed { start, .. } => Some(start),
            Current::Decode {
                start, steps: 1, ..
            } => Some(start),
            Current::Decode {
                start,
                steps,
                batch,
                context0,
                ..
            } => Some(
                start
                    + self
                        .curve(batch)
                        .sum_steps(context0, u64::from(batch), steps - 1),
            ),
        }
    }

    /// Whether a wake-up with `token` is still the one this replica waits
    /// for (an arrival that cuts a decode run, or an abort, leaves the old
    /// one queued and stale).
    pub fn wake_is_current(&self, token: u64) -> bool {
        token == self.epoch && !matches!(self.current, Current::Idle)
    }

    fn push_wake(&mut self, at: SimTime, wakes: &mut Vec<Wake>) {
        self.epoch += 1;
        wakes.push(Wake {
            at,
            token: self.epoch,
        });
    }

    /// The decode curve for `batch` sequences, built once per batch size.
    /// Borrowed, not cloned: a clone allocates, and this runs on every
    /// decode plan and every arrival that cuts one.
    fn curve(&mut self, batch: u32) -> &DecodeCurve {
        let i = batch as usize;
        if self.curves.len() <= i {
            self.curves.resize(i + 1, None);
        }
        let perf = &self.perf;
        self.curves[i].get_or_insert_with(|| perf.decode_curve(batch))
    }

    /// Runs the scheduler for one iteration starting at `now`, admitting
    /// waiting requests that reached the replica by `queued_by`.
    fn schedule(&mut self, now: SimTime, queued_by: SimTime, wakes: &mut Vec<Wake>) {
        let config = Arc::clone(&self.config);
        let max_seqs = match config.forming {
            BatchForming::Continuous => config.max_num_seqs,
            _ => match self.batch_seats(now, wakes) {
                Some(seats) => seats,
                None => return,
            },
        };
        let mut plan = Plan {
            budget: config.max_num_batched_tokens,
            max_seqs,
            decode_seqs: 0,
            decode_context: 0,
            all_have_first_token: true,
            queued_by,
        };
        self.chunks.clear();
        // Prefill first: an iteration that admits a prompt computes
        // nothing else; decodes run only when no prompt can be admitted.
        let preemptions_before = self.counters.preemptions;
        let (preempted, all_running_scheduled, admission) = match config.prefill {
            PrefillScheduling::PrefillFirst => {
                let admission = self.admit_waiting(&mut plan, &config);
                if admission.admitted > 0 {
                    (false, false, admission)
                } else {
                    let (preempted, all) = self.schedule_running(&mut plan, &config);
                    (preempted, all, Admission::default())
                }
            }
            PrefillScheduling::Chunked | PrefillScheduling::WholePrompt => {
                let (preempted, all) = self.schedule_running(&mut plan, &config);
                // An iteration that preempted admits nothing (vLLM V1).
                let admission = if preempted {
                    Admission::default()
                } else {
                    self.admit_waiting(&mut plan, &config)
                };
                (preempted, all, admission)
            }
        };
        if !matches!(config.forming, BatchForming::Continuous) {
            let victims = self.counters.preemptions - preemptions_before;
            self.note_batch_plan(admission.admitted, victims as u32);
        }
        let load_ns = admission.load_ns;
        let load = SimDuration(load_ns);
        let Plan {
            decode_seqs,
            decode_context,
            all_have_first_token,
            ..
        } = plan;

        if decode_seqs == 0 && self.chunks.is_empty() {
            if queued_by < now && !self.waiting.is_empty() {
                // An empty plan is not run: the engine plans again at once.
                return self.schedule(now, now, wakes);
            }
            // Nothing fits this iteration: only possible with nothing to do.
            self.current = Current::Idle;
            return;
        }
        // The group's members were scheduled before they joined.
        let first_scheduled = |s: &mut RunSeq| {
            if s.scheduled > 0 {
                s.first_scheduled.note(now);
            }
        };
        match self.group.members() {
            0 => self.running.iter_mut().for_each(first_scheduled),
            _ => (self.active.iter()).for_each(|&p| first_scheduled(&mut self.running[p as usize])),
        }

        if !self.chunks.is_empty() {
            let d = scale(
                self.perf
                    .mixed_step(decode_seqs, decode_context, &self.chunks),
                self.slowdown(now),
            ) + load;
            // A zero-length iteration would stall time; one nanosecond keeps it moving.
            let end = now + d.max(SimDuration(1));
            self.counters.busy_ns += end.0 - now.0;
            self.counters.iterations += 1;
            self.current = Current::Mixed { start: now, end };
            self.push_wake(end, wakes);
            return;
        }

        // Pure decode: plan a run of iterations when the batch is steady.
        let slowdown = self.slowdown(now);
        let steady = !preempted
            && all_running_scheduled
            && all_have_first_token
            && slowdown.is_none()
            && load_ns == 0
            && config.stepping == Stepping::Jump
            // A request left out by async scheduling joins next iteration
            // (unless the batch in progress is closed to it).
            && (self.waiting.back().is_none_or(|w| w.cold.queued_at <= queued_by)
                || self.batch_closed());
        let steps = if steady { self.steady_run_length() } else { 1 };
        let curve = self.curve(decode_seqs);
        // Curves guarantee every iteration takes at least 1 ns.
        let end =
            now + scale(
                curve.sum_steps(decode_context, u64::from(decode_seqs), steps),
                slowdown,
            ) + load;
        self.counters.busy_ns += end.0 - now.0;
        self.counters.iterations += steps;
        self.current = Current::Decode {
            start: now,
            end,
            steps,
            batch: decode_seqs,
            context0: decode_context,
        };
        self.push_wake(end, wakes);
    }

    /// Iterations until the first completion or until the KV cache cannot
    /// grow every sequence by one more token, whichever comes first. Called
    /// after the first iteration's blocks are allocated.
    fn steady_run_length(&self) -> u64 {
        let running = &self.running;
        let outside = || self.active.iter().map(|&p| &running[p as usize]);
        let to_completion = outside()
            .map(|s| s.output_tokens - s.generated)
            .min()
            .map(u64::from)
            .into_iter()
            .chain(self.group.steps_to_first_completion())
            .min()
            .unwrap_or(1)
            .max(1);
        // Blocks beyond the first step's, already allocated.
        let extra_blocks = |n: u64| -> u64 {
            let outside: u64 = outside()
                .map(|s| u64::from(self.config.blocks_for(s.computed + n as u32) - s.blocks))
                .sum();
            outside + self.group.blocks_needed(1, n - 1)
        };
        let free = u64::from(self.free_blocks);
        if extra_blocks(to_completion) <= free {
            return to_completion;
        }
        // Largest n with extra_blocks(n) ≤ free; n = 1 always fits.
        let (mut lo, mut hi) = (1u64, to_completion);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if extra_blocks(mid) <= free {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        lo
    }
}

#[cfg(test)]
mod tests;
