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

/// `maxMetricWindowSeconds`: the longest observe or panic window.
pub const MAX_METRIC_WINDOW_S: u64 = 3600;

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
    /// The reconciler's `validateSpec` rules (bounds, metric windows),
    /// `UpdateByPaTypes` (target value) and the HPA strategy's rate rule,
    /// plus finiteness; each message quotes the upstream one.
    pub fn validate(&self) -> Result<(), AutoscalerError> {
        if self.max_replicas == 0 {
            return Err(invalid(
                NAME,
                "max_replicas",
                "must be > 0 (AIBrix: maxReplicas must be positive.)",
            ));
        }
        if self.min_replicas > self.max_replicas {
            return Err(invalid(NAME, "min_replicas", format!("min_replicas > max_replicas ({} > {}) (AIBrix: minReplicas cannot be greater than maxReplicas.)", self.min_replicas, self.max_replicas)));
        }
        // Observe first, then panic, as `validateMetricWindows` orders them.
        for (knob, v, upstream) in [
            (
                "observe_window_s",
                self.observe_window_s,
                "observeWindowSeconds",
            ),
            ("panic_window_s", self.panic_window_s, "panicWindowSeconds"),
        ] {
            if v == 0 {
                return Err(invalid(
                    NAME,
                    knob,
                    format!("must be > 0 (AIBrix: {upstream} must be greater than 0.)"),
                ));
            }
            if v > MAX_METRIC_WINDOW_S {
                return Err(invalid(NAME, knob, format!("must be <= {MAX_METRIC_WINDOW_S} (AIBrix: {upstream} must be less than or equal to {MAX_METRIC_WINDOW_S}.)")));
            }
        }
        if self.panic_window_s > self.observe_window_s {
            return Err(invalid(NAME, "panic_window_s", "must be <= observe_window_s (AIBrix: panicWindowSeconds must be less than or equal to observeWindowSeconds.)"));
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
                "must be > 0 (AIBrix: targetValue for metric must be greater than 0)",
            ));
        }
        // The HPA strategy's rule (`buildHPABehavior`: a rate "must be >=
        // 1.0"); below 1 the KPA/APA caps would shrink a scale-up.
        for (k, v) in [
            ("max_scale_up_rate", self.max_scale_up_rate),
            ("max_scale_down_rate", self.max_scale_down_rate),
        ] {
            if v < 1.0 {
                return Err(invalid(NAME, k, format!("must be >= 1, got {v} (AIBrix: max-scale-up-rate / max-scale-down-rate must be >= 1.0)")));
            }
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
    // Activation scale only lifts a count that is already above zero.
    if i.activation_scale > 1 {
        if dsp > 0 && dsp < i.activation_scale {
            dsp = i.activation_scale;
        }
        if dpp > 0 && dpp < i.activation_scale {
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

/// The HPA behavior the HPA strategy generates (`buildHPABehavior`):
/// scale-up `Percent (rate−1)·100` per 60 s (`Max`), scale-down `Percent
/// (1−1/rate)·100` per 60 s (`Min`), both truncated and 100 when negative,
/// windows = the cooldowns.
pub fn hpa_behavior(
    max_scale_up_rate: f64,
    max_scale_down_rate: f64,
    up_cooldown_s: u32,
    down_cooldown_s: u32,
) -> Behavior {
    // `int32(...)` truncates toward zero; a negative percent (a rate
    // below 1) is replaced by 100 with a warning.
    let pct = |v: f64| {
        let t = v.trunc();
        ScalingPolicy {
            kind: PolicyType::Percent,
            value: if t < 0.0 || t.is_nan() {
                100
            } else {
                t.min(f64::from(i32::MAX)) as u32
            },
            period_s: 60,
        }
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

/// `TimeWindow`: buckets of `granularity` (1 s in the controller) keeping
/// the last value written. Recording at `t` drops buckets older than the
/// bucket of `t − window` (that bucket stays, so a window of 180 s at 1 s
/// holds up to 181 values); the average is the mean of what is left, 0
/// when empty, and reading does not prune.
#[derive(Clone, Debug)]
pub struct LastValueWindow {
    window: SimDuration,
    granularity: SimDuration,
    buckets: std::collections::VecDeque<(u64, f64)>,
}

impl LastValueWindow {
    /// A window of `window` over buckets of `granularity` (> 0; zero is
    /// taken as 1 ns).
    pub fn new(window: SimDuration, granularity: SimDuration) -> Self {
        LastValueWindow {
            window,
            granularity: SimDuration::from_nanos(granularity.as_nanos().max(1)),
            buckets: Default::default(),
        }
    }

    /// Write `v` into the bucket of `now` (replacing its value) and drop
    /// the buckets before the one of `now − window`.
    pub fn record(&mut self, now: SimTime, v: f64) {
        let g = self.granularity.as_nanos();
        let b = now.as_nanos() / g;
        match self.buckets.back_mut() {
            Some((s, val)) if *s == b => *val = v,
            _ => self.buckets.push_back((b, v)),
        }
        let cutoff = now.as_nanos().saturating_sub(self.window.as_nanos()) / g;
        while self.buckets.front().is_some_and(|&(s, _)| s < cutoff) {
            self.buckets.pop_front();
        }
    }

    /// The values left, oldest first.
    pub fn values(&self) -> Vec<f64> {
        self.buckets.iter().map(|&(_, v)| v).collect()
    }

    /// Mean of the buckets left; 0 when there are none (upstream `Avg`).
    pub fn average(&self) -> f64 {
        if self.buckets.is_empty() {
            return 0.0;
        }
        let sum: f64 = self.buckets.iter().map(|&(_, v)| v).sum();
        sum / self.buckets.len() as f64
    }
}

/// One PodAutoscaler: metric windows and cooldown history. Panic mode is
/// decided afresh at every call (`shouldEnterPanicMode`), as upstream's
/// stateless algorithm does: there is no panic hold.
#[derive(Clone, Debug)]
pub struct AibrixAutoscaler {
    config: AibrixConfig,
    stable: LastValueWindow,
    panic: LastValueWindow,
    history: Vec<(SimTime, u32)>,
}

/// What one decision saw and chose (for tests and reports).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AibrixDecision {
    /// The count to apply.
    pub desired: u32,
    /// Stable-window per-pod average (`None` on a bounds-only decision).
    pub stable: Option<f64>,
    /// Panic-window per-pod average.
    pub panic: Option<f64>,
    /// KPA was in panic mode.
    pub in_panic: bool,
}

impl AibrixAutoscaler {
    /// A PodAutoscaler with `config`.
    pub fn new(config: AibrixConfig) -> Result<Self, AutoscalerError> {
        config.validate()?;
        // `NewMetricsClient(time.Second)`: 1 s buckets.
        let g = SimDuration::from_secs(1);
        Ok(AibrixAutoscaler {
            stable: LastValueWindow::new(super::secs(config.observe_window_s), g),
            panic: LastValueWindow::new(super::secs(config.panic_window_s), g),
            config,
            history: Vec::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &AibrixConfig {
        &self.config
    }

    /// Record the per-pod average and decide (`computeScaleDecision`):
    /// the bounds checks first, then the algorithm clamped to the bounds
    /// (`applyConstraints`), cooldown stabilization and the final clamp.
    pub fn decide(&mut self, now: SimTime, current: u32, per_pod_average: f64) -> u32 {
        self.decide_detailed(now, current, per_pod_average).desired
    }

    /// [`Self::decide`] with what the decision saw.
    pub fn decide_detailed(
        &mut self,
        now: SimTime,
        current: u32,
        per_pod_average: f64,
    ) -> AibrixDecision {
        let c = self.config.clone();
        let (min, max) = (c.min_replicas, c.max_replicas);
        let bounds_only = |desired| AibrixDecision {
            desired,
            stable: None,
            panic: None,
            in_panic: false,
        };
        // "scaling disabled: current replicas is 0" (no schedules here).
        if current == 0 && min != 0 {
            return bounds_only(current);
        }
        if current > max {
            return bounds_only(max);
        }
        if current < min {
            return bounds_only(min);
        }
        self.stable.record(now, per_pod_average);
        self.panic.record(now, per_pod_average);
        let stable = self.stable.average();
        let panic = self.panic.average();
        let mut in_panic = false;
        let rec = match c.strategy {
            // APA reads the stable window only.
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
                in_panic = stable <= 0.0 || panic / stable > c.panic_threshold;
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
                kpa_replicas(&input, in_panic, 0).0
            }
        };
        let rec = rec.clamp(min, max);
        let desired = self.stabilize(now, current, rec).clamp(min, max);
        AibrixDecision {
            desired,
            stable: Some(stable),
            panic: Some(panic),
            in_panic,
        }
    }

    /// `stabilizeRecommendation`: the history includes this
    /// recommendation; a scale-up takes the max over the up window, a
    /// scale-down the **min** over the down window (as upstream writes it),
    /// no change returns the current count.
    fn stabilize(&mut self, now: SimTime, current: u32, rec: u32) -> u32 {
        let c = &self.config;
        let (up_w, down_w) = (
            super::secs(c.scale_up_cooldown_window_s),
            super::secs(c.scale_down_cooldown_window_s),
        );
        self.history.push((now, rec));
        self.history
            .retain(|&(t, _)| within(t, now, up_w.max(down_w)));
        let in_window = |w| {
            (self.history.iter())
                .filter(move |&&(t, _)| within(t, now, w))
                .map(|&(_, r)| r)
        };
        // An empty window (a 0 s cooldown) leaves the recommendation.
        if rec > current {
            in_window(up_w).max().unwrap_or(rec)
        } else if rec < current {
            in_window(down_w).min().unwrap_or(rec)
        } else {
            current
        }
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

fn d_panic_threshold() -> f64 {
    2.0
}

/// `[scaling] kind = "aibrix_apa"` or `"aibrix_kpa"`: a PodAutoscaler
/// with `scalingStrategy: APA` or `KPA` on one pod metric; the kind picks
/// the strategy, the knobs are the same.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AibrixPaConfig {
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
            target_value: self.target_value,
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

    /// The autoscaler under `strategy` (upstream validation).
    pub fn build(
        &self,
        strategy: Strategy,
    ) -> Result<Box<dyn fleetsim_core::Autoscaler>, AutoscalerError> {
        Ok(Box::new(AibrixPaAutoscaler {
            core: AibrixAutoscaler::new(self.core(strategy))?,
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
/// No ready pod, or the metric source down (no visible scrape): the
/// collection fails, upstream makes no decision, the count is held. No
/// activation hook: AIBrix has no activator, and at zero replicas there is
/// no pod metric.
#[derive(Clone, Debug)]
pub struct AibrixPaAutoscaler {
    core: AibrixAutoscaler,
    signal: super::adapter::Signal,
}

impl fleetsim_core::Autoscaler for AibrixPaAutoscaler {
    fn sync_period(&self) -> SimDuration {
        super::secs(self.core.config().resync_interval_s)
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
        let vals: Vec<f64> = (s.pods.iter())
            .filter(|p| p.phase == PodPhase::Ready)
            .map(|p| self.signal.of_pod(p))
            .collect();
        if vals.is_empty() {
            return obs.desired;
        }
        let avg = vals.iter().sum::<f64>() / vals.len() as f64;
        self.core.decide(obs.now, obs.desired, avg)
    }
}

/// The two scenario kinds differ only in the strategy they build.
fn kind_validate(config: &AibrixPaConfig, strategy: Strategy) -> Result<(), AutoscalerError> {
    config.core(strategy).validate()
}

/// `[scaling] kind = "aibrix_apa"`: this file's APA entry in the
/// autoscaler registry (`autoscalers/mod.rs`).
#[derive(Debug)]
pub struct AibrixApaKind;

impl super::AutoscalerKind for AibrixApaKind {
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

impl super::AutoscalerKind for AibrixKpaKind {
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

#[cfg(test)]
mod tests;
#[cfg(test)]
mod upstream_tests;

#[cfg(test)]
mod adapter_tests;
