//! GPU time by state: one breakdown of each replica's and node's life
//! into provisioning, pulling, loading, starting, warming up, busy, idle,
//! draining, warm pool and unallocated time, used both by the time-series
//! windows (evaluated as of a window's end) and by the cost ledger
//! (evaluated at the run's end).

use super::Simulation;
use crate::cost::{CostReport, GpuLedger, GpuState};
use crate::lifecycle::{Phase, Stage};
use crate::nodes::Placement;
use crate::time::SimTime;

impl Simulation {
    /// GPU time by state from time 0 to `now`, GPU·ns, indexed like
    /// [`GpuState::ALL`]: the cost report's accounting (`cost_report`)
    /// evaluated at `now` without closing anything. With a placement, only
    /// replicas that got a node hold GPUs, and nodes add their unassigned
    /// GPUs (warm pool while the node is in it, else unallocated); without
    /// one, every replica holds its GPUs from its creation.
    pub(super) fn gpu_ns_until(&self, now: SimTime) -> [u128; GpuState::COUNT] {
        let mut out = [0u128; GpuState::COUNT];
        let mut add = |state: GpuState, gpu_ns: u128| {
            if let Some(i) = GpuState::ALL.iter().position(|s| *s == state) {
                out[i] += gpu_ns;
            }
        };
        let placement = self.shared_placement();
        if let Some(p) = &placement {
            for n in &self.nodes {
                let per_node = p.pools[n.pool as usize].pricing.gpus_per_node;
                let open = if n.released.is_none() {
                    let free = u128::from(per_node.saturating_sub(n.used_gpus));
                    free * u128::from(now.saturating_since(n.used_since).0)
                } else {
                    0
                };
                let unused = n.unallocated_gpu_ns + open;
                if n.warm {
                    add(GpuState::WarmPool, n.warm_pool_gpu_ns + unused);
                } else {
                    add(GpuState::WarmPool, n.warm_pool_gpu_ns);
                    add(GpuState::Unallocated, unused);
                }
            }
        }
        for (i, (replica, life)) in self.replicas.iter().zip(&self.lives).enumerate() {
            if placement.is_some() && life.node.is_none() {
                continue; // waiting for a node: no GPU held yet
            }
            let d = usize::from(self.deployment_of[i]);
            let gpus = u128::from(self.config.deployments[d].fleet.gpus_per_replica.max(1));
            // The phase in progress has not been added to the life's
            // counters yet.
            let open = now.saturating_since(life.since).0;
            let mut stage_ns = life.stage_ns;
            let mut draining_ns = life.draining_ns;
            match life.phase {
                Phase::Starting(stage) => {
                    if let Some(k) = Stage::ALL.iter().position(|s| *s == stage) {
                        stage_ns[k] += open;
                    }
                }
                Phase::Draining => draining_ns += open,
                Phase::Ready | Phase::Terminated => {}
            }
            for (stage, ns) in Stage::ALL.iter().zip(stage_ns) {
                add(stage_state(*stage), gpus * u128::from(ns));
            }
            let ready = match life.ready_at {
                Some(at) => {
                    (life.ended.unwrap_or(now).saturating_since(at).0).saturating_sub(draining_ns)
                }
                None => 0,
            };
            let warming = match (life.warms_up, life.ready_at) {
                (true, Some(at)) => (replica.warmup_ended(now).unwrap_or(now))
                    .saturating_since(at)
                    .0
                    .min(ready),
                _ => 0,
            };
            let busy_total = (life.busy_at_drain).unwrap_or_else(|| replica.busy_ns_at(now));
            let busy = busy_total.saturating_sub(warming).min(ready - warming);
            for (state, ns) in [
                (GpuState::WarmingUp, warming),
                (GpuState::Busy, busy),
                (GpuState::IdleReady, ready - warming - busy),
                (GpuState::Draining, draining_ns),
            ] {
                add(state, gpus * u128::from(ns));
            }
        }
        out
    }

    /// GPU time by state and dollars, from the nodes' and replicas' lives.
    pub(super) fn cost_report(
        &mut self,
        p: &Placement,
        end: SimTime,
        completed: u64,
        output_tokens: u64,
    ) -> Result<CostReport, crate::cost::LedgerError> {
        let mut ledger = GpuLedger::new(p.pools.iter().map(|pool| pool.pricing.clone()).collect())?;
        let span = |ns: u64| (SimTime::ZERO, SimTime(ns));
        for n in &mut self.nodes {
            let pool = n.pool as usize;
            let stop = n.released.unwrap_or(end).max(n.requested);
            if n.released.is_none() {
                n.close_unallocated(p.pools[pool].pricing.gpus_per_node, stop);
            }
            ledger.node_held(pool, n.requested, stop)?;
            let (warm, unallocated) = if n.warm {
                (n.warm_pool_gpu_ns + n.unallocated_gpu_ns, 0)
            } else {
                (n.warm_pool_gpu_ns, n.unallocated_gpu_ns)
            };
            for (state, mut left) in [
                (GpuState::WarmPool, warm),
                (GpuState::Unallocated, unallocated),
            ] {
                while left > 0 {
                    let chunk = u64::try_from(left).unwrap_or(u64::MAX);
                    let (from, to) = span(chunk);
                    ledger.add(pool, state, 1, from, to)?;
                    left -= u128::from(chunk);
                }
            }
        }
        for (i, (replica, life)) in self.replicas.iter().zip(self.lives.iter_mut()).enumerate() {
            let Some(node) = life.node else {
                continue; // never held GPUs
            };
            let d = usize::from(self.deployment_of[i]);
            let gpus = self.config.deployments[d].fleet.gpus_per_replica.max(1);
            let pool = self.nodes[node as usize].pool as usize;
            if life.phase != Phase::Terminated {
                life.enter(Phase::Terminated, end);
            }
            for (i, stage) in Stage::ALL.iter().enumerate() {
                let (from, to) = span(life.stage_ns[i]);
                ledger.add(pool, stage_state(*stage), gpus, from, to)?;
            }
            let ready = life.ready_ns(end);
            // A warm-up window is its own state; the rest of the ready time
            // splits into busy and idle.
            let warming = match (life.warms_up, life.ready_at) {
                (true, Some(at)) => replica
                    .warmup_ended(end)
                    .unwrap_or(end)
                    .saturating_since(at)
                    .0
                    .min(ready),
                _ => 0,
            };
            let busy_total = life.busy_at_drain.unwrap_or(replica.counters().busy_ns);
            let busy = busy_total.saturating_sub(warming).min(ready - warming);
            for (state, ns) in [
                (GpuState::WarmingUp, warming),
                (GpuState::Busy, busy),
                (GpuState::IdleReady, ready - warming - busy),
                (GpuState::Draining, life.draining_ns),
            ] {
                let (from, to) = span(ns);
                ledger.add(pool, state, gpus, from, to)?;
            }
        }
        ledger.check_balance()?;
        Ok(ledger.report(completed, output_tokens))
    }
}

/// The GPU state of a cold-start stage.
pub(super) fn stage_state(stage: Stage) -> GpuState {
    match stage {
        Stage::Provisioning => GpuState::Provisioning,
        Stage::PullingImage => GpuState::PullingImage,
        Stage::LoadingWeights => GpuState::LoadingWeights,
        Stage::StartingEngine => GpuState::StartingEngine,
    }
}
