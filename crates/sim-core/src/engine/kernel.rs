//! The event kernel: what can happen ([`EventKind`]) and the order it
//! happens in. Events are ordered by `(time, class, sequence)`: `class`
//! fixes the order of different kinds at one nanosecond, `sequence` (a
//! counter) keeps same-class events in the order they were scheduled.
//! Nothing else influences the order, so a run is a pure function of its
//! inputs. The next arrival from the workload never enters the queue: it
//! waits beside it as the only class-0 event (see `Simulation::run`).

use crate::time::SimTime;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum EventKind {
    Wake {
        replica: u32,
        token: u64,
    },
    /// A cold-start stage of `replica` ends.
    StageDone {
        replica: u32,
    },
    /// Schedule entry `index` of `deployment` takes effect.
    Scale {
        deployment: u16,
        index: u32,
    },
    /// `replica`'s drain grace period ends.
    DrainDeadline {
        replica: u32,
    },
    /// The cloud warns that spot `node` will be reclaimed.
    SpotNotice {
        node: u32,
    },
    /// Spot `node` is reclaimed now.
    SpotKill {
        node: u32,
    },
    /// Pipeline request `request` reaches its next stage.
    StageArrival {
        request: u64,
    },
    /// `node` finished provisioning.
    NodeUp {
        node: u32,
    },
    /// `node` has been empty for its release delay (if `epoch` is current).
    NodeRelease {
        node: u32,
        epoch: u64,
    },
    /// The scale-up rate limit lets `deployment`'s next waiting start through.
    StartRelease {
        deployment: u16,
    },
    Tick,
    /// Scrape `deployment`'s metrics.
    Scrape {
        deployment: u16,
    },
    /// `deployment`'s autoscaler decides.
    Sync {
        deployment: u16,
    },
    /// The oldest request of `deployment`'s gateway class `class` may have
    /// waited its class's timeout.
    QueueTimeout {
        deployment: u16,
        class: u32,
    },
}

impl EventKind {
    /// Order of event kinds at the same instant: a request arriving at the
    /// instant an iteration ends is seen by the scheduler of the next one.
    /// Class 0, arrivals, never enters the heap: the one pending arrival
    /// waits in `Simulation::pending` and goes before any queued event at
    /// the same time. A replica that becomes ready at an instant serves the
    /// requests of later instants; scaling acts after the instant's work.
    pub(super) fn class(self) -> u64 {
        match self {
            // Class 0 in the heap: after the workload's own arrival at the
            // same instant (which waits outside the heap), before wake-ups.
            EventKind::StageArrival { .. } => 0,
            EventKind::Wake { .. } => 1,
            EventKind::StageDone { .. } => 2,
            EventKind::Scale { .. } => 3,
            EventKind::DrainDeadline { .. } => 4,
            EventKind::StartRelease { .. } => 5,
            EventKind::NodeUp { .. } => 6,
            EventKind::NodeRelease { .. } => 7,
            EventKind::SpotNotice { .. } => 8,
            EventKind::SpotKill { .. } => 9,
            EventKind::Tick => 10,
            EventKind::Scrape { .. } => 12,
            EventKind::Sync { .. } => 13,
            EventKind::QueueTimeout { .. } => 11,
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Event {
    pub(super) time: u64,
    /// `class << 56 | sequence`.
    order: u64,
    pub(super) kind: EventKind,
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.order) == (other.time, other.order)
    }
}

impl Eq for Event {}

impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Event {
    /// Reversed, so `BinaryHeap` (a max-heap) pops the earliest event.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.order).cmp(&(self.time, self.order))
    }
}

/// The queue of scheduled events, earliest first by `(time, class,
/// sequence)`.
#[derive(Debug, Default)]
pub(super) struct Kernel {
    heap: BinaryHeap<Event>,
    /// Scheduled so far: the next event's sequence number.
    sequence: u64,
    /// The event being handled is still the heap's top: the first event it
    /// schedules takes its place (one sift-down) instead of a pop and a
    /// push (two sifts). Keys are unique, so the pop order is the same.
    handling_top: bool,
}

impl Kernel {
    /// Schedules `kind` at `time`, after every event of its class already
    /// scheduled for that instant.
    pub(super) fn push(&mut self, time: SimTime, kind: EventKind) {
        self.sequence += 1;
        let event = Event {
            time: time.0,
            order: (kind.class() << 56) | self.sequence,
            kind,
        };
        if self.handling_top {
            self.handling_top = false;
            if let Some(mut top) = self.heap.peek_mut() {
                *top = event; // sifts down when `top` drops
                return;
            }
        }
        self.heap.push(event);
    }

    /// The time of the earliest event, if any.
    pub(super) fn next_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|e| SimTime(e.time))
    }

    /// Takes the earliest event to handle. It leaves the queue when
    /// [`Self::handled`] is called, or is replaced by the first event
    /// pushed meanwhile.
    pub(super) fn take(&mut self) -> Option<Event> {
        let event = *self.heap.peek()?;
        self.handling_top = true;
        Some(event)
    }

    /// The event from [`Self::take`] has been handled.
    pub(super) fn handled(&mut self) {
        if self.handling_top {
            self.handling_top = false;
            self.heap.pop();
        }
    }

    /// The earliest event.
    pub(super) fn peek(&self) -> Option<&Event> {
        self.heap.peek()
    }

    /// Scheduled events.
    pub(super) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Scheduled events, in no particular order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Event> + '_ {
        self.heap.iter()
    }

    /// Keeps only the events `keep` accepts.
    pub(super) fn retain(&mut self, keep: impl FnMut(&Event) -> bool) {
        self.heap.retain(keep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ordering contract as a table: events pushed in the given order
    /// (time in ns, kind) come out in the expected order of their labels.
    fn check(pushed: &[(u64, EventKind, &'static str)], expect: &[&str]) {
        let mut k = Kernel::default();
        for &(t, kind, _) in pushed {
            k.push(SimTime(t), kind);
        }
        let mut got = Vec::new();
        while let Some(e) = k.take() {
            let label = pushed
                .iter()
                .find(|(t, kind, _)| *t == e.time && *kind == e.kind)
                .map(|p| p.2);
            got.push(label.unwrap_or("?"));
            k.handled();
        }
        assert_eq!(got, expect);
    }

    const WAKE: EventKind = EventKind::Wake {
        replica: 0,
        token: 1,
    };
    const WAKE2: EventKind = EventKind::Wake {
        replica: 1,
        token: 1,
    };
    const STAGE: EventKind = EventKind::StageDone { replica: 0 };
    const HOP: EventKind = EventKind::StageArrival { request: 0 };
    const SCALE: EventKind = EventKind::Scale {
        deployment: 0,
        index: 0,
    };
    const SCRAPE: EventKind = EventKind::Scrape { deployment: 0 };
    const SYNC: EventKind = EventKind::Sync { deployment: 0 };
    const TIMEOUT: EventKind = EventKind::QueueTimeout {
        deployment: 0,
        class: 0,
    };

    #[test]
    fn events_come_out_by_time_then_class_then_scheduling_order() {
        // Time first, whatever the class.
        check(
            &[(5, WAKE, "wake@5"), (3, SYNC, "sync@3")],
            &["sync@3", "wake@5"],
        );
        // At one instant: pipeline hops, wake-ups, stage ends, schedule
        // entries, ticks, queue timeouts, scrapes, syncs.
        check(
            &[
                (7, SYNC, "sync"),
                (7, SCRAPE, "scrape"),
                (7, TIMEOUT, "timeout"),
                (7, EventKind::Tick, "tick"),
                (7, SCALE, "scale"),
                (7, STAGE, "stage"),
                (7, WAKE, "wake"),
                (7, HOP, "hop"),
            ],
            &[
                "hop", "wake", "stage", "scale", "tick", "timeout", "scrape", "sync",
            ],
        );
        // Same time and class: the order they were scheduled in.
        check(
            &[(2, WAKE2, "second replica"), (2, WAKE, "first replica")],
            &["second replica", "first replica"],
        );
    }

    #[test]
    fn an_event_pushed_while_handling_the_top_takes_its_place_in_order() {
        let mut k = Kernel::default();
        k.push(SimTime(10), WAKE);
        k.push(SimTime(20), SYNC);
        let first = k.take().map(|e| e.time);
        // Handling the wake at 10 schedules one at 30 and one at 15.
        k.push(SimTime(30), WAKE2);
        k.push(SimTime(15), WAKE);
        k.handled();
        let mut rest = Vec::new();
        while let Some(e) = k.take() {
            rest.push(e.time);
            k.handled();
        }
        assert_eq!(first, Some(10));
        assert_eq!(rest, vec![15, 20, 30]);
    }
}
