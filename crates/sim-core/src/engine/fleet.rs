//! The fleet: replicas and their lives (cold-start stages, ready,
//! draining, terminated), the nodes they run on (first-fit placement,
//! provisioning, warm pools, idle release, spot notices and reclaims), and
//! each node's caches as cold starts fill them (only completed transfers
//! and builds).

use super::accounting::GpuAccounts;
use super::config::*;
use super::error::SimError;
use super::kernel::EventKind;
use super::{Simulation, NOT_ROUTABLE};
use crate::coldstart::{provisioning_rng, ColdStartRngs, NodeCaches};
use crate::lifecycle::{Phase, ReplicaLife, Stage};
use crate::nodes::{units_per_gpu, Demand, Node, Placement};
use crate::replica::batching::BatchingReplica;
use crate::replica::slots::SlotReplica;
use crate::replica::{Finished, Replica, Wake};
use crate::rng;
use crate::time::{SimDuration, SimTime};
use std::collections::VecDeque;
use std::sync::Arc;

/// The fleet room's state: every replica ever created (all deployments,
/// by global id), its life, and the GPU nodes replicas are placed on.
pub(super) struct Fleet {
    /// The node pools every deployment shares (the first deployment's
    /// placement), if replicas are placed on nodes.
    pub(super) placement: Option<Arc<Placement>>,
    /// GPUs one replica holds, by deployment (a MIG instance counts 1).
    pub(super) gpus_per_replica: Vec<u32>,
    /// Units of a GPU GPU time is counted in ([`units_per_gpu`]).
    pub(super) units_per_gpu: u32,
    /// What one replica takes on a node, by deployment.
    pub(super) demand: Vec<Demand>,
    pub(super) replicas: Vec<Replica>,
    pub(super) lives: Vec<ReplicaLife>,
    /// The deployment of each replica.
    pub(super) deployment_of: Vec<u16>,
    /// Each replica's busy time at its deployment's last scrape, ns.
    pub(super) busy_at_scrape: Vec<u64>,
    /// Index of each replica in its deployment's `routable`, or `NOT_ROUTABLE`.
    pub(super) route_pos: Vec<u32>,
    /// GPU nodes (with a placement), in the order they were requested.
    pub(super) nodes: Vec<Node>,
    /// Replicas waiting for a node with free GPUs, oldest first.
    pub(super) unplaced: VecDeque<u32>,
    /// Scratch: the wake-ups a replica asked for while being handled.
    pub(super) wakes: Vec<Wake>,
    /// Scratch: the requests a replica finished while being handled.
    pub(super) finished: Vec<Finished>,
    /// Replicas started during the run (the initial fleet not counted).
    pub(super) started: u32,
    /// Replicas not terminated, by ascending id; those terminated since
    /// the last `live_replicas` are pruned then. Scans of the fleet go over
    /// these, so a fleet's past does not slow its present.
    live: Vec<u32>,
    /// Nodes a replica may be placed on (held, not reclaimed), by
    /// ascending id; those released or doomed since the last
    /// `prune_open` are pruned then.
    open: Vec<u32>,
    /// Nodes held, by pool.
    held: Vec<u32>,
    /// What the windows' GPU time is summed over.
    pub(super) accounts: GpuAccounts,
}

/// The most replicas one run starts after time 0, all deployments
/// together. Every replica is kept to the end of the run (its row in
/// `replicas.csv`, its node's bill), and placing one looks at every node
/// so far, so a fleet that loses replicas as fast as it starts them (spot
/// reclaims within a cold start, with no request to serve) would otherwise
/// grow without bound: past this many the run stops with
/// [`SimError::FleetChurn`].
pub const MAX_REPLICAS_STARTED: u32 = 100_000;

impl Fleet {
    /// An empty fleet for the deployments of `config`.
    pub(super) fn new(config: &SimConfig) -> Self {
        let placement = (config.deployments.first()).and_then(|d| d.fleet.placement.clone());
        let demand = |d: &DeploymentSpec| {
            let p = d.fleet.placement.as_ref();
            match (
                p.and_then(|p| p.mig_profile),
                p.and_then(|p| p.time_slices_per_gpu),
            ) {
                (Some(profile), _) => Demand::Mig(profile),
                (None, Some(n)) => Demand::TimeSlice(n),
                (None, None) => Demand::Gpus(d.fleet.gpus_per_replica.max(1)),
            }
        };
        Fleet {
            // `SimConfig::check` refused pools whose units overflow.
            units_per_gpu: (placement.as_ref())
                .map_or(Ok(1), |p| units_per_gpu(&p.pools))
                .unwrap_or(1),
            placement,
            gpus_per_replica: (config.deployments.iter())
                .map(|d| d.fleet.gpus_per_replica.max(1))
                .collect(),
            demand: config.deployments.iter().map(demand).collect(),
            replicas: Vec::new(),
            lives: Vec::new(),
            deployment_of: Vec::new(),
            busy_at_scrape: Vec::new(),
            route_pos: Vec::new(),
            nodes: Vec::new(),
            unplaced: VecDeque::new(),
            wakes: Vec::new(),
            finished: Vec::new(),
            started: 0,
            live: Vec::new(),
            open: Vec::new(),
            accounts: GpuAccounts::default(),
            held: vec![
                0;
                config
                    .deployments
                    .first()
                    .and_then(|d| d.fleet.placement.as_ref())
                    .map_or(0, |p| p.pools.len())
            ],
        }
    }

    /// Adds a replica (its life, deployment and routing position are pushed
    /// by the caller).
    pub(super) fn add_replica(&mut self, replica: Replica) -> u32 {
        let id = self.replicas.len() as u32;
        self.replicas.push(replica);
        self.live.push(id);
        self.accounts.replicas.push(id);
        id
    }

    /// Adds a node; returns its id.
    fn add_node(&mut self, node: Node) -> u32 {
        let id = self.nodes.len() as u32;
        self.held[node.pool as usize] += 1;
        self.nodes.push(node);
        self.open.push(id);
        self.accounts.nodes.push(id);
        id
    }

    /// Releases `node` (held) at `now`.
    fn release_node(&mut self, node: u32, now: SimTime) {
        let n = &mut self.nodes[node as usize];
        n.released = Some(now);
        self.held[n.pool as usize] -= 1;
    }

    /// The replicas not terminated, by ascending id.
    pub(super) fn live_replicas(&mut self) -> Vec<u32> {
        let lives = &self.lives;
        self.live
            .retain(|&r| lives[r as usize].phase != Phase::Terminated);
        self.live.clone()
    }

    /// Prunes `open` to the nodes a replica may be placed on.
    fn prune_open(&mut self) {
        let nodes = &self.nodes;
        (self.open).retain(|&n| nodes[n as usize].is_held() && !nodes[n as usize].doomed);
    }

    /// Nodes of `pool` held.
    fn held_in(&self, pool: u32) -> u32 {
        self.held[pool as usize]
    }

    /// GPU units a replica of deployment `d` holds.
    pub(super) fn units_of(&self, d: usize) -> u32 {
        self.demand[d].units(self.units_per_gpu)
    }

    /// GPU units a node of `pool` has.
    pub(super) fn capacity_units(&self, p: &Placement, pool: u32) -> u32 {
        p.pools[pool as usize].pricing.gpus_per_node * self.units_per_gpu
    }

    /// Replica `r` takes its share of `node` at `now`.
    fn take_share(&mut self, p: &Placement, r: u32, node: usize, now: SimTime) {
        let demand = self.demand[usize::from(self.deployment_of[r as usize])];
        let n = &mut self.nodes[node];
        n.take(&p.pools[n.pool as usize], demand, self.units_per_gpu, now);
        self.lives[r as usize].node = Some(node as u32);
    }
}

impl Simulation {
    /// With a placement, the replicas ready at time 0 sit on nodes that are
    /// up at time 0 with the image and weights cached, packed first-fit
    /// over the pools in order; then each pool's warm nodes are added.
    pub(super) fn place_initial_fleet(&mut self) {
        let Some(p) = self.shared_placement() else {
            return;
        };
        for r in 0..self.fleet.replicas.len() as u32 {
            let d = self.dep(r);
            // Validation guarantees room for the initial fleet.
            let Some(node) = self.node_with_room(true, d) else {
                break;
            };
            self.fleet.take_share(&p, r, node, SimTime::ZERO);
        }
        for (pi, pool) in p.pools.iter().enumerate() {
            for _ in 0..pool.warm_nodes {
                let caches =
                    NodeCaches::primed(pool.weight_disk_bytes, &p.cold_start, &p.artifacts);
                let mut node = Node::new(pi as u32, SimTime::ZERO, Some(SimTime::ZERO), caches);
                node.warm = true;
                self.fleet.add_node(node);
            }
        }
    }

    /// A node with room for a replica of deployment `d` (free GPUs, or a
    /// free MIG instance of its profile): an existing one first (pools in
    /// order, nodes in order), else a new node in the first pool under its
    /// quota. A new node is up at once and primed (with deployment `d`'s
    /// artifacts) when `initial`, else it starts provisioning now. `None`
    /// when every pool is full.
    pub(super) fn node_with_room(&mut self, initial: bool, d: usize) -> Option<usize> {
        let p = self.spec(d).placement.clone()?;
        let (demand, units) = (self.fleet.demand[d], self.fleet.units_per_gpu);
        for pi in (0..p.pools.len() as u32).filter(|&pi| p.may_use(pi)) {
            let pool = &p.pools[pi as usize];
            self.fleet.prune_open();
            let nodes = &self.fleet.nodes;
            if let Some(&n) = self.fleet.open.iter().find(|&&n| {
                let n = &nodes[n as usize];
                n.pool == pi && n.fits(pool, demand, units)
            }) {
                return Some(n as usize);
            }
        }
        for (pi, pool) in p.pools.iter().enumerate() {
            if !pool.takes(demand) || !p.may_use(pi as u32) {
                continue;
            }
            let held = self.fleet.held_in(pi as u32);
            if pool.max_nodes.is_some_and(|max| held >= max) {
                continue;
            }
            let id = self.fleet.nodes.len() as u32;
            if initial {
                let caches =
                    NodeCaches::primed(pool.weight_disk_bytes, &p.cold_start, &p.artifacts);
                self.fleet.add_node(Node::new(
                    pi as u32,
                    SimTime::ZERO,
                    Some(SimTime::ZERO),
                    caches,
                ));
            } else {
                let d = pool
                    .provisioning
                    .sample(&mut provisioning_rng(self.config.seed, u64::from(id)));
                let caches = NodeCaches::new(pool.weight_disk_bytes);
                self.fleet
                    .add_node(Node::new(pi as u32, self.now, None, caches));
                self.push(self.now + d, EventKind::NodeUp { node: id });
            }
            return Some(id as usize);
        }
        None
    }

    /// A replica started during the run is slower on its first requests
    /// (lazy kernels, graphs): the placement's warm-up penalty is added to
    /// their TTFT and end-to-end latency.
    pub(super) fn note_warmup(&mut self, replica: u32, request: u64) {
        let d = self.dep(replica);
        let Some(p) = self.config.deployments[d].fleet.placement.as_ref() else {
            return;
        };
        let life = &mut self.fleet.lives[replica as usize];
        let (true, Some(ready)) = (life.cold, life.ready_at) else {
            return;
        };
        let k = life.dispatched;
        life.dispatched += 1;
        let extra = p
            .cold_start
            .warmup
            .extra_latency(k, self.now.saturating_since(ready));
        if extra.0 > 0 {
            self.outcomes.warmup_penalty.insert(request, extra.0);
        }
    }

    /// Asks for a new replica: it starts its cold start now. Past
    /// [`MAX_REPLICAS_STARTED`] the run stops instead (`halted`).
    pub(super) fn start_replica(&mut self, d: usize) {
        self.fleet.started += 1;
        if self.fleet.started > MAX_REPLICAS_STARTED {
            if self.halted.is_none() {
                self.halted = Some(SimError::FleetChurn {
                    deployment: self.config.deployments[d].name.to_string(),
                    started: MAX_REPLICAS_STARTED,
                    at_s: self.now.as_secs_f64(),
                });
            }
            return;
        }
        let id = self.fleet.replicas.len() as u32;
        let fleet = &self.config.deployments[d].fleet;
        self.fleet
            .add_replica(new_replica(&fleet.replica, self.config.seed, id));
        let durations = fleet.lifecycle.cold_start.clone();
        let placed = fleet.placement.is_some();
        self.fleet
            .lives
            .push(ReplicaLife::starting(self.now, durations));
        self.fleet.deployment_of.push(d as u16);
        self.fleet.busy_at_scrape.push(0);
        self.fleet.route_pos.push(NOT_ROUTABLE);
        if placed {
            if !self.place(id) {
                self.fleet.unplaced.push_back(id);
            }
        } else {
            self.enter_stage(id, Stage::Provisioning);
        }
    }

    pub(super) fn enter_stage(&mut self, replica: u32, stage: Stage) {
        self.fleet.lives[replica as usize].enter(Phase::Starting(stage), self.now);
        let d = match self.begin_placed_stage(replica, stage) {
            Some(d) => d,
            None => self.fleet.lives[replica as usize].durations.of(stage),
        };
        self.push(self.now + d, EventKind::StageDone { replica });
    }

    /// With a placement, how long `stage` takes for `replica` on its node,
    /// against what the node holds or is fetching now; `None` without one.
    pub(super) fn begin_placed_stage(&mut self, replica: u32, stage: Stage) -> Option<SimDuration> {
        let p = self.spec(self.dep(replica)).placement.clone()?;
        let life = &mut self.fleet.lives[replica as usize];
        let (Some(node), Some(draws)) = (life.node, life.draws) else {
            return None;
        };
        let caches = &mut self.fleet.nodes[node as usize].caches;
        let cs = &p.cold_start;
        let start = match stage {
            Stage::Provisioning => return Some(SimDuration::ZERO),
            Stage::PullingImage => cs.begin_pull(caches, self.now, draws.pull),
            Stage::LoadingWeights => cs.begin_load(&p.artifacts, caches, self.now, draws.load),
            Stage::StartingEngine => cs.begin_startup(&p.artifacts, caches, draws.engine),
        };
        life.waits_for = start.waits_for;
        Some(start.duration)
    }

    /// `replica` no longer waits for its node's transfer in progress (its
    /// stage ended, or it was cancelled): a transfer nobody waits for stops
    /// and leaves nothing in the node's caches.
    pub(super) fn stop_waiting(&mut self, replica: u32) {
        let life = &mut self.fleet.lives[replica as usize];
        if let (Some(t), Some(node)) = (life.waits_for.take(), life.node) {
            self.fleet.nodes[node as usize]
                .caches
                .stop_waiting(&t, self.now);
        }
    }

    /// Puts a starting replica on the first node with enough free GPUs, or
    /// on a newly requested node within a pool's quota. Returns false when
    /// neither is possible (the replica waits for GPUs to free up).
    pub(super) fn place(&mut self, replica: u32) -> bool {
        let d = self.dep(replica);
        let Some(p) = self.spec(d).placement.clone() else {
            return false;
        };
        let Some(node) = self.node_with_room(false, d) else {
            return false;
        };
        let pool = self.fleet.nodes[node].pool;
        let capacity = self.fleet.capacity_units(&p, pool);
        if self.fleet.nodes[node].warm {
            self.fleet.nodes[node].leave_warm_pool(capacity, self.now);
            self.replenish_warm_pool(pool);
        }
        self.fleet.take_share(&p, replica, node, self.now);
        let n = &mut self.fleet.nodes[node];
        n.release_epoch += 1; // a queued release no longer applies
        let up = n.up_at.is_some();
        let life = &mut self.fleet.lives[replica as usize];
        life.placed_after_waiting(self.now);
        if up {
            self.begin_transfer_stages(replica);
        }
        true
    }

    /// Requests a primed node for `pool`'s warm pool (within its quota).
    pub(super) fn replenish_warm_pool(&mut self, pool: u32) {
        let Some(p) = self.shared_placement() else {
            return;
        };
        let spec = &p.pools[pool as usize];
        let held = self.fleet.held_in(pool);
        if spec.max_nodes.is_some_and(|max| held >= max) {
            return;
        }
        let id = self.fleet.nodes.len() as u32;
        let d = spec
            .provisioning
            .sample(&mut provisioning_rng(self.config.seed, u64::from(id)));
        let caches = NodeCaches::primed(spec.weight_disk_bytes, &p.cold_start, &p.artifacts);
        let mut node = Node::new(pool, self.now, None, caches);
        node.warm = true;
        self.fleet.add_node(node);
        self.push(self.now + d, EventKind::NodeUp { node: id });
    }

    /// The replica's node is up: take the draws of its pull, load and
    /// start-up (each stage is then planned as it begins, against what the
    /// node holds or is fetching then) and start pulling.
    pub(super) fn begin_transfer_stages(&mut self, replica: u32) {
        let mut rngs = ColdStartRngs::new(self.config.seed, u64::from(replica));
        self.fleet.lives[replica as usize].draws = Some(rngs.draw());
        self.enter_stage(replica, Stage::PullingImage);
    }

    pub(super) fn on_node_up(&mut self, node: u32) {
        if !self.fleet.nodes[node as usize].is_held() {
            return; // released (its replicas were cancelled) before it came up
        }
        self.fleet.nodes[node as usize].up_at = Some(self.now);
        self.schedule_interruption(node);
        for r in self.fleet.live_replicas() {
            let life = &self.fleet.lives[r as usize];
            if life.node == Some(node) && life.phase == Phase::Starting(Stage::Provisioning) {
                self.begin_transfer_stages(r);
            }
        }
    }

    /// How `node`'s pool is reclaimed, if it is a spot pool.
    fn spot_of(&self, node: u32) -> Option<crate::nodes::SpotSpec> {
        let p = self.shared_placement()?;
        p.pools[self.fleet.nodes[node as usize].pool as usize]
            .spot
            .clone()
    }

    /// A spot node's reclaim notice comes after an exponential time at the
    /// pool's interruption rate, drawn from the stream `("model.spot", node)`.
    pub(super) fn schedule_interruption(&mut self, node: u32) {
        let Some(spot) = self.spot_of(node) else {
            return;
        };
        if self.finished_work() {
            return; // nothing left to serve: reclaims would only churn nodes forever
        }
        let mut rng = rng::stream(self.config.seed, "model.spot", u64::from(node));
        let per_s = spot.interruptions_per_node_hour / 3600.0;
        if let Some(gap) = crate::coldstart::exponential_gap(&mut rng, per_s) {
            self.push(self.now + gap, EventKind::SpotNotice { node });
        }
    }

    /// A spot node will go away after the pool's notice: its ready replicas
    /// drain until then, replicas still starting are dropped, no new
    /// replica is placed on it, and replacements are requested at once.
    pub(super) fn on_spot_notice(&mut self, node: u32) {
        let Some(spot) = self.spot_of(node) else {
            return;
        };
        if !self.fleet.nodes[node as usize].is_held() {
            return;
        }
        self.fleet.nodes[node as usize].doomed = true;
        self.push(self.now + spot.notice, EventKind::SpotKill { node });
        for r in self.fleet.live_replicas() {
            if self.fleet.lives[r as usize].node != Some(node) {
                continue;
            }
            match self.fleet.lives[r as usize].phase {
                Phase::Ready => self.begin_drain(r),
                Phase::Starting(_) => self.terminate(r),
                Phase::Draining | Phase::Terminated => {}
            }
        }
        for d in 0..self.deployments.len() {
            self.reconcile(d);
        }
    }

    /// The node is gone: whatever still runs on it fails.
    pub(super) fn on_spot_kill(&mut self, node: u32) {
        for r in self.fleet.live_replicas() {
            if self.fleet.lives[r as usize].node == Some(node)
                && self.fleet.lives[r as usize].phase == Phase::Draining
            {
                let aborted = self.fleet.replicas[r as usize].abort_all(self.now);
                for a in aborted {
                    self.record_failed(a, self.dep(r), Some(r));
                }
                self.terminate(r);
            }
        }
        let Some(p) = self.shared_placement() else {
            return;
        };
        let capacity = self
            .fleet
            .capacity_units(&p, self.fleet.nodes[node as usize].pool);
        let n = &mut self.fleet.nodes[node as usize];
        if n.is_held() {
            n.close_unallocated(capacity, self.now);
            n.release_epoch += 1; // a queued idle release no longer applies
            self.fleet.release_node(node, self.now);
        }
    }

    /// Gives the replica's GPUs back to its node; an empty node is released
    /// after the pool's delay. Replicas waiting for GPUs get a new chance.
    pub(super) fn free_gpus(&mut self, replica: u32) {
        let Some(p) = self.shared_placement() else {
            return;
        };
        let Some(node) = self.fleet.lives[replica as usize].node else {
            return;
        };
        let demand = self.fleet.demand[self.dep(replica)];
        let pool = &p.pools[self.fleet.nodes[node as usize].pool as usize];
        let n = &mut self.fleet.nodes[node as usize];
        n.give_back(pool, demand, self.fleet.units_per_gpu, self.now);
        if n.used_units == 0 && !n.warm {
            n.release_epoch += 1;
            let epoch = n.release_epoch;
            self.push(
                self.now + pool.idle_release_delay,
                EventKind::NodeRelease { node, epoch },
            );
        }
        while let Some(&waiting) = self.fleet.unplaced.front() {
            if self.fleet.lives[waiting as usize].phase != Phase::Starting(Stage::Provisioning) {
                self.fleet.unplaced.pop_front(); // cancelled while waiting
                continue;
            }
            if !self.place(waiting) {
                break;
            }
            self.fleet.unplaced.pop_front();
        }
    }

    pub(super) fn on_node_release(&mut self, node: u32, epoch: u64) {
        let Some(p) = self.shared_placement() else {
            return;
        };
        let capacity = self
            .fleet
            .capacity_units(&p, self.fleet.nodes[node as usize].pool);
        let n = &mut self.fleet.nodes[node as usize];
        if n.release_epoch == epoch && n.used_units == 0 && n.is_held() {
            n.close_unallocated(capacity, self.now);
            self.fleet.release_node(node, self.now);
        }
    }

    pub(super) fn on_stage_done(&mut self, replica: u32) {
        let Phase::Starting(stage) = self.fleet.lives[replica as usize].phase else {
            return; // cancelled while starting
        };
        self.stop_waiting(replica);
        match stage.next() {
            Some(next) => self.enter_stage(replica, next),
            None => {
                self.fleet.lives[replica as usize].enter(Phase::Ready, self.now);
                if let Some(p) = self.spec(self.dep(replica)).placement.clone() {
                    if let Some(node) = self.fleet.lives[replica as usize].node {
                        self.fleet.nodes[node as usize]
                            .caches
                            .engine_built(&p.artifacts);
                    }
                    let w = &p.cold_start.warmup;
                    self.fleet.lives[replica as usize].warms_up = w.slowdown_factor > 1.0;
                    self.fleet.replicas[replica as usize].begin_warmup(
                        self.now,
                        w.requests,
                        w.duration(),
                        w.slowdown_factor,
                    );
                }
                self.add_routable(replica);
            }
        }
    }

    pub(super) fn begin_drain(&mut self, replica: u32) {
        self.remove_routable(replica);
        // Busy time elapsed so far: in jump mode the counter has already
        // booked the rest of a planned run, which happens while draining.
        self.fleet.lives[replica as usize].busy_at_drain =
            Some(self.fleet.replicas[replica as usize].busy_ns_at(self.now));
        self.fleet.lives[replica as usize].enter(Phase::Draining, self.now);
        if self.fleet.replicas[replica as usize].load().outstanding() == 0 {
            self.terminate(replica);
        } else {
            let grace = self.spec(self.dep(replica)).lifecycle.drain_grace;
            self.push(self.now + grace, EventKind::DrainDeadline { replica });
        }
    }

    /// The grace period is over: whatever the replica still holds fails.
    pub(super) fn on_drain_deadline(&mut self, replica: u32) {
        if self.fleet.lives[replica as usize].phase != Phase::Draining {
            return;
        }
        let aborted = self.fleet.replicas[replica as usize].abort_all(self.now);
        for a in aborted {
            self.record_failed(a, self.dep(replica), Some(replica));
        }
        self.terminate(replica);
    }

    pub(super) fn terminate(&mut self, replica: u32) {
        self.stop_waiting(replica);
        self.remove_routable(replica);
        self.fleet.lives[replica as usize].enter(Phase::Terminated, self.now);
        self.free_gpus(replica);
        self.fleet.replicas[replica as usize].retire();
    }
}

/// Replica `i` of the fleet; it draws its randomness from the stream
/// `("model.replica", i)` of the seed.
pub(super) fn new_replica(spec: &ReplicaSpec, seed: u64, i: u32) -> Replica {
    match spec {
        ReplicaSpec::Batching { config, perf } => {
            Replica::Batching(BatchingReplica::new(Arc::clone(config), Arc::clone(perf)))
        }
        ReplicaSpec::Slots { slots, service } => Replica::Slots(SlotReplica::new(
            *slots,
            service,
            rng::stream(seed, "model.replica", u64::from(i)),
        )),
    }
}
