//! The end of an iteration (or a decode run): the tokens it computed,
//! the sequences it completed, and which sequences join the decode group.

use super::{BatchingConfig, BatchingReplica, Current, DecodeGroup, Finished, RunSeq, NOT_JOINED};
use crate::replica::prefix_cache::PrefixCache;
use crate::time::SimTime;
use std::sync::Arc;

impl BatchingReplica {
    pub(super) fn complete_current(&mut self, now: SimTime, finished: &mut Vec<Finished>) {
        // The run's steps, its first token's time and the longest wait
        // between its later tokens.
        let (steps, first_at, later_wait_ns) = match self.current {
            Current::Idle => return,
            Current::Forming { .. } => {
                self.current = Current::Idle;
                return;
            }
            Current::Mixed { .. } => (None, now, 0),
            Current::Decode { steps: 1, .. } => (Some(1), now, 0),
            Current::Decode {
                start,
                steps,
                batch,
                context0,
                ..
            } => {
                let curve = self.curve(batch);
                let first = start + curve.step(context0);
                let last_step = curve.step(context0 + u64::from(batch) * (steps - 1));
                (Some(steps as u32), first, last_step.0)
            }
        };
        self.current = Current::Idle;
        let config = Arc::clone(&self.config);
        if std::mem::take(&mut self.group_scheduled) {
            let n = steps.map_or(1, u64::from);
            // A run allocates its first step's blocks when planned, the
            // rest when it ends.
            self.free_blocks -= self.group.blocks_needed(1, n - 1) as u32;
            (self.group).advance(n, first_at, now, later_wait_ns, self.running.iter());
        }
        let mut any_done = self.group.steps_to_first_completion() == Some(0);
        let ended = Ended {
            steps,
            first_at,
            now,
            later_wait_ns,
        };
        let (prefix, free_blocks) = (&mut self.prefix, &mut self.free_blocks);
        if self.group.members() == 0 {
            // Every running sequence is outside the group: no indirection.
            for s in &mut self.running {
                any_done |= ended.apply(s, prefix, free_blocks, &config);
            }
        } else {
            for &p in &self.active {
                let s = &mut self.running[p as usize];
                any_done |= ended.apply(s, prefix, free_blocks, &config);
            }
        }
        if any_done {
            self.finish_completed(now, finished);
        }
        self.join_group(now);
    }

    /// Takes the sequences with all their output off the running list, in
    /// admission order.
    fn finish_completed(&mut self, now: SimTime, finished: &mut Vec<Finished>) {
        let config = Arc::clone(&self.config);
        let mut done = std::mem::take(&mut self.group.finishing);
        done.clear();
        done.extend(
            (self.active.iter())
                .map(|&p| p as usize)
                .filter(|&p| self.running[p].generated >= self.running[p].output_tokens),
        );
        while let Some(key) = self.group.pop_completed() {
            // The list is sorted by key; a member is always on it.
            if let Ok(p) = self.running.binary_search_by_key(&key, |s| s.cold.key) {
                self.group.leave(&mut self.running[p], &config);
                done.push(p);
            }
        }
        done.sort_unstable();
        let first = finished.len();
        // From the back, so the positions still to remove stay valid.
        for &p in done.iter().rev() {
            if let Some(w) = self.warmup.as_mut() {
                if w.requests_left > 0 {
                    w.requests_left -= 1;
                    if w.requests_left == 0 {
                        w.requests_done_at = Some(now);
                    }
                }
            }
            let s = self.running.remove(p);
            let p = p as u32;
            self.active.retain_mut(|q| {
                let keep = *q != p;
                *q -= u32::from(*q > p);
                keep
            });
            self.free_blocks += s.blocks;
            let (seq, preemptions) = (s.cold.seq, s.cold.preemptions);
            if let (Some(a), Some(name)) = (self.adapters.as_mut(), &seq.adapter) {
                a.release(name);
            }
            finished.push(Finished {
                id: seq.id,
                arrival: seq.arrival,
                first_scheduled: s.first_scheduled.get().unwrap_or(now),
                first_token: s.first_token.get().unwrap_or(now),
                finished: now,
                input_tokens: seq.input_tokens,
                output_tokens: s.generated,
                itl_max_ns: (s.generated > 1).then_some(s.itl_max_ns),
                preemptions,
            });
        }
        finished[first..].reverse();
        self.group.finishing = done;
    }

    /// Sequences outside the decode group that are in step with it after
    /// an iteration ending at `now` join it: their latest token came with
    /// the group's, and their next demand is one decode token.
    fn join_group(&mut self, now: SimTime) {
        if !self.lazy_decode
            || self.running.len() < self.join_from_running
            || (self.group.members() > 0 && self.group.last_token() != now)
        {
            return;
        }
        let config = Arc::clone(&self.config);
        let (running, group) = (&mut self.running, &mut self.group);
        self.active.retain(|&p| {
            let s = &mut running[p as usize];
            let ready = s.generated > 0
                && s.last_token == now
                && s.first_token.is_some()
                && s.computed + 1 == s.total()
                && s.generated < s.output_tokens;
            if ready {
                let key = s.cold.key;
                group.join(s, key, now, &config);
            }
            !ready
        });
    }

    /// Every member leaves the decode group with its counts written back,
    /// before a walk over the whole running list.
    pub(super) fn dissolve_group(&mut self, config: &BatchingConfig) {
        if self.group.members() == 0 {
            return;
        }
        for s in &mut self.running {
            if s.joined != NOT_JOINED {
                self.group.leave(s, config);
            }
        }
    }

    /// Forgets the group (its members are gone).
    pub(super) fn clear_group(&mut self) {
        *self.group = DecodeGroup::default();
        self.group_scheduled = false;
    }
}

/// The iteration (or decode run) that ended: `steps` decode steps, or a
/// mixed iteration (`None`).
#[derive(Clone, Copy)]
struct Ended {
    steps: Option<u32>,
    first_at: SimTime,
    now: SimTime,
    later_wait_ns: u64,
}

impl Ended {
    /// Counts what `s` computed in it, if it was scheduled; returns whether
    /// `s` has all its output now.
    #[inline(always)]
    fn apply(
        self,
        s: &mut RunSeq,
        prefix: &mut Option<Box<PrefixCache>>,
        free_blocks: &mut u32,
        config: &BatchingConfig,
    ) -> bool {
        if s.scheduled == 0 {
            return false;
        }
        let now = self.now;
        match self.steps {
            None => {
                let before = s.computed;
                s.computed += s.scheduled;
                // Its prompt is computed now: its blocks become cacheable.
                if before < s.input_tokens && s.computed >= s.input_tokens {
                    if let Some(p) = prefix.as_mut() {
                        p.touch_all(s.cold.seq.hashes());
                    }
                }
                if s.computed == s.total() {
                    s.note_tokens(now, now, 0);
                    s.generated += 1;
                    s.first_token.note(now);
                }
            }
            Some(n) => {
                // Every decode iteration computes one token and samples the next.
                s.note_tokens(self.first_at, now, self.later_wait_ns);
                s.computed += n;
                s.generated += n;
                s.first_token.note(self.first_at);
                let blocks = config.blocks_for(s.computed);
                *free_blocks -= blocks - s.blocks;
                s.blocks = blocks;
            }
        }
        s.scheduled = 0;
        s.generated >= s.output_tokens
    }
}
