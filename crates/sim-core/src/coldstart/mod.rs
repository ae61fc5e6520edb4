//! Cold start: what happens between "the fleet wants one more replica" and
//! "that replica serves at full speed".
//!
//! A new replica walks through the cold-start [`Stage`]s of
//! [`crate::lifecycle`]: `Provisioning` (only when no node has free GPUs and
//! one must be procured), `PullingImage`, `LoadingWeights`, `StartingEngine`;
//! then it accepts requests while warming up and finally runs at steady
//! speed. Each stage has its own distribution and, for the middle three, its
//! own per-node cache:
//!
//! - provisioning: a per-pool [`DurationDist`] ([`default_provisioning_time`]);
//! - image pull: `image_gb / pull bandwidth + image_gb / extract rate`,
//!   skipped when the node already holds the image;
//! - weight load: weight bytes / the bandwidth of the tier they come from. A
//!   node keeps weights on its disk ([`LruBytes`], least recently used out
//!   first); a hit loads at the node-NVMe tier's speed, a miss at the
//!   configured remote tier's, and then lands in the node cache;
//! - engine startup (profiling, compilation, CUDA-graph capture): one
//!   distribution when the node's engine cache holds a build for the same
//!   (model, GPU, tensor parallel degree), another when it does not;
//! - warm-up: the first requests after startup are slowed
//!   ([`WarmupConfig::slowdown_factor`], [`WarmupConfig::extra_latency`]).
//!
//! This module is a pure library: serde config types, samplers and caches.
//! `dist` holds the distributions, `cache` the per-node caches and shared
//! transfers, and this file the configuration and planning; everything is
//! re-exported here.
//! The engine owns the timeline and calls [`ColdStartConfig::plan`] when a
//! replica is placed on a node. Defaults and their sources are in
//! `docs/cold-start.md`.
//!
//! # Randomness
//!
//! Every draw is one uniform number turned into a value by the inverse of
//! the distribution's CDF (inverse-transform sampling). A draw near 1 is the
//! slow tail for every stage: a long duration, a low bandwidth. A plan draws
//! exactly one number from each of three streams ([`ColdStartRngs`]:
//! [`PULL_STREAM`], [`LOAD_STREAM`], [`ENGINE_STREAM`]) whether the caches hit
//! or not, so a cache hit never shifts a later draw, and two runs that differ
//! only in cache state see the same luck (common random numbers).

use crate::field::{join, FieldError};
use crate::model::hardware::{GpuSpec, ModelSpec};
use crate::rng::{self, open_unit, StreamRng};
use crate::special::{inverse_normal_cdf, open_p};
use crate::time::{SimDuration, SimTime};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

mod cache;
mod dist;

use crate::lifecycle::Stage;
use cache::Transfer;
pub use cache::{
    bytes_from_f64, Artifacts, CacheUse, EngineKey, InFlight, Inserted, LruBytes, NodeCaches,
    StageStart,
};
use dist::{check_bandwidth, check_non_negative_s, clamp_s, lognormal_bw, secs_to_duration};
pub use dist::{default_provisioning_time, transfer_time, BandwidthDist, DurationDist};

/// Stream for node provisioning times; index = node id.
pub const PROVISION_STREAM: &str = "model.coldstart.provision";
/// Stream for image-pull bandwidths; index = replica id.
pub const PULL_STREAM: &str = "model.coldstart.pull";
/// Stream for weight-load bandwidths; index = replica id.
pub const LOAD_STREAM: &str = "model.coldstart.load";
/// Stream for engine-startup times; index = replica id.
pub const ENGINE_STREAM: &str = "model.coldstart.engine";

/// Bytes per GB (decimal, as in every bandwidth figure of the reference).
pub const BYTES_PER_GB: f64 = 1e9;

/// The longest any one stage can take, seconds (365 days). Configured values
/// above it are rejected; samples from a distribution's far tail (or a
/// bandwidth near zero) are clamped to it.
pub const MAX_STAGE_S: f64 = 365.0 * 86_400.0;

/// Φ⁻¹(0.99): how many standard deviations of the log the p99 (or p1) sits
/// from the median of a lognormal.
pub const Z_P99: f64 = 2.326_347_874_040_840_8;

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

/// Where weights come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightTier {
    /// The node's own disk (its weight cache).
    NodeNvme,
    /// A cache or parallel file system in the same datacenter.
    DatacenterCache,
    /// An object store bucket (S3, GCS) read with a streaming loader.
    ObjectStore,
    /// A model hub on the internet (Hugging Face).
    Hub,
}

impl WeightTier {
    /// Every tier, fastest-nearest first.
    pub const ALL: [WeightTier; 4] = [
        WeightTier::NodeNvme,
        WeightTier::DatacenterCache,
        WeightTier::ObjectStore,
        WeightTier::Hub,
    ];

    /// The name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            WeightTier::NodeNvme => "node_nvme",
            WeightTier::DatacenterCache => "datacenter_cache",
            WeightTier::ObjectStore => "object_store",
            WeightTier::Hub => "hub",
        }
    }
}

/// Read bandwidth of each weight tier. Fields left out take their defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WeightTiers {
    /// The node's disk; every weight-cache hit loads at this speed.
    pub node_nvme: BandwidthDist,
    /// In-datacenter cache.
    pub datacenter_cache: BandwidthDist,
    /// Object store with a streaming loader.
    pub object_store: BandwidthDist,
    /// Model hub.
    pub hub: BandwidthDist,
}

impl Default for WeightTiers {
    fn default() -> Self {
        WeightTiers {
            node_nvme: lognormal_bw(1.5, 0.5),
            datacenter_cache: lognormal_bw(3.0, 1.5),
            object_store: lognormal_bw(2.0, 0.75),
            hub: lognormal_bw(0.5, 0.1),
        }
    }
}

impl WeightTiers {
    /// The bandwidth distribution of `tier`.
    pub fn get(&self, tier: WeightTier) -> &BandwidthDist {
        match tier {
            WeightTier::NodeNvme => &self.node_nvme,
            WeightTier::DatacenterCache => &self.datacenter_cache,
            WeightTier::ObjectStore => &self.object_store,
            WeightTier::Hub => &self.hub,
        }
    }

    /// Checks every tier; errors name `{prefix}.{tier}.{field}`.
    pub fn validate(&self, prefix: &str) -> Result<(), FieldError> {
        for tier in WeightTier::ALL {
            self.get(tier).validate(&join(prefix, tier.name()))?;
        }
        Ok(())
    }
}

/// The warm-up penalty after engine startup.
///
/// A request is in the warm-up window when it is among the first `requests`
/// the replica admits *or* it arrives within `duration_s` of the replica
/// accepting traffic (set either to 0 to use only the other). In the window
/// its service time is multiplied by `slowdown_factor` and it pays
/// `extra_latency_s` once (lazy kernel compilation, graph capture on first
/// use). Fields left out take their defaults.
///
/// ```toml
/// warmup = { requests = 1, duration_s = 0, slowdown_factor = 1.0, extra_latency_s = 2.0 }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WarmupConfig {
    /// The first this many requests (0-based index `< requests`) are slowed.
    pub requests: u32,
    /// Requests arriving within this many seconds of the replica accepting
    /// traffic are slowed (≥ 0).
    pub duration_s: f64,
    /// Service-time multiplier in the window (≥ 1; 1 = no slowdown).
    pub slowdown_factor: f64,
    /// One-off latency each request in the window pays, seconds (≥ 0).
    pub extra_latency_s: f64,
}

impl Default for WarmupConfig {
    fn default() -> Self {
        WarmupConfig {
            requests: 1,
            duration_s: 0.0,
            slowdown_factor: 1.0,
            extra_latency_s: 2.0,
        }
    }
}

impl WarmupConfig {
    /// No warm-up at all.
    pub fn none() -> Self {
        WarmupConfig {
            requests: 0,
            duration_s: 0.0,
            slowdown_factor: 1.0,
            extra_latency_s: 0.0,
        }
    }

    /// Checks every parameter; errors name `{prefix}.{field}`.
    pub fn validate(&self, prefix: &str) -> Result<(), FieldError> {
        check_non_negative_s(prefix, "duration_s", self.duration_s)?;
        check_non_negative_s(prefix, "extra_latency_s", self.extra_latency_s)?;
        if !(self.slowdown_factor.is_finite() && self.slowdown_factor >= 1.0) {
            return Err(FieldError::new(
                "slowdown_factor",
                format!(
                    "must be a finite number ≥ 1 (1 = no slowdown), got {}",
                    self.slowdown_factor
                ),
            )
            .within(prefix));
        }
        Ok(())
    }

    /// Whether the `request_index`-th request (0-based, in admission order)
    /// arriving `since_ready` after the replica began accepting traffic is in
    /// the warm-up window.
    pub fn in_window(&self, request_index: u64, since_ready: SimDuration) -> bool {
        request_index < u64::from(self.requests) || since_ready < self.duration()
    }

    /// The service-time multiplier for that request: `slowdown_factor` in
    /// the window, 1 after it.
    pub fn slowdown_factor(&self, request_index: u64, since_ready: SimDuration) -> f64 {
        if self.in_window(request_index, since_ready) {
            self.slowdown_factor
        } else {
            1.0
        }
    }

    /// The one-off extra latency for that request: `extra_latency_s` in the
    /// window, zero after it.
    pub fn extra_latency(&self, request_index: u64, since_ready: SimDuration) -> SimDuration {
        if self.in_window(request_index, since_ready) {
            secs_to_duration(clamp_s(self.extra_latency_s))
        } else {
            SimDuration::ZERO
        }
    }

    /// The time window as a duration.
    pub fn duration(&self) -> SimDuration {
        secs_to_duration(clamp_s(self.duration_s))
    }
}

/// How a replica of one deployment cold-starts: image, weight source, tier
/// bandwidths, engine startup and warm-up. Every field has a default
/// (`docs/cold-start.md` gives each one's source), so `[cold_start]` may
/// name only what differs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ColdStartConfig {
    /// Image name; the per-node image cache is keyed by it.
    pub image: String,
    /// Compressed image size, GB (≥ 0).
    pub image_gb: f64,
    /// Registry-to-node pull bandwidth.
    pub pull_bandwidth: BandwidthDist,
    /// Layer extraction (decompression) rate, GB of image per second (> 0).
    pub extract_gb_per_s: f64,
    /// Where weights come from when the node's cache does not hold them.
    pub weight_source: WeightTier,
    /// Read bandwidth of each tier.
    pub tiers: WeightTiers,
    /// Engine startup when the node's engine cache holds a build for this
    /// (model, GPU, tensor parallel degree).
    pub engine_startup_cached: DurationDist,
    /// Engine startup with nothing cached (full compilation).
    pub engine_startup_uncached: DurationDist,
    /// The penalty on the first requests.
    pub warmup: WarmupConfig,
}

impl Default for ColdStartConfig {
    fn default() -> Self {
        ColdStartConfig {
            image: "vllm/vllm-openai".to_string(),
            image_gb: 10.0,
            pull_bandwidth: lognormal_bw(0.1, 0.04),
            extract_gb_per_s: 0.15,
            weight_source: WeightTier::ObjectStore,
            tiers: WeightTiers::default(),
            engine_startup_cached: DurationDist::Lognormal {
                median_s: 60.0,
                p99_s: 120.0,
            },
            engine_startup_uncached: DurationDist::Lognormal {
                median_s: 120.0,
                p99_s: 300.0,
            },
            warmup: WarmupConfig::default(),
        }
    }
}

impl ColdStartConfig {
    /// Checks every field; errors name `{prefix}.{field}` down to the leaf,
    /// e.g. `cold_start.tiers.hub.p1_gb_per_s`.
    pub fn validate(&self, prefix: &str) -> Result<(), FieldError> {
        if self.image.trim().is_empty() {
            return Err(FieldError::new("image", "must name an image").within(prefix));
        }
        if !(self.image_gb.is_finite() && self.image_gb >= 0.0)
            || bytes_from_f64(self.image_gb * BYTES_PER_GB).is_none()
        {
            return Err(FieldError::new(
                "image_gb",
                format!("must be a finite number of GB ≥ 0, got {}", self.image_gb),
            )
            .within(prefix));
        }
        self.pull_bandwidth
            .validate(&join(prefix, "pull_bandwidth"))?;
        check_bandwidth(prefix, "extract_gb_per_s", self.extract_gb_per_s)?;
        self.tiers.validate(&join(prefix, "tiers"))?;
        self.engine_startup_cached
            .validate(&join(prefix, "engine_startup_cached"))?;
        self.engine_startup_uncached
            .validate(&join(prefix, "engine_startup_uncached"))?;
        self.warmup.validate(&join(prefix, "warmup"))
    }

    /// The image size in bytes.
    pub fn image_bytes(&self) -> u64 {
        bytes_from_f64(self.image_gb * BYTES_PER_GB).unwrap_or(0)
    }

    /// Plans the pull, load and startup stages of a replica that needs
    /// `artifacts` on the node whose caches are `caches`, run back to back
    /// from an idle node (no transfer in progress), and updates those caches
    /// as the completed stages would: the image and engine are cached
    /// afterwards, the weights too unless they exceed the disk (evicting
    /// least recently used weights to make room). The engine plans stage
    /// by stage instead ([`Self::begin_pull`], [`Self::begin_load`],
    /// [`Self::begin_startup`]), so that replicas starting together on one
    /// node share transfers in progress.
    ///
    /// Draws exactly one number from each of `rngs.pull`, `rngs.load` and
    /// `rngs.engine`, hit or miss. Provisioning is not part of the plan:
    /// draw it from the pool's distribution with [`provisioning_rng`] when a
    /// node is procured. `self` should have passed [`ColdStartConfig::validate`];
    /// bad values never panic but give clamped durations.
    pub fn plan(
        &self,
        artifacts: &Artifacts,
        caches: &mut NodeCaches,
        rngs: &mut ColdStartRngs,
    ) -> StagePlan {
        let draws = rngs.draw();
        self.plan_with(artifacts, caches, draws)
    }

    /// The plan with every stage at its `p`-quantile (0.5: the median
    /// path), without randomness and without changing `caches`; for
    /// estimates such as "how long until a new replica serves".
    pub fn plan_at_quantile(
        &self,
        p: f64,
        artifacts: &Artifacts,
        caches: &NodeCaches,
    ) -> StagePlan {
        let mut scratch = caches.clone();
        let draws = ColdStartDraws {
            pull: p,
            load: p,
            engine: p,
        };
        self.plan_with(artifacts, &mut scratch, draws)
    }

    /// The three stages back to back from time 0, each completed before
    /// the next begins.
    fn plan_with(
        &self,
        artifacts: &Artifacts,
        caches: &mut NodeCaches,
        draws: ColdStartDraws,
    ) -> StagePlan {
        let t0 = SimTime::ZERO;
        let pull = self.begin_pull(caches, t0, draws.pull);
        let t1 = t0 + pull.duration;
        caches.settle(t1);
        let weights_before = caches.weights.clone();
        let load = self.begin_load(artifacts, caches, t1, draws.load);
        let t2 = t1 + load.duration;
        caches.settle(t2);
        let startup = self.begin_startup(artifacts, caches, draws.engine);
        caches.engine_built(artifacts);
        let evicted = (weights_before.keys())
            .filter(|k| !caches.weights.contains(k))
            .map(str::to_string)
            .collect();
        StagePlan {
            pull: pull.duration,
            load: load.duration,
            startup: startup.duration,
            image_hit: pull.cache == CacheUse::Hit,
            weight_hit: load.cache == CacheUse::Hit,
            weight_tier_used: if load.cache == CacheUse::Hit {
                WeightTier::NodeNvme
            } else {
                self.weight_source
            },
            engine_hit: startup.cache == CacheUse::Hit,
            weights_cached: caches.weights.contains(&artifacts.weights_key),
            evicted,
        }
    }

    /// A replica on a node whose caches are `caches` begins pulling the
    /// image at `now` with draw `u`: nothing to do when the node has it;
    /// when a pull of it is in progress, the replica waits for that pull
    /// (and counts as waiting for it until [`NodeCaches::stop_waiting`]);
    /// otherwise its own pull starts, and the image is cached only once it
    /// completes ([`NodeCaches::settle`]).
    pub fn begin_pull(&self, caches: &mut NodeCaches, now: SimTime, u: f64) -> StageStart {
        caches.settle(now);
        if caches.images.contains(&self.image) {
            return StageStart::hit(SimDuration::ZERO);
        }
        if let Some(t) = caches.pulls.get_mut(&self.image) {
            t.waiting += 1;
            return StageStart::shared(
                t.done_at.saturating_since(now),
                InFlight::Image(self.image.clone()),
            );
        }
        let bytes = self.image_bytes();
        let d = self.pull_bandwidth.transfer_time_at(bytes, u)
            + transfer_time(bytes, self.extract_gb_per_s);
        caches
            .pulls
            .insert(self.image.clone(), Transfer::new(now + d, bytes));
        StageStart::miss(d, Some(InFlight::Image(self.image.clone())))
    }

    /// A replica begins loading its weights at `now` with draw `u`: from
    /// the node's disk at the NVMe tier's speed when it holds them; when a
    /// download of them to this node is in progress, reading them as they
    /// land (done no earlier than the download, nor than its own read at
    /// the NVMe speed); otherwise from the configured source, after which
    /// they enter the disk cache.
    pub fn begin_load(
        &self,
        artifacts: &Artifacts,
        caches: &mut NodeCaches,
        now: SimTime,
        u: f64,
    ) -> StageStart {
        caches.settle(now);
        let key = &artifacts.weights_key;
        let from_disk = || {
            self.tiers
                .node_nvme
                .transfer_time_at(artifacts.weights_bytes, u)
        };
        if caches.weights.touch(key) {
            return StageStart::hit(from_disk());
        }
        if let Some(t) = caches.downloads.get_mut(key) {
            t.waiting += 1;
            let d = t.done_at.saturating_since(now).max(from_disk());
            return StageStart::shared(d, InFlight::Weights(key.clone()));
        }
        let d = (self.tiers.get(self.weight_source)).transfer_time_at(artifacts.weights_bytes, u);
        caches
            .downloads
            .insert(key.clone(), Transfer::new(now + d, artifacts.weights_bytes));
        StageStart::miss(d, Some(InFlight::Weights(key.clone())))
    }

    /// A replica begins starting its engine with draw `u`: the cached
    /// start-up when the node holds a completed build for its key, else a
    /// full build (builds are not shared: two engines compiling at once
    /// both compile). Call [`NodeCaches::engine_built`] when it completes.
    pub fn begin_startup(&self, artifacts: &Artifacts, caches: &NodeCaches, u: f64) -> StageStart {
        if caches.engines.contains(&artifacts.engine) {
            StageStart::hit(self.engine_startup_cached.quantile(u))
        } else {
            StageStart::miss(self.engine_startup_uncached.quantile(u), None)
        }
    }
}

// ---------------------------------------------------------------------------
// Random streams and plans
// ---------------------------------------------------------------------------

/// The three streams a replica's cold start draws from.
#[derive(Clone, Debug)]
pub struct ColdStartRngs {
    /// Image-pull bandwidth ([`PULL_STREAM`]).
    pub pull: StreamRng,
    /// Weight-load bandwidth ([`LOAD_STREAM`]).
    pub load: StreamRng,
    /// Engine startup ([`ENGINE_STREAM`]).
    pub engine: StreamRng,
}

impl ColdStartRngs {
    /// The streams for `index` (use the replica id: each replica's plan is
    /// then fixed by the seed and its id alone).
    pub fn new(seed: u64, index: u64) -> Self {
        ColdStartRngs {
            pull: rng::stream(seed, PULL_STREAM, index),
            load: rng::stream(seed, LOAD_STREAM, index),
            engine: rng::stream(seed, ENGINE_STREAM, index),
        }
    }
}

impl ColdStartRngs {
    /// One draw from each stream: everything a replica's cold start needs,
    /// drawn when it reaches its node whatever the caches then hold.
    pub fn draw(&mut self) -> ColdStartDraws {
        ColdStartDraws {
            pull: open_unit(&mut self.pull),
            load: open_unit(&mut self.load),
            engine: open_unit(&mut self.engine),
        }
    }
}

/// The uniform draws, each in (0, 1), that fix one replica's pull, load
/// and engine start-up (see the module's notes on randomness).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ColdStartDraws {
    /// Image-pull bandwidth quantile.
    pub pull: f64,
    /// Weight-load bandwidth quantile.
    pub load: f64,
    /// Engine start-up quantile.
    pub engine: f64,
}

/// The stream a node's provisioning time is drawn from.
pub fn provisioning_rng(seed: u64, node_id: u64) -> StreamRng {
    rng::stream(seed, PROVISION_STREAM, node_id)
}

/// The sampled pull, load and startup stages of one replica.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StagePlan {
    /// `PullingImage` (zero on an image hit).
    pub pull: SimDuration,
    /// `LoadingWeights`.
    pub load: SimDuration,
    /// `StartingEngine`.
    pub startup: SimDuration,
    /// The node already had the image.
    pub image_hit: bool,
    /// The node's disk already had the weights.
    pub weight_hit: bool,
    /// The tier the weights were read from (`node_nvme` on a hit).
    pub weight_tier_used: WeightTier,
    /// The node already had a compiled engine for this key.
    pub engine_hit: bool,
    /// The weights are on the node's disk after this replica's load (false
    /// only when they exceed the disk).
    pub weights_cached: bool,
    /// Weights evicted from the node's disk to make room, LRU first.
    pub evicted: Vec<String>,
}

impl StagePlan {
    /// Pull + load + startup: from placement on a ready node to accepting
    /// traffic.
    pub fn total(&self) -> SimDuration {
        self.pull + self.load + self.startup
    }

    /// The three stages in order with their durations.
    pub fn stages(&self) -> [(Stage, SimDuration); 3] {
        [
            (Stage::PullingImage, self.pull),
            (Stage::LoadingWeights, self.load),
            (Stage::StartingEngine, self.startup),
        ]
    }
}

/// An exponential gap at `rate_per_s` (> 0) drawn from `rng` by inversion
/// (one draw), or `None` for a zero or invalid rate or a gap past the clock.
pub fn exponential_gap<R: Rng + ?Sized>(rng: &mut R, rate_per_s: f64) -> Option<SimDuration> {
    if !(rate_per_s.is_finite() && rate_per_s > 0.0) {
        return None;
    }
    let u: f64 = rng.random();
    // 1 - u is in (0, 1], so the logarithm is finite.
    SimDuration::try_from_secs_f64(-(1.0 - u).ln() / rate_per_s)
}

#[cfg(test)]
mod tests;
