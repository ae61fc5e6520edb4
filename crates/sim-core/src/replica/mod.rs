//! Replicas: one running copy of a model that requests are routed to.
//!
//! Two kinds exist, both behind the closed [`Replica`] enum so the event loop
//! dispatches without virtual calls:
//! - [`batching::BatchingReplica`], a vLLM-V1-like continuous-batching engine
//!   with a paged KV cache and recompute preemption, or static and dynamic
//!   batches (Triton) run to completion on the same performance model;
//! - [`slots::SlotReplica`], `c` identical servers with service times drawn
//!   from a distribution, independent of batching: the M/M/c reference model
//!   the engine is validated against.
//!
//! A replica never looks at the clock or the event queue: the engine calls it
//! with the current time, and it answers with the wake-ups it wants
//! ([`Wake`]) and the sequences that finished ([`Finished`]).

pub mod adapters;
pub mod batching;
pub mod prefix_cache;
pub mod slots;

use crate::request::{Request, RequestId};
use crate::time::SimTime;
use std::sync::Arc;

/// A wake-up a replica asks for: call [`Replica::on_wake`] at `at` with
/// `token`. A replica may leave stale wake-ups in the queue; it recognises
/// them by their token and ignores them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wake {
    /// When to wake the replica.
    pub at: SimTime,
    /// Opaque to the engine; passed back unchanged.
    pub token: u64,
}

/// A request as a replica holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seq {
    /// The request's id.
    pub id: RequestId,
    /// Arrival at the fleet.
    pub arrival: SimTime,
    /// Prompt tokens.
    pub input_tokens: u32,
    /// Output tokens to generate.
    pub output_tokens: u32,
    /// The prompt's prefix-block hashes, oldest first (`None` when the
    /// request has none, so a trace without hashes allocates nothing).
    pub prefix_hashes: Option<Arc<[u64]>>,
    /// LoRA adapter, if any.
    pub adapter: Option<Arc<str>>,
    /// Leading prompt tokens whose KV arrives with the request (a
    /// disaggregated decode stage: the prefill stage computed it and sent
    /// it over the link). They take KV blocks but no prefill compute.
    pub kv_present_tokens: u32,
}

impl Seq {
    /// What a replica needs of a request.
    pub fn from_request(request: &Request) -> Seq {
        Seq {
            id: request.id,
            arrival: request.arrival,
            input_tokens: request.input_tokens,
            output_tokens: request.output_tokens,
            prefix_hashes: (!request.prefix_hashes.is_empty())
                .then(|| Arc::from(&request.prefix_hashes[..])),
            adapter: request.adapter.as_deref().map(Arc::from),
            kv_present_tokens: 0,
        }
    }

    /// The prefix-block hashes (empty when none).
    pub fn hashes(&self) -> &[u64] {
        self.prefix_hashes.as_deref().unwrap_or(&[])
    }
}

/// A sequence that left a replica, with its timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finished {
    /// The request's id.
    pub id: RequestId,
    /// Arrival at the fleet.
    pub arrival: SimTime,
    /// Start of the first iteration that computed any of its tokens.
    pub first_scheduled: SimTime,
    /// When its first output token was produced.
    pub first_token: SimTime,
    /// When its last output token was produced.
    pub finished: SimTime,
    /// Prompt tokens.
    pub input_tokens: u32,
    /// Output tokens generated.
    pub output_tokens: u32,
    /// Longest wait between two consecutive output tokens, ns (`None`
    /// for a one-token answer).
    pub itl_max_ns: Option<u64>,
    /// Times it was preempted and recomputed.
    pub preemptions: u32,
}

/// A request that left a replica without completing, with what it got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aborted {
    /// The request.
    pub seq: Seq,
    /// Start of its first iteration, if it had one.
    pub first_scheduled: Option<SimTime>,
    /// Its first output token, if produced.
    pub first_token: Option<SimTime>,
    /// Times it was preempted and recomputed.
    pub preemptions: u32,
}

/// What a router may see of a replica.
///
/// `waiting` and `running` are always current. The per-request fields are
/// filled by the engine just before it asks the router, and only for
/// routers that ask for them ([`crate::Router::wants_prefix_match`],
/// [`crate::Router::wants_adapters`]); otherwise they are 0 / `false`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplicaLoad {
    /// Requests queued at the replica, not yet running.
    pub waiting: u32,
    /// Requests in the running batch (or in service).
    pub running: u32,
    /// Leading prefix blocks of the request being routed that the
    /// replica's prefix cache holds.
    pub cached_prefix_blocks: u32,
    /// The replica holds the request's LoRA adapter.
    pub has_adapter: bool,
}

impl ReplicaLoad {
    /// Waiting plus running: what "least outstanding" minimises.
    pub fn outstanding(&self) -> u32 {
        self.waiting + self.running
    }
}

/// Busy-time and work counters of one replica.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplicaCounters {
    /// Time the replica spent executing iterations (or, for slot replicas,
    /// slot-time in service divided by the slot count), ns.
    pub busy_ns: u64,
    /// Engine iterations executed.
    pub iterations: u64,
    /// Preemptions (recompute).
    pub preemptions: u64,
    /// Computed tokens whose KV entries preemptions discarded.
    pub recomputed_tokens: u64,
    /// Prefix-cache lookups: sequences moved from waiting to running while
    /// prefix caching is on (a recomputed sequence looks up again).
    pub prefix_lookups: u64,
    /// Prefix blocks those lookups asked for.
    pub prefix_query_blocks: u64,
    /// Leading prefix blocks found.
    pub prefix_hit_blocks: u64,
    /// Prompt tokens those lookups covered (prompt plus generated tokens
    /// for a recompute).
    pub prefix_query_tokens: u64,
    /// Prompt tokens that started as computed (cached prefill tokens).
    pub prefix_hit_tokens: u64,
    /// Prefix blocks evicted from the cache.
    pub prefix_evicted_blocks: u64,
    /// LoRA adapters loaded.
    pub adapter_loads: u64,
    /// LoRA adapters evicted.
    pub adapter_evictions: u64,
}

/// One replica of a deployment.
#[derive(Debug)]
pub enum Replica {
    /// Continuous batching over a paged KV cache.
    Batching(batching::BatchingReplica),
    /// `c` servers with batch-independent service times.
    Slots(slots::SlotReplica),
}

impl Replica {
    /// Hands a new request to the replica at `now`.
    pub fn admit(&mut self, seq: Seq, now: SimTime, wakes: &mut Vec<Wake>) {
        match self {
            Replica::Batching(r) => r.admit(seq, now, wakes),
            Replica::Slots(r) => r.admit(seq, now, wakes),
        }
    }

    /// Handles a wake-up the replica asked for earlier.
    pub fn on_wake(
        &mut self,
        now: SimTime,
        token: u64,
        finished: &mut Vec<Finished>,
        wakes: &mut Vec<Wake>,
    ) {
        match self {
            Replica::Batching(r) => r.on_wake(now, token, finished, wakes),
            Replica::Slots(r) => r.on_wake(now, token, finished, wakes),
        }
    }

    /// Whether the wake-up `(at, token)` it asked for is still current
    /// (stale ones stay queued and are ignored when they come).
    pub fn wake_is_current(&self, at: SimTime, token: u64) -> bool {
        match self {
            Replica::Batching(r) => r.wake_is_current(token),
            Replica::Slots(r) => r.wake_is_current(at, token),
        }
    }

    /// Frees what a terminated replica no longer needs; its counters stay.
    pub fn retire(&mut self) {
        match self {
            Replica::Batching(r) => r.retire(),
            Replica::Slots(_) => {}
        }
    }

    /// Stops the replica: every request it holds leaves without completing.
    pub fn abort_all(&mut self, now: SimTime) -> Vec<Aborted> {
        match self {
            Replica::Batching(r) => r.abort_all(now),
            Replica::Slots(r) => r.abort_all(now),
        }
    }

    /// Starts a warm-up (continuous batching only; see
    /// [`batching::BatchingReplica::begin_warmup`]).
    pub fn begin_warmup(
        &mut self,
        now: SimTime,
        requests: u32,
        duration: crate::time::SimDuration,
        factor: f64,
    ) {
        if let Replica::Batching(r) = self {
            r.begin_warmup(now, requests, duration, factor);
        }
    }

    /// When the warm-up ended, if it had one and it has ended by `now`.
    pub fn warmup_ended(&self, now: SimTime) -> Option<SimTime> {
        match self {
            Replica::Batching(r) => r.warmup_ended(now),
            Replica::Slots(_) => None,
        }
    }

    /// Current queue and batch sizes.
    pub fn load(&self) -> ReplicaLoad {
        match self {
            Replica::Batching(r) => r.load(),
            Replica::Slots(r) => r.load(),
        }
    }

    /// Leading blocks of `hashes` the replica's prefix cache holds (0
    /// without a prefix cache). Does not change the cache.
    pub fn cached_prefix_blocks(&self, hashes: &[u64]) -> u32 {
        match self {
            Replica::Batching(r) => r.cached_prefix_blocks(hashes),
            Replica::Slots(_) => 0,
        }
    }

    /// Whether the replica holds LoRA adapter `name` (`false` without LoRA).
    pub fn has_adapter(&self, name: &str) -> bool {
        match self {
            Replica::Batching(r) => r.has_adapter(name),
            Replica::Slots(_) => false,
        }
    }

    /// vLLM's `kv_cache_usage_perc` at `now`: the fraction of KV blocks in
    /// use (slot replicas: the fraction of slots in service), the same in
    /// both stepping modes.
    pub fn kv_cache_usage_at(&self, now: SimTime) -> f64 {
        match self {
            Replica::Batching(r) => r.kv_cache_usage_at(now),
            Replica::Slots(r) => r.slot_usage(),
        }
    }

    /// Busy time up to `now`, ns: what the counters hold less the part of
    /// an iteration or service still ahead of `now`.
    pub fn busy_ns_at(&self, now: SimTime) -> u64 {
        match self {
            Replica::Batching(r) => r.busy_ns_at(now),
            Replica::Slots(r) => r.busy_ns_at(now),
        }
    }

    /// Busy time and work counters so far (busy time as booked: see
    /// `busy_ns_at`).
    pub fn counters(&self) -> ReplicaCounters {
        match self {
            Replica::Batching(r) => r.counters(),
            Replica::Slots(r) => r.counters(),
        }
    }
}
