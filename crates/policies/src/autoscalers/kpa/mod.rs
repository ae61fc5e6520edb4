//! Knative Serving KPA (`knative/serving`): the `config-autoscaler` knobs
//! and target resolution, the metric windows (`TimedFloat64Buckets`), the
//! decider (`autoscaler.Scale`: stable/panic windows, panic mode, rate
//! limits, activation scale, scale-down delay, excess burst capacity) and
//! the scaler's bounds, initial scale and scale-to-zero state machine
//! (`kpa/scaler.go`).
//!
//! Adapter mapping: every second, [`KpaMetrics::record`] the revision-wide
//! in-flight requests (sum over replicas plus requests held at the
//! activator/gateway); every `tick_interval_s` (2 s) call
//! [`KpaDecider::scale`] with the ready replica count and
//! [`KpaMetrics::stable_and_panic`]; feed its desired count to
//! [`scale_to_zero_step`] with the PodAutoscaler state the adapter tracks
//! (Active / Inactive / Activating and since when, whether the gateway
//! proxies, reachability) and apply the returned scale when `apply`.

// Target burst capacity uses exact sentinels (-1, 0), compared exactly as
// upstream does.
#![allow(clippy::float_cmp)]

use super::{invalid, AutoscalerError};
use fleetsim_core::{SimDuration, SimTime};
use serde::{Deserialize, Serialize};

mod adapter;
mod decider;
mod scale_to_zero;

pub use adapter::{KpaAutoscaler, KpaAutoscalerConfig, KpaKind};
pub use decider::{KpaDecider, MaxTimeWindow, PodCountError, ScaleResult};
pub use scale_to_zero::{
    compute_active_condition, scale_to_zero_step, PaActive, ProbeResult, Reachability, ScalerInput,
    ScalerOutcome,
};

const NAME: &str = "knative_kpa";

/// Which metric drives the KPA.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScalingMetric {
    /// In-flight requests (default).
    #[default]
    Concurrency,
    /// Requests per second.
    Rps,
}

/// `config-autoscaler` plus the per-revision annotations, with the
/// documented defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KpaConfig {
    /// `metric`: concurrency (default) or rps.
    pub metric: ScalingMetric,
    /// `containerConcurrency` of the revision; 0 (default) = unlimited.
    pub container_concurrency: u32,
    /// `container-concurrency-target-default`: 100 requests per pod, used
    /// when `containerConcurrency` is 0.
    pub container_concurrency_target_default: f64,
    /// `requests-per-second-target-default`: 200 rps per pod.
    pub rps_target_default: f64,
    /// `autoscaling.knative.dev/target` annotation; capped at
    /// `containerConcurrency` when that is non-zero.
    pub target: Option<f64>,
    /// `container-concurrency-target-percentage`: 70 (% of the total that is
    /// the target).
    pub target_utilization_percentage: f64,
    /// `target-burst-capacity`: 211 requests; -1 = activator always in the
    /// path, 0 = only at zero scale.
    pub target_burst_capacity: f64,
    /// `stable-window`: 60 s, whole seconds in 6..=3600.
    pub stable_window_s: u64,
    /// `panic-window-percentage`: 10 (% of the stable window), 1..=100.
    pub panic_window_percentage: f64,
    /// `panic-threshold-percentage`: 200 (%), 110..=1000.
    pub panic_threshold_percentage: f64,
    /// `max-scale-up-rate`: 1000 (×ready pods per decision), > 1.
    pub max_scale_up_rate: f64,
    /// `max-scale-down-rate`: 2 (÷ready pods per decision), > 1.
    pub max_scale_down_rate: f64,
    /// `scale-to-zero-grace-period`: 30 s, >= 6 s.
    pub scale_to_zero_grace_period_s: u64,
    /// `scale-to-zero-pod-retention-period`: 0 s.
    pub scale_to_zero_pod_retention_period_s: u64,
    /// `scale-down-delay`: 0 s, whole seconds in 0..=3600.
    pub scale_down_delay_s: u64,
    /// `enable-scale-to-zero`: true.
    pub enable_scale_to_zero: bool,
    /// `initial-scale`: 1.
    pub initial_scale: u32,
    /// `allow-zero-initial-scale`: false.
    pub allow_zero_initial_scale: bool,
    /// `min-scale`: 0.
    pub min_scale: u32,
    /// `max-scale`: 0 = unbounded.
    pub max_scale: u32,
    /// `activation-scale` annotation: minimum non-zero scale; 0/1 = off,
    /// otherwise >= 2.
    pub activation_scale: u32,
    /// `activator-capacity`: 100 requests per activator.
    pub activator_capacity: f64,
    /// Decider tick (`tickInterval`): 2 s.
    pub tick_interval_s: u64,
    /// Deployment `progressDeadline`: 600 s.
    pub progress_deadline_s: u64,
    /// Added to the progress deadline to give the activation timeout: 30 s.
    pub activation_timeout_buffer_s: u64,
}

impl Default for KpaConfig {
    fn default() -> Self {
        KpaConfig {
            metric: ScalingMetric::Concurrency,
            container_concurrency: 0,
            container_concurrency_target_default: 100.0,
            rps_target_default: 200.0,
            target: None,
            target_utilization_percentage: 70.0,
            target_burst_capacity: 211.0,
            stable_window_s: 60,
            panic_window_percentage: 10.0,
            panic_threshold_percentage: 200.0,
            max_scale_up_rate: 1000.0,
            max_scale_down_rate: 2.0,
            scale_to_zero_grace_period_s: 30,
            scale_to_zero_pod_retention_period_s: 0,
            scale_down_delay_s: 0,
            enable_scale_to_zero: true,
            initial_scale: 1,
            allow_zero_initial_scale: false,
            min_scale: 0,
            max_scale: 0,
            activation_scale: 0,
            activator_capacity: 100.0,
            tick_interval_s: 2,
            progress_deadline_s: 600,
            activation_timeout_buffer_s: 30,
        }
    }
}

/// Minimum target per pod (`autoscaling.TargetMin`).
pub const TARGET_MIN: f64 = 0.01;

impl KpaConfig {
    /// The checks of `config.validate` and the annotation validation.
    pub fn validate(&self) -> Result<(), AutoscalerError> {
        for (k, v) in [
            (
                "container_concurrency_target_default",
                self.container_concurrency_target_default,
            ),
            ("rps_target_default", self.rps_target_default),
            (
                "target_utilization_percentage",
                self.target_utilization_percentage,
            ),
            ("target_burst_capacity", self.target_burst_capacity),
            ("panic_window_percentage", self.panic_window_percentage),
            (
                "panic_threshold_percentage",
                self.panic_threshold_percentage,
            ),
            ("max_scale_up_rate", self.max_scale_up_rate),
            ("max_scale_down_rate", self.max_scale_down_rate),
            ("activator_capacity", self.activator_capacity),
        ] {
            super::finite(NAME, k, v)?;
        }
        if self.scale_to_zero_grace_period_s < 6 {
            return Err(invalid(
                NAME,
                "scale_to_zero_grace_period_s",
                "must be >= 6 s (Knative: scale-to-zero-grace-period must be at least 6s)",
            ));
        }
        if self.scale_down_delay_s > 3600 {
            return Err(invalid(
                NAME,
                "scale_down_delay_s",
                "must be in 0..=3600 s (Knative: scale-down-delay in [0s, 1h])",
            ));
        }
        if self.target_burst_capacity < 0.0 && self.target_burst_capacity != -1.0 {
            return Err(invalid(NAME, "target_burst_capacity", "must be >= 0 or exactly -1 (Knative: target-burst-capacity must be either non-negative or -1)"));
        }
        if self.activator_capacity < 1.0 {
            return Err(invalid(
                NAME,
                "activator_capacity",
                "must be >= 1 (Knative: activator-capacity must be at least 1)",
            ));
        }
        let u = self.target_utilization_percentage;
        if u <= 0.0 || u > 100.0 {
            return Err(invalid(NAME, "target_utilization_percentage", format!("{u} outside (0, 100] (Knative: container-concurrency-target-percentage is outside of valid range of (0, 100])")));
        }
        if self.container_concurrency_target_default < TARGET_MIN {
            return Err(invalid(NAME, "container_concurrency_target_default", "must be >= 0.01 (Knative: container-concurrency-target-default must be at least 0.01)"));
        }
        if self.rps_target_default < TARGET_MIN {
            return Err(invalid(NAME, "rps_target_default", "must be >= 0.01 (Knative: requests-per-second-target-default must be at least 0.01)"));
        }
        if let Some(t) = self.target {
            if !t.is_finite() || t < TARGET_MIN {
                return Err(invalid(NAME, "target", "must be >= 0.01 (Knative: autoscaling.knative.dev/target must be at least 0.01)"));
            }
        }
        if self.max_scale_up_rate <= 1.0 {
            return Err(invalid(
                NAME,
                "max_scale_up_rate",
                "must be > 1 (Knative: max-scale-up-rate must be greater than 1.0)",
            ));
        }
        if self.max_scale_down_rate <= 1.0 {
            return Err(invalid(
                NAME,
                "max_scale_down_rate",
                "must be > 1 (Knative: max-scale-down-rate must be greater than 1.0)",
            ));
        }
        if !(6..=3600).contains(&self.stable_window_s) {
            return Err(invalid(
                NAME,
                "stable_window_s",
                format!(
                    "{} outside 6..=3600 s (Knative: stable-window must be in [6s; 1h0m0s] range)",
                    self.stable_window_s
                ),
            ));
        }
        let pw = self.panic_window_percentage;
        let min_pct = 100.0 / self.stable_window_s as f64;
        if pw < min_pct || pw > 100.0 {
            return Err(invalid(NAME, "panic_window_percentage", format!("{pw} outside [{min_pct}, 100] (Knative: panic-window-percentage must be in [1s/stable-window, 100] interval)")));
        }
        let pt = self.panic_threshold_percentage;
        if !(110.0..=1000.0).contains(&pt) {
            return Err(invalid(NAME, "panic_threshold_percentage", format!("{pt} outside [110, 1000]: the panic threshold must be > 1 (Knative: panic-threshold-percentage in [110, 1000])")));
        }
        if self.initial_scale == 0 && !self.allow_zero_initial_scale {
            return Err(invalid(NAME, "initial_scale", "must be >= 1 unless allow_zero_initial_scale (Knative: initial-scale=0 requires allow-zero-initial-scale)"));
        }
        if self.max_scale != 0 && self.min_scale > self.max_scale {
            return Err(invalid(NAME, "min_scale", format!("min_replicas > max_replicas: min-scale {} > max-scale {} (Knative: min-scale must not exceed max-scale)", self.min_scale, self.max_scale)));
        }
        if self.activation_scale == 1 {
            return Err(invalid(
                NAME,
                "activation_scale",
                "must be 0 (off) or >= 2 (Knative: activation-scale must be at least 2)",
            ));
        }
        if self.tick_interval_s == 0 {
            return Err(invalid(NAME, "tick_interval_s", "must be > 0"));
        }
        Ok(())
    }

    /// `ResolveMetricTarget`: `(total, target)` per pod, target =
    /// `max(0.01, total × utilization)`.
    pub fn resolve_target(&self) -> (f64, f64) {
        let mut total = match self.metric {
            ScalingMetric::Concurrency if self.container_concurrency > 0 => {
                f64::from(self.container_concurrency)
            }
            ScalingMetric::Concurrency => self.container_concurrency_target_default,
            ScalingMetric::Rps => self.rps_target_default,
        };
        if let Some(t) = self.target {
            total = t;
            if self.metric == ScalingMetric::Concurrency && self.container_concurrency > 0 {
                total = total.min(f64::from(self.container_concurrency));
            }
        }
        let frac = self.target_utilization_percentage / 100.0;
        (total, (total * frac).max(TARGET_MIN))
    }

    /// The panic window: `round(stable × pct / 100)` whole seconds, at
    /// least 1 s.
    pub fn panic_window_s(&self) -> u64 {
        ((self.stable_window_s as f64 * self.panic_window_percentage / 100.0).round() as u64).max(1)
    }

    /// The decider spec this configuration makes (`MakeDecider`).
    pub fn decider_spec(&self, reachable: bool) -> DeciderSpec {
        let (total, target) = self.resolve_target();
        DeciderSpec {
            scaling_metric: self.metric,
            target,
            total,
            target_burst_capacity: self.target_burst_capacity,
            panic_threshold: self.panic_threshold_percentage / 100.0,
            max_scale_up_rate: self.max_scale_up_rate,
            max_scale_down_rate: self.max_scale_down_rate,
            stable_window_s: self.stable_window_s,
            reachable,
            scale_down_delay_s: self.scale_down_delay_s,
            activation_scale: self.activation_scale,
            tick_interval_s: self.tick_interval_s,
        }
    }
}

/// What the decider needs (`DeciderSpec`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeciderSpec {
    /// Metric kind (only reporting; both use the same maths).
    pub scaling_metric: ScalingMetric,
    /// Target per pod (`TargetValue`).
    pub target: f64,
    /// Total capacity per pod (`TotalValue`), for the burst capacity.
    pub total: f64,
    /// Target burst capacity (-1, 0 or > 0).
    pub target_burst_capacity: f64,
    /// Panic threshold as a ratio (2.0 = 200 %).
    pub panic_threshold: f64,
    /// Max scale-up rate.
    pub max_scale_up_rate: f64,
    /// Max scale-down rate.
    pub max_scale_down_rate: f64,
    /// Stable window, seconds (panic mode ends a stable window after the
    /// last over-threshold decision).
    pub stable_window_s: u64,
    /// Whether the revision receives traffic.
    pub reachable: bool,
    /// Scale-down delay, seconds (0 = none).
    pub scale_down_delay_s: u64,
    /// Activation scale (0/1 = off).
    pub activation_scale: u32,
    /// Decider tick, seconds (granularity of the delay window; 2).
    #[serde(default = "two")]
    pub tick_interval_s: u64,
}

fn two() -> u64 {
    2
}

impl DeciderSpec {
    /// Reject specs the decider cannot use.
    pub fn validate(&self) -> Result<(), AutoscalerError> {
        if !self.target.is_finite() || self.target <= 0.0 {
            return Err(invalid(
                NAME,
                "target",
                "must be > 0 (Knative: target must be at least 0.01)",
            ));
        }
        if !self.panic_threshold.is_finite() || self.panic_threshold <= 1.0 {
            return Err(invalid(
                NAME,
                "panic_threshold",
                "panic threshold must be > 1 (Knative: panic-threshold-percentage > 100)",
            ));
        }
        if !self.max_scale_up_rate.is_finite() || self.max_scale_up_rate <= 1.0 {
            return Err(invalid(
                NAME,
                "max_scale_up_rate",
                "must be > 1 (Knative: max-scale-up-rate must be greater than 1.0)",
            ));
        }
        if !self.max_scale_down_rate.is_finite() || self.max_scale_down_rate <= 1.0 {
            return Err(invalid(
                NAME,
                "max_scale_down_rate",
                "must be > 1 (Knative: max-scale-down-rate must be greater than 1.0)",
            ));
        }
        if !self.total.is_finite() || self.total < 0.0 {
            return Err(invalid(NAME, "total", "must be a finite value >= 0"));
        }
        if self.target_burst_capacity < 0.0 && self.target_burst_capacity != -1.0
            || !self.target_burst_capacity.is_finite()
        {
            return Err(invalid(NAME, "target_burst_capacity", "must be >= 0 or exactly -1 (Knative: target-burst-capacity must be either non-negative or -1)"));
        }
        if self.tick_interval_s == 0 {
            return Err(invalid(NAME, "tick_interval_s", "must be > 0"));
        }
        Ok(())
    }
}

fn trunc(t: SimTime, g: u64) -> u64 {
    t.as_nanos() / g * g
}

/// `TimedFloat64Buckets` with linear `WindowAverage`: values summed into
/// `granularity` buckets over `window`; the average divides by the number
/// of buckets since the first write (at most the window's).
#[derive(Clone, Debug)]
pub struct TimedBuckets {
    buckets: Vec<f64>,
    granularity: u64,
    window: u64,
    first_write: Option<u64>,
    last_write: Option<u64>,
    total: f64,
}

impl TimedBuckets {
    /// Buckets over `window` of `granularity` each (both > 0).
    pub fn new(window: SimDuration, granularity: SimDuration) -> Result<Self, AutoscalerError> {
        let (w, g) = (window.as_nanos(), granularity.as_nanos());
        if g == 0 || w == 0 {
            return Err(invalid(
                NAME,
                "window",
                "window and granularity must be > 0",
            ));
        }
        Ok(TimedBuckets {
            buckets: vec![0.0; w.div_ceil(g) as usize],
            granularity: g,
            window: w,
            first_write: None,
            last_write: None,
            total: 0.0,
        })
    }

    fn idx(&self, t: u64) -> u64 {
        t / self.granularity
    }

    /// Add `value` to the bucket of `now`. Writes at least a window older
    /// than the last write are dropped; a gap of a window or more clears
    /// everything.
    pub fn record(&mut self, now: SimTime, value: f64) {
        let bt = trunc(now, self.granularity);
        let nb = self.buckets.len() as u64;
        let write_idx = self.idx(bt);
        if self.last_write != Some(bt) {
            if let Some(lw) = self.last_write {
                if bt + self.window <= lw {
                    return; // too old
                }
            }
            if self.first_write.is_none_or(|fw| fw > bt) {
                self.first_write = Some(bt);
            }
            if self.last_write.is_none_or(|lw| bt > lw) {
                match self.last_write {
                    Some(lw) if bt - lw < self.window => {
                        for i in self.idx(lw) + 1..=write_idx {
                            let k = (i % nb) as usize;
                            self.total -= self.buckets[k];
                            self.buckets[k] = 0.0;
                        }
                    }
                    _ => {
                        self.first_write = Some(bt);
                        self.buckets.iter_mut().for_each(|b| *b = 0.0);
                        self.total = 0.0;
                    }
                }
                self.last_write = Some(bt);
            }
        }
        self.buckets[(write_idx % nb) as usize] += value;
        self.total += value;
    }

    /// No write within a window before `now`.
    pub fn is_empty(&self, now: SimTime) -> bool {
        let now = trunc(now, self.granularity);
        match self.last_write {
            None => true,
            Some(lw) => now.saturating_sub(lw) > self.window,
        }
    }

    /// The window average at `now`, rounded to 6 decimal digits.
    pub fn window_average(&self, now: SimTime) -> f64 {
        let now = trunc(now, self.granularity);
        let (Some(lw), Some(fw)) = (self.last_write, self.first_write) else {
            return 0.0;
        };
        let nb = self.buckets.len() as u64;
        let since_first = (lw - fw) / self.granularity + 1;
        let avg = if now <= lw {
            self.total / since_first.min(nb) as f64
        } else if now - lw < self.window {
            let (st, e) = (self.idx(lw), self.idx(now));
            let mut ret = self.total;
            for i in st + 1..=e {
                ret -= self.buckets[(i % nb) as usize];
            }
            ret / since_first.min(nb - (e - st)) as f64
        } else {
            return 0.0;
        };
        (avg * 1e6).round() / 1e6
    }
}

/// The KPA metric pipeline after scraping: one revision-wide value a
/// second into a stable and a panic window.
#[derive(Clone, Debug)]
pub struct KpaMetrics {
    stable: TimedBuckets,
    panic: TimedBuckets,
}

impl KpaMetrics {
    /// Windows for `config` (stable window and derived panic window, 1 s
    /// buckets).
    pub fn new(config: &KpaConfig) -> Result<Self, AutoscalerError> {
        let g = SimDuration::from_secs(1);
        Ok(KpaMetrics {
            stable: TimedBuckets::new(super::secs(config.stable_window_s), g)?,
            panic: TimedBuckets::new(super::secs(config.panic_window_s()), g)?,
        })
    }

    /// Record the revision-wide value (in-flight requests at pods and
    /// activator, or requests in the last second) at `now`.
    pub fn record(&mut self, now: SimTime, value: f64) {
        self.stable.record(now, value);
        self.panic.record(now, value);
    }

    /// `(stable, panic)` averages, or `None` (upstream `ErrNoData`) when the
    /// stable window has no data.
    pub fn stable_and_panic(&self, now: SimTime) -> Option<(f64, f64)> {
        if self.stable.is_empty(now) {
            return None;
        }
        Some((
            self.stable.window_average(now),
            self.panic.window_average(now),
        ))
    }
}

#[cfg(test)]
mod reconcile_tests;
#[cfg(test)]
mod scaler_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod upstream_tests;
