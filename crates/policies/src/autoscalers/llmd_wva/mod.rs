//! llm-d Workload Variant Autoscaler saturation analyzer
//! (`llm-d/llm-d-workload-variant-autoscaler`, `internal/saturation`):
//! per-replica saturation from KV-cache usage and queue length, average
//! spare capacity over non-saturated replicas, the scale-up trigger, the
//! worst-case scale-down safety check, and the per-variant targets
//! (+1 on the cheapest variant, −1 on the most expensive one above 1,
//! nothing while any variant is still converging).
//!
//! Adapter mapping: every `reconcile_interval_s` (60 s) build one
//! [`ReplicaMetrics`] per replica from the peak over the last minute of
//! `kv_cache_usage` and `num_requests_waiting`, call [`analyze`], then
//! [`targets`] with each variant's cost, metric count and current/desired
//! replicas; the HPA/KEDA actuator with target 1 passes the target through.
//! A deployment with variants (other deployments of the model on other
//! GPU types, behind one gateway) gets one decision over all of them per
//! reconcile (`variants.rs`).

use super::{invalid, AutoscalerError};
use serde::{Deserialize, Serialize};

mod analyzer;
mod variants;

pub use variants::WvaVariant;

pub use analyzer::{
    analyze, analyze_model, analyze_variant, targets, Analysis, ModelAnalysis, PodMetrics,
    ReplicaMetrics, VariantAnalysis, VariantCost, VariantState,
};

const NAME: &str = "llmd_wva";

/// Saturation thresholds with WVA's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WvaConfig {
    /// `kvCacheThreshold`: 0.80; a replica at or above is saturated.
    pub kv_cache_threshold: f64,
    /// `queueLengthThreshold`: 5 waiting requests.
    pub queue_length_threshold: f64,
    /// `kvSpareTrigger`: 0.10; scale up when average spare KV is below.
    pub kv_spare_trigger: f64,
    /// `queueSpareTrigger`: 3; scale up when average spare queue is below.
    pub queue_spare_trigger: f64,
    /// `reconcileInterval`: 60 s.
    pub reconcile_interval_s: u64,
}

impl Default for WvaConfig {
    fn default() -> Self {
        WvaConfig {
            kv_cache_threshold: 0.8,
            queue_length_threshold: 5.0,
            kv_spare_trigger: 0.1,
            queue_spare_trigger: 3.0,
            reconcile_interval_s: 60,
        }
    }
}

impl WvaConfig {
    /// Threshold sanity (the config loader's checks).
    pub fn validate(&self) -> Result<(), AutoscalerError> {
        if !(self.kv_cache_threshold > 0.0 && self.kv_cache_threshold <= 1.0) {
            return Err(invalid(
                NAME,
                "kv_cache_threshold",
                "must be in (0, 1] (WVA: kvCacheThreshold is a fraction)",
            ));
        }
        if !(self.queue_length_threshold.is_finite() && self.queue_length_threshold > 0.0) {
            return Err(invalid(
                NAME,
                "queue_length_threshold",
                "must be > 0 (WVA: queueLengthThreshold)",
            ));
        }
        if !(self.kv_spare_trigger >= 0.0 && self.kv_spare_trigger <= self.kv_cache_threshold) {
            return Err(invalid(
                NAME,
                "kv_spare_trigger",
                "must be in [0, kv_cache_threshold] (WVA: kvSpareTrigger)",
            ));
        }
        if !(self.queue_spare_trigger >= 0.0
            && self.queue_spare_trigger <= self.queue_length_threshold)
        {
            return Err(invalid(
                NAME,
                "queue_spare_trigger",
                "must be in [0, queue_length_threshold] (WVA: queueSpareTrigger)",
            ));
        }
        if self.reconcile_interval_s == 0 {
            return Err(invalid(NAME, "reconcile_interval_s", "must be > 0"));
        }
        Ok(())
    }
}

fn d_min() -> u32 {
    1
}
fn d_max() -> u32 {
    10
}

/// `[scaling] kind = "llmd_wva"`: the saturation analyzer for one variant
/// (this deployment), with WVA's thresholds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WvaAutoscalerConfig {
    /// Lowest replica count, default 1 (WVA's `scaleToZero` is false by
    /// default; 0 is not supported here).
    #[serde(default = "d_min")]
    pub min_replicas: u32,
    /// Highest replica count (the actuator HPA's), default 10.
    #[serde(default = "d_max")]
    pub max_replicas: u32,
    /// `kvCacheThreshold`, default 0.80.
    #[serde(default = "d_kv")]
    pub kv_cache_threshold: f64,
    /// `queueLengthThreshold`, default 5.
    #[serde(default = "d_queue")]
    pub queue_length_threshold: f64,
    /// `kvSpareTrigger`, default 0.10.
    #[serde(default = "d_kv_spare")]
    pub kv_spare_trigger: f64,
    /// `queueSpareTrigger`, default 3.
    #[serde(default = "d_queue_spare")]
    pub queue_spare_trigger: f64,
    /// `reconcileInterval`, default 60 s.
    #[serde(default = "d_interval")]
    pub reconcile_interval_s: u64,
    /// The deployments of the model's variant group, this one first, with
    /// their costs per replica (upstream's `variantCost`): set by the
    /// scenario loader, not a `[scaling]` key. Empty: this deployment is
    /// the model's only variant.
    #[serde(skip)]
    pub variants: Vec<WvaVariant>,
}

fn d_kv() -> f64 {
    0.8
}
fn d_queue() -> f64 {
    5.0
}
fn d_kv_spare() -> f64 {
    0.1
}
fn d_queue_spare() -> f64 {
    3.0
}
fn d_interval() -> u64 {
    60
}

impl WvaAutoscalerConfig {
    /// The upstream thresholds.
    pub fn core(&self) -> WvaConfig {
        WvaConfig {
            kv_cache_threshold: self.kv_cache_threshold,
            queue_length_threshold: self.queue_length_threshold,
            kv_spare_trigger: self.kv_spare_trigger,
            queue_spare_trigger: self.queue_spare_trigger,
            reconcile_interval_s: self.reconcile_interval_s,
        }
    }

    /// Upstream validation plus the bounds.
    pub fn validate(&self) -> Result<(), AutoscalerError> {
        self.core().validate()?;
        variants::validate(&self.variants)?;
        if self.min_replicas == 0 {
            return Err(invalid(
                NAME,
                "min_replicas",
                "must be >= 1 (WVA: scaleToZero is off by default and not modelled)",
            ));
        }
        super::adapter::check_bounds(
            NAME,
            self.min_replicas,
            self.max_replicas,
            "HPA actuator: maxReplicas must be greater than or equal to minReplicas",
        )
    }

    /// The autoscaler.
    pub fn build(&self) -> Result<Box<dyn fleetsim_core::Autoscaler>, AutoscalerError> {
        self.validate()?;
        Ok(Box::new(WvaAutoscaler {
            config: self.core(),
            bounds: (self.min_replicas, self.max_replicas),
            last_target: 0,
            last_targets: vec![0; self.variants.len()],
            variants: self.variants.clone(),
        }))
    }

    /// Prometheus: 15 s scrapes (assumed), no further lag; the analyzer
    /// takes the peak over the last minute (`max_over_time[1m]`).
    pub fn default_metrics(&self) -> fleetsim_core::autoscale::MetricsSpec {
        fleetsim_core::autoscale::MetricsSpec {
            scrape_interval: fleetsim_core::SimDuration::from_secs(15),
            lag: fleetsim_core::SimDuration::ZERO,
            lookback: fleetsim_core::SimDuration::from_secs(600),
        }
    }
}

/// Engine adapter: every `reconcile_interval_s`, one [`ReplicaMetrics`]
/// per ready pod of the newest visible scrape, each its peak over the
/// last minute of visible scrapes (`max by(pod)(max_over_time(...[1m]))`)
/// of `kv_cache_usage_perc` and `num_requests_waiting`; [`analyze`]; then
/// [`targets`] with this deployment as the only variant (metrics count =
/// ready pods, current = the count asked for, desired = the last target),
/// so nothing changes while replicas are still starting. The actuator
/// passes the target straight through (its HPA behavior is not modelled).
/// No activation hook. With variants, see `variants.rs`.
#[derive(Clone, Debug)]
pub struct WvaAutoscaler {
    config: WvaConfig,
    bounds: (u32, u32),
    last_target: u32,
    /// The variant group, this deployment first (empty: none).
    variants: Vec<WvaVariant>,
    /// Each variant's last target (0: none yet), as `variants`.
    last_targets: Vec<u32>,
}

/// Each ready pod of the newest visible scrape with its peak over the last
/// minute of visible scrapes of `kv_cache_usage_perc` and
/// `num_requests_waiting` (`max by(pod)(max_over_time(...[1m]))`), by
/// replica id. `None` while no scrape is visible or metrics are down.
fn peaks(obs: &fleetsim_core::autoscale::Observation<'_>) -> Option<Vec<(u32, ReplicaMetrics)>> {
    use fleetsim_core::autoscale::PodPhase;
    let latest = obs.latest()?;
    let minute = fleetsim_core::SimDuration::from_secs(60);
    let peak = |replica: u32| {
        let (mut kv, mut q) = (0.0f64, 0.0f64);
        for s in obs.window(minute) {
            for x in s.pods.iter().filter(|x| x.replica == replica) {
                kv = kv.max(x.kv_cache_usage_perc);
                q = q.max(f64::from(x.num_requests_waiting));
            }
        }
        ReplicaMetrics {
            kv_cache_usage: kv,
            queue_length: q,
        }
    };
    Some(
        (latest.pods.iter())
            .filter(|p| p.phase == PodPhase::Ready)
            .map(|p| (p.replica, peak(p.replica)))
            .collect(),
    )
}

impl fleetsim_core::Autoscaler for WvaAutoscaler {
    fn sync_period(&self) -> fleetsim_core::SimDuration {
        super::secs(self.config.reconcile_interval_s)
    }

    fn replica_bounds(&self) -> (u32, u32) {
        self.bounds
    }

    fn desired_replicas(&mut self, obs: &fleetsim_core::autoscale::Observation<'_>) -> u32 {
        let Some(peaks) = peaks(obs) else {
            return obs.desired;
        };
        let replicas: Vec<ReplicaMetrics> = peaks.into_iter().map(|(_, m)| m).collect();
        let a = analyze(&self.config, &replicas);
        let analysed: Vec<VariantCost> = (!replicas.is_empty())
            .then(|| VariantCost {
                name: "deployment".into(),
                cost: 1.0,
                replica_count: replicas.len() as u32,
            })
            .into_iter()
            .collect();
        let state = VariantState {
            name: "deployment".into(),
            current: obs.desired,
            desired: self.last_target,
            pending: 0,
        };
        let target = targets(a.should_scale_up, a.scale_down_safe, &analysed, &[state])
            .into_values()
            .next()
            .unwrap_or(obs.desired)
            .clamp(self.bounds.0, self.bounds.1);
        self.last_target = target;
        target
    }

    fn desired_variant_replicas(
        &mut self,
        obs: &[fleetsim_core::autoscale::Observation<'_>],
    ) -> Vec<u32> {
        self.decide_variants(obs)
    }
}

/// `[scaling] kind = "llmd_wva"`: this file's entry in the autoscaler
/// registry (`autoscalers/mod.rs`).
#[derive(Debug)]
pub struct LlmdWvaKind;

impl super::AutoscalerKind for LlmdWvaKind {
    const NAME: &'static str = "llmd_wva";
    type Config = WvaAutoscalerConfig;

    fn validate(config: &WvaAutoscalerConfig) -> Result<(), AutoscalerError> {
        config.validate()
    }

    fn build(
        config: &WvaAutoscalerConfig,
    ) -> Result<Box<dyn fleetsim_core::Autoscaler>, AutoscalerError> {
        config.build()
    }

    fn default_metrics(config: &WvaAutoscalerConfig) -> fleetsim_core::autoscale::MetricsSpec {
        config.default_metrics()
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod upstream_tests;
