//! The steady decoders of a batching replica, advanced together.
//!
//! A running sequence whose prompt is computed decodes one token in every
//! iteration it is scheduled in. Once it is in step with the others (its
//! latest token came with theirs), the replica stops updating it per
//! iteration: it joins this group, which counts the group's decode steps
//! (`clock`) and keeps what the plan and the end of an iteration need of
//! its members in aggregate: how many they are, their total context, how
//! many cross a KV-block boundary at each step, which completes first, and
//! the waits between the group's tokens. A member's own counts are
//! materialised from its join step only when it completes or the group is
//! dissolved (a preemption, or a budget that runs out before a member).
//! Every operation costs O(log members) or O(block size), not O(members).

use super::seq::RunSeq;
use super::BatchingConfig;
use crate::time::SimTime;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// `RunSeq::joined` of a sequence outside the group.
pub(super) const NOT_JOINED: u64 = u64::MAX;

/// See the module docs.
#[derive(Debug, Default)]
pub(super) struct DecodeGroup {
    /// Decode steps the group has taken since the replica started.
    clock: u64,
    members: u32,
    /// Σ (computed − clock) over members at their join, wrapping: their
    /// total computed tokens at clock `t` is this plus `members · t`.
    computed_offset: u64,
    /// Σ blocks the members hold once their prompt and output are cached.
    final_blocks: u64,
    /// Members by the step, modulo the block size, at which they need a
    /// new KV block (their computed tokens then fill their blocks):
    /// `(clock − computed) mod block size`, fixed while they are members.
    phases: Vec<u32>,
    /// (clock at which a member has all its output, its admission key),
    /// earliest first.
    done: BinaryHeap<Reverse<(u64, u64)>>,
    /// When the members' latest token was produced (all at once).
    last_token: SimTime,
    /// The longest waits between the group's tokens as (step, wait ns),
    /// each wait longer than every one after it: the longest wait after
    /// step `j` is the first entry past `j`.
    waits: Vec<(u64, u64)>,
    /// `waits` is pruned of steps no member needs beyond this length.
    prune_at: usize,
    /// Scratch: positions of the sequences completing at an iteration's
    /// end (kept here for its allocation).
    pub(super) finishing: Vec<usize>,
}

impl DecodeGroup {
    pub(super) fn members(&self) -> u32 {
        self.members
    }

    pub(super) fn last_token(&self) -> SimTime {
        self.last_token
    }

    fn block(&self) -> u64 {
        self.phases.len() as u64
    }

    /// Takes `s` in at the current step: its latest token came at `now`
    /// (the group's latest too, if it has members), its blocks hold exactly
    /// its computed tokens, and its next demand is one decode token.
    pub(super) fn join(&mut self, s: &mut RunSeq, key: u64, now: SimTime, config: &BatchingConfig) {
        if self.members == 0 {
            self.phases.clear();
            self.phases
                .resize(config.block_size_tokens.max(1) as usize, 0);
            self.waits.clear();
            self.prune_at = 64;
            self.last_token = now;
        }
        debug_assert_eq!(self.last_token, now);
        s.joined = self.clock;
        self.members += 1;
        self.final_blocks += u64::from(config.final_blocks(s.input_tokens, s.output_tokens));
        let c = u64::from(s.computed);
        self.computed_offset = self
            .computed_offset
            .wrapping_add(c)
            .wrapping_sub(self.clock);
        let b = self.block();
        self.phases[((self.clock % b + b - c % b) % b) as usize] += 1;
        let left = u64::from(s.output_tokens - s.generated);
        self.done.push(Reverse((self.clock + left, key)));
    }

    /// Writes the group's steps since `s` joined into `s` and takes it out
    /// (its completion entry, if still queued, is the caller's to pop).
    pub(super) fn leave(&mut self, s: &mut RunSeq, config: &BatchingConfig) {
        let d = self.clock - s.joined;
        let c0 = u64::from(s.computed);
        self.members -= 1;
        self.final_blocks -= u64::from(config.final_blocks(s.input_tokens, s.output_tokens));
        self.computed_offset = self.computed_offset.wrapping_sub(c0).wrapping_add(s.joined);
        let b = self.block();
        self.phases[((s.joined % b + b - c0 % b) % b) as usize] -= 1;
        let wait = self.longest_wait_after(s.joined);
        s.computed += d as u32;
        s.generated += d as u32;
        s.blocks = config.blocks_for(s.computed);
        s.itl_max_ns = s.itl_max_ns.max(wait);
        s.last_token = self.last_token;
        s.joined = NOT_JOINED;
        if self.members == 0 {
            self.done.clear();
            self.waits.clear();
        }
    }

    /// Σ blocks the members hold once their prompt and output are cached.
    pub(super) fn final_blocks(&self) -> u64 {
        self.final_blocks
    }

    /// The members' tokens computed, summed, plus one each: the context
    /// they bring to the next decode step.
    pub(super) fn decode_context(&self) -> u64 {
        let m = u64::from(self.members);
        (self.computed_offset)
            .wrapping_add(m.wrapping_mul(self.clock))
            .wrapping_add(m)
    }

    /// Members that need a new KV block over the `n` steps after the
    /// group's next `skip` ones.
    pub(super) fn blocks_needed(&self, skip: u64, n: u64) -> u64 {
        if self.members == 0 || n == 0 {
            return 0;
        }
        let b = self.block();
        // Every member needs one block in every b steps; the steps left
        // over are a run of phases, wrapping around.
        let full = n / b * u64::from(self.members);
        let start = ((self.clock + skip) % b) as usize;
        let end = start + (n % b) as usize;
        let sum = |phases: &[u32]| phases.iter().map(|&m| u64::from(m)).sum::<u64>();
        let partial = match self.phases.get(start..end) {
            Some(run) => sum(run),
            None => sum(&self.phases[start..]) + sum(&self.phases[..end - self.phases.len()]),
        };
        full + partial
    }

    /// Steps until the first member has all its output.
    pub(super) fn steps_to_first_completion(&self) -> Option<u64> {
        self.done.peek().map(|Reverse((at, _))| at - self.clock)
    }

    /// The admission key of a member complete at the current step, if any,
    /// taken off the completion queue.
    pub(super) fn pop_completed(&mut self) -> Option<u64> {
        match self.done.peek() {
            Some(Reverse((at, key))) if *at <= self.clock => {
                let key = *key;
                self.done.pop();
                Some(key)
            }
            _ => None,
        }
    }

    /// Notes `n` steps taken by every member: the first token at
    /// `first_at`, the last at `last_at`, and between them waits of at
    /// most `later_wait_ns`. `members` lists the members' join steps, read
    /// only when the waits need pruning.
    pub(super) fn advance<'a>(
        &mut self,
        n: u64,
        first_at: SimTime,
        last_at: SimTime,
        later_wait_ns: u64,
        members: impl Iterator<Item = &'a RunSeq>,
    ) {
        self.push_wait(self.clock + 1, first_at.0 - self.last_token.0);
        if n > 1 {
            self.push_wait(self.clock + n, later_wait_ns);
        }
        self.clock += n;
        self.last_token = last_at;
        if self.waits.len() > self.prune_at {
            // Steps no member can ask about: at or before the oldest join.
            let oldest = members
                .filter(|s| s.joined != NOT_JOINED)
                .map(|s| s.joined)
                .min()
                .unwrap_or(self.clock);
            let keep = self.waits.partition_point(|&(step, _)| step <= oldest);
            self.waits.drain(..keep);
            self.prune_at = 2 * self.waits.len() + 64;
        }
    }

    fn push_wait(&mut self, step: u64, wait_ns: u64) {
        while self.waits.last().is_some_and(|&(_, w)| w <= wait_ns) {
            self.waits.pop();
        }
        self.waits.push((step, wait_ns));
    }

    /// The longest wait between the group's tokens after step `joined`.
    fn longest_wait_after(&self, joined: u64) -> u64 {
        let i = self.waits.partition_point(|&(step, _)| step <= joined);
        self.waits.get(i).map_or(0, |&(_, w)| w)
    }
}
