//! The `[pool]` section as written (kept apart from `raw.rs` to keep
//! that file small): the GPU nodes, their price and how each GPU is
//! shared (MIG instances or time slices).

use fleetsim_core::coldstart::DurationDist;
use fleetsim_core::cost::BillingPolicy;
use serde::{Deserialize, Serialize};

/// The `[pool]` section: the GPU nodes the deployment runs on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPool {
    /// Name in reports (default `default`).
    pub name: Option<String>,
    /// GPU type of the pool's nodes (default: the deployment's GPU; they
    /// must match, a deployment runs on one GPU type).
    pub gpu: Option<String>,
    /// GPUs per node (default 8).
    pub gpus_per_node: Option<u32>,
    /// Price, USD per GPU-hour (default by GPU type, `docs/scenario-reference.md`).
    pub usd_per_gpu_hour: Option<f64>,
    /// Billing granularity and minimum (default per second, 60 s minimum).
    pub billing: Option<BillingPolicy>,
    /// Node provisioning time (default lognormal, median 240 s, p99 840 s).
    pub provisioning: Option<DurationDist>,
    /// Most nodes held at once (default: no quota).
    pub max_nodes: Option<u32>,
    /// How long an empty node is kept before release, seconds (default 600).
    pub idle_release_delay_s: Option<f64>,
    /// Disk for cached weights per node, GB (default 500).
    pub weight_disk_gb: Option<f64>,
    /// Spot capacity (default: on-demand).
    pub spot: Option<RawSpot>,
    /// Primed nodes kept from time 0 (default 0).
    pub warm_nodes: Option<u32>,
    /// The MIG instances each GPU is partitioned into, by profile name
    /// (default: none, whole GPUs).
    pub mig_layout: Option<Vec<String>>,
    /// Replicas sharing each GPU by turns (default: none, whole GPUs).
    pub time_slices_per_gpu: Option<u32>,
}

/// `[deployment] time_slice = { ... }`: a replica takes one share of a
/// time-sliced GPU (kept here beside the pool key that slices it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTimeSlice {
    /// Share of the slice's compute and bandwidth lost to context switches
    /// and interference, in [0, 1); required, as no measured figure is
    /// published.
    pub interference_penalty: f64,
}

/// `[pool] spot = { ... }`: how spot nodes are reclaimed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpot {
    /// Reclaims per node-hour of uptime.
    pub interruptions_per_node_hour: f64,
    /// Warning before the node goes away, seconds (default 120, AWS).
    pub notice_s: Option<f64>,
}
