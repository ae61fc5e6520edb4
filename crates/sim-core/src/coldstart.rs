//! Cold start: what happens between "the fleet wants one more replica" and
//! "that replica serves at full speed".
//!
//! A new replica walks through [`Stage`]s: `Provisioning` (only when no node
//! has free GPUs and one must be procured), `PullingImage`, `LoadingWeights`,
//! `StartingEngine`, then it accepts requests while `WarmingUp` and finally
//! runs `Ready` at steady speed. Each stage has its own distribution and, for
//! the middle three, its own per-node cache:
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

use crate::model::hardware::{GpuSpec, ModelSpec};
use crate::rng::{self, open_unit, StreamRng};
use crate::special::{inverse_normal_cdf, open_p};
use crate::time::{SimDuration, SimTime};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

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
// Stages
// ---------------------------------------------------------------------------

/// Where a replica is in its life, for GPU-time accounting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// A node is being procured (only when no node had free GPUs).
    Provisioning,
    /// The container image is being pulled and extracted.
    PullingImage,
    /// Weights are being read into GPU memory.
    LoadingWeights,
    /// The engine profiles memory, compiles and captures CUDA graphs.
    StartingEngine,
    /// Accepting requests, but still slower than steady state.
    WarmingUp,
    /// Steady state.
    Ready,
}

// ---------------------------------------------------------------------------
// Distributions
// ---------------------------------------------------------------------------

/// A distribution of durations, as written in a scenario file.
///
/// ```toml
/// provisioning = { dist = "lognormal", median_s = 240, p99_s = 840 }
/// engine_startup_cached = { dist = "fixed", value_s = 60 }
/// engine_startup_uncached = { dist = "empirical", values_s = [95, 120, 180] }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum DurationDist {
    /// Always the same.
    Fixed {
        /// The duration, seconds (> 0).
        value_s: f64,
    },
    /// Lognormal given by its median and 99th percentile:
    /// `median_s · exp(σ·Z)`, `σ = ln(p99_s / median_s) / Φ⁻¹(0.99)`.
    Lognormal {
        /// Median, seconds (> 0).
        median_s: f64,
        /// 99th percentile, seconds (≥ `median_s`; equal gives a fixed value).
        p99_s: f64,
    },
    /// Observed durations; a draw is the inverse of their empirical CDF (no
    /// interpolation), i.e. each observation equally likely.
    Empirical {
        /// The observations, seconds (at least one, each > 0).
        values_s: Vec<f64>,
    },
}

impl DurationDist {
    /// Checks every parameter; errors name the field as `{prefix}.{name}`
    /// (`{name}` when the prefix is empty).
    pub fn validate(&self, prefix: &str) -> Result<(), (String, String)> {
        match self {
            DurationDist::Fixed { value_s } => check_positive_s(prefix, "value_s", *value_s),
            DurationDist::Lognormal { median_s, p99_s } => {
                check_positive_s(prefix, "median_s", *median_s)?;
                check_positive_s(prefix, "p99_s", *p99_s)?;
                if p99_s < median_s {
                    return Err((
                        join(prefix, "p99_s"),
                        format!("must be at least median_s ({median_s}), got {p99_s}"),
                    ));
                }
                Ok(())
            }
            DurationDist::Empirical { values_s } => {
                if values_s.is_empty() {
                    return Err((
                        join(prefix, "values_s"),
                        "must hold at least one observation".to_string(),
                    ));
                }
                for (i, v) in values_s.iter().enumerate() {
                    check_positive_s(prefix, &format!("values_s[{i}]"), *v)?;
                }
                Ok(())
            }
        }
    }

    /// The `p`-quantile in seconds, clamped to `[0, MAX_STAGE_S]`. `p` is
    /// clamped into the open interval (0, 1). An unvalidated empty empirical
    /// list gives 0.
    pub fn quantile_s(&self, p: f64) -> f64 {
        let p = open_p(p);
        let s = match self {
            DurationDist::Fixed { value_s } => *value_s,
            DurationDist::Lognormal { median_s, p99_s } => {
                let sigma = (p99_s / median_s).ln() / Z_P99;
                median_s * (sigma * inverse_normal_cdf(p)).exp()
            }
            DurationDist::Empirical { values_s } => empirical_quantile(values_s, p),
        };
        clamp_s(s)
    }

    /// The `p`-quantile as a [`SimDuration`] (see [`DurationDist::quantile_s`]).
    pub fn quantile(&self, p: f64) -> SimDuration {
        secs_to_duration(self.quantile_s(p))
    }

    /// The median (for empirical lists of even length, the upper middle).
    pub fn median(&self) -> SimDuration {
        self.quantile(0.5)
    }

    /// One draw; consumes exactly one `u64` from `rng`.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> SimDuration {
        self.quantile(open_unit(rng))
    }
}

/// A distribution of transfer bandwidths, GB/s (GB = 10⁹ bytes).
///
/// The slow tail is what hurts, so the lognormal is given by its median and
/// its 1st percentile: 1 % of transfers run slower than `p1_gb_per_s`, which
/// makes the transfer *time* lognormal with its p99 at `bytes / p1`.
///
/// ```toml
/// object_store = { dist = "lognormal", median_gb_per_s = 2.0, p1_gb_per_s = 0.75 }
/// hub = { dist = "fixed", gb_per_s = 0.5 }
/// node_nvme = { dist = "empirical", values_gb_per_s = [0.9, 1.5, 2.0] }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum BandwidthDist {
    /// Always the same.
    Fixed {
        /// Bandwidth, GB/s (> 0).
        gb_per_s: f64,
    },
    /// Lognormal given by its median and its slow 1st percentile:
    /// `median · exp(σ·Z)`, `σ = ln(median / p1) / Φ⁻¹(0.99)`.
    Lognormal {
        /// Median bandwidth, GB/s (> 0).
        median_gb_per_s: f64,
        /// 1st percentile (the slow tail), GB/s (> 0, ≤ the median; equal
        /// gives a fixed value).
        p1_gb_per_s: f64,
    },
    /// Observed bandwidths; each equally likely.
    Empirical {
        /// The observations, GB/s (at least one, each > 0).
        values_gb_per_s: Vec<f64>,
    },
}

impl BandwidthDist {
    /// Checks every parameter; errors name the field as `{prefix}.{name}`.
    pub fn validate(&self, prefix: &str) -> Result<(), (String, String)> {
        match self {
            BandwidthDist::Fixed { gb_per_s } => check_bandwidth(prefix, "gb_per_s", *gb_per_s),
            BandwidthDist::Lognormal {
                median_gb_per_s,
                p1_gb_per_s,
            } => {
                check_bandwidth(prefix, "median_gb_per_s", *median_gb_per_s)?;
                check_bandwidth(prefix, "p1_gb_per_s", *p1_gb_per_s)?;
                if p1_gb_per_s > median_gb_per_s {
                    return Err((
                        join(prefix, "p1_gb_per_s"),
                        format!(
                            "must be at most median_gb_per_s ({median_gb_per_s}): the 1st \
                             percentile is the slow tail, got {p1_gb_per_s}"
                        ),
                    ));
                }
                Ok(())
            }
            BandwidthDist::Empirical { values_gb_per_s } => {
                if values_gb_per_s.is_empty() {
                    return Err((
                        join(prefix, "values_gb_per_s"),
                        "must hold at least one observation".to_string(),
                    ));
                }
                for (i, v) in values_gb_per_s.iter().enumerate() {
                    check_bandwidth(prefix, &format!("values_gb_per_s[{i}]"), *v)?;
                }
                Ok(())
            }
        }
    }

    /// The `p`-quantile of the bandwidth, GB/s (`p = 0.01` is the slow
    /// tail). `p` is clamped into (0, 1); an unvalidated empty list gives 0.
    pub fn quantile_gb_per_s(&self, p: f64) -> f64 {
        let p = open_p(p);
        match self {
            BandwidthDist::Fixed { gb_per_s } => *gb_per_s,
            BandwidthDist::Lognormal {
                median_gb_per_s,
                p1_gb_per_s,
            } => {
                let sigma = (median_gb_per_s / p1_gb_per_s).ln() / Z_P99;
                median_gb_per_s * (sigma * inverse_normal_cdf(p)).exp()
            }
            BandwidthDist::Empirical { values_gb_per_s } => empirical_quantile(values_gb_per_s, p),
        }
    }

    /// The median bandwidth, GB/s.
    pub fn median_gb_per_s(&self) -> f64 {
        self.quantile_gb_per_s(0.5)
    }

    /// Time to move `bytes` at the `p`-quantile of the transfer *time*, i.e.
    /// at bandwidth quantile `1 − p`: `p` near 1 is slow.
    pub fn transfer_time_at(&self, bytes: u64, p: f64) -> SimDuration {
        transfer_time(bytes, self.quantile_gb_per_s(1.0 - open_p(p)))
    }

    /// One bandwidth draw, GB/s; consumes exactly one `u64` from `rng`.
    pub fn sample_gb_per_s<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        self.quantile_gb_per_s(1.0 - open_unit(rng))
    }

    /// Time to move `bytes` at one bandwidth draw; one `u64` from `rng`.
    pub fn sample_transfer_time<R: Rng + ?Sized>(&self, bytes: u64, rng: &mut R) -> SimDuration {
        self.transfer_time_at(bytes, open_unit(rng))
    }
}

/// Time to move `bytes` at `gb_per_s`, clamped to [`MAX_STAGE_S`]. Zero
/// bytes take no time; a zero, negative or NaN bandwidth takes the maximum.
pub fn transfer_time(bytes: u64, gb_per_s: f64) -> SimDuration {
    if bytes == 0 {
        return SimDuration::ZERO;
    }
    if gb_per_s.is_nan() || gb_per_s <= 0.0 {
        return secs_to_duration(MAX_STAGE_S);
    }
    secs_to_duration(bytes as f64 / (gb_per_s * BYTES_PER_GB))
}

/// The per-pool node provisioning time the reference suggests: lognormal,
/// median 4 min, p99 14 min (`docs/cold-start.md`). Node pools are
/// configured elsewhere; they use this as the default of their
/// provisioning-time field and draw from [`provisioning_rng`].
pub fn default_provisioning_time() -> DurationDist {
    DurationDist::Lognormal {
        median_s: 240.0,
        p99_s: 840.0,
    }
}

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
    pub fn validate(&self, prefix: &str) -> Result<(), (String, String)> {
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
    pub fn validate(&self, prefix: &str) -> Result<(), (String, String)> {
        check_non_negative_s(prefix, "duration_s", self.duration_s)?;
        check_non_negative_s(prefix, "extra_latency_s", self.extra_latency_s)?;
        if !(self.slowdown_factor.is_finite() && self.slowdown_factor >= 1.0) {
            return Err((
                join(prefix, "slowdown_factor"),
                format!(
                    "must be a finite number ≥ 1 (1 = no slowdown), got {}",
                    self.slowdown_factor
                ),
            ));
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
    pub fn validate(&self, prefix: &str) -> Result<(), (String, String)> {
        if self.image.trim().is_empty() {
            return Err((join(prefix, "image"), "must name an image".to_string()));
        }
        if !(self.image_gb.is_finite() && self.image_gb >= 0.0)
            || bytes_from_f64(self.image_gb * BYTES_PER_GB).is_none()
        {
            return Err((
                join(prefix, "image_gb"),
                format!("must be a finite number of GB ≥ 0, got {}", self.image_gb),
            ));
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

/// How a cold-start stage used the node's cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheUse {
    /// The node held the artifact.
    Hit,
    /// It did not: this replica fetches or builds it.
    Miss,
    /// Another replica on the node was fetching it: this one waits for
    /// that transfer.
    Shared,
}

/// A transfer in progress on a node that a replica waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InFlight {
    /// An image pull, by image name.
    Image(String),
    /// A weight download, by weights key.
    Weights(String),
}

/// How a stage began: how long it takes, how it used the cache, and the
/// transfer the replica waits for meanwhile, if any (tell the node's
/// caches with [`NodeCaches::stop_waiting`] when the replica no longer
/// does, finished or cancelled).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageStart {
    /// The stage's duration from its start.
    pub duration: SimDuration,
    /// Hit, miss or shared.
    pub cache: CacheUse,
    /// The transfer it started or joined.
    pub waits_for: Option<InFlight>,
}

impl StageStart {
    fn hit(duration: SimDuration) -> Self {
        StageStart {
            duration,
            cache: CacheUse::Hit,
            waits_for: None,
        }
    }
    fn miss(duration: SimDuration, waits_for: Option<InFlight>) -> Self {
        StageStart {
            duration,
            cache: CacheUse::Miss,
            waits_for,
        }
    }
    fn shared(duration: SimDuration, waits_for: InFlight) -> Self {
        StageStart {
            duration,
            cache: CacheUse::Shared,
            waits_for: Some(waits_for),
        }
    }
}

/// A pull or download in progress on a node.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Transfer {
    /// When it completes.
    done_at: SimTime,
    /// Its size.
    bytes: u64,
    /// Replicas waiting for it (the one that started it included).
    waiting: u32,
}

impl Transfer {
    fn new(done_at: SimTime, bytes: u64) -> Self {
        Transfer {
            done_at,
            bytes,
            waiting: 1,
        }
    }
}

// ---------------------------------------------------------------------------
// What a replica needs, and what a node holds
// ---------------------------------------------------------------------------

/// The engine-cache key: a compiled engine only fits the exact model
/// (including its dtype), GPU type and tensor parallel degree it was built for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineKey {
    /// Model and dtype, e.g. `llama-3.1-8b@2B/param`.
    pub model: String,
    /// GPU catalogue name.
    pub gpu: String,
    /// Tensor parallel degree.
    pub tensor_parallel: u32,
}

/// What a replica needs on its node besides the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifacts {
    /// Weight-cache key: model and dtype.
    pub weights_key: String,
    /// Bytes of weights to load.
    pub weights_bytes: u64,
    /// The compiled engine it needs.
    pub engine: EngineKey,
}

impl Artifacts {
    /// The artifacts of `model` stored at `bytes_per_param` (2 for BF16, 1
    /// for FP8), served on `gpu` with tensor parallel degree
    /// `tensor_parallel`. `None` if the weight size is not a finite,
    /// non-negative byte count.
    pub fn new(
        model: &ModelSpec,
        bytes_per_param: f64,
        gpu: &GpuSpec,
        tensor_parallel: u32,
    ) -> Option<Self> {
        let weights_bytes = bytes_from_f64(model.weights_bytes(bytes_per_param))?;
        let weights_key = format!("{}@{}B/param", model.name, bytes_per_param);
        Some(Artifacts {
            engine: EngineKey {
                model: weights_key.clone(),
                gpu: gpu.name.to_string(),
                tensor_parallel,
            },
            weights_key,
            weights_bytes,
        })
    }
}

/// Rounds a byte count to an integer; `None` for NaN, negative, infinite or
/// ≥ 2⁶⁴ values.
pub fn bytes_from_f64(bytes: f64) -> Option<u64> {
    if !(bytes.is_finite() && bytes >= 0.0) {
        return None;
    }
    let rounded = bytes.round();
    if rounded >= u64::MAX as f64 {
        return None;
    }
    Some(rounded as u64)
}

/// A byte-capacity cache with least-recently-used eviction (a node's weight
/// disk). Keys are kept in use order, least recent first; node caches hold
/// a handful of models, so operations are linear scans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LruBytes {
    capacity_bytes: u64,
    used_bytes: u64,
    /// Least recently used first.
    entries: Vec<(String, u64)>,
}

/// What [`LruBytes::insert`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inserted {
    /// Whether the entry is now cached (false: larger than the capacity).
    pub cached: bool,
    /// Keys evicted to make room, least recently used first.
    pub evicted: Vec<String>,
}

impl LruBytes {
    /// An empty cache of `capacity_bytes`.
    pub fn new(capacity_bytes: u64) -> Self {
        LruBytes {
            capacity_bytes,
            used_bytes: 0,
            entries: Vec::new(),
        }
    }

    /// Capacity, bytes.
    pub fn capacity_bytes(&self) -> u64 {
        self.capacity_bytes
    }

    /// Bytes held.
    pub fn used_bytes(&self) -> u64 {
        self.used_bytes
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `key` is cached (does not count as a use).
    pub fn contains(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k == key)
    }

    /// Keys from least to most recently used.
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// A lookup: if `key` is cached, marks it most recently used and
    /// returns true.
    pub fn touch(&mut self, key: &str) -> bool {
        match self.entries.iter().position(|(k, _)| k == key) {
            Some(i) => {
                let entry = self.entries.remove(i);
                self.entries.push(entry);
                true
            }
            None => false,
        }
    }

    /// Caches `key` of `bytes` as the most recently used entry, evicting
    /// least recently used entries until it fits. An entry larger than the
    /// whole capacity is not cached and evicts nothing (a stale entry under
    /// the same key is dropped). Re-inserting a key replaces its size.
    pub fn insert(&mut self, key: &str, bytes: u64) -> Inserted {
        if let Some(i) = self.entries.iter().position(|(k, _)| k == key) {
            let (_, old) = self.entries.remove(i);
            self.used_bytes -= old;
        }
        if bytes > self.capacity_bytes {
            return Inserted {
                cached: false,
                evicted: Vec::new(),
            };
        }
        let mut evicted = Vec::new();
        while self.capacity_bytes - self.used_bytes < bytes && !self.entries.is_empty() {
            let (k, b) = self.entries.remove(0);
            self.used_bytes -= b;
            evicted.push(k);
        }
        self.entries.push((key.to_string(), bytes));
        self.used_bytes += bytes;
        Inserted {
            cached: true,
            evicted,
        }
    }
}

/// What one node has cached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeCaches {
    /// Image names present (a node may run several deployments' images; the
    /// image store is not capacity-limited here).
    pub images: BTreeSet<String>,
    /// Weights on the node's disk.
    pub weights: LruBytes,
    /// Compiled engines present.
    pub engines: BTreeSet<EngineKey>,
    /// Image pulls in progress, by image name: only a completed pull
    /// enters `images`.
    pulls: BTreeMap<String, Transfer>,
    /// Weight downloads in progress, by weights key: only a completed one
    /// enters `weights`.
    downloads: BTreeMap<String, Transfer>,
}

impl NodeCaches {
    /// A freshly provisioned node: nothing cached, `weight_capacity_bytes`
    /// of disk for weights.
    pub fn new(weight_capacity_bytes: u64) -> Self {
        NodeCaches {
            images: BTreeSet::new(),
            weights: LruBytes::new(weight_capacity_bytes),
            engines: BTreeSet::new(),
            pulls: BTreeMap::new(),
            downloads: BTreeMap::new(),
        }
    }

    /// Completes the transfers done by `now`: their images and weights
    /// enter the caches, weights in the order their downloads completed
    /// (least recently used first).
    pub fn settle(&mut self, now: SimTime) {
        let images = &mut self.images;
        self.pulls.retain(|name, t| {
            let done = t.done_at <= now;
            if done {
                images.insert(name.clone());
            }
            !done
        });
        let mut done: Vec<(SimTime, String, u64)> = (self.downloads.iter())
            .filter(|(_, t)| t.done_at <= now)
            .map(|(k, t)| (t.done_at, k.clone(), t.bytes))
            .collect();
        done.sort();
        for (_, key, bytes) in done {
            self.downloads.remove(&key);
            self.weights.insert(&key, bytes);
        }
    }

    /// A replica no longer waits for `transfer` (its stage ended, or it was
    /// cancelled) at `now`. A transfer nobody waits for any more that has
    /// not completed stops, and leaves nothing in the caches.
    pub fn stop_waiting(&mut self, transfer: &InFlight, now: SimTime) {
        self.settle(now);
        let (map, key) = match transfer {
            InFlight::Image(k) => (&mut self.pulls, k),
            InFlight::Weights(k) => (&mut self.downloads, k),
        };
        if let Some(t) = map.get_mut(key) {
            t.waiting = t.waiting.saturating_sub(1);
            if t.waiting == 0 {
                map.remove(key);
            }
        }
    }

    /// A replica's engine build for `artifacts` completed: later replicas
    /// on the node start from it.
    pub fn engine_built(&mut self, artifacts: &Artifacts) {
        self.engines.insert(artifacts.engine.clone());
    }

    /// Transfers in progress (pulls, downloads).
    pub fn in_flight(&self) -> (usize, usize) {
        (self.pulls.len(), self.downloads.len())
    }

    /// A primed node (warm pool): `config`'s image and `artifacts`' weights
    /// already cached (the weights only if they fit); no compiled engine.
    pub fn primed(
        weight_capacity_bytes: u64,
        config: &ColdStartConfig,
        artifacts: &Artifacts,
    ) -> Self {
        let mut caches = NodeCaches::new(weight_capacity_bytes);
        caches.images.insert(config.image.clone());
        caches
            .weights
            .insert(&artifacts.weights_key, artifacts.weights_bytes);
        caches
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

// ---------------------------------------------------------------------------
// Numerics
// ---------------------------------------------------------------------------

/// The inverse empirical CDF of `values` at `p`: the value of rank
/// `floor(p·n)` in ascending order. Zero for an empty list.
fn empirical_quantile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let n = values.len();
    let idx = ((p * n as f64).floor() as usize).min(n - 1);
    let mut sorted = values.to_vec();
    let (_, v, _) = sorted.select_nth_unstable_by(idx, f64::total_cmp);
    *v
}

fn clamp_s(s: f64) -> f64 {
    if s.is_nan() {
        0.0
    } else {
        s.clamp(0.0, MAX_STAGE_S)
    }
}

fn secs_to_duration(s: f64) -> SimDuration {
    SimDuration::try_from_secs_f64(clamp_s(s)).unwrap_or(SimDuration::ZERO)
}

fn lognormal_bw(median_gb_per_s: f64, p1_gb_per_s: f64) -> BandwidthDist {
    BandwidthDist::Lognormal {
        median_gb_per_s,
        p1_gb_per_s,
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn check_positive_s(prefix: &str, name: &str, v: f64) -> Result<(), (String, String)> {
    if v > 0.0 && v <= MAX_STAGE_S {
        Ok(())
    } else {
        Err((
            join(prefix, name),
            format!("must be a finite number of seconds > 0 and ≤ {MAX_STAGE_S}, got {v}"),
        ))
    }
}

fn check_non_negative_s(prefix: &str, name: &str, v: f64) -> Result<(), (String, String)> {
    if (0.0..=MAX_STAGE_S).contains(&v) {
        Ok(())
    } else {
        Err((
            join(prefix, name),
            format!("must be a finite number of seconds ≥ 0 and ≤ {MAX_STAGE_S}, got {v}"),
        ))
    }
}

fn check_bandwidth(prefix: &str, name: &str, v: f64) -> Result<(), (String, String)> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err((
            join(prefix, name),
            format!("must be a finite number of GB/s > 0, got {v}"),
        ))
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
mod tests {
    use super::*;
    use crate::model::hardware;
    use rand::RngCore;

    const TB: u64 = 1_000_000_000_000;

    fn assert_close(got: f64, expect: f64, rel: f64, what: &str) {
        let tol = rel * expect.abs().max(1e-300);
        assert!(
            (got - expect).abs() <= tol,
            "{what}: got {got}, expected {expect} (±{tol})"
        );
    }

    fn secs(s: f64) -> SimDuration {
        SimDuration::try_from_secs_f64(s).unwrap()
    }

    fn llama_8b_h100() -> Artifacts {
        Artifacts::new(
            hardware::model("llama-3.1-8b").unwrap(),
            2.0,
            hardware::gpu("h100-sxm").unwrap(),
            1,
        )
        .unwrap()
    }

    fn artifacts(key: &str, bytes: u64) -> Artifacts {
        Artifacts {
            weights_key: key.to_string(),
            weights_bytes: bytes,
            engine: EngineKey {
                model: key.to_string(),
                gpu: "h100-sxm".to_string(),
                tensor_parallel: 1,
            },
        }
    }

    fn fixed_bw(gb_per_s: f64) -> BandwidthDist {
        BandwidthDist::Fixed { gb_per_s }
    }

    /// Every stage fixed, so durations can be computed by hand:
    /// pull 10 GB / 0.1 + 10 GB / 0.2 = 150 s; 16 GB of weights take 4 s
    /// from NVMe, 8 s from the datacenter cache, 16 s from the object store,
    /// 64 s from the hub; startup 30 s cached, 90 s uncached.
    fn fixed_config(source: WeightTier) -> ColdStartConfig {
        ColdStartConfig {
            image: "img".to_string(),
            image_gb: 10.0,
            pull_bandwidth: fixed_bw(0.1),
            extract_gb_per_s: 0.2,
            weight_source: source,
            tiers: WeightTiers {
                node_nvme: fixed_bw(4.0),
                datacenter_cache: fixed_bw(2.0),
                object_store: fixed_bw(1.0),
                hub: fixed_bw(0.25),
            },
            engine_startup_cached: DurationDist::Fixed { value_s: 30.0 },
            engine_startup_uncached: DurationDist::Fixed { value_s: 90.0 },
            warmup: WarmupConfig::none(),
        }
    }

    const W16: u64 = 16_000_000_000;

    fn check_duration_quantile(dist: DurationDist, p: f64, expect_s: f64) {
        assert_close(
            dist.quantile_s(p),
            expect_s,
            1e-12,
            &format!("{dist:?} at {p}"),
        );
    }

    #[test]
    fn duration_quantiles_are_hand_computed() {
        let ln = |median_s, p99_s| DurationDist::Lognormal { median_s, p99_s };
        let emp = |v: &[f64]| DurationDist::Empirical {
            values_s: v.to_vec(),
        };
        check_duration_quantile(DurationDist::Fixed { value_s: 42.0 }, 0.3, 42.0);
        check_duration_quantile(DurationDist::Fixed { value_s: 42.0 }, 0.999, 42.0);
        check_duration_quantile(ln(100.0, 400.0), 0.5, 100.0);
        check_duration_quantile(ln(100.0, 400.0), 0.99, 400.0);
        // Symmetric in the log: p1 = median² / p99.
        check_duration_quantile(ln(100.0, 400.0), 0.01, 25.0);
        // p99 = median: no spread.
        check_duration_quantile(ln(60.0, 60.0), 0.999, 60.0);
        // Empirical: rank floor(p·n) of the sorted list [1, 2, 3, 5].
        check_duration_quantile(emp(&[5.0, 1.0, 3.0, 2.0]), 0.0, 1.0);
        check_duration_quantile(emp(&[5.0, 1.0, 3.0, 2.0]), 0.24, 1.0);
        check_duration_quantile(emp(&[5.0, 1.0, 3.0, 2.0]), 0.25, 2.0);
        check_duration_quantile(emp(&[5.0, 1.0, 3.0, 2.0]), 0.5, 3.0);
        check_duration_quantile(emp(&[5.0, 1.0, 3.0, 2.0]), 0.99, 5.0);
        check_duration_quantile(emp(&[5.0, 1.0, 3.0, 2.0]), 1.0, 5.0);
        assert_eq!(ln(240.0, 840.0).median(), SimDuration::from_secs(240));
    }

    #[test]
    fn bandwidth_quantiles_and_transfer_times_are_hand_computed() {
        let bw = BandwidthDist::Lognormal {
            median_gb_per_s: 2.0,
            p1_gb_per_s: 0.5,
        };
        assert_close(bw.quantile_gb_per_s(0.01), 0.5, 1e-12, "p1");
        assert_close(bw.quantile_gb_per_s(0.5), 2.0, 1e-12, "median");
        assert_close(bw.quantile_gb_per_s(0.99), 8.0, 1e-12, "p99");
        // The slow tail of the time is the slow tail of the bandwidth.
        assert_eq!(
            bw.transfer_time_at(8_000_000_000, 0.5),
            SimDuration::from_secs(4)
        );
        assert_eq!(
            bw.transfer_time_at(8_000_000_000, 0.99),
            SimDuration::from_secs(16)
        );
        assert_eq!(
            bw.transfer_time_at(8_000_000_000, 0.01),
            SimDuration::from_secs(1)
        );
        assert_eq!(
            fixed_bw(0.1).transfer_time_at(10_000_000_000, 0.7),
            SimDuration::from_secs(100)
        );
        let emp = BandwidthDist::Empirical {
            values_gb_per_s: vec![4.0, 1.0, 2.0],
        };
        // Time quantile 0.9 is bandwidth quantile 0.1: the slowest.
        assert_eq!(
            emp.transfer_time_at(4_000_000_000, 0.9),
            SimDuration::from_secs(4)
        );
        assert_eq!(
            emp.transfer_time_at(4_000_000_000, 0.1),
            SimDuration::from_secs(1)
        );
        assert_eq!(transfer_time(0, 0.0), SimDuration::ZERO);
        assert_eq!(transfer_time(1, 0.0), secs(MAX_STAGE_S));
        assert_eq!(transfer_time(1, f64::NAN), secs(MAX_STAGE_S));
        assert_eq!(transfer_time(u64::MAX, 1e-12), secs(MAX_STAGE_S));
    }

    /// Sorted sample quantile at `p` (rank ⌈p·n⌉ − 1).
    fn sample_quantile(sorted: &[f64], p: f64) -> f64 {
        sorted[((p * sorted.len() as f64).ceil() as usize).saturating_sub(1)]
    }

    #[test]
    fn lognormal_median_and_tail_are_recovered_from_100k_samples() {
        const N: usize = 100_000;
        // Standard errors at N = 100k: ~0.2 % (median), ~0.7 % (p99 / p1).
        let dist = DurationDist::Lognormal {
            median_s: 240.0,
            p99_s: 840.0,
        };
        let mut rng = provisioning_rng(11, 0);
        let mut xs: Vec<f64> = (0..N)
            .map(|_| dist.sample(&mut rng).as_secs_f64())
            .collect();
        xs.sort_by(f64::total_cmp);
        assert_close(sample_quantile(&xs, 0.5), 240.0, 0.015, "duration median");
        assert_close(sample_quantile(&xs, 0.99), 840.0, 0.03, "duration p99");

        let bw = BandwidthDist::Lognormal {
            median_gb_per_s: 2.0,
            p1_gb_per_s: 0.75,
        };
        let mut rng = rng::stream(11, LOAD_STREAM, 0);
        let mut ys: Vec<f64> = (0..N).map(|_| bw.sample_gb_per_s(&mut rng)).collect();
        ys.sort_by(f64::total_cmp);
        assert_close(sample_quantile(&ys, 0.5), 2.0, 0.015, "bandwidth median");
        assert_close(sample_quantile(&ys, 0.01), 0.75, 0.03, "bandwidth p1");
        // And the transfer time of 16 GB has its p99 at 16 / 0.75 s.
        let mut rng = rng::stream(11, LOAD_STREAM, 1);
        let mut ts: Vec<f64> = (0..N)
            .map(|_| bw.sample_transfer_time(W16, &mut rng).as_secs_f64())
            .collect();
        ts.sort_by(f64::total_cmp);
        assert_close(sample_quantile(&ts, 0.99), 16.0 / 0.75, 0.03, "time p99");
        assert_close(sample_quantile(&ts, 0.5), 8.0, 0.015, "time median");
    }

    #[test]
    fn every_sample_consumes_exactly_one_draw() {
        let dists = [
            DurationDist::Fixed { value_s: 1.0 },
            default_provisioning_time(),
            DurationDist::Empirical {
                values_s: vec![1.0, 2.0],
            },
        ];
        for d in dists {
            let mut a = rng::stream(3, ENGINE_STREAM, 0);
            let mut b = a.clone();
            d.sample(&mut a);
            b.next_u64();
            assert_eq!(a.next_u64(), b.next_u64(), "{d:?}");
        }
        for bw in [fixed_bw(1.0), ColdStartConfig::default().tiers.hub] {
            let mut a = rng::stream(3, LOAD_STREAM, 0);
            let mut b = a.clone();
            bw.sample_transfer_time(W16, &mut a);
            b.next_u64();
            assert_eq!(a.next_u64(), b.next_u64(), "{bw:?}");
        }
    }

    struct StageCase {
        source: WeightTier,
        image_cached: bool,
        weights_cached: bool,
        engine_cached: bool,
        pull_s: u64,
        load_s: u64,
        startup_s: u64,
        tier: WeightTier,
    }

    #[test]
    fn stage_durations_with_fixed_distributions() {
        use WeightTier::*;
        let case = |source,
                    (image_cached, weights_cached, engine_cached),
                    (pull_s, load_s, startup_s),
                    tier| StageCase {
            source,
            image_cached,
            weights_cached,
            engine_cached,
            pull_s,
            load_s,
            startup_s,
            tier,
        };
        let cases = [
            case(Hub, (false, false, false), (150, 64, 90), Hub),
            case(
                ObjectStore,
                (false, false, false),
                (150, 16, 90),
                ObjectStore,
            ),
            case(
                DatacenterCache,
                (false, false, false),
                (150, 8, 90),
                DatacenterCache,
            ),
            // A remote source of node_nvme means "weights are on every disk".
            case(NodeNvme, (false, false, false), (150, 4, 90), NodeNvme),
            case(Hub, (true, false, false), (0, 64, 90), Hub),
            case(Hub, (true, true, false), (0, 4, 90), NodeNvme),
            case(Hub, (true, true, true), (0, 4, 30), NodeNvme),
            case(
                ObjectStore,
                (false, false, true),
                (150, 16, 30),
                ObjectStore,
            ),
        ];
        for c in cases {
            let cfg = fixed_config(c.source);
            let art = artifacts("m", W16);
            let mut caches = NodeCaches::new(TB);
            if c.image_cached {
                caches.images.insert("img".to_string());
            }
            if c.weights_cached {
                caches.weights.insert("m", W16);
            }
            if c.engine_cached {
                caches.engines.insert(art.engine.clone());
            }
            let plan = cfg.plan(&art, &mut caches, &mut ColdStartRngs::new(1, 0));
            let what = format!(
                "source {:?}, cached (image, weights, engine) = ({}, {}, {})",
                c.source, c.image_cached, c.weights_cached, c.engine_cached
            );
            assert_eq!(plan.pull, SimDuration::from_secs(c.pull_s), "{what}");
            assert_eq!(plan.load, SimDuration::from_secs(c.load_s), "{what}");
            assert_eq!(plan.startup, SimDuration::from_secs(c.startup_s), "{what}");
            assert_eq!(plan.weight_tier_used, c.tier, "{what}");
            assert_eq!(
                (plan.image_hit, plan.weight_hit, plan.engine_hit),
                (c.image_cached, c.weights_cached, c.engine_cached),
                "{what}"
            );
            assert_eq!(
                plan.total(),
                SimDuration::from_secs(c.pull_s + c.load_s + c.startup_s),
                "{what}"
            );
            // Everything is cached afterwards.
            assert!(
                caches.images.contains("img") && caches.weights.contains("m"),
                "{what}"
            );
            assert!(caches.engines.contains(&art.engine), "{what}");
        }
    }

    #[test]
    fn second_replica_on_a_node_hits_every_cache() {
        let cfg = fixed_config(WeightTier::Hub);
        let art = artifacts("m", W16);
        let mut caches = NodeCaches::new(TB);
        let first = cfg.plan(&art, &mut caches, &mut ColdStartRngs::new(1, 0));
        let second = cfg.plan(&art, &mut caches, &mut ColdStartRngs::new(1, 1));
        assert!(!first.image_hit && !first.weight_hit && !first.engine_hit);
        assert!(second.image_hit && second.weight_hit && second.engine_hit);
        assert_eq!(second.pull, SimDuration::ZERO);
        assert_eq!(second.load, SimDuration::from_secs(4)); // NVMe, not hub
        assert_eq!(second.startup, SimDuration::from_secs(30));
        assert_eq!(
            second.stages(),
            [
                (Stage::PullingImage, SimDuration::ZERO),
                (Stage::LoadingWeights, SimDuration::from_secs(4)),
                (Stage::StartingEngine, SimDuration::from_secs(30)),
            ]
        );
        // Another model on the same node: image hit, weight and engine miss.
        let other = artifacts("n", W16);
        let third = cfg.plan(&other, &mut caches, &mut ColdStartRngs::new(1, 2));
        assert!(third.image_hit && !third.weight_hit && !third.engine_hit);
        assert_eq!(third.total(), SimDuration::from_secs(64 + 90));
        // The same model with another tensor parallel degree needs its own engine.
        let mut tp2 = art.clone();
        tp2.engine.tensor_parallel = 2;
        let fourth = cfg.plan(&tp2, &mut caches, &mut ColdStartRngs::new(1, 3));
        assert!(fourth.weight_hit && !fourth.engine_hit);
    }

    #[test]
    fn weight_hit_loads_at_the_nvme_tier_speed_of_its_draw() {
        // Lognormal tiers: a hit loads at the NVMe quantile of the same draw.
        let cfg = ColdStartConfig::default();
        let art = llama_8b_h100();
        let mut cold = NodeCaches::new(TB);
        let mut warm = NodeCaches::primed(TB, &cfg, &art);
        let miss = cfg.plan(&art, &mut cold, &mut ColdStartRngs::new(5, 9));
        let hit = cfg.plan(&art, &mut warm, &mut ColdStartRngs::new(5, 9));
        let u = open_unit(&mut rng::stream(5, LOAD_STREAM, 9));
        assert_eq!(
            hit.load,
            cfg.tiers.node_nvme.transfer_time_at(art.weights_bytes, u)
        );
        assert_eq!(
            miss.load,
            cfg.tiers
                .object_store
                .transfer_time_at(art.weights_bytes, u)
        );
        assert_eq!(hit.weight_tier_used, WeightTier::NodeNvme);
        assert!(hit.image_hit && !hit.engine_hit);
        // Same luck for the engine on both nodes (both uncached).
        assert_eq!(hit.startup, miss.startup);
    }

    enum Op {
        Insert(&'static str, u64, bool, &'static [&'static str]),
        Touch(&'static str, bool),
    }

    fn check_lru(capacity: u64, ops: &[Op], expect_keys: &[&str], expect_used: u64) {
        let mut lru = LruBytes::new(capacity);
        for (i, op) in ops.iter().enumerate() {
            match op {
                Op::Insert(k, b, cached, evicted) => {
                    let got = lru.insert(k, *b);
                    assert_eq!(got.cached, *cached, "op {i}: insert {k}");
                    assert_eq!(got.evicted, *evicted, "op {i}: insert {k}");
                }
                Op::Touch(k, hit) => assert_eq!(lru.touch(k), *hit, "op {i}: touch {k}"),
            }
            assert!(lru.used_bytes() <= lru.capacity_bytes(), "op {i}");
        }
        assert_eq!(lru.keys().collect::<Vec<_>>(), expect_keys);
        assert_eq!(lru.used_bytes(), expect_used);
        assert_eq!(lru.len(), expect_keys.len());
    }

    #[test]
    fn lru_evicts_least_recently_used_first() {
        use Op::*;
        // Fills, then the oldest goes.
        check_lru(
            10,
            &[
                Insert("a", 4, true, &[]),
                Insert("b", 4, true, &[]),
                Insert("c", 4, true, &["a"]),
            ],
            &["b", "c"],
            8,
        );
        // A use protects an entry.
        check_lru(
            10,
            &[
                Insert("a", 4, true, &[]),
                Insert("b", 4, true, &[]),
                Touch("a", true),
                Insert("c", 4, true, &["b"]),
            ],
            &["a", "c"],
            8,
        );
        // Several go if needed, oldest first; exact fit needs no eviction.
        check_lru(
            10,
            &[
                Insert("a", 3, true, &[]),
                Insert("b", 3, true, &[]),
                Insert("c", 4, true, &[]),
                Insert("d", 6, true, &["a", "b"]),
            ],
            &["c", "d"],
            10,
        );
    }

    #[test]
    fn lru_edge_cases() {
        use Op::*;
        // Too large: not cached, evicts nothing.
        check_lru(
            10,
            &[
                Insert("a", 4, true, &[]),
                Insert("big", 11, false, &[]),
                Touch("big", false),
            ],
            &["a"],
            4,
        );
        // Exactly the capacity fits, evicting everything else.
        check_lru(
            10,
            &[
                Insert("a", 4, true, &[]),
                Insert("b", 4, true, &[]),
                Insert("all", 10, true, &["a", "b"]),
            ],
            &["all"],
            10,
        );
        // Re-inserting a key replaces its size and makes it most recent.
        check_lru(
            10,
            &[
                Insert("a", 4, true, &[]),
                Insert("b", 4, true, &[]),
                Insert("a", 6, true, &[]),
            ],
            &["b", "a"],
            10,
        );
        // Zero capacity caches only empty entries; misses are reported.
        check_lru(
            0,
            &[
                Insert("a", 1, false, &[]),
                Touch("a", false),
                Insert("e", 0, true, &[]),
            ],
            &["e"],
            0,
        );
    }

    #[test]
    fn weights_larger_than_the_disk_are_never_cached() {
        let cfg = fixed_config(WeightTier::ObjectStore);
        let art = artifacts("huge", W16);
        let mut caches = NodeCaches::new(W16 - 1);
        caches.weights.insert("small", 1_000);
        let first = cfg.plan(&art, &mut caches, &mut ColdStartRngs::new(1, 0));
        assert!(!first.weights_cached && first.evicted.is_empty());
        assert_eq!(caches.weights.keys().collect::<Vec<_>>(), ["small"]);
        let second = cfg.plan(&art, &mut caches, &mut ColdStartRngs::new(1, 1));
        assert!(!second.weight_hit);
        assert_eq!(second.load, SimDuration::from_secs(16)); // object store again
        assert!(second.image_hit && second.engine_hit);
    }

    #[test]
    fn a_miss_evicts_older_weights_and_reports_them() {
        let cfg = fixed_config(WeightTier::Hub);
        let mut caches = NodeCaches::new(2 * W16);
        for (i, key) in ["a", "b", "a", "c"].into_iter().enumerate() {
            let plan = cfg.plan(
                &artifacts(key, W16),
                &mut caches,
                &mut ColdStartRngs::new(1, i as u64),
            );
            let expect: &[&str] = if key == "c" { &["b"] } else { &[] };
            assert_eq!(plan.evicted, expect, "replica {i} ({key})");
            assert!(plan.weights_cached);
        }
        assert_eq!(caches.weights.keys().collect::<Vec<_>>(), ["a", "c"]);
    }

    #[test]
    fn same_streams_give_the_same_plan() {
        let cfg = ColdStartConfig::default();
        let art = llama_8b_h100();
        let run = |seed, index| {
            let mut caches = NodeCaches::new(TB);
            let mut rngs = ColdStartRngs::new(seed, index);
            let a = cfg.plan(&art, &mut caches, &mut rngs);
            let b = cfg.plan(&art, &mut caches, &mut rngs);
            (a, b, caches)
        };
        assert_eq!(run(7, 3), run(7, 3));
        assert_ne!(run(7, 3).0, run(7, 4).0);
        assert_ne!(run(7, 3).0, run(8, 3).0);
        let (a, _, _) = run(7, 3);
        assert!(a.pull > SimDuration::ZERO && a.load > SimDuration::ZERO);
    }

    #[test]
    fn a_plan_draws_once_per_stream_whatever_the_caches_hold() {
        let cfg = ColdStartConfig::default();
        let art = llama_8b_h100();
        let mut on_cold = ColdStartRngs::new(2, 0);
        let mut on_warm = on_cold.clone();
        cfg.plan(&art, &mut NodeCaches::new(TB), &mut on_cold);
        let mut warm = NodeCaches::primed(TB, &cfg, &art);
        warm.engines.insert(art.engine.clone());
        cfg.plan(&art, &mut warm, &mut on_warm);
        // Both advanced each stream by exactly one draw.
        let second = |name| {
            let mut r = rng::stream(2, name, 0);
            r.next_u64();
            r.next_u64()
        };
        for (name, a, b) in [
            (PULL_STREAM, &mut on_cold.pull, &mut on_warm.pull),
            (LOAD_STREAM, &mut on_cold.load, &mut on_warm.load),
            (ENGINE_STREAM, &mut on_cold.engine, &mut on_warm.engine),
        ] {
            let expect = second(name);
            assert_eq!(a.next_u64(), expect, "{name}, cold node");
            assert_eq!(b.next_u64(), expect, "{name}, warm node");
        }
    }

    #[test]
    fn plan_at_quantile_is_deterministic_and_leaves_the_caches_alone() {
        let cfg = ColdStartConfig::default();
        let art = llama_8b_h100();
        let caches = NodeCaches::new(TB);
        let before = caches.clone();
        let median = cfg.plan_at_quantile(0.5, &art, &caches);
        assert_eq!(caches, before);
        assert_eq!(median, cfg.plan_at_quantile(0.5, &art, &caches));
        let slow = cfg.plan_at_quantile(0.99, &art, &caches);
        assert!(
            slow.pull > median.pull && slow.load > median.load && slow.startup > median.startup
        );
        assert_eq!(slow.startup, SimDuration::from_secs(300));
    }

    /// The reference's end-to-end anchors for Llama-3.1-8B: on a new node
    /// with nothing cached 5–10 min; on a warm node with image, weights and
    /// compile cache about 60–90 s. Median path: every stage at its median.
    #[test]
    fn default_median_paths_meet_the_reference_anchors() {
        let art = llama_8b_h100();
        assert_eq!(art.weights_bytes, 16_060_000_000);
        for source in [
            WeightTier::DatacenterCache,
            WeightTier::ObjectStore,
            WeightTier::Hub,
        ] {
            let cfg = ColdStartConfig {
                weight_source: source,
                ..ColdStartConfig::default()
            };
            let new_node = default_provisioning_time().median()
                + cfg
                    .plan_at_quantile(0.5, &art, &NodeCaches::new(TB))
                    .total();
            let s = new_node.as_secs_f64();
            assert!((300.0..=600.0).contains(&s), "{source:?}: new node {s} s");

            let mut warm = NodeCaches::primed(TB, &cfg, &art);
            warm.engines.insert(art.engine.clone());
            let plan = cfg.plan_at_quantile(0.5, &art, &warm);
            assert!(plan.image_hit && plan.weight_hit && plan.engine_hit);
            let s = plan.total().as_secs_f64();
            assert!((60.0..=90.0).contains(&s), "{source:?}: warm node {s} s");
        }
        // The figures docs/cold-start.md quotes.
        let cfg = ColdStartConfig::default();
        let plan = cfg.plan_at_quantile(0.5, &art, &NodeCaches::new(TB));
        assert_close(plan.pull.as_secs_f64(), 100.0 + 200.0 / 3.0, 1e-9, "pull");
        assert_close(plan.load.as_secs_f64(), 8.03, 1e-9, "load");
        assert_eq!(plan.startup, SimDuration::from_secs(120));
    }

    #[test]
    fn warmup_window_by_count_or_time() {
        let w = WarmupConfig {
            requests: 3,
            duration_s: 10.0,
            slowdown_factor: 2.0,
            extra_latency_s: 1.5,
        };
        for (k, t_s, factor, extra_s) in [
            (0, 0.0, 2.0, 1.5),
            (2, 100.0, 2.0, 1.5), // third request, late: by count
            (3, 9.999, 2.0, 1.5), // fourth request, early: by time
            (3, 10.0, 1.0, 0.0),  // the window is [0, 10 s)
            (100, 11.0, 1.0, 0.0),
        ] {
            let t = secs(t_s);
            assert_close(
                w.slowdown_factor(k, t),
                factor,
                0.0,
                &format!("k={k} t={t_s}"),
            );
            assert_eq!(w.extra_latency(k, t), secs(extra_s), "k={k} t={t_s}");
        }
        let off = WarmupConfig::none();
        assert!(!off.in_window(0, SimDuration::ZERO));
        let by_time_only = WarmupConfig {
            requests: 0,
            ..w.clone()
        };
        assert!(by_time_only.in_window(0, secs(9.0)) && !by_time_only.in_window(0, secs(10.0)));
        // The default: 2 s on the first request only, no slowdown.
        let d = WarmupConfig::default();
        assert_eq!(
            d.extra_latency(0, SimDuration::ZERO),
            SimDuration::from_secs(2)
        );
        assert_eq!(d.extra_latency(1, SimDuration::ZERO), SimDuration::ZERO);
        assert_close(
            d.slowdown_factor(0, SimDuration::ZERO),
            1.0,
            0.0,
            "default factor",
        );
    }

    fn check_invalid(edit: impl FnOnce(&mut ColdStartConfig), field: &str, message_part: &str) {
        let mut cfg = ColdStartConfig::default();
        edit(&mut cfg);
        let (got_field, message) = cfg.validate("cold_start").expect_err(field);
        assert_eq!(got_field, field);
        assert!(message.contains(message_part), "{field}: {message}");
    }

    #[test]
    fn validation_names_the_field() {
        assert_eq!(ColdStartConfig::default().validate("cold_start"), Ok(()));
        assert_eq!(default_provisioning_time().validate("pool"), Ok(()));
        check_invalid(
            |c| c.image = " ".into(),
            "cold_start.image",
            "name an image",
        );
        check_invalid(|c| c.image_gb = -1.0, "cold_start.image_gb", "≥ 0");
        check_invalid(|c| c.image_gb = f64::NAN, "cold_start.image_gb", "NaN");
        check_invalid(
            |c| {
                c.pull_bandwidth = BandwidthDist::Lognormal {
                    median_gb_per_s: 0.1,
                    p1_gb_per_s: 0.2,
                }
            },
            "cold_start.pull_bandwidth.p1_gb_per_s",
            "slow tail",
        );
        check_invalid(
            |c| c.extract_gb_per_s = 0.0,
            "cold_start.extract_gb_per_s",
            "> 0",
        );
        check_invalid(
            |c| c.extract_gb_per_s = f64::NAN,
            "cold_start.extract_gb_per_s",
            "> 0",
        );
        check_invalid(
            |c| c.tiers.hub = fixed_bw(-1.0),
            "cold_start.tiers.hub.gb_per_s",
            "> 0",
        );
        check_invalid(
            |c| {
                c.tiers.node_nvme = BandwidthDist::Empirical {
                    values_gb_per_s: vec![],
                }
            },
            "cold_start.tiers.node_nvme.values_gb_per_s",
            "at least one",
        );
        check_invalid(
            |c| {
                c.tiers.datacenter_cache = BandwidthDist::Empirical {
                    values_gb_per_s: vec![1.0, 0.0],
                }
            },
            "cold_start.tiers.datacenter_cache.values_gb_per_s[1]",
            "> 0",
        );
        check_invalid(
            |c| {
                c.tiers.object_store = BandwidthDist::Lognormal {
                    median_gb_per_s: f64::INFINITY,
                    p1_gb_per_s: 1.0,
                }
            },
            "cold_start.tiers.object_store.median_gb_per_s",
            "finite",
        );
        check_invalid(
            |c| {
                c.engine_startup_cached = DurationDist::Lognormal {
                    median_s: 60.0,
                    p99_s: 30.0,
                }
            },
            "cold_start.engine_startup_cached.p99_s",
            "at least median_s",
        );
        check_invalid(
            |c| {
                c.engine_startup_cached = DurationDist::Lognormal {
                    median_s: 0.0,
                    p99_s: 30.0,
                }
            },
            "cold_start.engine_startup_cached.median_s",
            "> 0",
        );
        check_invalid(
            |c| c.engine_startup_uncached = DurationDist::Empirical { values_s: vec![] },
            "cold_start.engine_startup_uncached.values_s",
            "at least one",
        );
        check_invalid(
            |c| {
                c.engine_startup_uncached = DurationDist::Empirical {
                    values_s: vec![10.0, f64::NAN],
                }
            },
            "cold_start.engine_startup_uncached.values_s[1]",
            "NaN",
        );
        check_invalid(
            |c| c.engine_startup_uncached = DurationDist::Fixed { value_s: 0.0 },
            "cold_start.engine_startup_uncached.value_s",
            "> 0",
        );
        check_invalid(
            |c| c.engine_startup_uncached = DurationDist::Fixed { value_s: 1e9 },
            "cold_start.engine_startup_uncached.value_s",
            "≤",
        );
        check_invalid(
            |c| c.warmup.slowdown_factor = 0.5,
            "cold_start.warmup.slowdown_factor",
            "≥ 1",
        );
        check_invalid(
            |c| c.warmup.duration_s = -1.0,
            "cold_start.warmup.duration_s",
            "≥ 0",
        );
        check_invalid(
            |c| c.warmup.extra_latency_s = f64::INFINITY,
            "cold_start.warmup.extra_latency_s",
            "finite",
        );
        // An empty prefix gives the bare field name.
        assert_eq!(
            DurationDist::Fixed { value_s: -2.0 }
                .validate("")
                .map_err(|e| e.0),
            Err("value_s".to_string())
        );
    }

    #[test]
    fn serde_shapes() {
        // What a scenario's [cold_start] table deserialises from (TOML and
        // JSON share the data model; sim-core has no TOML dependency).
        let json = r#"{
            "image": "vllm/vllm-openai:v0.10",
            "image_gb": 12,
            "pull_bandwidth": { "dist": "fixed", "gb_per_s": 0.2 },
            "weight_source": "hub",
            "tiers": { "hub": { "dist": "empirical", "values_gb_per_s": [0.26, 1.5] } },
            "engine_startup_cached": { "dist": "lognormal", "median_s": 40, "p99_s": 90 },
            "warmup": { "requests": 10, "slowdown_factor": 1.5 }
        }"#;
        let cfg: ColdStartConfig = serde_json::from_str(json).unwrap();
        let d = ColdStartConfig::default();
        assert_eq!(cfg.image, "vllm/vllm-openai:v0.10");
        assert_eq!(cfg.image_bytes(), 12_000_000_000);
        assert_eq!(cfg.pull_bandwidth, fixed_bw(0.2));
        assert_eq!(cfg.weight_source, WeightTier::Hub);
        assert_eq!(
            cfg.tiers.hub,
            BandwidthDist::Empirical {
                values_gb_per_s: vec![0.26, 1.5]
            }
        );
        // Omitted fields keep their defaults, at every level.
        assert_eq!(cfg.tiers.object_store, d.tiers.object_store);
        assert_eq!(cfg.engine_startup_uncached, d.engine_startup_uncached);
        assert_close(cfg.extract_gb_per_s, d.extract_gb_per_s, 0.0, "extract");
        assert_close(
            cfg.warmup.extra_latency_s,
            d.warmup.extra_latency_s,
            0.0,
            "extra",
        );
        assert_eq!(cfg.warmup.requests, 10);
        assert_eq!(cfg.validate(""), Ok(()));
        // Round trip.
        let back: ColdStartConfig =
            serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert_eq!(back, d);
        // Typos are errors.
        for bad in [
            r#"{ "image_bytes": 1 }"#,
            r#"{ "warmup": { "request": 1 } }"#,
            r#"{ "tiers": { "s3": { "dist": "fixed", "gb_per_s": 1 } } }"#,
            r#"{ "pull_bandwidth": { "dist": "fixed", "gb_per_s": 1, "p1_gb_per_s": 1 } }"#,
            r#"{ "engine_startup_cached": { "dist": "fixed", "seconds": 1 } }"#,
            r#"{ "engine_startup_cached": { "dist": "gamma", "value_s": 1 } }"#,
            r#"{ "weight_source": "s3" }"#,
        ] {
            assert!(
                serde_json::from_str::<ColdStartConfig>(bad).is_err(),
                "{bad}"
            );
        }
        assert_eq!(
            serde_json::to_string(&Stage::PullingImage).unwrap(),
            r#""pulling_image""#
        );
        assert_eq!(
            serde_json::to_string(&WeightTier::DatacenterCache).unwrap(),
            r#""datacenter_cache""#
        );
        for tier in WeightTier::ALL {
            assert_eq!(
                serde_json::to_string(&tier).unwrap(),
                format!("\"{}\"", tier.name())
            );
        }
    }

    #[test]
    fn artifacts_and_primed_nodes() {
        let art = llama_8b_h100();
        assert_eq!(art.weights_key, "llama-3.1-8b@2B/param");
        assert_eq!(art.engine.gpu, "h100-sxm");
        assert_eq!(art.engine.model, art.weights_key);
        let fp8 = Artifacts::new(
            hardware::model("llama-3.1-8b").unwrap(),
            1.0,
            hardware::gpu("h100-sxm").unwrap(),
            1,
        )
        .unwrap();
        assert_eq!(fp8.weights_bytes, 8_030_000_000);
        assert_ne!(fp8.weights_key, art.weights_key);
        assert_ne!(fp8.engine, art.engine);
        let bad = Artifacts::new(
            hardware::model("llama-3.1-8b").unwrap(),
            f64::NAN,
            hardware::gpu("h100-sxm").unwrap(),
            1,
        );
        assert!(bad.is_none());

        let cfg = ColdStartConfig::default();
        let primed = NodeCaches::primed(TB, &cfg, &art);
        assert!(primed.images.contains(&cfg.image) && primed.weights.contains(&art.weights_key));
        assert!(primed.engines.is_empty());
        // A disk too small for the weights still primes the image.
        let small = NodeCaches::primed(1_000, &cfg, &art);
        assert!(small.images.contains(&cfg.image) && small.weights.is_empty());
    }

    #[test]
    fn far_tails_and_bad_input_clamp_instead_of_panicking() {
        let wide = DurationDist::Lognormal {
            median_s: 1e6,
            p99_s: 3e7,
        };
        assert_eq!(wide.quantile(1.0), secs(MAX_STAGE_S));
        assert_eq!(wide.quantile(0.0), SimDuration::ZERO);
        assert_eq!(
            DurationDist::Empirical { values_s: vec![] }.quantile(0.5),
            SimDuration::ZERO
        );
        assert_eq!(
            DurationDist::Fixed { value_s: f64::NAN }.quantile(0.5),
            SimDuration::ZERO
        );
        let slow = BandwidthDist::Lognormal {
            median_gb_per_s: 1e-6,
            p1_gb_per_s: 1e-9,
        };
        assert_eq!(slow.transfer_time_at(W16, 0.999_999), secs(MAX_STAGE_S));
        let mut rng = rng::stream(1, LOAD_STREAM, 0);
        for _ in 0..1_000 {
            assert!(wide.sample(&mut rng) <= secs(MAX_STAGE_S));
            assert!(slow.sample_transfer_time(W16, &mut rng) <= secs(MAX_STAGE_S));
        }
    }
}
