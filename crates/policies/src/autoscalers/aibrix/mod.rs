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
    /// One entry per metric source: its target value and its stable and
    /// panic windows (upstream keys the windows by metric name).
    metrics: Vec<MetricState>,
    history: Vec<(SimTime, u32)>,
}

/// One metric source's target and windows.
#[derive(Clone, Debug)]
struct MetricState {
    target: f64,
    stable: LastValueWindow,
    panic: LastValueWindow,
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
        let target = config.target_value;
        Self::with_metric_targets(config, &[target])
    }

    /// A PodAutoscaler with several `metricsSources`, one target value
    /// each (`config.target_value` is not read). Each target is validated
    /// as `target_value` is (`UpdateByPaTypes`); at least one is needed
    /// (upstream: "no metricsSources defined").
    pub fn with_metric_targets(
        config: AibrixConfig,
        targets: &[f64],
    ) -> Result<Self, AutoscalerError> {
        if targets.is_empty() {
            return Err(invalid(
                NAME,
                "metrics_sources",
                "must not be empty (AIBrix: no metricsSources defined in PodAutoscaler)",
            ));
        }
        for &t in targets {
            AibrixConfig {
                target_value: t,
                ..config.clone()
            }
            .validate()?;
        }
        // `NewMetricsClient(time.Second)`: 1 s buckets.
        let g = SimDuration::from_secs(1);
        let metrics = (targets.iter())
            .map(|&target| MetricState {
                target,
                stable: LastValueWindow::new(super::secs(config.observe_window_s), g),
                panic: LastValueWindow::new(super::secs(config.panic_window_s), g),
            })
            .collect();
        Ok(AibrixAutoscaler {
            config,
            metrics,
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
        let vals = vec![Some(per_pod_average); self.metrics.len()];
        self.decide_metrics(now, current, &vals)
            .expect("every metric has a value")
    }

    /// The decision over several metric sources (`ComputeDesiredReplicas`):
    /// `per_pod_averages[i]` is source `i`'s per-pod average, `None` when
    /// its collection failed (that source is skipped and its windows are
    /// not fed). Each source runs the algorithm on its own windows and
    /// target, the largest count wins, and cooldown and bounds apply once
    /// to it (`computeScaleDecision`). The bounds checks come first, so a
    /// count outside `[min, max]` goes to the bound whatever the metrics;
    /// `None` when every source failed ("all metric sources failed": no
    /// decision, the count is held). Panics if the slice's length is not
    /// the number of sources.
    pub fn decide_metrics(
        &mut self,
        now: SimTime,
        current: u32,
        per_pod_averages: &[Option<f64>],
    ) -> Option<AibrixDecision> {
        assert_eq!(
            per_pod_averages.len(),
            self.metrics.len(),
            "one value per metric source"
        );
        let c = self.config.clone();
        let (min, max) = (c.min_replicas, c.max_replicas);
        let bounds_only = |desired| {
            Some(AibrixDecision {
                desired,
                stable: None,
                panic: None,
                in_panic: false,
            })
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
        // (recommendation, stable, panic, in panic) of the best source so
        // far; a later source wins only with a strictly larger count.
        let mut best: Option<(u32, f64, f64, bool)> = None;
        for (m, v) in self.metrics.iter_mut().zip(per_pod_averages) {
            let Some(v) = *v else { continue };
            m.stable.record(now, v);
            m.panic.record(now, v);
            let (stable, panic) = (m.stable.average(), m.panic.average());
            let mut in_panic = false;
            let rec = match c.strategy {
                // APA reads the stable window only.
                Strategy::Apa => apa_replicas(
                    current,
                    stable,
                    m.target,
                    c.up_fluctuation_tolerance,
                    c.down_fluctuation_tolerance,
                    c.max_scale_up_rate,
                    c.max_scale_down_rate,
                ),
                Strategy::Kpa => {
                    in_panic = stable <= 0.0 || panic / stable > c.panic_threshold;
                    let input = KpaInput {
                        current,
                        target: m.target,
                        stable,
                        panic,
                        max_scale_up_rate: c.max_scale_up_rate,
                        max_scale_down_rate: c.max_scale_down_rate,
                        activation_scale: 1,
                        up_tolerance: c.up_fluctuation_tolerance,
                        down_tolerance: c.down_fluctuation_tolerance,
                    };
                    // Base context: MaxPanicPods starts at 0 each
                    // reconcile. A panicking source raises it for the
                    // sources after it, which can only return a count
                    // already reached, so the max is the same.
                    kpa_replicas(&input, in_panic, 0).0
                }
            };
            // `applyConstraints` inside the algorithm.
            let rec = rec.clamp(min, max);
            if best.is_none_or(|(b, ..)| rec > b) {
                best = Some((rec, stable, panic, in_panic));
            }
        }
        let (rec, stable, panic, in_panic) = best?;
        let desired = self.stabilize(now, current, rec).clamp(min, max);
        Some(AibrixDecision {
            desired,
            stable: Some(stable),
            panic: Some(panic),
            in_panic,
        })
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

mod pa;
pub use pa::{AibrixApaKind, AibrixKpaKind, AibrixPaAutoscaler, AibrixPaConfig, MetricSource};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod upstream_tests;

#[cfg(test)]
mod adapter_tests;
