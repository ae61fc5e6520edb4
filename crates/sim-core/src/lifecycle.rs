//! How replicas come and go: the `scheduled` scaling policy, the stages of
//! a cold start, and draining.
//!
//! A replica is born `Starting` at its first stage, passes through
//! provisioning, image pull, weight load and engine start-up, becomes
//! `Ready` (routable), and when the fleet scales down it is `Draining`: it
//! takes no new requests, finishes what it holds within the grace period,
//! and whatever is left then fails. `Terminated` replicas are kept for
//! their counters but never touched again; the engine retires them
//! (`Replica::retire`), freeing what only serving needs.
//!
//! One vocabulary for a replica's state: [`Phase`] (with [`Stage`] while
//! starting) is what the engine tracks; [`Phase::pod_phase`] is what a
//! cluster reports of it to an autoscaler, and [`Stage::gpu_state`] with
//! the ready replica's busy, idle and warm-up time is how its GPU time is
//! accounted ([`GpuState`]).

use crate::autoscale::PodPhase;
use crate::cost::GpuState;
use crate::time::{SimDuration, SimTime};

/// The stages of a cold start, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Waiting for a GPU node.
    Provisioning,
    /// Pulling and extracting the container image.
    PullingImage,
    /// Loading the weights into GPU memory.
    LoadingWeights,
    /// Engine start-up: profiling, compilation, CUDA graphs.
    StartingEngine,
}

impl Stage {
    /// All stages in order.
    pub const ALL: [Stage; 4] = [
        Stage::Provisioning,
        Stage::PullingImage,
        Stage::LoadingWeights,
        Stage::StartingEngine,
    ];

    /// The stage after this one, or `None` when the replica is ready.
    pub fn next(self) -> Option<Stage> {
        match self {
            Stage::Provisioning => Some(Stage::PullingImage),
            Stage::PullingImage => Some(Stage::LoadingWeights),
            Stage::LoadingWeights => Some(Stage::StartingEngine),
            Stage::StartingEngine => None,
        }
    }

    /// The GPU-time state of a replica in this stage.
    pub fn gpu_state(self) -> GpuState {
        match self {
            Stage::Provisioning => GpuState::Provisioning,
            Stage::PullingImage => GpuState::PullingImage,
            Stage::LoadingWeights => GpuState::LoadingWeights,
            Stage::StartingEngine => GpuState::StartingEngine,
        }
    }

    /// snake_case name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Provisioning => "provisioning",
            Stage::PullingImage => "pulling_image",
            Stage::LoadingWeights => "loading_weights",
            Stage::StartingEngine => "starting_engine",
        }
    }
}

/// Where a replica is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Coming up; not routable.
    Starting(Stage),
    /// Serving; routable.
    Ready,
    /// Finishing what it holds; not routable.
    Draining,
    /// Gone.
    Terminated,
}

/// Cold-start stage durations of every new replica.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StageDurations {
    /// Node provisioning.
    pub provisioning: SimDuration,
    /// Image pull and extract.
    pub pulling_image: SimDuration,
    /// Weight load.
    pub loading_weights: SimDuration,
    /// Engine start-up.
    pub starting_engine: SimDuration,
}

impl StageDurations {
    /// The duration of one stage.
    pub fn of(&self, stage: Stage) -> SimDuration {
        match stage {
            Stage::Provisioning => self.provisioning,
            Stage::PullingImage => self.pulling_image,
            Stage::LoadingWeights => self.loading_weights,
            Stage::StartingEngine => self.starting_engine,
        }
    }

    /// All stages together.
    pub fn total(&self) -> SimDuration {
        Stage::ALL
            .iter()
            .fold(SimDuration::ZERO, |acc, s| acc + self.of(*s))
    }
}

/// How the fleet changes over a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LifecycleSpec {
    /// Desired replica counts over time (the `scheduled` policy), sorted by
    /// time. The fleet's initial replicas are ready at time 0; each entry
    /// sets the desired count from its instant on. Empty: a fixed fleet.
    pub schedule: Vec<(SimTime, u32)>,
    /// Cold-start stages of replicas started during the run.
    pub cold_start: StageDurations,
    /// How long a draining replica may take to finish what it holds.
    pub drain_grace: SimDuration,
    /// At most this many replicas start in any 60 s window (`None`: no
    /// limit); further starts wait their turn.
    pub max_starts_per_minute: Option<u32>,
}

impl Phase {
    /// The phase a cluster reports for a replica in this one (what an
    /// autoscaler sees); `None` once it is gone.
    pub fn pod_phase(self) -> Option<PodPhase> {
        match self {
            Phase::Starting(_) => Some(PodPhase::Starting),
            Phase::Ready => Some(PodPhase::Ready),
            Phase::Draining => Some(PodPhase::Draining),
            Phase::Terminated => None,
        }
    }
}

impl Default for LifecycleSpec {
    fn default() -> Self {
        LifecycleSpec {
            schedule: Vec::new(),
            cold_start: StageDurations::default(),
            drain_grace: SimDuration::from_secs(30),
            max_starts_per_minute: None,
        }
    }
}

/// What the engine tracks of one replica's life.
#[derive(Clone, Debug)]
pub(crate) struct ReplicaLife {
    pub(crate) phase: Phase,
    /// When the current phase began.
    pub(crate) since: SimTime,
    /// When the replica was asked for (GPU time starts here).
    pub(crate) created: SimTime,
    /// When it became ready, if it did.
    pub(crate) ready_at: Option<SimTime>,
    /// When it ended, if it did.
    pub(crate) ended: Option<SimTime>,
    /// Time spent in each cold-start stage, ns (indexed like `Stage::ALL`).
    pub(crate) stage_ns: [u64; 4],
    /// Time spent draining, ns.
    pub(crate) draining_ns: u64,
    /// Started during the run (paid a cold start), not ready at time 0.
    pub(crate) cold: bool,
    /// The node it runs on, once placed.
    pub(crate) node: Option<u32>,
    /// Its cold-start stage durations, without a placement.
    pub(crate) durations: StageDurations,
    /// With a placement, the draws that fix its pull, load and start-up
    /// (taken when it reaches a node that is up).
    pub(crate) draws: Option<crate::coldstart::ColdStartDraws>,
    /// The node's transfer in progress it waits for in its current stage.
    pub(crate) waits_for: Option<crate::coldstart::InFlight>,
    /// Time it waited for a node with free GPUs before it got one, ns (no
    /// GPU is held meanwhile, so it is not billed).
    pub(crate) waiting_ns: u64,
    /// The replica's busy counter when it began draining.
    pub(crate) busy_at_drain: Option<u64>,
    /// Requests routed to it so far (for the warm-up window).
    pub(crate) dispatched: u64,
    /// It runs slower for a while after becoming ready.
    pub(crate) warms_up: bool,
}

impl ReplicaLife {
    pub(crate) fn ready_at_start() -> Self {
        ReplicaLife {
            phase: Phase::Ready,
            since: SimTime::ZERO,
            created: SimTime::ZERO,
            ready_at: Some(SimTime::ZERO),
            ended: None,
            stage_ns: [0; 4],
            draining_ns: 0,
            cold: false,
            node: None,
            durations: StageDurations::default(),
            draws: None,
            waits_for: None,
            waiting_ns: 0,
            busy_at_drain: None,
            dispatched: 0,
            warms_up: false,
        }
    }

    pub(crate) fn starting(now: SimTime, durations: StageDurations) -> Self {
        ReplicaLife {
            phase: Phase::Starting(Stage::Provisioning),
            since: now,
            created: now,
            ready_at: None,
            ended: None,
            stage_ns: [0; 4],
            draining_ns: 0,
            cold: true,
            node: None,
            durations,
            draws: None,
            waits_for: None,
            waiting_ns: 0,
            busy_at_drain: None,
            dispatched: 0,
            warms_up: false,
        }
    }

    /// Closes the current phase at `now` and enters `next`.
    pub(crate) fn enter(&mut self, next: Phase, now: SimTime) {
        let spent = now.saturating_since(self.since).0;
        match self.phase {
            Phase::Starting(stage) => {
                let i = Stage::ALL.iter().position(|s| *s == stage).unwrap_or(0);
                self.stage_ns[i] += spent;
            }
            Phase::Draining => self.draining_ns += spent,
            Phase::Ready | Phase::Terminated => {}
        }
        match next {
            Phase::Ready => self.ready_at = Some(now),
            Phase::Terminated => self.ended = Some(now),
            Phase::Starting(_) | Phase::Draining => {}
        }
        self.phase = next;
        self.since = now;
    }

    /// The replica got GPUs at `now` after waiting for them: the wait so far
    /// is not GPU time.
    pub(crate) fn placed_after_waiting(&mut self, now: SimTime) {
        self.waiting_ns += now.saturating_since(self.since).0;
        self.since = now;
    }

    /// Time spent ready (busy or idle, draining excluded) up to `end`, ns.
    pub(crate) fn ready_ns(&self, end: SimTime) -> u64 {
        let Some(ready) = self.ready_at else { return 0 };
        let stop = self.ended.unwrap_or(end);
        stop.saturating_since(ready)
            .0
            .saturating_sub(self.draining_ns)
    }

    /// When the replica was Ready (busy or idle, draining excluded), up
    /// to `end`: `(from, to)`, or `None` if it never became ready. Ready
    /// time is one span: it ends when the replica drains or ends.
    pub(crate) fn ready_span(&self, end: SimTime) -> Option<(SimTime, SimTime)> {
        let ready = self.ready_at?;
        let stop = match self.phase {
            Phase::Draining => self.since,
            _ => SimTime(self.ended.unwrap_or(end).0.saturating_sub(self.draining_ns)),
        };
        Some((ready, stop.max(ready).min(end.max(ready))))
    }

    /// Time the replica held its GPUs up to `end`, ns.
    pub(crate) fn held_ns(&self, end: SimTime) -> u64 {
        self.ended
            .unwrap_or(end)
            .saturating_since(self.created)
            .0
            .saturating_sub(self.waiting_ns)
    }
}
