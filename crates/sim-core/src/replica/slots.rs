//! A replica of `c` identical servers (slots) whose service times do not
//! depend on batching: the M/M/c (or M/D/c) reference model. Requests wait
//! in one FIFO queue and take the first free slot.

use super::{Aborted, Finished, ReplicaCounters, ReplicaLoad, Seq, Wake};
use crate::field::FieldError;
use crate::rng::StreamRng;
use crate::time::{SimDuration, SimTime};
use rand_distr::{Distribution, Exp};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Service-time distribution of a slot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServiceTime {
    /// Exponential with the given mean (the "M" of M/M/c).
    Exponential {
        /// Mean service time, seconds.
        mean_s: f64,
    },
    /// Every request takes exactly this long (the "D" of M/D/c).
    Fixed {
        /// Service time, seconds.
        duration_s: f64,
    },
}

impl ServiceTime {
    /// Checks the parameters; the error names the offending field.
    pub fn validate(&self) -> Result<(), FieldError> {
        let (field, v) = match self {
            ServiceTime::Exponential { mean_s } => ("mean_s", *mean_s),
            ServiceTime::Fixed { duration_s } => ("duration_s", *duration_s),
        };
        if v.is_finite() && v > 0.0 && SimDuration::try_from_secs_f64(v).is_some() {
            Ok(())
        } else {
            Err(FieldError::new(
                field,
                format!("must be a finite number of seconds > 0, got {v}"),
            ))
        }
    }
}

#[derive(Debug)]
enum Sampler {
    Exponential(Exp<f64>),
    Fixed(SimDuration),
}

#[derive(Debug)]
struct Busy {
    seq: Seq,
    started: SimTime,
    finishes: SimTime,
}

/// `c` servers fed by one FIFO queue.
///
/// Memory and time grow with the slots in service, not with `c`: only
/// slots that have served are stored, and the busy time ahead of `now` is
/// kept as a running sum, so a replica of 100,000 slots with two requests
/// costs what one of two slots does.
#[derive(Debug)]
pub struct SlotReplica {
    sampler: Sampler,
    rng: StreamRng,
    /// `c`.
    slot_count: u32,
    /// Slots used so far, by index (the wake-up token); `None` is free.
    slots: Vec<Option<Busy>>,
    /// Freed slots, the most recently freed last (taken first); slots
    /// never used are `slots.len()..slot_count`, taken in index order.
    free: Vec<u32>,
    waiting: VecDeque<Seq>,
    in_service: u32,
    slot_busy_ns: u64,
    /// Sum of `finishes` over the slots in service, ns (each is at or
    /// after the instant being handled, since its wake-up is an event).
    finishes_sum_ns: u128,
    served: u64,
}

impl SlotReplica {
    /// `slots` servers drawing service times from `service` with `rng`.
    /// The parameters must have passed [`ServiceTime::validate`].
    pub fn new(slots: u32, service: &ServiceTime, rng: StreamRng) -> Self {
        let sampler = match service {
            ServiceTime::Exponential { mean_s } => match Exp::new(1.0 / mean_s) {
                Ok(exp) => Sampler::Exponential(exp),
                Err(_) => Sampler::Fixed(SimDuration(1)),
            },
            ServiceTime::Fixed { duration_s } => Sampler::Fixed(
                SimDuration::try_from_secs_f64(*duration_s).unwrap_or(SimDuration(1)),
            ),
        };
        SlotReplica {
            sampler,
            rng,
            slot_count: slots.max(1),
            slots: Vec::new(),
            free: Vec::new(),
            waiting: VecDeque::new(),
            in_service: 0,
            slot_busy_ns: 0,
            finishes_sum_ns: 0,
            served: 0,
        }
    }

    /// A free slot, if any: the most recently freed, else the lowest never
    /// used (slot 0 first).
    fn take_free_slot(&mut self) -> Option<u32> {
        if let Some(slot) = self.free.pop() {
            return Some(slot);
        }
        let fresh = u32::try_from(self.slots.len()).ok()?;
        (fresh < self.slot_count).then(|| {
            self.slots.push(None);
            fresh
        })
    }

    fn draw(&mut self) -> SimDuration {
        match &self.sampler {
            Sampler::Exponential(exp) => {
                let secs = exp.sample(&mut self.rng);
                SimDuration::try_from_secs_f64(secs)
                    .unwrap_or(SimDuration(u64::MAX / 4))
                    .max(SimDuration(1))
            }
            Sampler::Fixed(d) => *d,
        }
    }

    fn start(&mut self, slot: u32, seq: Seq, now: SimTime, wakes: &mut Vec<Wake>) {
        let service = self.draw();
        self.slot_busy_ns += service.0;
        self.in_service += 1;
        let finishes = now + service;
        self.finishes_sum_ns += u128::from(finishes.0);
        self.slots[slot as usize] = Some(Busy {
            seq,
            started: now,
            finishes,
        });
        wakes.push(Wake {
            at: finishes,
            token: u64::from(slot),
        });
    }

    /// Stops every server at `now`; every request in service or queued
    /// leaves without completing. Their pending wake-ups find empty slots
    /// and are ignored.
    pub fn abort_all(&mut self, now: SimTime) -> Vec<Aborted> {
        let mut out = Vec::new();
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if let Some(busy) = slot.take() {
                // Service planned past `now` was never given.
                let unused = busy.finishes.0.saturating_sub(now.0);
                self.slot_busy_ns -= unused.min(self.slot_busy_ns);
                self.finishes_sum_ns -= u128::from(busy.finishes.0);
                self.in_service -= 1;
                self.free.push(i as u32);
                out.push(Aborted {
                    seq: busy.seq,
                    first_scheduled: Some(busy.started),
                    first_token: None,
                    preemptions: 0,
                });
            }
        }
        out.extend(self.waiting.drain(..).map(|seq| Aborted {
            seq,
            first_scheduled: None,
            first_token: None,
            preemptions: 0,
        }));
        out
    }

    /// Takes a free slot or joins the queue.
    pub fn admit(&mut self, seq: Seq, now: SimTime, wakes: &mut Vec<Wake>) {
        match self.take_free_slot() {
            Some(slot) => self.start(slot, seq, now, wakes),
            None => self.waiting.push_back(seq),
        }
    }

    /// A slot finished its request; it takes the next one from the queue.
    pub fn on_wake(
        &mut self,
        now: SimTime,
        token: u64,
        finished: &mut Vec<Finished>,
        wakes: &mut Vec<Wake>,
    ) {
        let slot = token as u32;
        let Some(busy) = self.slots.get_mut(slot as usize).and_then(Option::take) else {
            return;
        };
        self.in_service -= 1;
        self.finishes_sum_ns -= u128::from(busy.finishes.0);
        self.served += 1;
        finished.push(Finished {
            id: busy.seq.id,
            arrival: busy.seq.arrival,
            first_scheduled: busy.started,
            first_token: now,
            finished: now,
            input_tokens: busy.seq.input_tokens,
            output_tokens: busy.seq.output_tokens,
            // The whole answer arrives at once, as its TPOT of 0 says.
            itl_max_ns: (busy.seq.output_tokens > 1).then_some(0),
            preemptions: 0,
        });
        match self.waiting.pop_front() {
            Some(next) => self.start(slot, next, now, wakes),
            None => self.free.push(slot),
        }
    }

    /// Whether the wake-up at `at` with `token` still ends a service (an
    /// abort leaves it queued and stale).
    pub fn wake_is_current(&self, at: SimTime, token: u64) -> bool {
        (self.slots.get(token as usize))
            .and_then(Option::as_ref)
            .is_some_and(|b| b.finishes == at)
    }

    /// Fraction of the slots in service.
    pub fn slot_usage(&self) -> f64 {
        f64::from(self.in_service) / f64::from(self.slot_count)
    }

    /// Queue length and slots in use.
    pub fn load(&self) -> ReplicaLoad {
        ReplicaLoad {
            waiting: self.waiting.len() as u32,
            running: self.in_service,
            ..ReplicaLoad::default()
        }
    }

    /// Busy time up to `now`, ns: slot-time in service divided by the
    /// slot count.
    pub fn busy_ns_at(&self, now: SimTime) -> u64 {
        // Each service is booked whole when it starts; what lies past `now`
        // is not spent yet.
        let ahead = self
            .finishes_sum_ns
            .saturating_sub(u128::from(self.in_service) * u128::from(now.0));
        let ahead = u64::try_from(ahead).unwrap_or(u64::MAX);
        self.slot_busy_ns.saturating_sub(ahead) / u64::from(self.slot_count)
    }

    /// Busy time is slot-time in service divided by the slot count.
    pub fn counters(&self) -> ReplicaCounters {
        ReplicaCounters {
            busy_ns: self.slot_busy_ns / u64::from(self.slot_count),
            iterations: self.served,
            preemptions: 0,
            ..ReplicaCounters::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(id: u64, at: SimTime) -> Seq {
        Seq {
            id,
            arrival: at,
            input_tokens: 1,
            output_tokens: 1,
            prefix_hashes: None,
            adapter: None,
            kv_present_tokens: 0,
        }
    }

    /// Busy time from the running sum equals slot-time in service summed
    /// request by request (what has elapsed of each service by `now`), on
    /// a replica of 100,000 slots whose storage stays at the most slots
    /// ever in service at once.
    #[test]
    fn busy_time_and_storage_follow_the_slots_in_service_not_the_slot_count() {
        let service = ServiceTime::Exponential { mean_s: 2.0 };
        let mut r = SlotReplica::new(100_000, &service, crate::rng::stream(7, "t", 0));
        let mut wakes = Vec::new();
        let mut finished = Vec::new();
        // (start, finish) of every service given, for the reference sum.
        let mut services: Vec<(u64, u64)> = Vec::new();
        let mut pending: Vec<Wake> = Vec::new();
        let mut most_in_service = 0;
        let second = 1_000_000_000u64;
        for step in 0..400u64 {
            let now = SimTime(step * second / 4);
            // Wake-ups due by `now`, in time order, as the kernel would.
            pending.sort_by_key(|w| std::cmp::Reverse(w.at));
            while pending.last().is_some_and(|w| w.at <= now) {
                let w = pending.pop().unwrap_or_else(|| unreachable!());
                r.on_wake(w.at, w.token, &mut finished, &mut wakes);
            }
            if step % 3 != 2 {
                r.admit(seq(step, now), now, &mut wakes);
            }
            for w in wakes.drain(..) {
                let busy = r.slots[w.token as usize]
                    .as_ref()
                    .unwrap_or_else(|| unreachable!());
                services.push((busy.started.0, busy.finishes.0));
                pending.push(w);
            }
            most_in_service = most_in_service.max(r.in_service as usize);
            let elapsed: u64 = services
                .iter()
                .map(|&(s, f)| f.min(now.0).saturating_sub(s))
                .sum();
            assert_eq!(r.busy_ns_at(now), elapsed / 100_000, "at step {step}");
        }
        assert!(!finished.is_empty());
        assert_eq!(r.slots.len(), most_in_service);
        assert!(most_in_service < 100, "{most_in_service}");
    }

    #[test]
    fn service_time_validation_names_the_field() {
        assert_eq!(ServiceTime::Fixed { duration_s: 0.5 }.validate(), Ok(()));
        assert_eq!(
            ServiceTime::Exponential { mean_s: -1.0 }.validate(),
            Err(FieldError::new(
                "mean_s",
                "must be a finite number of seconds > 0, got -1"
            ))
        );
        assert_eq!(
            ServiceTime::Fixed {
                duration_s: f64::INFINITY
            }
            .validate()
            .map_err(|e| e.field),
            Err("duration_s".to_string())
        );
    }
}
