//! The scenario kinds `aibrix_apa` and `aibrix_kpa`: a PodAutoscaler's
//! spec and annotations as TOML (`AibrixPaConfig`, with its
//! `metricsSources`) and the engine adapter around [`AibrixAutoscaler`].

use super::super::{invalid, AutoscalerError};
use super::{AibrixAutoscaler, AibrixConfig, Strategy, NAME};
use fleetsim_core::SimDuration;
use serde::{Deserialize, Serialize};

fn d_max() -> u32 {
    10
}
fn d_one() -> u32 {
    1
}
fn d_signal() -> super::super::adapter::Signal {
    super::super::adapter::Signal::KvCacheUsagePerc
}
fn d_target_value() -> f64 {
    0.5
}
fn d_observe() -> u64 {
    180
}
fn d_panic() -> u64 {
    60
}
fn d_rate() -> f64 {
    2.0
}
fn d_tol() -> f64 {
    0.1
}
fn d_down_cooldown() -> u64 {
    300
}
fn d_resync() -> u64 {
    10
}

fn d_panic_threshold() -> f64 {
    2.0
}

/// One entry of `metricsSources` (a pod metric): `targetMetric` and
/// `targetValue`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricSource {
    /// `targetMetric`: the pod gauge averaged across ready pods.
    pub target_metric: super::super::adapter::Signal,
    /// `targetValue` per pod, > 0.
    pub target_value: f64,
}

/// `[scaling] kind = "aibrix_apa"` or `"aibrix_kpa"`: a PodAutoscaler
/// with `scalingStrategy: APA` or `KPA` on one pod metric
/// (`target_metric` / `target_value`) or several (`metrics_sources`); the
/// kind picks the strategy, the knobs are the same.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AibrixPaConfig {
    /// `minReplicas`, default 1.
    #[serde(default = "d_one")]
    pub min_replicas: u32,
    /// `maxReplicas`, default 10.
    #[serde(default = "d_max")]
    pub max_replicas: u32,
    /// `targetMetric` of a single metric source: the pod gauge averaged
    /// across ready pods; default `kv_cache_usage_perc` (AIBrix's sample
    /// uses `gpu_cache_usage_perc`). Not with `metrics_sources`.
    #[serde(default)]
    pub target_metric: Option<super::super::adapter::Signal>,
    /// `targetValue` per pod of a single metric source, default 0.5 (the
    /// sample's), > 0. Not with `metrics_sources`.
    #[serde(default)]
    pub target_value: Option<f64>,
    /// `metricsSources`: several pod metrics, each with its own target;
    /// each is computed on its own windows and the largest count wins.
    /// A metric named twice takes the last target (upstream keys targets
    /// by metric name).
    #[serde(default)]
    pub metrics_sources: Vec<MetricSource>,
    /// `observeWindowSeconds`, default 180 (1..=3600).
    #[serde(default = "d_observe")]
    pub observe_window_s: u64,
    /// `panicWindowSeconds`, default 60 (<= observe window; unused by APA).
    #[serde(default = "d_panic")]
    pub panic_window_s: u64,
    /// `panic-threshold`, default 2.0 (> 1): KPA panics when the panic
    /// window's average exceeds this multiple of the stable one (unused by
    /// APA).
    #[serde(default = "d_panic_threshold")]
    pub panic_threshold: f64,
    /// `max-scale-up-rate`, default 2 (> 1).
    #[serde(default = "d_rate")]
    pub max_scale_up_rate: f64,
    /// `max-scale-down-rate`, default 2 (> 1).
    #[serde(default = "d_rate")]
    pub max_scale_down_rate: f64,
    /// `scale-up-tolerance`, default 0.1, [0, 1).
    #[serde(default = "d_tol")]
    pub up_fluctuation_tolerance: f64,
    /// `scale-down-tolerance`, default 0.1, [0, 1).
    #[serde(default = "d_tol")]
    pub down_fluctuation_tolerance: f64,
    /// `scale-up-cooldown-window`, default 0 s.
    #[serde(default)]
    pub scale_up_cooldown_window_s: u64,
    /// `scale-down-cooldown-window`, default 300 s (min over the window, as
    /// upstream writes it: it does not delay scale-down).
    #[serde(default = "d_down_cooldown")]
    pub scale_down_cooldown_window_s: u64,
    /// `scale-to-zero`, default false. Upstream parses it but no decision
    /// reads it (the floor is `min_replicas`, which may be 0); kept so a
    /// PodAutoscaler's annotations carry over.
    #[serde(default)]
    pub scale_to_zero: bool,
    /// `DefaultResyncInterval`, default 10 s.
    #[serde(default = "d_resync")]
    pub resync_interval_s: u64,
}

impl AibrixPaConfig {
    /// The upstream config under `strategy`.
    pub fn core(&self, strategy: Strategy) -> AibrixConfig {
        AibrixConfig {
            strategy,
            min_replicas: self.min_replicas,
            max_replicas: self.max_replicas,
            target_value: self.target_value.unwrap_or_else(d_target_value),
            observe_window_s: self.observe_window_s,
            panic_window_s: self.panic_window_s,
            max_scale_up_rate: self.max_scale_up_rate,
            max_scale_down_rate: self.max_scale_down_rate,
            up_fluctuation_tolerance: self.up_fluctuation_tolerance,
            down_fluctuation_tolerance: self.down_fluctuation_tolerance,
            panic_threshold: self.panic_threshold,
            scale_up_cooldown_window_s: self.scale_up_cooldown_window_s,
            scale_down_cooldown_window_s: self.scale_down_cooldown_window_s,
            scale_to_zero: self.scale_to_zero,
            resync_interval_s: self.resync_interval_s,
        }
    }

    /// The metric sources: `metrics_sources`, one per metric name (the
    /// last target of a name repeated, kept at its first place), or the
    /// single `target_metric` / `target_value` pair.
    pub fn sources(&self) -> Result<Vec<MetricSource>, AutoscalerError> {
        if self.metrics_sources.is_empty() {
            return Ok(vec![MetricSource {
                target_metric: self.target_metric.unwrap_or_else(d_signal),
                target_value: self.target_value.unwrap_or_else(d_target_value),
            }]);
        }
        if self.target_metric.is_some() || self.target_value.is_some() {
            let knob = if self.target_metric.is_some() {
                "target_metric"
            } else {
                "target_value"
            };
            return Err(invalid(
                NAME,
                knob,
                "give either target_metric / target_value or metrics_sources, not both",
            ));
        }
        let mut out: Vec<MetricSource> = Vec::new();
        for m in &self.metrics_sources {
            match out.iter_mut().find(|o| o.target_metric == m.target_metric) {
                Some(o) => o.target_value = m.target_value,
                None => out.push(*m),
            }
        }
        Ok(out)
    }

    /// The upstream core under `strategy` (upstream validation).
    pub fn core_autoscaler(&self, strategy: Strategy) -> Result<AibrixAutoscaler, AutoscalerError> {
        let sources = self.sources()?;
        let targets: Vec<f64> = sources.iter().map(|m| m.target_value).collect();
        AibrixAutoscaler::with_metric_targets(self.core(strategy), &targets)
    }

    /// The autoscaler under `strategy` (upstream validation).
    pub fn build(
        &self,
        strategy: Strategy,
    ) -> Result<Box<dyn fleetsim_core::Autoscaler>, AutoscalerError> {
        Ok(Box::new(AibrixPaAutoscaler {
            core: self.core_autoscaler(strategy)?,
            signals: self.sources()?.iter().map(|m| m.target_metric).collect(),
        }))
    }

    /// AIBrix reads every pod's metrics endpoint at each reconcile: 1 s
    /// scrapes, no lag, stand for "fresh at the sync".
    pub fn default_metrics(&self) -> fleetsim_core::autoscale::MetricsSpec {
        fleetsim_core::autoscale::MetricsSpec {
            scrape_interval: SimDuration::from_secs(1),
            lag: SimDuration::ZERO,
            lookback: super::super::secs(self.observe_window_s.max(60)),
        }
    }
}

/// Engine adapter: every `resync_interval_s`, per metric source the mean
/// of its metric over the ready pods of the newest visible scrape (AIBrix
/// scrapes each pod and records the average across pods) into
/// [`AibrixAutoscaler::decide_metrics`] with `current` = the count asked
/// for. Every source reads the same scrape, so they fail or succeed
/// together.
/// No ready pod, or the metric source down (no visible scrape): the
/// collection fails, upstream makes no decision, the count is held. No
/// activation hook: AIBrix has no activator, and at zero replicas there is
/// no pod metric.
#[derive(Clone, Debug)]
pub struct AibrixPaAutoscaler {
    core: AibrixAutoscaler,
    signals: Vec<super::super::adapter::Signal>,
}

impl fleetsim_core::Autoscaler for AibrixPaAutoscaler {
    fn sync_period(&self) -> SimDuration {
        super::super::secs(self.core.config().resync_interval_s)
    }

    fn replica_bounds(&self) -> (u32, u32) {
        let c = self.core.config();
        (c.min_replicas, c.max_replicas)
    }

    fn desired_replicas(&mut self, obs: &fleetsim_core::autoscale::Observation<'_>) -> u32 {
        use fleetsim_core::autoscale::PodPhase;
        let Some(s) = obs.latest() else {
            return obs.desired;
        };
        let ready: Vec<_> = (s.pods.iter())
            .filter(|p| p.phase == PodPhase::Ready)
            .collect();
        if ready.is_empty() {
            return obs.desired;
        }
        let n = ready.len() as f64;
        let avgs: Vec<Option<f64>> = (self.signals.iter())
            .map(|sig| Some(ready.iter().map(|p| sig.of_pod(p)).sum::<f64>() / n))
            .collect();
        (self.core.decide_metrics(obs.now, obs.desired, &avgs)).map_or(obs.desired, |d| d.desired)
    }
}

/// The two scenario kinds differ only in the strategy they build.
fn kind_validate(config: &AibrixPaConfig, strategy: Strategy) -> Result<(), AutoscalerError> {
    config.core_autoscaler(strategy).map(|_| ())
}

/// `[scaling] kind = "aibrix_apa"`: this file's APA entry in the
/// autoscaler registry (`autoscalers/mod.rs`).
#[derive(Debug)]
pub struct AibrixApaKind;

impl super::super::AutoscalerKind for AibrixApaKind {
    const NAME: &'static str = "aibrix_apa";
    type Config = AibrixPaConfig;

    fn validate(config: &AibrixPaConfig) -> Result<(), AutoscalerError> {
        kind_validate(config, Strategy::Apa)
    }

    fn build(
        config: &AibrixPaConfig,
    ) -> Result<Box<dyn fleetsim_core::Autoscaler>, AutoscalerError> {
        config.build(Strategy::Apa)
    }

    fn default_metrics(config: &AibrixPaConfig) -> fleetsim_core::autoscale::MetricsSpec {
        config.default_metrics()
    }
}

/// `[scaling] kind = "aibrix_kpa"`: this file's KPA entry (AIBrix's
/// default strategy) in the autoscaler registry.
#[derive(Debug)]
pub struct AibrixKpaKind;

impl super::super::AutoscalerKind for AibrixKpaKind {
    const NAME: &'static str = "aibrix_kpa";
    type Config = AibrixPaConfig;

    fn validate(config: &AibrixPaConfig) -> Result<(), AutoscalerError> {
        kind_validate(config, Strategy::Kpa)
    }

    fn build(
        config: &AibrixPaConfig,
    ) -> Result<Box<dyn fleetsim_core::Autoscaler>, AutoscalerError> {
        config.build(Strategy::Kpa)
    }

    fn default_metrics(config: &AibrixPaConfig) -> fleetsim_core::autoscale::MetricsSpec {
        config.default_metrics()
    }
}
