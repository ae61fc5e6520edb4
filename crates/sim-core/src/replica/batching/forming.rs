//! Batch forming: continuous batching admits new sequences every
//! iteration; static and dynamic batching form a batch while the replica
//! is free and run it to completion on the same performance model.
//!
//! A formed batch is closed: its sequences are prefilled together (over
//! several iterations if the token budget or the KV cache makes them),
//! decode until the last of them ends, and a sequence that finishes early
//! leaves its slot idle until the batch ends. Its iterations are priced on
//! the sequences still running, a lower bound on a padded batch (decode
//! steps are memory-bound and barely grow with the batch).
//!
//! The rule is NVIDIA Triton's dynamic batcher
//! (<https://docs.nvidia.com/deeplearning/triton-inference-server/user-guide/docs/user_guide/batcher.html>,
//! "Preferred Batch Sizes" and "Delayed Batching"): when the model instance
//! is free, a batch of the largest preferred size the queue can fill is sent
//! at once; otherwise the batcher waits at most `max_queue_delay` (counted
//! from the oldest queued request) for more, then sends what it has, up to
//! the maximum batch size. A queue that fills the maximum batch is sent at
//! once. Static batching is the same rule with one size, the batch size,
//! and a long delay: it waits for a full batch, and `max_batch_wait` bounds
//! how long a partial batch waits (at the end of a trace, or in a lull),
//! so every request ends.

use super::{BatchingReplica, Current, Wake};
use crate::time::{SimDuration, SimTime};

/// How a replica forms its batches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum BatchForming {
    /// Every iteration admits waiting sequences while the limits allow
    /// (vLLM, TensorRT-LLM in-flight batching).
    #[default]
    Continuous,
    /// Triton's dynamic batcher, batches of at most `max_num_seqs`.
    Dynamic {
        /// Batch sizes sent as soon as the queue holds them, increasing.
        preferred_batch_sizes: Vec<u32>,
        /// Longest the oldest queued request waits on a free replica for
        /// the batch to grow.
        max_queue_delay: SimDuration,
    },
    /// Wait for a full batch of `batch_size`.
    Static {
        /// Sequences in a batch.
        batch_size: u32,
        /// Longest the oldest queued request waits on a free replica for a
        /// full batch; then the partial batch runs.
        max_batch_wait: SimDuration,
    },
}

impl BatchForming {
    /// The scenario's name for it.
    pub fn name(&self) -> &'static str {
        match self {
            BatchForming::Continuous => "continuous",
            BatchForming::Dynamic { .. } => "dynamic",
            BatchForming::Static { .. } => "static",
        }
    }

    /// What a free replica does with `queued` requests, the oldest of
    /// which reached it at `oldest`, at `now`; `max_num_seqs` caps a
    /// dynamic batch. Continuous batching never asks.
    pub fn decide(&self, max_num_seqs: u32, queued: u32, oldest: SimTime, now: SimTime) -> Formed {
        let (max, preferred, delay): (u32, &[u32], SimDuration) = match self {
            BatchForming::Continuous => (max_num_seqs, &[], SimDuration(0)),
            BatchForming::Dynamic {
                preferred_batch_sizes,
                max_queue_delay,
            } => (max_num_seqs, preferred_batch_sizes, *max_queue_delay),
            BatchForming::Static {
                batch_size,
                max_batch_wait,
            } => (*batch_size, &[], *max_batch_wait),
        };
        if queued == 0 {
            return Formed::Nothing;
        }
        if queued >= max {
            return Formed::Now(max);
        }
        let deadline = oldest + delay;
        if now >= deadline {
            return Formed::Now(queued);
        }
        match preferred.iter().rev().find(|&&p| p <= queued) {
            Some(&p) => Formed::Now(p),
            None => Formed::WaitUntil(deadline),
        }
    }
}

/// What a free replica does with its queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Formed {
    /// Nothing is queued.
    Nothing,
    /// Form a batch of this many now.
    Now(u32),
    /// Wait for more requests until then at the latest.
    WaitUntil(SimTime),
}

impl BatchingReplica {
    /// Whether the batch in progress takes no more sequences: static or
    /// dynamic batching with every member of the batch admitted. Then an
    /// arrival changes nothing until the batch ends.
    pub(super) fn batch_closed(&self) -> bool {
        self.batch_open == 0
            && !self.running.is_empty()
            && self.config.forming != BatchForming::Continuous
    }

    /// Static or dynamic batching, before an iteration at `now`: the most
    /// sequences the iteration may hold. A free replica forms a batch
    /// (its members are the first of the queue) or, if its queue is not
    /// ready, waits (returns `None`, having set the replica waiting for
    /// its deadline or idle).
    pub(super) fn batch_seats(&mut self, now: SimTime, wakes: &mut Vec<Wake>) -> Option<u32> {
        if self.running.is_empty() && self.batch_open == 0 {
            let oldest = self.waiting.front().map_or(now, |w| w.cold.queued_at);
            let queued = u32::try_from(self.waiting.len()).unwrap_or(u32::MAX);
            match (self.config.forming).decide(self.config.max_num_seqs, queued, oldest, now) {
                Formed::Now(k) => self.batch_open = k,
                Formed::Nothing => {
                    self.current = Current::Idle;
                    return None;
                }
                Formed::WaitUntil(until) => {
                    // An arrival that leaves the deadline as it was keeps
                    // the wake-up already queued.
                    if !matches!(self.current, Current::Forming { until: u } if u == until) {
                        self.current = Current::Forming { until };
                        self.push_wake(until, wakes);
                    }
                    return None;
                }
            }
        }
        Some(self.running.len() as u32 + self.batch_open)
    }

    /// After an iteration's plan: members admitted leave the batch's open
    /// seats, members preempted (back in the queue's front) take one again.
    pub(super) fn note_batch_plan(&mut self, admitted: u32, preempted: u32) {
        self.batch_open = (self.batch_open + preempted).saturating_sub(admitted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> SimTime {
        SimTime(v * 1_000_000)
    }

    /// Triton's rule, case by case: (queued, oldest ms, now ms) → decision.
    #[test]
    fn dynamic_sends_the_largest_preferred_size_or_waits_at_most_the_delay() {
        let dynamic = BatchForming::Dynamic {
            preferred_batch_sizes: vec![4, 8],
            max_queue_delay: SimDuration(10_000_000),
        };
        for (queued, oldest, now, expect) in [
            (0, 0, 0, Formed::Nothing),
            (3, 0, 5, Formed::WaitUntil(ms(10))),
            (3, 0, 10, Formed::Now(3)),
            (7, 0, 5, Formed::Now(4)),
            (9, 2, 5, Formed::Now(8)),
            // Past the delay it sends what it has, up to the maximum.
            (9, 0, 11, Formed::Now(9)),
            (40, 0, 0, Formed::Now(16)),
        ] {
            assert_eq!(
                dynamic.decide(16, queued, ms(oldest), ms(now)),
                expect,
                "{queued} queued"
            );
        }
    }

    #[test]
    fn static_waits_for_a_full_batch_until_its_timeout() {
        let fixed = BatchForming::Static {
            batch_size: 8,
            max_batch_wait: SimDuration(1_000_000_000),
        };
        for (queued, oldest, now, expect) in [
            (7, 0, 999, Formed::WaitUntil(ms(1000))),
            (7, 0, 1000, Formed::Now(7)),
            (8, 0, 0, Formed::Now(8)),
            (20, 0, 0, Formed::Now(8)),
        ] {
            assert_eq!(fixed.decide(1024, queued, ms(oldest), ms(now)), expect);
        }
    }
}
