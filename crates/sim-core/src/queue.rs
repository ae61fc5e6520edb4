//! The gateway queue: where a request waits before a replica takes it.
//!
//! A deployment queues in one of two modes ([`QueueMode`]):
//! - **per replica** (vLLM behind a plain load balancer): the router picks a
//!   replica at arrival and the request waits in that replica's own
//!   scheduler queue. The gateway queue holds requests only while no replica
//!   is ready (the activator of scale-from-zero).
//! - **central** (a gateway with a concurrency cap, like Knative's
//!   `containerConcurrency` behind its activator): a replica never holds more
//!   than `max_concurrency_per_replica` requests; the rest wait at the
//!   gateway, and a replica that frees a slot or becomes ready takes the next
//!   one at that instant.
//!
//! Requests belong to priority classes ([`ClassSpec`]), named by a trace
//! column or drawn from a class mix. The gateway keeps one FIFO per class;
//! the [`Discipline`] decides which class goes next. Each class may bound its
//! gateway queue (`max_queue_length`: an arrival beyond it is rejected) and
//! its wait (`timeout`: a request still at the gateway that long after its
//! arrival times out). Replica-side queues have neither, as vLLM's has
//! neither. No request waits at a gateway longer than [`MAX_GATEWAY_WAIT`]
//! (a day), whatever its class: a request waiting for a replica that never
//! comes (a fleet whose replicas are reclaimed before they are ready, an
//! autoscaler that never scales up) times out then, so every run ends
//! (when nothing but that wait is left to happen, the run ends at once and
//! such requests fail, as requests still at a gateway at the end do).

use crate::metrics::SlaConfig;
use crate::names::NameMix;
use crate::request::Request;
use crate::time::SimDuration;
use std::collections::VecDeque;

/// The longest any request waits at a gateway before it times out: a
/// class's own `timeout` may be shorter, never longer, and a class without
/// one (or a deployment without classes) waits this long. A day: longer
/// than any cold start, and no client waits as long.
pub const MAX_GATEWAY_WAIT: SimDuration = SimDuration::from_secs(86_400);

/// Where requests wait when every replica is busy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QueueMode {
    /// Routed at arrival into the chosen replica's own queue.
    #[default]
    PerReplica,
    /// Held at the gateway; a replica takes at most this many at once.
    Central {
        /// Requests one replica may hold (running plus waiting), at least 1.
        max_concurrency_per_replica: u32,
    },
}

/// Which class the gateway serves next.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Discipline {
    /// Oldest request first, whatever its class.
    #[default]
    Fifo,
    /// Strict priority: the first class (in configuration order) with a
    /// waiting request goes first; FIFO within a class.
    Priority,
}

/// One priority class.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassSpec {
    /// Name, as a trace's priority column writes it.
    pub name: Box<str>,
    /// Weight in the class mix for requests whose trace names no class
    /// (0: never drawn).
    pub share: f64,
    /// Longest wait at the gateway before the request times out, at most
    /// [`MAX_GATEWAY_WAIT`] (`None`: that long).
    pub timeout: Option<SimDuration>,
    /// Most requests of this class waiting at the gateway; arrivals beyond
    /// it are rejected.
    pub max_queue_length: Option<u32>,
    /// The class's own service-level thresholds and targets.
    pub sla: SlaConfig,
}

/// How a deployment queues. The default is vLLM's: per-replica queues, one
/// class, no limits.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueueSpec {
    /// Per-replica or central.
    pub mode: QueueMode,
    /// FIFO or strict priority across classes.
    pub discipline: Discipline,
    /// Priority classes, highest priority first. Empty: every request is in
    /// one unnamed class with no length limit, timed out after
    /// [`MAX_GATEWAY_WAIT`].
    pub classes: Vec<ClassSpec>,
}

impl QueueSpec {
    /// How long a request of `class` may wait at the gateway.
    pub fn timeout(&self, class: u32) -> SimDuration {
        (self.classes.get(class as usize))
            .and_then(|c| c.timeout)
            .unwrap_or(MAX_GATEWAY_WAIT)
    }
}

/// Decides each request's class: the trace's column, else a draw from the
/// class mix on the stream `("workload.class_mix", 0)`. Draws are made per
/// arrival, in arrival order, so two fleets fed the same workload and seed
/// see the same classes. Without configured classes every request is in
/// class 0, whatever its trace names.
pub fn class_assigner(classes: &[ClassSpec], seed: u64) -> NameMix {
    NameMix::new(
        classes.iter().map(|c| (&*c.name, c.share)),
        seed,
        "workload.class_mix",
        true,
    )
}

/// A request waiting at the gateway.
#[derive(Clone, Debug)]
pub struct Queued {
    /// The request (its `id` is set).
    pub request: Request,
    /// Its class index.
    pub class: u32,
}

/// The gateway's per-class FIFOs.
#[derive(Debug, Default)]
pub struct GatewayQueue {
    classes: Vec<VecDeque<Request>>,
    len: usize,
}

impl GatewayQueue {
    /// An empty queue for `classes` classes (at least one).
    pub fn new(classes: usize) -> Self {
        GatewayQueue {
            classes: (0..classes.max(1)).map(|_| VecDeque::new()).collect(),
            len: 0,
        }
    }

    /// Requests waiting, all classes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Requests of `class` waiting.
    pub fn class_len(&self, class: u32) -> usize {
        self.classes[class as usize].len()
    }

    /// Appends a request to its class's FIFO.
    pub fn push(&mut self, request: Request, class: u32) {
        self.classes[class as usize].push_back(request);
        self.len += 1;
    }

    /// The oldest waiting request of `class`.
    pub fn head(&self, class: u32) -> Option<&Request> {
        self.classes[class as usize].front()
    }

    /// Removes the oldest waiting request of `class`.
    pub fn pop_class(&mut self, class: u32) -> Option<Request> {
        let r = self.classes[class as usize].pop_front()?;
        self.len -= 1;
        Some(r)
    }

    /// The class `discipline` serves next, if anything waits. FIFO compares
    /// the classes' heads by request id, which is arrival order.
    pub fn next_class(&self, discipline: Discipline) -> Option<u32> {
        let mut heads = self
            .classes
            .iter()
            .enumerate()
            .filter_map(|(i, q)| q.front().map(|r| (i as u32, r.id)));
        match discipline {
            Discipline::Priority => heads.next().map(|(i, _)| i),
            Discipline::Fifo => heads.min_by_key(|&(_, id)| id).map(|(i, _)| i),
        }
    }

    /// Removes the request `discipline` serves next.
    pub fn pop(&mut self, discipline: Discipline) -> Option<Queued> {
        let class = self.next_class(discipline)?;
        let request = self.pop_class(class)?;
        Some(Queued { request, class })
    }

    /// Removes every waiting request, class by class, oldest first.
    pub fn drain_all(&mut self) -> Vec<Queued> {
        let mut out = Vec::with_capacity(self.len);
        for (i, q) in self.classes.iter_mut().enumerate() {
            out.extend(q.drain(..).map(|request| Queued {
                request,
                class: i as u32,
            }));
        }
        self.len = 0;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SimTime;

    fn req(id: u64, class: Option<&str>) -> Request {
        let mut r = Request::new(SimTime(id), 1, 1);
        r.id = id;
        r.priority_class = class.map(Into::into);
        r
    }

    /// Pushes `(id, class)` pairs, pops everything, returns the ids in pop order.
    fn check_order(discipline: Discipline, pushes: &[(u64, u32)], expect: &[u64]) {
        let mut q = GatewayQueue::new(3);
        for &(id, c) in pushes {
            q.push(req(id, None), c);
        }
        assert_eq!(q.len(), pushes.len());
        let mut got = Vec::new();
        while let Some(x) = q.pop(discipline) {
            got.push(x.request.id);
        }
        assert_eq!(got, expect, "{discipline:?} {pushes:?}");
        assert!(q.is_empty());
    }

    #[test]
    fn fifo_serves_arrival_order_across_classes() {
        check_order(
            Discipline::Fifo,
            &[(0, 2), (1, 0), (2, 1), (3, 2)],
            &[0, 1, 2, 3],
        );
        check_order(Discipline::Fifo, &[], &[]);
    }

    #[test]
    fn priority_serves_first_class_first_fifo_within() {
        check_order(
            Discipline::Priority,
            &[(0, 2), (1, 0), (2, 1), (3, 2), (4, 0)],
            &[1, 4, 2, 0, 3],
        );
        check_order(Discipline::Priority, &[(5, 1), (6, 1)], &[5, 6]);
    }
}
