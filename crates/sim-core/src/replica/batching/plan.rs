//! Planning one iteration: what each running request asks of it, and
//! which waiting requests it admits.

use super::{BatchingConfig, BatchingReplica, CapacityScheduler, PrefillScheduling, RunSeq};
use crate::model::perf::PrefillChunk;
use crate::time::SimTime;

/// What one sequence asks of the iteration being planned.
#[derive(Clone, Copy, Debug)]
struct Demand {
    /// Tokens it still needs computed.
    remaining: u32,
    /// Tokens it gets this iteration (capped by the token budget).
    tokens: u32,
    /// KV blocks it needs beyond those it holds.
    blocks: u32,
}

impl Demand {
    /// Whether the demand is a prompt cut short by the budget, which a
    /// scheduler that never splits prompts cannot take.
    fn is_split(&self, prefill: PrefillScheduling) -> bool {
        prefill != PrefillScheduling::Chunked && self.tokens < self.remaining
    }
}

/// What admitting waiting requests to one iteration did.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Admission {
    /// Requests admitted.
    pub(super) admitted: u32,
    /// Adapter loads the iteration waits for, ns.
    pub(super) load_ns: u64,
}

/// The iteration being planned: the token budget left and the shape of the
/// decode part (prefill chunks go to `BatchingReplica::chunks`).
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) budget: u32,
    /// Most sequences running after admission: `max_num_seqs`, or the
    /// seats of a static or dynamic batch.
    pub(super) max_seqs: u32,
    pub(super) decode_seqs: u32,
    pub(super) decode_context: u64,
    pub(super) all_have_first_token: bool,
    /// Waiting requests that reached the replica after this are not
    /// admitted (async scheduling planned the iteration earlier).
    pub(super) queued_by: SimTime,
}

/// What `s` asks of an iteration with `budget` tokens left.
fn demand_within(s: &RunSeq, budget: u32, config: &BatchingConfig) -> Demand {
    let remaining = s.total() - s.computed;
    let tokens = remaining.min(budget);
    let blocks = config
        .blocks_for(s.computed + tokens)
        .saturating_sub(s.blocks);
    Demand {
        remaining,
        tokens,
        blocks,
    }
}

impl Plan {
    fn demand(&self, s: &RunSeq, config: &BatchingConfig) -> Demand {
        demand_within(s, self.budget, config)
    }

    /// Schedules `d.tokens` of `s`, allocating its blocks. A sequence with
    /// one token left is a decode; anything longer is a prefill chunk.
    fn take(
        &mut self,
        s: &mut RunSeq,
        d: Demand,
        free_blocks: &mut u32,
        chunks: &mut Vec<PrefillChunk>,
    ) {
        s.blocks += d.blocks;
        *free_blocks -= d.blocks;
        s.scheduled = d.tokens;
        self.budget -= d.tokens;
        if d.remaining == 1 {
            self.decode_seqs += 1;
            self.decode_context += u64::from(s.computed) + 1;
            self.all_have_first_token &= s.first_token.is_some();
        } else {
            chunks.push(PrefillChunk {
                new_tokens: d.tokens,
                cached_tokens: s.computed,
            });
        }
    }
}

impl BatchingReplica {
    /// Gives the running requests, in admission order, the tokens they
    /// need under the budget, preempting the newest when a block is
    /// missing. Returns whether anything was preempted and whether every
    /// running request got its tokens.
    pub(super) fn schedule_running(
        &mut self,
        plan: &mut Plan,
        config: &BatchingConfig,
    ) -> (bool, bool) {
        if self.group.members() == 0 {
            // Every running sequence is outside the group, in order: the
            // walk is the plan, and a preemption pops the list's tail.
            let walked = self.walk_running(plan, config);
            self.active.truncate(self.running.len());
            return walked;
        }
        if let Some(all_scheduled) = self.schedule_in_step(plan, config) {
            return (false, all_scheduled);
        }
        self.dissolve_group(config);
        let walked = self.walk_running(plan, config);
        // Every sequence is outside the group now.
        self.active.clear();
        self.active.extend(0..self.running.len() as u32);
        walked
    }

    /// The walk of [`Self::schedule_running`] when it preempts nothing and
    /// every member of the decode group gets its token: only the sequences
    /// outside the group are visited, and the group's members between them
    /// are counted from their positions (the running list holds both, in
    /// admission order). `None`, having changed nothing, otherwise.
    fn schedule_in_step(&mut self, plan: &mut Plan, config: &BatchingConfig) -> Option<bool> {
        if !self.lazy_decode {
            return None;
        }
        let members = self.group.members();
        // A dry run first: what each sequence outside the group would get.
        let (mut budget, mut blocks) = (plan.budget, self.group.blocks_needed(0, 1));
        let (mut next, mut taken, mut cut) = (0u32, 0usize, false);
        for &p in &self.active {
            let between = p - next;
            if budget < between {
                return None;
            }
            budget -= between;
            next = p + 1;
            if budget == 0 {
                cut = true;
                break;
            }
            let d = demand_within(&self.running[p as usize], budget, config);
            if d.is_split(config.prefill) {
                cut = true;
                break;
            }
            blocks += u64::from(d.blocks);
            budget -= d.tokens;
            taken += 1;
        }
        // Past the last sequence visited: after a cut, only sequences
        // outside the group may be left unscheduled; else every member
        // there takes one token.
        let after = self.running.len() as u32 - next;
        let left_out = match cut {
            true => after - (self.active.len() - taken - 1) as u32,
            false => after.saturating_sub(budget),
        };
        if left_out > 0 || blocks > u64::from(self.free_blocks) {
            return None;
        }
        // It fits: the same walk for real.
        let mut next = 0u32;
        for &p in &self.active[..taken] {
            plan.budget -= p - next;
            next = p + 1;
            let s = &mut self.running[p as usize];
            let d = plan.demand(s, config);
            plan.take(s, d, &mut self.free_blocks, &mut self.chunks);
        }
        plan.budget -= members - (next - taken as u32);
        self.free_blocks -= self.group.blocks_needed(0, 1) as u32;
        plan.decode_seqs += members;
        plan.decode_context += self.group.decode_context();
        self.group_scheduled = members > 0;
        Some(!cut && taken == self.active.len())
    }

    /// The walk over every running sequence, preempting the newest when a
    /// block is missing.
    #[inline(always)]
    fn walk_running(&mut self, plan: &mut Plan, config: &BatchingConfig) -> (bool, bool) {
        let mut preempted = false;
        let mut i = 0;
        while i < self.running.len() && plan.budget > 0 {
            let demand = plan.demand(&self.running[i], config);
            if demand.is_split(config.prefill) {
                break;
            }
            let mut self_preempted = false;
            while demand.blocks > self.free_blocks {
                let Some(mut victim) = self.running.pop() else {
                    break;
                };
                self.free_blocks += victim.blocks;
                if let (Some(a), Some(name)) = (self.adapters.as_mut(), &victim.cold.seq.adapter) {
                    a.release(name);
                }
                victim.blocks = 0;
                self.counters.recomputed_tokens += u64::from(victim.computed);
                victim.computed = 0;
                victim.scheduled = 0;
                victim.cold.preemptions += 1;
                self.counters.preemptions += 1;
                preempted = true;
                self.waiting.push_front(victim);
                if self.running.len() == i {
                    self_preempted = true;
                    break;
                }
            }
            if self_preempted || demand.blocks > self.free_blocks {
                break;
            }
            plan.take(
                &mut self.running[i],
                demand,
                &mut self.free_blocks,
                &mut self.chunks,
            );
            i += 1;
        }
        (preempted, i == self.running.len())
    }

    /// Admits waiting requests in order while the budget, `max_num_seqs`
    /// and the KV cache allow, scheduling their first tokens.
    pub(super) fn admit_waiting(&mut self, plan: &mut Plan, config: &BatchingConfig) -> Admission {
        let mut admission = Admission::default();
        // Blocks the running requests will still claim (guaranteed no
        // evict): admission keeps them free.
        let mut reserved: u32 = match config.capacity_scheduler {
            CapacityScheduler::MaxUtilization => 0,
            // Every running sequence's final blocks less what it holds
            // (never more: it holds at most its prompt and output); the
            // group's members hold the used blocks the others do not.
            CapacityScheduler::GuaranteedNoEvict => {
                let outside: u64 = (self.active.iter())
                    .map(|&p| {
                        let s = &self.running[p as usize];
                        u64::from(config.final_blocks(s.input_tokens, s.output_tokens))
                    })
                    .sum();
                let used = u64::from(config.kv_cache_blocks - self.free_blocks);
                let claim = (outside + self.group.final_blocks()).saturating_sub(used);
                u32::try_from(claim).unwrap_or(u32::MAX)
            }
        };
        // Waiting requests in order; one whose adapter cannot get a slot
        // is skipped (vLLM's `max_loras` rule), the first that does not
        // fit the KV cache (or, unsplit, the budget) stops admission.
        let mut j = 0;
        while plan.budget > 0
            && (self.running.len() as u32) < plan.max_seqs
            && j < self.waiting.len()
            && self.waiting[j].cold.queued_at <= plan.queued_by
        {
            if let (Some(a), Some(name)) = (&self.adapters, &self.waiting[j].cold.seq.adapter) {
                if !a.can_acquire(name) {
                    j += 1;
                    continue;
                }
            }
            // A cached prefix, or KV that arrived with the request, starts
            // as computed; its KV blocks are still allocated for the whole
            // prompt. Arrived KV is lost to a preemption (recomputed here).
            let (hit_blocks, hit_tokens) = self.prefix_match(&self.waiting[j]);
            let w = &self.waiting[j];
            let arrived = match w.cold.preemptions {
                0 => (w.cold.seq.kv_present_tokens).min(w.input_tokens.saturating_sub(1)),
                _ => 0,
            };
            self.waiting[j].computed = hit_tokens.max(arrived);
            let demand = plan.demand(&self.waiting[j], config);
            let claim = match config.capacity_scheduler {
                CapacityScheduler::MaxUtilization => demand.blocks,
                CapacityScheduler::GuaranteedNoEvict => {
                    let s = &self.waiting[j];
                    config.final_blocks(s.input_tokens, s.output_tokens)
                }
            };
            if demand.is_split(config.prefill)
                || u64::from(claim) + u64::from(reserved) > u64::from(self.free_blocks)
            {
                self.waiting[j].computed = 0;
                break;
            }
            reserved = reserved.saturating_add(claim - demand.blocks.min(claim));
            let Some(mut w) = self.waiting.remove(j) else {
                break;
            };
            if let Some(p) = self.prefix.as_mut() {
                let hashes = w.cold.seq.hashes();
                p.touch_all(&hashes[..hit_blocks as usize]);
                let c = &mut self.counters;
                c.prefix_lookups += 1;
                c.prefix_query_blocks += hashes.len() as u64;
                c.prefix_hit_blocks += u64::from(hit_blocks);
                c.prefix_query_tokens += u64::from(w.total());
                c.prefix_hit_tokens += u64::from(hit_tokens);
            }
            if let (Some(a), Some(name), Some(lora)) =
                (self.adapters.as_mut(), &w.cold.seq.adapter, &config.lora)
            {
                if a.acquire(name) == Some(true) {
                    admission.load_ns = admission.load_ns.saturating_add(lora.adapter_load_ns);
                }
            }
            plan.take(&mut w, demand, &mut self.free_blocks, &mut self.chunks);
            w.cold.key = self.next_key;
            self.next_key += 1;
            self.active.push(self.running.len() as u32);
            self.running.push(w);
            admission.admitted += 1;
        }
        admission
    }
}
