//! GPU nodes: where replicas run, what each node has cached, and the
//! intervals its GPUs are held and used, for billing.
//!
//! A deployment draws its nodes from its pools, in order. A new replica
//! goes to the first node with enough free GPUs; only if none has them is a
//! node requested, in the first pool under its quota (when every pool is
//! full the replica waits for GPUs to free up). A node is billed from its request until its release,
//! which comes `idle_release_delay` after its last replica left.

use crate::coldstart::{Artifacts, ColdStartConfig, DurationDist, NodeCaches};
use crate::cost::PoolPricing;
use crate::model::hardware::mig::{MigProfile, COMPUTE_SLICES};
use crate::time::{SimDuration, SimTime};

/// A node pool.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolSpec {
    /// Name, GPUs per node, price and billing policy.
    pub pricing: PoolPricing,
    /// How long a new node takes to become usable.
    pub provisioning: DurationDist,
    /// The most nodes held at once (`None`: no quota).
    pub max_nodes: Option<u32>,
    /// How long an empty node is kept (and billed) before it is released.
    pub idle_release_delay: SimDuration,
    /// Disk for cached weights on each node, bytes.
    pub weight_disk_bytes: u64,
    /// Spot capacity: nodes are reclaimed after a notice (`None`: on-demand).
    pub spot: Option<SpotSpec>,
    /// Primed nodes kept ready (billed; image and weights cached): replicas
    /// placed on them skip procurement and the pull. A warm node that a
    /// replica takes leaves the pool and a replacement is requested (within
    /// the quota); it is primed when provisioned (the priming transfer is
    /// not modelled). Warm nodes are never released for idleness, and their
    /// unused GPU time is `warm_pool`.
    pub warm_nodes: u32,
    /// The MIG instances every GPU of a node is partitioned into (a valid
    /// placement, [`crate::model::hardware::mig::place`]); empty: whole
    /// GPUs. A MIG pool takes only replicas that ask for one of these
    /// profiles, one instance each.
    pub mig_layout: Vec<&'static MigProfile>,
    /// Time-slicing: every GPU of a node is shared in turns by this many
    /// replicas, one share each (`None`: not time-sliced). Exclusive with
    /// `mig_layout`.
    pub time_slices_per_gpu: Option<u32>,
}

impl PoolSpec {
    /// An empty node of this pool can take a replica that wants `demand`.
    pub(crate) fn takes(&self, demand: Demand) -> bool {
        match demand {
            Demand::Gpus(g) => self.whole_gpus() && self.pricing.gpus_per_node >= g,
            Demand::Mig(p) => self.mig_layout.iter().any(|q| **q == *p),
            Demand::TimeSlice(n) => self.time_slices_per_gpu == Some(n),
        }
    }

    /// Its GPUs are neither partitioned nor time-sliced.
    fn whole_gpus(&self) -> bool {
        self.mig_layout.is_empty() && self.time_slices_per_gpu.is_none()
    }
}

/// The most units a GPU is counted in ([`units_per_gpu`]): 7! = 5,040,
/// enough for MIG with time-slicing 2 to 10 ways at once.
pub const MAX_UNITS_PER_GPU: u64 = 5_040;

/// GPU time is counted in integer units of a GPU, so that every share a
/// replica may hold is a whole number of them: 7 when any pool is
/// partitioned into MIG instances (a compute slice, the share of its GPU
/// an instance is charged), times what makes each time-sliced pool's
/// share (1/N of a GPU) whole; 1 when GPUs are not shared. An error when
/// the pools' shares need more than [`MAX_UNITS_PER_GPU`], or a node more
/// units than a `u32` counts.
pub fn units_per_gpu(pools: &[PoolSpec]) -> Result<u32, String> {
    let mut units = 1u64;
    for p in pools {
        if !p.mig_layout.is_empty() {
            units = lcm(units, u64::from(COMPUTE_SLICES));
        }
        if let Some(n) = p.time_slices_per_gpu {
            units = lcm(units, u64::from(n.max(1)));
        }
        if units > MAX_UNITS_PER_GPU {
            return Err(format!(
                "the pools' GPU shares (MIG's 7 compute slices, each time_slices_per_gpu) \
                 need {units} units per GPU, more than {MAX_UNITS_PER_GPU}: use fewer \
                 different time_slices_per_gpu"
            ));
        }
    }
    let most = pools
        .iter()
        .map(|p| p.pricing.gpus_per_node)
        .max()
        .unwrap_or(1);
    match u32::try_from(units * u64::from(most)) {
        Ok(_) => Ok(units as u32),
        Err(_) => Err(format!(
            "a node of {most} GPUs in {units} units per GPU (shared GPUs) is more units \
             than can be counted: use fewer GPUs per node"
        )),
    }
}

fn lcm(a: u64, b: u64) -> u64 {
    let gcd = |mut x: u64, mut y: u64| {
        while y != 0 {
            (x, y) = (y, x % y);
        }
        x
    };
    a / gcd(a, b) * b
}

/// What one replica takes on a node.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Demand {
    /// Whole GPUs (its tensor-parallel degree).
    Gpus(u32),
    /// One MIG instance of this profile.
    Mig(&'static MigProfile),
    /// One share of a GPU time-sliced between this many replicas.
    TimeSlice(u32),
}

impl Demand {
    /// The GPU units it holds, with `units_per_gpu` units a GPU.
    pub(crate) fn units(self, units_per_gpu: u32) -> u32 {
        match self {
            Demand::Gpus(g) => g * units_per_gpu,
            Demand::Mig(p) => p.compute_slices * units_per_gpu / COMPUTE_SLICES,
            Demand::TimeSlice(n) => units_per_gpu / n.max(1),
        }
    }
}

/// How a spot pool's nodes are reclaimed.
#[derive(Clone, Debug, PartialEq)]
pub struct SpotSpec {
    /// Reclaims per node-hour of uptime (a Poisson process per node).
    pub interruptions_per_node_hour: f64,
    /// Warning before a reclaimed node goes away (AWS 120 s, GCP 30 s).
    pub notice: SimDuration,
}

/// Where and how a deployment's replicas run: its pool, cold-start model
/// and what a replica must fetch.
#[derive(Clone, Debug, PartialEq)]
pub struct Placement {
    /// The pools, in order of preference: a replica goes to an existing
    /// node with room in the first pool that has one, else to a new node in
    /// the first pool under its quota (an on-demand baseline with a quota,
    /// then spot for bursts).
    pub pools: Vec<PoolSpec>,
    /// Image, weight tiers, engine start-up.
    pub cold_start: ColdStartConfig,
    /// The replica's weights and engine build.
    pub artifacts: Artifacts,
    /// Indices in `pools` of the pools this deployment's replicas may use
    /// (those with its GPU type, when deployments on several GPU types
    /// share the pools); empty: every pool.
    pub usable_pools: Vec<u32>,
    /// The MIG instance each of this deployment's replicas takes (`None`:
    /// whole GPUs, its tensor-parallel degree).
    pub mig_profile: Option<&'static MigProfile>,
    /// Each replica takes one share of a GPU time-sliced between this many
    /// (a pool's `time_slices_per_gpu`; `None`: not time-sliced).
    pub time_slices_per_gpu: Option<u32>,
}

impl Placement {
    /// The deployment's replicas may go to pool `pool`.
    pub fn may_use(&self, pool: u32) -> bool {
        self.usable_pools.is_empty() || self.usable_pools.contains(&pool)
    }
}

/// One node.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    /// Index of its pool in `Placement::pools`.
    pub(crate) pool: u32,
    /// When it was requested (billing starts).
    pub(crate) requested: SimTime,
    /// When it became usable, once it has.
    pub(crate) up_at: Option<SimTime>,
    /// When it was released, if it was.
    pub(crate) released: Option<SimTime>,
    /// GPU units assigned to replicas ([`units_per_gpu`]).
    pub(crate) used_units: u32,
    /// Instances taken of each entry of its pool's MIG layout, over the
    /// node's GPUs.
    pub(crate) mig_used: Vec<u32>,
    pub(crate) caches: NodeCaches,
    /// Invalidates a queued release when a replica arrives in time.
    pub(crate) release_epoch: u64,
    /// Unassigned GPU time so far, unit·ns, and since when `used_units` holds.
    pub(crate) unallocated_gpu_ns: u128,
    pub(crate) used_since: SimTime,
    /// A spot reclaim notice came: no new replica goes here.
    pub(crate) doomed: bool,
    /// Part of the warm pool (primed, waiting for a replica).
    pub(crate) warm: bool,
    /// GPU time it spent in the warm pool before a replica took it, GPU·ns.
    pub(crate) warm_pool_gpu_ns: u128,
}

impl Node {
    pub(crate) fn new(
        pool: u32,
        requested: SimTime,
        up_at: Option<SimTime>,
        caches: NodeCaches,
    ) -> Self {
        Node {
            pool,
            requested,
            up_at,
            released: None,
            used_units: 0,
            mig_used: Vec::new(),
            caches,
            release_epoch: 0,
            unallocated_gpu_ns: 0,
            used_since: requested,
            doomed: false,
            warm: false,
            warm_pool_gpu_ns: 0,
        }
    }

    /// The node has room for a replica that wants `demand`: free whole
    /// GPUs on a node without MIG, or a free instance of the profile.
    pub(crate) fn fits(&self, pool: &PoolSpec, demand: Demand, units_per_gpu: u32) -> bool {
        let capacity = pool.pricing.gpus_per_node * units_per_gpu;
        match demand {
            Demand::Gpus(_) | Demand::TimeSlice(_) => {
                pool.takes(demand)
                    && capacity.saturating_sub(self.used_units) >= demand.units(units_per_gpu)
            }
            Demand::Mig(_) => self.mig_entry(pool, demand, false).is_some(),
        }
    }

    /// The layout entry of `demand`'s profile with an instance free
    /// (`taken`: false) or taken (true).
    fn mig_entry(&self, pool: &PoolSpec, demand: Demand, taken: bool) -> Option<usize> {
        let Demand::Mig(p) = demand else { return None };
        (0..pool.mig_layout.len()).find(|&i| {
            let used = self.mig_used.get(i).copied().unwrap_or(0);
            *pool.mig_layout[i] == *p
                && match taken {
                    true => used > 0,
                    false => used < pool.pricing.gpus_per_node,
                }
        })
    }

    /// A replica that wants `demand` takes its share at `now` (the caller
    /// checked [`Self::fits`]).
    pub(crate) fn take(
        &mut self,
        pool: &PoolSpec,
        demand: Demand,
        units_per_gpu: u32,
        now: SimTime,
    ) {
        if let Some(i) = self.mig_entry(pool, demand, false) {
            self.mig_used.resize(pool.mig_layout.len(), 0);
            self.mig_used[i] += 1;
        }
        let used = self.used_units + demand.units(units_per_gpu);
        self.set_used(used, pool.pricing.gpus_per_node * units_per_gpu, now);
    }

    /// A replica that wanted `demand` gives its share back at `now`.
    pub(crate) fn give_back(
        &mut self,
        pool: &PoolSpec,
        demand: Demand,
        units_per_gpu: u32,
        now: SimTime,
    ) {
        if let Some(i) = self.mig_entry(pool, demand, true) {
            self.mig_used[i] -= 1;
        }
        let used = self.used_units.saturating_sub(demand.units(units_per_gpu));
        self.set_used(used, pool.pricing.gpus_per_node * units_per_gpu, now);
    }

    /// Accounts the unassigned units up to `now`, then changes the count.
    fn set_used(&mut self, used: u32, capacity_units: u32, now: SimTime) {
        self.close_unallocated(capacity_units, now);
        self.used_units = used;
    }

    /// Accounts the unassigned units (of `capacity_units`) up to `now`.
    pub(crate) fn close_unallocated(&mut self, capacity_units: u32, now: SimTime) {
        let free = u128::from(capacity_units.saturating_sub(self.used_units));
        self.unallocated_gpu_ns += free * u128::from(now.saturating_since(self.used_since).0);
        self.used_since = now;
    }

    /// A replica takes this warm node at `now`: the node leaves the warm
    /// pool, and its unused time so far was warm-pool time.
    pub(crate) fn leave_warm_pool(&mut self, capacity_units: u32, now: SimTime) {
        self.close_unallocated(capacity_units, now);
        self.warm_pool_gpu_ns += std::mem::take(&mut self.unallocated_gpu_ns);
        self.warm = false;
    }

    pub(crate) fn is_held(&self) -> bool {
        self.released.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::{BillingGranularity, BillingPolicy};
    use crate::model::hardware::mig::profile;

    fn pool(gpus_per_node: u32, mig: bool, time_slices: Option<u32>) -> PoolSpec {
        PoolSpec {
            pricing: PoolPricing {
                name: "p".into(),
                gpus_per_node,
                usd_per_gpu_hour: 1.0,
                billing: BillingPolicy {
                    granularity: BillingGranularity::PerSecond,
                    minimum_s: 0.0,
                },
            },
            provisioning: DurationDist::Fixed { value_s: 1.0 },
            max_nodes: None,
            idle_release_delay: SimDuration::ZERO,
            weight_disk_bytes: 0,
            spot: None,
            warm_nodes: 0,
            mig_layout: match mig {
                true => vec![profile("h100-sxm", "7g.80gb").unwrap()],
                false => Vec::new(),
            },
            time_slices_per_gpu: time_slices,
        }
    }

    #[test]
    fn units_make_every_share_whole_and_stay_countable() {
        assert_eq!(units_per_gpu(&[pool(8, false, None)]), Ok(1));
        assert_eq!(units_per_gpu(&[pool(8, true, None)]), Ok(7));
        let mixed = [
            pool(8, true, None),
            pool(8, false, Some(4)),
            pool(8, false, Some(6)),
        ];
        assert_eq!(units_per_gpu(&mixed), Ok(84));
        // 7 × 11 × 13 × 8 = 8,008 units: too many.
        let many = [
            pool(1, true, None),
            pool(1, false, Some(11)),
            pool(1, false, Some(13)),
            pool(1, false, Some(8)),
        ];
        let e = units_per_gpu(&many).unwrap_err();
        assert!(e.contains("need 8008 units per GPU, more than 5040"), "{e}");
        // A node whose units overflow a u32.
        let e = units_per_gpu(&[pool(u32::MAX / 2, true, None)]).unwrap_err();
        assert!(e.contains("use fewer GPUs per node"), "{e}");
        // Whole GPUs keep their count, however many a node has.
        assert_eq!(units_per_gpu(&[pool(u32::MAX, false, None)]), Ok(1));
    }
}
