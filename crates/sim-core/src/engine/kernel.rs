//! The event kernel: what can happen ([`EventKind`]) and the order it
//! happens in. Events are ordered by `(time, class, sequence)`: `class`
//! fixes the order of different kinds at one nanosecond, `sequence` (a
//! counter) keeps same-class events in the order they were scheduled.
//! Nothing else influences the order, so a run is a pure function of its
//! inputs. The next arrival from the workload never enters the queue: it
//! waits beside it as the only class-0 event (see `Simulation::run`).

use std::cmp::Ordering;

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
    pub(super) order: u64,
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
