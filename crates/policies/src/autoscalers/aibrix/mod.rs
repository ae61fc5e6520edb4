//! AIBrix PodAutoscaler (`vllm-project/aibrix`,
//! `pkg/controller/podautoscaler`): the APA and KPA algorithms
//! (`computeTargetReplicas`), the cooldown stabilization and bounds of
//! `computeScaleDecision`, the per-second last-value metric windows, and
//! the HPA behavior the HPA strategy generates. Replicated as upstream
//! implements them, including the differences from Knative listed in
//! `docs/autoscalers.md` (per-pod averages, ratio panic entry, min on
//! scale-down cooldown, inert activation scale / max panic pods).
//!
//! Adapter mapping: every `resync_interval_s` (10 s) average the target
//! metric over replicas (e.g. `gpu_cache_usage_perc`, running requests)
//! and call [`AibrixAutoscaler::decide`] with the current replica count;
//! with several metrics call it per metric and take the max.

use super::hpa::{Behavior, PolicyType, ScalingPolicy, ScalingRules, SelectPolicy};
use super::{invalid, within, AutoscalerError};
use fleetsim_core::{SimDuration, SimTime};
use serde::{Deserialize, Serialize};

const NAME: &str = "aibrix";

/// `scalingStrategy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Strategy {
    /// Knative-like with stable and panic windows (default).
    #[default]
    Kpa,
    /// Fluctuation-tolerance autoscaler.
    Apa,
}

/// PodAutoscaler spec and annotations with AIBrix's defaults
/// (`NewBaseScalingContext`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AibrixConfig {
    /// `scalingStrategy`: KPA.
    pub strategy: Strategy,
    /// `minReplicas`: 1.
    pub min_replicas: u32,
    /// `maxReplicas`: 10.
    pub max_replicas: u32,
    /// `targetValue` per pod (metric units).
    pub target_value: f64,
    /// `observeWindowSeconds`: 180 s stable window (1..=3600).
    pub observe_window_s: u64,
    /// `panicWindowSeconds`: 60 s (1..=3600, <= observe window).
    pub panic_window_s: u64,
    /// `max-scale-up-rate`: 2.
    pub max_scale_up_rate: f64,
    /// `max-scale-down-rate`: 2.
    pub max_scale_down_rate: f64,
    /// `scale-up-tolerance`: 0.1.
    pub up_fluctuation_tolerance: f64,
    /// `scale-down-tolerance`: 0.1.
    pub down_fluctuation_tolerance: f64,
    /// `panic-threshold`: 2.0 (ratio of panic to stable average).
    pub panic_threshold: f64,
    /// `scale-up-cooldown-window`: 0 s.
    pub scale_up_cooldown_window_s: u64,
    /// `scale-down-cooldown-window`: 300 s.
    pub scale_down_cooldown_window_s: u64,
    /// `scale-to-zero`: false.
    pub scale_to_zero: bool,
    /// `DefaultResyncInterval`: 10 s.
    pub resync_interval_s: u64,
}

impl Default for AibrixConfig {
    fn default() -> Self {
        AibrixConfig {
            strategy: Strategy::Kpa,
            min_replicas: 1,
            max_replicas: 10,
            target_value: 1.0,
            observe_window_s: 180,
            panic_window_s: 60,
            max_scale_up_rate: 2.0,
            max_scale_down_rate: 2.0,
            up_fluctuation_tolerance: 0.1,
            down_fluctuation_tolerance: 0.1,
            panic_threshold: 2.0,
            scale_up_cooldown_window_s: 0,
            scale_down_cooldown_window_s: 300,
            scale_to_zero: false,
            resync_interval_s: 10,
        }
    }
}

impl AibrixConfig {
    /// CRD validation and annotation parsing rules.
    pub fn validate(&self) -> Result<(), AutoscalerError> {
        if self.min_replicas > self.max_replicas {
            return Err(invalid(NAME, "min_replicas", format!("min_replicas > max_replicas ({} > {}) (AIBrix: minReplicas must not exceed maxReplicas)", self.min_replicas, self.max_replicas)));
        }
        if !(1..=3600).contains(&self.observe_window_s) {
            return Err(invalid(
                NAME,
                "observe_window_s",
                "must be in 1..=3600 (AIBrix: observeWindowSeconds range)",
            ));
        }
        if !(1..=3600).contains(&self.panic_window_s) || self.panic_window_s > self.observe_window_s
        {
            return Err(invalid(NAME, "panic_window_s", "must be in 1..=3600 and <= observe_window_s (AIBrix: panicWindowSeconds <= observeWindowSeconds)"));
        }
        for (k, v) in [
            ("target_value", self.target_value),
            ("max_scale_up_rate", self.max_scale_up_rate),
            ("max_scale_down_rate", self.max_scale_down_rate),
            ("up_fluctuation_tolerance", self.up_fluctuation_tolerance),
            (
                "down_fluctuation_tolerance",
                self.down_fluctuation_tolerance,
            ),
            ("panic_threshold", self.panic_threshold),
        ] {
            super::finite(NAME, k, v)?;
        }
        if self.target_value <= 0.0 {
            return Err(invalid(
                NAME,
                "target_value",
                "must be > 0 (AIBrix: targetValue must be positive)",
            ));
        }
        if self.max_scale_up_rate <= 1.0 || self.max_scale_down_rate <= 1.0 {
            return Err(invalid(NAME, "max_scale_up_rate", "max scale-up and scale-down rates must be > 1 (AIBrix: max-scale-up-rate / max-scale-down-rate)"));
        }
        if !(0.0..1.0).contains(&self.up_fluctuation_tolerance)
            || !(0.0..1.0).contains(&self.down_fluctuation_tolerance)
        {
            return Err(invalid(
                NAME,
                "up_fluctuation_tolerance",
                "tolerances must be in [0, 1) (AIBrix: scale-up-tolerance / scale-down-tolerance)",
            ));
        }
        if self.panic_threshold <= 1.0 {
            return Err(invalid(
                NAME,
                "panic_threshold",
                "panic threshold must be > 1 (AIBrix: panic-threshold)",
            ));
        }
        if self.resync_interval_s == 0 {
            return Err(invalid(NAME, "resync_interval_s", "must be > 0"));
        }
        Ok(())
    }
}

/// APA `computeTargetReplicas` (before min/max): strict tolerance band,
/// scale-up capped at `ceil(rate · cur)`, scale-down floored at
/// `floor(cur / rate)`.
pub fn apa_replicas(
    cur: u32,
    use_per_pod: f64,
    target: f64,
    up_tol: f64,
    down_tol: f64,
    up_rate: f64,
    down_rate: f64,
) -> u32 {
    if target <= 0.0 {
        return cur;
    }
    let c = f64::from(cur);
    let r = use_per_pod / target;
    let out = if r > 1.0 + up_tol {
        (c * r).ceil().min((up_rate * c).ceil())
    } else if r < 1.0 - down_tol {
        (c * r).ceil().max((c / down_rate).floor())
    } else {
        return cur;
    };
    out.max(0.0).min(f64::from(u32::MAX)) as u32
}

/// Inputs of the AIBrix KPA algorithm.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KpaInput {
    /// Current pods.
    pub current: u32,
    /// Target per pod.
    pub target: f64,
    /// Stable-window per-pod average.
    pub stable: f64,
    /// Panic-window per-pod average.
    pub panic: f64,
    /// Max scale-up rate.
    pub max_scale_up_rate: f64,
    /// Max scale-down rate.
    pub max_scale_down_rate: f64,
    /// Activation scale (base context: 1).
    pub activation_scale: u32,
    /// Up tolerance.
    pub up_tolerance: f64,
    /// Down tolerance.
    pub down_tolerance: f64,
}

/// AIBrix KPA `computeTargetReplicas` (before min/max) given the panic
/// state; returns the desired count and the updated max panic pods.
pub fn kpa_replicas(i: &KpaInput, in_panic: bool, max_panic_pods: u32) -> (u32, u32) {
    let c = f64::from(i.current);
    let max_up = (i.max_scale_up_rate * c).ceil().max(1.0);
    let max_down = (c / i.max_scale_down_rate).floor();
    let band = |v: f64| {
        if v < i.target * (1.0 - i.down_tolerance) || v > i.target * (1.0 + i.up_tolerance) {
            (v / i.target).ceil()
        } else {
            c
        }
    };
    let (dspc, dppc) = (band(i.stable), band(i.panic));
    let clamp = |x: f64| x.max(max_down).min(max_up) as u32;
    let (mut dsp, mut dpp) = (clamp(dspc), clamp(dppc));
    if i.activation_scale > 1 {
        if dspc > 0.0 && dsp < i.activation_scale {
            dsp = i.activation_scale;
        }
        if dppc > 0.0 && dpp < i.activation_scale {
            dpp = i.activation_scale;
        }
    }
    let mut desired = dsp;
    let mut mpp = max_panic_pods;
    if in_panic {
        desired = desired.max(dpp);
        if desired > mpp {
            mpp = desired;
        } else {
            desired = mpp;
        }
    }
    (desired, mpp)
}

/// The HPA behavior the HPA strategy generates: scale-up
/// `Percent (rate−1)·100` per 60 s (`Max`), scale-down `Percent
/// (1−1/rate)·100` per 60 s (`Min`), windows = the cooldowns.
pub fn hpa_behavior(
    max_scale_up_rate: f64,
    max_scale_down_rate: f64,
    up_cooldown_s: u32,
    down_cooldown_s: u32,
) -> Behavior {
    let pct = |v: f64| ScalingPolicy {
        kind: PolicyType::Percent,
        value: v.max(0.0) as u32,
        period_s: 60,
    };
    Behavior {
        scale_up: Some(ScalingRules {
            stabilization_window_s: up_cooldown_s,
            select_policy: SelectPolicy::Max,
            policies: vec![pct((max_scale_up_rate - 1.0) * 100.0)],
        }),
        scale_down: Some(ScalingRules {
            stabilization_window_s: down_cooldown_s,
            select_policy: SelectPolicy::Min,
            policies: vec![pct((1.0 - 1.0 / max_scale_down_rate) * 100.0)],
        }),
    }
}

/// Per-second buckets keeping the last value written; the window average
/// is the mean of buckets inside the window (no zero fill).
#[derive(Clone, Debug)]
pub struct LastValueWindow {
    window: SimDuration,
    buckets: std::collections::VecDeque<(u64, f64)>,
}

impl LastValueWindow {
    /// A window of `window`.
    pub fn new(window: SimDuration) -> Self {
        LastValueWindow {
            window,
            buckets: Default::default(),
        }
    }

    /// Write `v` into the 1 s bucket of `now` (replacing its value).
    pub fn record(&mut self, now: SimTime, v: f64) {
        let sec = now.as_nanos() / 1_000_000_000;
        match self.buckets.back_mut() {
            Some((s, val)) if *s == sec => *val = v,
            _ => self.buckets.push_back((sec, v)),
        }
    }

    /// Mean of buckets younger than the window; `None` when there are none.
    pub fn average(&mut self, now: SimTime) -> Option<f64> {
        while let Some(&(s, _)) = self.buckets.front() {
            if within(SimTime(s * 1_000_000_000), now, self.window) {
                break;
            }
            self.buckets.pop_front();
        }
        if self.buckets.is_empty() {
            return None;
        }
        let sum: f64 = self.buckets.iter().map(|&(_, v)| v).sum();
        Some(sum / self.buckets.len() as f64)
    }
}

/// One PodAutoscaler: metric windows, panic state, cooldown history.
#[derive(Clone, Debug)]
pub struct AibrixAutoscaler {
    config: AibrixConfig,
    stable: LastValueWindow,
    panic: LastValueWindow,
    panic_time: Option<SimTime>,
    history: Vec<(SimTime, u32)>,
}

impl AibrixAutoscaler {
    /// A PodAutoscaler with `config`.
    pub fn new(config: AibrixConfig) -> Result<Self, AutoscalerError> {
        config.validate()?;
        Ok(AibrixAutoscaler {
            stable: LastValueWindow::new(super::secs(config.observe_window_s)),
            panic: LastValueWindow::new(super::secs(config.panic_window_s)),
            config,
            panic_time: None,
            history: Vec::new(),
        })
    }

    /// Record the per-pod average and decide (`computeScaleDecision`):
    /// bounds first, then the algorithm, cooldown stabilization and clamp.
    /// Returns `None` while there is no data.
    pub fn decide(&mut self, now: SimTime, current: u32, per_pod_average: f64) -> Option<u32> {
        let c = self.config.clone();
        if current == 0 && c.min_replicas != 0 {
            return Some(current);
        }
        if current < c.min_replicas {
            return Some(c.min_replicas);
        }
        if current > c.max_replicas {
            return Some(c.max_replicas);
        }
        self.stable.record(now, per_pod_average);
        self.panic.record(now, per_pod_average);
        let stable = self.stable.average(now)?;
        let panic = self.panic.average(now)?;
        let rec = match c.strategy {
            Strategy::Apa => apa_replicas(
                current,
                stable,
                c.target_value,
                c.up_fluctuation_tolerance,
                c.down_fluctuation_tolerance,
                c.max_scale_up_rate,
                c.max_scale_down_rate,
            ),
            Strategy::Kpa => {
                let over = stable <= 0.0 || panic / stable > c.panic_threshold;
                if over {
                    self.panic_time = Some(now);
                } else if let Some(pt) = self.panic_time {
                    if pt + super::secs(c.observe_window_s) < now {
                        self.panic_time = None;
                    }
                }
                let input = KpaInput {
                    current,
                    target: c.target_value,
                    stable,
                    panic,
                    max_scale_up_rate: c.max_scale_up_rate,
                    max_scale_down_rate: c.max_scale_down_rate,
                    activation_scale: 1,
                    up_tolerance: c.up_fluctuation_tolerance,
                    down_tolerance: c.down_fluctuation_tolerance,
                };
                // Base context: MaxPanicPods is always 0.
                kpa_replicas(&input, self.panic_time.is_some(), 0).0
            }
        };
        let stabilized = self.stabilize(now, current, rec);
        let floor = if c.scale_to_zero {
            0
        } else {
            c.min_replicas.max(1)
        };
        Some(stabilized.clamp(floor.min(c.max_replicas), c.max_replicas))
    }

    fn stabilize(&mut self, now: SimTime, current: u32, rec: u32) -> u32 {
        let c = &self.config;
        let (up_w, down_w) = (
            super::secs(c.scale_up_cooldown_window_s),
            super::secs(c.scale_down_cooldown_window_s),
        );
        let longest = up_w.max(down_w);
        self.history.retain(|&(t, _)| within(t, now, longest));
        let out = if rec > current {
            self.history
                .iter()
                .filter(|&&(t, _)| within(t, now, up_w))
                .map(|&(_, r)| r)
                .fold(rec, u32::max)
        } else if rec < current {
            self.history
                .iter()
                .filter(|&&(t, _)| within(t, now, down_w))
                .map(|&(_, r)| r)
                .fold(rec, u32::min)
        } else {
            rec
        };
        self.history.push((now, rec));
        out
    }
}

fn d_max() -> u32 {
    10
}
fn d_one() -> u32 {
    1
}
fn d_signal() -> super::adapter::Signal {
    super::adapter::Signal::KvCacheUsagePerc
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

/// `[scaling] kind = "aibrix_apa"`: a PodAutoscaler with
/// `scalingStrategy: APA` on one pod metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AibrixApaConfig {
    /// `minReplicas`, default 1.
    #[serde(default = "d_one")]
    pub min_replicas: u32,
    /// `maxReplicas`, default 10.
    #[serde(default = "d_max")]
    pub max_replicas: u32,
    /// `targetMetric`: the pod gauge averaged across ready pods; default
    /// `kv_cache_usage_perc` (AIBrix's sample uses `gpu_cache_usage_perc`).
    #[serde(default = "d_signal")]
    pub target_metric: super::adapter::Signal,
    /// `targetValue` per pod, default 0.5 (the sample's), > 0.
    #[serde(default = "d_target_value")]
    pub target_value: f64,
    /// `observeWindowSeconds`, default 180 (1..=3600).
    #[serde(default = "d_observe")]
    pub observe_window_s: u64,
    /// `panicWindowSeconds`, default 60 (<= observe window; unused by APA).
    #[serde(default = "d_panic")]
    pub panic_window_s: u64,
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
    /// `scale-to-zero`, default false.
    #[serde(default)]
    pub scale_to_zero: bool,
    /// `DefaultResyncInterval`, default 10 s.
    #[serde(default = "d_resync")]
    pub resync_interval_s: u64,
}

impl AibrixApaConfig {
    /// The upstream config.
    pub fn core(&self) -> AibrixConfig {
        AibrixConfig {
            strategy: Strategy::Apa,
            min_replicas: self.min_replicas,
            max_replicas: self.max_replicas,
            target_value: self.target_value,
            observe_window_s: self.observe_window_s,
            panic_window_s: self.panic_window_s,
            max_scale_up_rate: self.max_scale_up_rate,
            max_scale_down_rate: self.max_scale_down_rate,
            up_fluctuation_tolerance: self.up_fluctuation_tolerance,
            down_fluctuation_tolerance: self.down_fluctuation_tolerance,
            panic_threshold: 2.0,
            scale_up_cooldown_window_s: self.scale_up_cooldown_window_s,
            scale_down_cooldown_window_s: self.scale_down_cooldown_window_s,
            scale_to_zero: self.scale_to_zero,
            resync_interval_s: self.resync_interval_s,
        }
    }

    /// The autoscaler (upstream validation).
    pub fn build(&self) -> Result<Box<dyn fleetsim_core::Autoscaler>, AutoscalerError> {
        Ok(Box::new(AibrixApaAutoscaler {
            core: AibrixAutoscaler::new(self.core())?,
            config: self.core(),
            signal: self.target_metric,
        }))
    }

    /// AIBrix reads every pod's metrics endpoint at each reconcile: 1 s
    /// scrapes, no lag, stand for "fresh at the sync".
    pub fn default_metrics(&self) -> fleetsim_core::autoscale::MetricsSpec {
        fleetsim_core::autoscale::MetricsSpec {
            scrape_interval: SimDuration::from_secs(1),
            lag: SimDuration::ZERO,
            lookback: super::secs(self.observe_window_s.max(60)),
        }
    }
}

/// Engine adapter: every `resync_interval_s`, the mean of the metric over
/// the ready pods of the newest visible scrape (AIBrix scrapes each pod
/// and records the average across pods) into
/// [`AibrixAutoscaler::decide`] with `current` = the count asked for.
/// No ready pod or no decision: the count is held. No activation hook:
/// AIBrix has no activator, and at zero replicas there is no pod metric.
#[derive(Clone, Debug)]
pub struct AibrixApaAutoscaler {
    core: AibrixAutoscaler,
    config: AibrixConfig,
    signal: super::adapter::Signal,
}

impl fleetsim_core::Autoscaler for AibrixApaAutoscaler {
    fn sync_period(&self) -> SimDuration {
        super::secs(self.config.resync_interval_s)
    }

    fn replica_bounds(&self) -> (u32, u32) {
        let min = if self.config.scale_to_zero {
            0
        } else {
            self.config.min_replicas.max(1)
        };
        (min.min(self.config.max_replicas), self.config.max_replicas)
    }

    fn desired_replicas(&mut self, obs: &fleetsim_core::autoscale::Observation<'_>) -> u32 {
        use fleetsim_core::autoscale::PodPhase;
        let Some(s) = obs.latest() else {
            return obs.desired;
        };
        let vals: Vec<f64> = (s.pods.iter())
            .filter(|p| p.phase == PodPhase::Ready)
            .map(|p| self.signal.of_pod(p))
            .collect();
        if vals.is_empty() {
            return obs.desired;
        }
        let avg = vals.iter().sum::<f64>() / vals.len() as f64;
        self.core
            .decide(obs.now, obs.desired, avg)
            .unwrap_or(obs.desired)
    }
}

/// `[scaling] kind = "aibrix_apa"`: this file's entry in the autoscaler
/// registry (`autoscalers/mod.rs`).
#[derive(Debug)]
pub struct AibrixApaKind;

impl super::AutoscalerKind for AibrixApaKind {
    const NAME: &'static str = "aibrix_apa";
    type Config = AibrixApaConfig;

    fn validate(config: &AibrixApaConfig) -> Result<(), AutoscalerError> {
        config.core().validate()
    }

    fn build(
        config: &AibrixApaConfig,
    ) -> Result<Box<dyn fleetsim_core::Autoscaler>, AutoscalerError> {
        config.build()
    }

    fn default_metrics(config: &AibrixApaConfig) -> fleetsim_core::autoscale::MetricsSpec {
        config.default_metrics()
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod adapter_tests {
    use super::super::adapter::testing::*;
    use super::*;
    use fleetsim_core::autoscale::MetricsStore;
    use fleetsim_core::Autoscaler;

    fn base() -> AibrixApaConfig {
        serde_json::from_str("{}").unwrap()
    }

    fn decide(
        a: &mut dyn Autoscaler,
        store: &mut MetricsStore,
        t: f64,
        desired: u32,
        util: f64,
    ) -> u32 {
        record(store, [scrape(t, fleet(desired, 0, util), 0)]);
        a.desired_replicas(&store.observe(at(t), SimDuration::ZERO, desired))
    }

    #[test]
    fn apa_band_rate_cap_and_bounds() {
        let mut a = base().build().unwrap();
        assert_eq!(a.sync_period(), SimDuration::from_secs(10));
        assert_eq!(a.replica_bounds(), (1, 10));
        let mut store = MetricsStore::default();
        // KV 0.54 at target 0.5 on 4: ratio 1.08, inside the band → 4.
        assert_eq!(decide(a.as_mut(), &mut store, 0.0, 4, 0.54), 4);
        // 0.54 averaged with 1.0 (observe window) = 0.77 → ratio 1.54 →
        // ceil(4 · 1.54) = 7, under the rate cap ceil(2 · 4) = 8.
        assert_eq!(decide(a.as_mut(), &mut store, 10.0, 4, 1.0), 7);
    }

    #[test]
    fn no_ready_pod_holds_and_bad_knobs_are_rejected() {
        let mut a = base().build().unwrap();
        let mut store = MetricsStore::default();
        record(&mut store, [scrape(0.0, vec![starting(0)], 0)]);
        assert_eq!(
            a.desired_replicas(&store.observe(at(0.0), SimDuration::ZERO, 1)),
            1
        );
        // (config, knob, fragment)
        let cases = [
            (
                AibrixApaConfig {
                    panic_window_s: 200,
                    ..base()
                },
                "panic_window_s",
                "panicWindowSeconds <= observeWindowSeconds",
            ),
            (
                AibrixApaConfig {
                    target_value: 0.0,
                    ..base()
                },
                "target_value",
                "targetValue must be positive",
            ),
            (
                AibrixApaConfig {
                    max_scale_up_rate: 1.0,
                    ..base()
                },
                "max_scale_up_rate",
                "AIBrix",
            ),
            (
                AibrixApaConfig {
                    min_replicas: 11,
                    ..base()
                },
                "min_replicas",
                "minReplicas must not exceed maxReplicas",
            ),
        ];
        for (c, knob, frag) in cases {
            let e = c.build().expect_err(knob).to_string();
            assert!(e.contains(knob) && e.contains(frag), "{knob}: {e}");
        }
    }
}
