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

use super::{invalid, AutoscalerError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

/// One replica's peak metrics.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReplicaMetrics {
    /// KV-cache usage fraction.
    pub kv_cache_usage: f64,
    /// Waiting requests.
    pub queue_length: f64,
}

/// `AnalyzeModelSaturation`'s result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Analysis {
    /// Replicas reporting.
    pub total_replicas: usize,
    /// Replicas below both thresholds.
    pub non_saturated_count: usize,
    /// Average spare KV over non-saturated replicas (0 when none).
    pub avg_spare_kv: f64,
    /// Average spare queue over non-saturated replicas (0 when none).
    pub avg_spare_queue: f64,
    /// Average spare below a trigger.
    pub should_scale_up: bool,
    /// Removing one replica keeps both spares at or above the triggers.
    pub scale_down_safe: bool,
}

/// Analyze one model's replicas.
pub fn analyze(cfg: &WvaConfig, replicas: &[ReplicaMetrics]) -> Analysis {
    let non_sat: Vec<&ReplicaMetrics> = replicas
        .iter()
        .filter(|r| {
            r.kv_cache_usage < cfg.kv_cache_threshold && r.queue_length < cfg.queue_length_threshold
        })
        .collect();
    let n = non_sat.len();
    let (mut spare_kv, mut spare_q) = (0.0, 0.0);
    if n > 0 {
        spare_kv = non_sat
            .iter()
            .map(|r| cfg.kv_cache_threshold - r.kv_cache_usage)
            .sum::<f64>()
            / n as f64;
        spare_q = non_sat
            .iter()
            .map(|r| cfg.queue_length_threshold - r.queue_length)
            .sum::<f64>()
            / n as f64;
    }
    let should_scale_up = spare_kv < cfg.kv_spare_trigger || spare_q < cfg.queue_spare_trigger;
    let scale_down_safe = n >= 2 && {
        let total_kv: f64 = non_sat.iter().map(|r| r.kv_cache_usage).sum();
        let total_q: f64 = non_sat.iter().map(|r| r.queue_length).sum();
        let rem = (n - 1) as f64;
        cfg.kv_cache_threshold - total_kv / rem >= cfg.kv_spare_trigger
            && cfg.queue_length_threshold - total_q / rem >= cfg.queue_spare_trigger
    };
    Analysis {
        total_replicas: replicas.len(),
        non_saturated_count: n,
        avg_spare_kv: spare_kv,
        avg_spare_queue: spare_q,
        should_scale_up,
        scale_down_safe,
    }
}

/// One variant (a deployment of the model on some accelerator).
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// Name.
    pub name: String,
    /// Cost per replica.
    pub cost: f64,
    /// Replicas reporting metrics.
    pub metrics_count: u32,
    /// Current replicas.
    pub current: u32,
    /// Desired replicas last set (0 = none yet).
    pub desired: u32,
}

/// `CalculateSaturationTargets`: start from current; if any variant is
/// converging (`desired` set and different from current, or metrics
/// count different from current) change nothing; else +1 on the cheapest
/// variant on scale-up, or −1 on the most expensive variant above 1 when
/// scale-down is safe. Ties break by name.
pub fn targets(
    should_scale_up: bool,
    scale_down_safe: bool,
    variants: &[Variant],
) -> BTreeMap<String, u32> {
    let mut out: BTreeMap<String, u32> = variants
        .iter()
        .map(|v| (v.name.clone(), v.current))
        .collect();
    let converging = variants
        .iter()
        .any(|v| (v.desired != 0 && v.desired != v.current) || v.metrics_count != v.current);
    if converging {
        return out;
    }
    let by_cost =
        |a: &&Variant, b: &&Variant| a.cost.total_cmp(&b.cost).then_with(|| a.name.cmp(&b.name));
    if should_scale_up {
        if let Some(v) = variants.iter().min_by(by_cost) {
            *out.entry(v.name.clone()).or_default() += 1;
        }
    } else if scale_down_safe {
        if let Some(v) = variants.iter().filter(|v| v.current > 1).max_by(by_cost) {
            *out.entry(v.name.clone()).or_default() -= 1;
        }
    }
    out
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
/// No activation hook.
#[derive(Clone, Debug)]
pub struct WvaAutoscaler {
    config: WvaConfig,
    bounds: (u32, u32),
    last_target: u32,
}

impl fleetsim_core::Autoscaler for WvaAutoscaler {
    fn sync_period(&self) -> fleetsim_core::SimDuration {
        super::secs(self.config.reconcile_interval_s)
    }

    fn replica_bounds(&self) -> (u32, u32) {
        self.bounds
    }

    fn desired_replicas(&mut self, obs: &fleetsim_core::autoscale::Observation<'_>) -> u32 {
        use fleetsim_core::autoscale::PodPhase;
        let Some(latest) = obs.latest() else {
            return obs.desired;
        };
        let minute = fleetsim_core::SimDuration::from_secs(60);
        let replicas: Vec<ReplicaMetrics> = (latest.pods.iter())
            .filter(|p| p.phase == PodPhase::Ready)
            .map(|p| {
                let (mut kv, mut q) = (0.0f64, 0.0f64);
                for s in obs.window(minute) {
                    for x in s.pods.iter().filter(|x| x.replica == p.replica) {
                        kv = kv.max(x.kv_cache_usage_perc);
                        q = q.max(f64::from(x.num_requests_waiting));
                    }
                }
                ReplicaMetrics {
                    kv_cache_usage: kv,
                    queue_length: q,
                }
            })
            .collect();
        let a = analyze(&self.config, &replicas);
        let variant = Variant {
            name: "deployment".into(),
            cost: 1.0,
            metrics_count: replicas.len() as u32,
            current: obs.desired,
            desired: self.last_target,
        };
        let target = targets(a.should_scale_up, a.scale_down_safe, &[variant])
            .into_values()
            .next()
            .unwrap_or(obs.desired)
            .clamp(self.bounds.0, self.bounds.1);
        self.last_target = target;
        target
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
mod tests {
    use super::*;

    fn r(kv: f64, q: f64) -> ReplicaMetrics {
        ReplicaMetrics {
            kv_cache_usage: kv,
            queue_length: q,
        }
    }

    #[test]
    fn analyze_table() {
        let cfg = WvaConfig::default();
        // replicas -> (non-saturated, scale up?, scale down safe?)
        let check = |rs: &[ReplicaMetrics], want: (usize, bool, bool)| {
            let a = analyze(&cfg, rs);
            assert_eq!(
                (a.non_saturated_count, a.should_scale_up, a.scale_down_safe),
                want,
                "{rs:?}"
            );
        };
        check(&[r(0.1, 0.0), r(0.1, 0.0)], (2, false, true));
        check(&[r(0.75, 0.0), r(0.1, 0.0)], (2, false, false)); // 0.85 on one replica
        check(&[r(0.8, 0.0), r(0.1, 0.0)], (1, false, false)); // 0.8 is saturated (>=)
        check(&[r(0.1, 5.0)], (0, true, false)); // queue 5 saturated
        check(&[r(0.65, 1.0), r(0.65, 1.0)], (2, false, false));
        check(&[r(0.75, 0.0), r(0.75, 0.0)], (2, true, false)); // spare 0.05 < 0.1
        check(&[], (0, true, false));
    }

    fn v(name: &str, cost: f64, cur: u32, desired: u32, metrics: u32) -> Variant {
        Variant {
            name: name.into(),
            cost,
            metrics_count: metrics,
            current: cur,
            desired,
        }
    }

    #[test]
    fn targets_table() {
        let vs = [v("a", 10.0, 2, 0, 2), v("b", 5.0, 3, 3, 3)];
        assert_eq!(targets(true, false, &vs).get("b"), Some(&4));
        assert_eq!(targets(false, true, &vs).get("a"), Some(&1));
        assert_eq!(targets(false, false, &vs).get("a"), Some(&2));
        let one = [v("a", 10.0, 1, 0, 1), v("b", 5.0, 2, 0, 2)];
        assert_eq!(targets(false, true, &one).get("b"), Some(&1)); // a is at 1
        let pending = [v("a", 10.0, 2, 3, 2), v("b", 5.0, 2, 0, 2)];
        assert_eq!(targets(true, false, &pending).get("b"), Some(&2));
    }

    #[test]
    fn validation_rejects_bad_knobs() {
        assert!(WvaConfig::default().validate().is_ok());
        let e = WvaConfig {
            kv_cache_threshold: 1.5,
            ..WvaConfig::default()
        }
        .validate()
        .expect_err("bad")
        .to_string();
        assert!(e.contains("kvCacheThreshold"), "{e}");
        assert!(WvaConfig {
            queue_spare_trigger: 9.0,
            ..WvaConfig::default()
        }
        .validate()
        .is_err());
    }
}

#[cfg(test)]
mod adapter_tests {
    use super::super::adapter::testing::*;
    use super::*;
    use fleetsim_core::autoscale::MetricsStore;
    use fleetsim_core::SimDuration;

    fn base() -> WvaAutoscalerConfig {
        serde_json::from_str("{}").unwrap()
    }

    #[test]
    fn scale_up_on_low_spare_down_when_safe_hold_while_starting() {
        let mut a = base().build().unwrap();
        assert_eq!(a.sync_period(), SimDuration::from_secs(60));
        // (pods at this scrape, peak-earlier pods, desired now, expected)
        let mut store = MetricsStore::default();
        // Two replicas, one peaked at KV 0.85 earlier in the minute:
        // saturated; the other at 0.75: spare 0.05 < 0.1 → +1.
        record(
            &mut store,
            [scrape(
                10.0,
                vec![ready(0, 0, 0, 0.85), ready(1, 0, 0, 0.75)],
                0,
            )],
        );
        record(
            &mut store,
            [scrape(
                60.0,
                vec![ready(0, 0, 0, 0.2), ready(1, 0, 0, 0.75)],
                0,
            )],
        );
        assert_eq!(
            a.desired_replicas(&store.observe(at(60.0), SimDuration::ZERO, 2)),
            3
        );
        // The third replica is still starting: metrics count 2 ≠ 3 → hold.
        record(
            &mut store,
            [scrape(
                120.0,
                vec![ready(0, 0, 0, 0.1), ready(1, 0, 0, 0.1), starting(2)],
                0,
            )],
        );
        assert_eq!(
            a.desired_replicas(&store.observe(at(120.0), SimDuration::ZERO, 3)),
            3
        );
        // All three light: spreading over two keeps the spares → −1.
        record(&mut store, [scrape(180.0, fleet(3, 0, 0.1), 0)]);
        assert_eq!(
            a.desired_replicas(&store.observe(at(180.0), SimDuration::ZERO, 3)),
            2
        );
    }

    #[test]
    fn bad_knobs_are_rejected() {
        // (config, knob, fragment)
        let cases = [
            (
                WvaAutoscalerConfig {
                    kv_cache_threshold: 1.5,
                    ..base()
                },
                "kv_cache_threshold",
                "kvCacheThreshold",
            ),
            (
                WvaAutoscalerConfig {
                    queue_spare_trigger: 6.0,
                    ..base()
                },
                "queue_spare_trigger",
                "queueSpareTrigger",
            ),
            (
                WvaAutoscalerConfig {
                    min_replicas: 0,
                    ..base()
                },
                "min_replicas",
                "scaleToZero",
            ),
            (
                WvaAutoscalerConfig {
                    min_replicas: 11,
                    ..base()
                },
                "min_replicas",
                "min_replicas > max_replicas",
            ),
        ];
        for (c, knob, frag) in cases {
            let e = c.build().expect_err(knob).to_string();
            assert!(e.contains(knob) && e.contains(frag), "{knob}: {e}");
        }
    }
}
