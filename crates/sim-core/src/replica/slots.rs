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
#[derive(Debug)]
pub struct SlotReplica {
    sampler: Sampler,
    rng: StreamRng,
    slots: Vec<Option<Busy>>,
    free: Vec<u32>,
    waiting: VecDeque<Seq>,
    in_service: u32,
    slot_busy_ns: u64,
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
        let slots = slots.max(1);
        SlotReplica {
            sampler,
            rng,
            slots: (0..slots).map(|_| None).collect(),
            // Pop from the back: slot 0 is used first.
            free: (0..slots).rev().collect(),
            waiting: VecDeque::new(),
            in_service: 0,
            slot_busy_ns: 0,
            served: 0,
        }
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
        match self.free.pop() {
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
        self.served += 1;
        finished.push(Finished {
            id: busy.seq.id,
            arrival: busy.seq.arrival,
            first_scheduled: busy.started,
            first_token: now,
            finished: now,
            input_tokens: busy.seq.input_tokens,
            output_tokens: busy.seq.output_tokens,
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
        if self.slots.is_empty() {
            0.0
        } else {
            f64::from(self.in_service) / self.slots.len() as f64
        }
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
        let ahead: u64 = (self.slots.iter().flatten())
            .map(|b| b.finishes.0.saturating_sub(now.0))
            .sum();
        self.slot_busy_ns.saturating_sub(ahead) / self.slots.len() as u64
    }

    /// Busy time is slot-time in service divided by the slot count.
    pub fn counters(&self) -> ReplicaCounters {
        ReplicaCounters {
            busy_ns: self.slot_busy_ns / self.slots.len() as u64,
            iterations: self.served,
            preemptions: 0,
            ..ReplicaCounters::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
