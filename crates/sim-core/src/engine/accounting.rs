//! GPU time by state: one breakdown of each replica's and node's life
//! into provisioning, pulling, loading, starting, warming up, busy, idle,
//! draining, warm pool and unallocated time, used both by the time-series
//! windows (evaluated as of a window's end) and by the cost ledger
//! (evaluated at the run's end).

use super::fleet::Fleet;
use crate::cost::{CostReport, GpuLedger, GpuState};
use crate::lifecycle::{Phase, ReplicaLife, Stage};
use crate::nodes::{Node, Placement};
use crate::replica::Replica;
use crate::time::SimTime;

/// One replica's time by GPU state from its creation up to `now`, ns (per
/// GPU it holds): its cold-start stages, warm-up, busy, idle and draining.
/// The phase in progress counts up to `now`; busy time is what has elapsed
/// by `now` ([`Replica::busy_ns_at`]), frozen when the replica began to
/// drain.
pub(super) fn replica_state_ns(
    replica: &Replica,
    life: &ReplicaLife,
    now: SimTime,
) -> [(GpuState, u64); 8] {
    // The phase in progress has not been added to the life's counters yet.
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
    let ready = match life.ready_at {
        Some(at) => (life.ended.unwrap_or(now).saturating_since(at).0).saturating_sub(draining_ns),
        None => 0,
    };
    // A warm-up window is its own state; the rest of the ready time splits
    // into busy and idle.
    let warming = match (life.warms_up, life.ready_at) {
        (true, Some(at)) => (replica.warmup_ended(now).unwrap_or(now))
            .saturating_since(at)
            .0
            .min(ready),
        _ => 0,
    };
    let busy_total = (life.busy_at_drain).unwrap_or_else(|| replica.busy_ns_at(now));
    let busy = busy_total.saturating_sub(warming).min(ready - warming);
    let [p, i, l, s] = Stage::ALL;
    [
        (p.gpu_state(), stage_ns[0]),
        (i.gpu_state(), stage_ns[1]),
        (l.gpu_state(), stage_ns[2]),
        (s.gpu_state(), stage_ns[3]),
        (GpuState::WarmingUp, warming),
        (GpuState::Busy, busy),
        (GpuState::IdleReady, ready - warming - busy),
        (GpuState::Draining, draining_ns),
    ]
}

/// A node's GPU units (of `capacity_units`) that no replica held, from its
/// request up to `now` (or its release), unit·ns: warm-pool time (all of
/// it while the node is in the warm pool) and unallocated time.
pub(super) fn node_unused_gpu_ns(
    n: &Node,
    capacity_units: u32,
    now: SimTime,
) -> [(GpuState, u128); 2] {
    let open = if n.released.is_none() {
        let free = u128::from(capacity_units.saturating_sub(n.used_units));
        free * u128::from(now.saturating_since(n.used_since).0)
    } else {
        0
    };
    let unused = n.unallocated_gpu_ns + open;
    if n.warm {
        [
            (GpuState::WarmPool, n.warm_pool_gpu_ns + unused),
            (GpuState::Unallocated, 0),
        ]
    } else {
        [
            (GpuState::WarmPool, n.warm_pool_gpu_ns),
            (GpuState::Unallocated, unused),
        ]
    }
}

/// Adds `gpu_ns` to `state`'s entry of `out`.
fn add(out: &mut [u128; GpuState::COUNT], state: GpuState, gpu_ns: u128) {
    if let Some(i) = GpuState::ALL.iter().position(|s| *s == state) {
        out[i] += gpu_ns;
    }
}

/// What the windows' GPU time is summed over: replicas and nodes whose
/// totals can still grow (by ascending id), and the final totals of those
/// that ended.
#[derive(Debug, Default)]
pub(super) struct GpuAccounts {
    settled: [u128; GpuState::COUNT],
    pub(super) nodes: Vec<u32>,
    pub(super) replicas: Vec<u32>,
}

impl Fleet {
    /// GPU time by state from time 0 to `now`, GPU·ns, indexed like
    /// [`GpuState::ALL`]. With a placement, only replicas that got a node
    /// hold GPUs, and nodes add their unassigned GPUs; without one, every
    /// replica holds its GPUs from its creation. Replicas terminated and
    /// nodes released by the last [`Self::settle_gpu_ns`] count their
    /// (final) totals from there.
    pub(super) fn gpu_ns_until(&self, now: SimTime) -> [u128; GpuState::COUNT] {
        let mut out = self.accounts.settled;
        for &n in &self.accounts.nodes {
            self.add_node_gpu_ns(n, now, &mut out);
        }
        for &r in &self.accounts.replicas {
            self.add_replica_gpu_ns(r, now, &mut out);
        }
        // Units to GPU·ns: the running totals grow, so their floors do,
        // and the windows (their differences) add up to the last.
        out.map(|units_ns| units_ns / u128::from(self.units_per_gpu))
    }

    /// Books the final totals of the replicas terminated and nodes released
    /// since the last call, so later windows need not walk them: the cost
    /// of a window grows with the fleet that is up, not with its past.
    pub(super) fn settle_gpu_ns(&mut self) {
        let mut settled = self.accounts.settled;
        let mut nodes = std::mem::take(&mut self.accounts.nodes);
        nodes.retain(|&n| {
            let over = self.nodes[n as usize].released.is_some();
            if over {
                self.add_node_gpu_ns(n, SimTime::ZERO, &mut settled);
            }
            !over
        });
        let mut replicas = std::mem::take(&mut self.accounts.replicas);
        replicas.retain(|&r| {
            let life = &self.lives[r as usize];
            let over = life.phase == Phase::Terminated;
            if over {
                let end = life.ended.unwrap_or(SimTime::ZERO);
                self.add_replica_gpu_ns(r, end, &mut settled);
            }
            !over
        });
        self.accounts = GpuAccounts {
            settled,
            nodes,
            replicas,
        };
    }

    /// Adds node `n`'s unassigned GPU time up to `now` (all of it, once
    /// released) to `out`.
    fn add_node_gpu_ns(&self, n: u32, now: SimTime, out: &mut [u128; GpuState::COUNT]) {
        let Some(p) = &self.placement else {
            return;
        };
        let n = &self.nodes[n as usize];
        let capacity = self.capacity_units(p, n.pool);
        for (state, gpu_ns) in node_unused_gpu_ns(n, capacity, now) {
            add(out, state, gpu_ns);
        }
    }

    /// Adds replica `r`'s GPU time by state up to `now` (all of it, once
    /// terminated) to `out`.
    fn add_replica_gpu_ns(&self, r: u32, now: SimTime, out: &mut [u128; GpuState::COUNT]) {
        let (replica, life) = (&self.replicas[r as usize], &self.lives[r as usize]);
        if self.placement.is_some() && life.node.is_none() {
            return; // waiting for a node: no GPU held yet
        }
        let gpus = u128::from(self.units_of(usize::from(self.deployment_of[r as usize])));
        for (state, ns) in replica_state_ns(replica, life, now) {
            add(out, state, gpus * u128::from(ns));
        }
    }

    /// GPU time by state and dollars at the run's `end`: the same
    /// breakdown as [`Self::gpu_ns_until`], booked per pool in a ledger
    /// that checks it against the nodes' billed time.
    pub(super) fn cost_report(
        &self,
        p: &Placement,
        end: SimTime,
        completed: u64,
        output_tokens: u64,
    ) -> Result<CostReport, crate::cost::LedgerError> {
        let mut ledger = GpuLedger::new(p.pools.iter().map(|pool| pool.pricing.clone()).collect())?
            .with_units_per_gpu(self.units_per_gpu);
        let span = |ns: u64| (SimTime::ZERO, SimTime(ns));
        for n in &self.nodes {
            let pool = n.pool as usize;
            let stop = n.released.unwrap_or(end).max(n.requested);
            ledger.node_held(pool, n.requested, stop)?;
            let capacity = self.capacity_units(p, n.pool);
            for (state, mut left) in node_unused_gpu_ns(n, capacity, stop) {
                while left > 0 {
                    let chunk = u64::try_from(left).unwrap_or(u64::MAX);
                    let (from, to) = span(chunk);
                    ledger.add(pool, state, 1, from, to)?;
                    left -= u128::from(chunk);
                }
            }
        }
        for (i, (replica, life)) in self.replicas.iter().zip(&self.lives).enumerate() {
            let Some(node) = life.node else {
                continue; // never held GPUs
            };
            let gpus = self.units_of(usize::from(self.deployment_of[i]));
            let pool = self.nodes[node as usize].pool as usize;
            for (state, ns) in replica_state_ns(replica, life, end) {
                let (from, to) = span(ns);
                ledger.add(pool, state, gpus, from, to)?;
            }
        }
        ledger.check_balance()?;
        Ok(ledger.report(completed, output_tokens))
    }

    /// Each deployment's replicas' busy and held GPU-hours at the price of
    /// the pool their node is in, USD, as `(busy, held)`: the weights cost
    /// attribution splits the busy dollars by (the ledger's busy line is
    /// the total), and what the deployment's own replicas held. A MIG
    /// instance's GPU-hours are its compute slices' share of its GPU's.
    pub(super) fn usd_by_deployment(
        &self,
        p: &Placement,
        deployments: usize,
        end: SimTime,
    ) -> Vec<(f64, f64)> {
        let mut out = vec![(0.0, 0.0); deployments];
        let gpu_ns_per_hour = 3600.0 * crate::time::NANOS_PER_SEC as f64;
        for (i, (replica, life)) in self.replicas.iter().zip(&self.lives).enumerate() {
            let Some(node) = life.node else {
                continue; // never held GPUs
            };
            let dep = usize::from(self.deployment_of[i]);
            let gpus = f64::from(self.units_of(dep)) / f64::from(self.units_per_gpu);
            let pool = self.nodes[node as usize].pool as usize;
            let usd_per_ns = gpus / gpu_ns_per_hour * p.pools[pool].pricing.usd_per_gpu_hour;
            let held_ns: u64 = replica_state_ns(replica, life, end)
                .iter()
                .map(|(_, ns)| ns)
                .sum();
            if let Some((busy, held)) = out.get_mut(dep) {
                *busy += replica.counters().busy_ns as f64 * usd_per_ns;
                *held += held_ns as f64 * usd_per_ns;
            }
        }
        out
    }
}
