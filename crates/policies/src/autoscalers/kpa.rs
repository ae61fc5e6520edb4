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

/// Knative's `max.TimeWindow`: the maximum of values recorded in the last
/// `ceil(duration / granularity)` buckets, bucket index `floor(t / g)`; an
/// entry leaves when `index_now - index_entry >= size`.
#[derive(Clone, Debug)]
pub struct MaxTimeWindow {
    size: u64,
    granularity: u64,
    /// (index, value), values strictly decreasing from the front.
    entries: std::collections::VecDeque<(u64, i64)>,
}

impl MaxTimeWindow {
    /// A window of `duration` in `granularity` buckets (both > 0).
    pub fn new(duration: SimDuration, granularity: SimDuration) -> Self {
        let g = granularity.as_nanos().max(1);
        MaxTimeWindow {
            size: duration.as_nanos().div_ceil(g).max(1),
            granularity: g,
            entries: Default::default(),
        }
    }

    /// Record `value` at `now`.
    pub fn record(&mut self, now: SimTime, value: i64) {
        let index = now.as_nanos() / self.granularity;
        while let Some(&(i, _)) = self.entries.front() {
            if i + self.size <= index {
                self.entries.pop_front();
            } else {
                break;
            }
        }
        while let Some(&(_, v)) = self.entries.back() {
            if v <= value {
                self.entries.pop_back();
            } else {
                break;
            }
        }
        self.entries.push_back((index, value));
    }

    /// The current maximum (0 when empty).
    pub fn current(&self) -> i64 {
        self.entries.front().map_or(0, |&(_, v)| v)
    }
}

/// One decision (`ScaleResult`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScaleResult {
    /// False when there was no data (no decision).
    pub valid: bool,
    /// Desired pods.
    pub desired_pod_count: i32,
    /// Excess burst capacity (-1 = activator always in path).
    pub excess_burst_capacity: i32,
}

impl ScaleResult {
    const INVALID: ScaleResult = ScaleResult {
        valid: false,
        desired_pod_count: 0,
        excess_burst_capacity: 0,
    };
}

/// The KPA decider of one revision, with its panic state and delay window.
#[derive(Clone, Debug)]
pub struct KpaDecider {
    spec: DeciderSpec,
    panic_time: Option<SimTime>,
    max_panic_pods: i32,
    delay_window: Option<MaxTimeWindow>,
}

impl KpaDecider {
    /// A decider created at `now` when `ready_pods` pods are ready: with
    /// more than one it starts in panic mode holding that count.
    pub fn new(spec: DeciderSpec, ready_pods: u32, now: SimTime) -> Result<Self, AutoscalerError> {
        spec.validate()?;
        let delay_window = Self::delay_window_for(&spec);
        let panic = ready_pods > 1;
        Ok(KpaDecider {
            spec,
            panic_time: panic.then_some(now),
            max_panic_pods: ready_pods.min(i32::MAX as u32) as i32,
            delay_window,
        })
    }

    fn delay_window_for(spec: &DeciderSpec) -> Option<MaxTimeWindow> {
        (spec.scale_down_delay_s > 0).then(|| {
            MaxTimeWindow::new(
                super::secs(spec.scale_down_delay_s),
                super::secs(spec.tick_interval_s),
            )
        })
    }

    /// The spec in force.
    pub fn spec(&self) -> &DeciderSpec {
        &self.spec
    }

    /// Replace the spec (`Update`); the delay window is rebuilt only when
    /// the delay changes.
    pub fn update(&mut self, spec: DeciderSpec) -> Result<(), AutoscalerError> {
        spec.validate()?;
        if spec.scale_down_delay_s != self.spec.scale_down_delay_s
            || spec.tick_interval_s != self.spec.tick_interval_s
        {
            self.delay_window = Self::delay_window_for(&spec);
        }
        self.spec = spec;
        Ok(())
    }

    /// Force the panic state (tests and restarts).
    pub fn set_panic_state(&mut self, panic_time: Option<SimTime>, max_panic_pods: i32) {
        self.panic_time = panic_time;
        self.max_panic_pods = max_panic_pods;
    }

    /// Whether the decider is in panic mode.
    pub fn in_panic(&self) -> bool {
        self.panic_time.is_some()
    }

    /// `autoscaler.Scale` at `now` with `ready_pods` ready and the observed
    /// `(stable, panic)` window averages (`None` = no data → invalid).
    pub fn scale(
        &mut self,
        now: SimTime,
        ready_pods: u32,
        observed: Option<(f64, f64)>,
    ) -> ScaleResult {
        let Some((stable, panic)) = observed else {
            return ScaleResult::INVALID;
        };
        let s = &self.spec;
        let ready = f64::from(ready_pods.max(1));
        let max_up = (s.max_scale_up_rate * ready).ceil();
        let max_down = if s.reachable {
            (ready / s.max_scale_down_rate).floor()
        } else {
            0.0
        };
        let dspc = (stable / s.target).ceil();
        let dppc = (panic / s.target).ceil();
        let clamp = |x: f64| x.max(max_down).min(max_up) as i32;
        let mut dsp = clamp(dspc);
        let mut dpp = clamp(dppc);
        if s.activation_scale > 1 {
            let act = s.activation_scale.min(i32::MAX as u32) as i32;
            if dspc > 0.0 && dsp < act {
                dsp = act;
            }
            if dppc > 0.0 && dpp < act {
                dpp = act;
            }
        }
        let over = dppc / ready >= s.panic_threshold;
        if over {
            self.panic_time = Some(now);
        } else if let Some(pt) = self.panic_time {
            if pt + super::secs(s.stable_window_s) < now {
                self.panic_time = None;
                self.max_panic_pods = 0;
            }
        }
        let mut desired = dsp;
        if self.panic_time.is_some() {
            desired = desired.max(dpp);
            if desired > self.max_panic_pods {
                self.max_panic_pods = desired;
            } else {
                desired = self.max_panic_pods;
            }
        }
        if s.reachable {
            if let Some(w) = &mut self.delay_window {
                w.record(now, i64::from(desired));
                desired = w.current() as i32;
            }
        }
        let ebc = if s.target_burst_capacity == 0.0 {
            0.0
        } else if s.target_burst_capacity > 0.0 {
            (f64::from(ready_pods) * s.total - s.target_burst_capacity - panic).floor()
        } else {
            -1.0
        };
        ScaleResult {
            valid: true,
            desired_pod_count: desired,
            excess_burst_capacity: ebc as i32,
        }
    }
}

/// The PodAutoscaler's `Active` condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaActive {
    /// Active=True.
    Active,
    /// Active=False.
    Inactive,
    /// Active=Unknown (scaling from zero).
    Activating,
}

/// Revision reachability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reachability {
    /// Routed to.
    Reachable,
    /// Not routed to: min scale is ignored and scale-down is immediate.
    Unreachable,
    /// Not known yet.
    Unknown,
}

/// Result of probing the activator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeResult {
    /// The activator answered: it is in the path.
    Activator,
    /// The probe failed: start an async probe and wait.
    Error,
}

/// The PodAutoscaler state [`scale_to_zero_step`] reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScalerInput {
    /// The decider's desired scale (-1 = unknown).
    pub desired: i32,
    /// The deployment's current `spec.replicas` (`None` reads as 1).
    pub deployment_replicas: Option<u32>,
    /// `Active` condition.
    pub active: PaActive,
    /// Time since the `Active` condition last changed.
    pub condition_age: SimDuration,
    /// How long the SKS has been in Proxy mode (`None` = Serve mode).
    pub proxy_for: Option<SimDuration>,
    /// Reachability.
    pub reachability: Reachability,
    /// The activator probe's result (used only when inactive and TBC != -1).
    pub probe: ProbeResult,
    /// Whether the scale target has been initialized (reached initial
    /// scale once).
    pub scale_target_initialized: bool,
    /// Per-revision `initial-scale` annotation.
    pub initial_scale_annotation: Option<u32>,
    /// Per-revision `window` annotation, seconds.
    pub window_annotation_s: Option<u64>,
    /// Per-revision `scale-to-zero-pod-retention-period`, seconds.
    pub retention_annotation_s: Option<u64>,
    /// Per-revision `target-burst-capacity`.
    pub tbc_annotation: Option<f64>,
}

/// What [`scale_to_zero_step`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScalerOutcome {
    /// The scale returned (-1 = unknown, 0 while only marking inactive).
    pub scale: i32,
    /// Whether the scale is to be applied.
    pub apply: bool,
    /// Whether applying it patches the deployment (differs from current).
    pub patches: bool,
    /// Re-check the PodAutoscaler after this long.
    pub requeue_after: Option<SimDuration>,
    /// An asynchronous activator probe was started.
    pub async_probe: bool,
}

/// `scaler.scale`: bounds, initial scale and the scale-to-zero state
/// machine (`handleScaleToZero`).
pub fn scale_to_zero_step(cfg: &KpaConfig, inp: &ScalerInput) -> ScalerOutcome {
    let mut out = ScalerOutcome {
        scale: inp.desired,
        apply: false,
        patches: false,
        requeue_after: None,
        async_probe: false,
    };
    if inp.desired < 0 && inp.active != PaActive::Activating {
        return out;
    }
    let unreachable = inp.reachability == Reachability::Unreachable;
    let mut min = if unreachable { 0 } else { cfg.min_scale as i64 };
    let max = cfg.max_scale as i64;
    let initial = match inp.initial_scale_annotation {
        Some(0) if !cfg.allow_zero_initial_scale => cfg.initial_scale,
        Some(v) => v,
        None => cfg.initial_scale,
    } as i64;
    if initial > 1 && !inp.scale_target_initialized && inp.reachability == Reachability::Reachable {
        min = min.max(initial);
    }
    let mut desired = i64::from(inp.desired);
    if desired < min {
        desired = min;
    } else if max != 0 && desired > max {
        desired = max;
    }
    let apply;
    if desired != 0 {
        apply = true;
    } else if !cfg.enable_scale_to_zero {
        desired = 1;
        apply = true;
    } else {
        let sw = super::secs(inp.window_annotation_s.unwrap_or(cfg.stable_window_s));
        let grace = super::secs(cfg.scale_to_zero_grace_period_s);
        let age = inp.condition_age;
        match inp.active {
            PaActive::Activating => {
                let timeout =
                    super::secs(cfg.progress_deadline_s + cfg.activation_timeout_buffer_s);
                if age >= timeout {
                    apply = true;
                } else {
                    out.requeue_after = Some(timeout);
                    desired = -1;
                    apply = false;
                }
            }
            PaActive::Active => {
                if age >= sw {
                    if inp.proxy_for.is_some() {
                        out.requeue_after = Some(SimDuration::from_secs(1));
                    }
                    apply = false;
                } else {
                    out.requeue_after = Some(SimDuration(sw.as_nanos() - age.as_nanos()));
                    desired = 1;
                    apply = true;
                }
            }
            PaActive::Inactive => {
                let tbc = inp.tbc_annotation.unwrap_or(cfg.target_burst_capacity);
                let in_path = tbc == -1.0 || inp.probe == ProbeResult::Activator;
                if in_path {
                    let retention = if unreachable {
                        SimDuration::ZERO
                    } else {
                        super::secs(
                            inp.retention_annotation_s
                                .unwrap_or(cfg.scale_to_zero_pod_retention_period_s),
                        )
                    };
                    if age >= grace.max(retention) {
                        apply = true;
                    } else if retention > SimDuration::ZERO && age < retention {
                        out.requeue_after =
                            Some(SimDuration(retention.as_nanos() - age.as_nanos()));
                        apply = false;
                    } else {
                        let pf = inp.proxy_for.unwrap_or(SimDuration::ZERO);
                        if pf >= grace {
                            apply = true;
                        } else {
                            out.requeue_after = Some(SimDuration(grace.as_nanos() - pf.as_nanos()));
                            apply = false;
                        }
                    }
                } else {
                    out.async_probe = true;
                    apply = false;
                }
            }
        }
    }
    out.scale = desired as i32;
    out.apply = apply;
    out.patches = apply && i64::from(inp.deployment_replicas.unwrap_or(1)) != desired;
    out
}

fn d_target() -> f64 {
    100.0
}
fn d_util() -> f64 {
    70.0
}
fn d_tbc() -> f64 {
    211.0
}
fn d_stable() -> u64 {
    60
}
fn d_panic_pct() -> f64 {
    10.0
}
fn d_panic_thr() -> f64 {
    200.0
}
fn d_up() -> f64 {
    1000.0
}
fn d_down() -> f64 {
    2.0
}
fn d_grace() -> u64 {
    30
}
fn d_true() -> bool {
    true
}

/// `[scaling] kind = "kpa"`: `config-autoscaler` keys and revision
/// annotations under platform names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KpaAutoscalerConfig {
    /// `min-scale`, default 0.
    #[serde(default)]
    pub min_replicas: u32,
    /// `max-scale`, default 0 = unbounded.
    #[serde(default)]
    pub max_replicas: u32,
    /// Concurrency per replica before utilization
    /// (`container-concurrency-target-default` / the `target`
    /// annotation), default 100 (>= 0.01).
    #[serde(default = "d_target")]
    pub target: f64,
    /// `containerConcurrency`, default 0 (unlimited); caps `target`.
    #[serde(default)]
    pub container_concurrency: u32,
    /// `target-utilization-percentage`, default 70, in (0, 100].
    #[serde(default = "d_util")]
    pub target_utilization_percentage: f64,
    /// `target-burst-capacity`, default 211 (-1 = activator always in the
    /// path); decides when the activator proxies, which the grace period
    /// counts from.
    #[serde(default = "d_tbc")]
    pub target_burst_capacity: f64,
    /// `stable-window`, default 60 s (6..=3600).
    #[serde(default = "d_stable")]
    pub stable_window_s: u64,
    /// `panic-window-percentage`, default 10 (% of the stable window).
    #[serde(default = "d_panic_pct")]
    pub panic_window_percentage: f64,
    /// `panic-threshold-percentage`, default 200 (110..=1000).
    #[serde(default = "d_panic_thr")]
    pub panic_threshold_percentage: f64,
    /// `max-scale-up-rate`, default 1000 (> 1).
    #[serde(default = "d_up")]
    pub max_scale_up_rate: f64,
    /// `max-scale-down-rate`, default 2 (> 1).
    #[serde(default = "d_down")]
    pub max_scale_down_rate: f64,
    /// `scale-to-zero-grace-period`, default 30 s (>= 6).
    #[serde(default = "d_grace")]
    pub scale_to_zero_grace_period_s: u64,
    /// `scale-to-zero-pod-retention-period`, default 0 s.
    #[serde(default)]
    pub scale_to_zero_pod_retention_period_s: u64,
    /// `scale-down-delay`, default 0 s (0..=3600).
    #[serde(default)]
    pub scale_down_delay_s: u64,
    /// `enable-scale-to-zero`, default true.
    #[serde(default = "d_true")]
    pub enable_scale_to_zero: bool,
    /// `activation-scale` annotation, default 0 (off; else >= 2).
    #[serde(default)]
    pub activation_scale: u32,
}

impl KpaAutoscalerConfig {
    /// The upstream config these knobs make.
    pub fn core(&self) -> KpaConfig {
        KpaConfig {
            min_scale: self.min_replicas,
            max_scale: self.max_replicas,
            container_concurrency_target_default: self.target,
            container_concurrency: self.container_concurrency,
            target_utilization_percentage: self.target_utilization_percentage,
            target_burst_capacity: self.target_burst_capacity,
            stable_window_s: self.stable_window_s,
            panic_window_percentage: self.panic_window_percentage,
            panic_threshold_percentage: self.panic_threshold_percentage,
            max_scale_up_rate: self.max_scale_up_rate,
            max_scale_down_rate: self.max_scale_down_rate,
            scale_to_zero_grace_period_s: self.scale_to_zero_grace_period_s,
            scale_to_zero_pod_retention_period_s: self.scale_to_zero_pod_retention_period_s,
            scale_down_delay_s: self.scale_down_delay_s,
            enable_scale_to_zero: self.enable_scale_to_zero,
            activation_scale: self.activation_scale,
            ..KpaConfig::default()
        }
    }

    /// The autoscaler (upstream validation).
    pub fn build(&self) -> Result<Box<dyn fleetsim_core::Autoscaler>, AutoscalerError> {
        Ok(Box::new(KpaAutoscaler::new(self.core())?))
    }

    /// The queue-proxy / activator stats: scraped every 1 s (reference
    /// §2.2), no lag; kept for the stable window.
    pub fn default_metrics(&self) -> fleetsim_core::autoscale::MetricsSpec {
        fleetsim_core::autoscale::MetricsSpec {
            scrape_interval: SimDuration::from_secs(1),
            lag: SimDuration::ZERO,
            lookback: super::secs(self.stable_window_s.max(60)),
        }
    }
}

/// Engine adapter. Every decider tick (`tick_interval_s`, 2 s):
///
/// 1. Record the revision-wide concurrency ([`fleetsim_core::autoscale::Scrape::concurrency`]:
///    running and waiting at replicas plus waiting at the gateway, i.e.
///    the activator) into [`KpaMetrics`], one value per whole second, for
///    every visible scrape not yet recorded. Upstream records every 1 s;
///    with the default 1 s scrapes that is each scrape. With coarser
///    scrapes, the seconds between two scrapes hold the older scrape's
///    value (the collector would have read the same stale value), so
///    the 1 s buckets are never diluted by empty ones; seconds after the
///    newest visible scrape stay empty, as upstream's window average
///    handles a recent gap.
/// 2. [`KpaDecider::scale`] with the ready pods of the newest scrape (the
///    decider is created at the first tick; with more than one ready pod
///    it starts in panic, as upstream).
/// 3. [`scale_to_zero_step`] with the PodAutoscaler state the adapter
///    keeps: the Active condition (`computeActiveCondition`: want 0 →
///    Inactive; ready below `max(min, 1)` → Activating; else Active) and
///    since when, and how long the activator has proxied (SKS Proxy mode
///    while the decider wants 0 or the excess burst capacity is negative).
///    The activator is always reachable (probe succeeds), the revision is
///    reachable, and the engine's initial count stands for initial scale.
///    When the step does not apply a scale the count is held.
///
/// [`Autoscaler::on_activation`](fleetsim_core::Autoscaler::on_activation)
/// is the activator's poke: the PodAutoscaler becomes Activating and
/// `max(1, activation_scale)` is applied at once; while Activating a
/// decider answer of 0 is not applied (until the activation timeout).
#[derive(Clone, Debug)]
pub struct KpaAutoscaler {
    cfg: KpaConfig,
    metrics: KpaMetrics,
    decider: Option<KpaDecider>,
    /// Last second recorded and its value.
    last: Option<(u64, f64)>,
    state: Option<(PaActive, SimTime)>,
    proxy_since: Option<SimTime>,
}

impl KpaAutoscaler {
    /// Validates the config.
    pub fn new(cfg: KpaConfig) -> Result<Self, AutoscalerError> {
        cfg.validate()?;
        cfg.decider_spec(true).validate()?;
        Ok(KpaAutoscaler {
            metrics: KpaMetrics::new(&cfg)?,
            cfg,
            decider: None,
            last: None,
            state: None,
            proxy_since: None,
        })
    }

    fn record(&mut self, obs: &fleetsim_core::autoscale::Observation<'_>) {
        const S: u64 = 1_000_000_000;
        let window = self.cfg.stable_window_s;
        for scrape in obs.window(super::secs(window)) {
            let sec = scrape.at.as_nanos() / S;
            if self.last.is_some_and(|(ls, _)| sec <= ls) {
                continue;
            }
            if let Some((ls, lv)) = self.last {
                for k in (ls + 1).max(sec.saturating_sub(window))..sec {
                    self.metrics.record(SimTime(k * S), lv);
                }
            }
            let v = f64::from(scrape.concurrency());
            self.metrics.record(scrape.at, v);
            self.last = Some((sec, v));
        }
    }

    fn set_state(&mut self, active: PaActive, now: SimTime) {
        if self.state.is_none_or(|(a, _)| a != active) {
            self.state = Some((active, now));
        }
    }
}

impl fleetsim_core::Autoscaler for KpaAutoscaler {
    fn sync_period(&self) -> SimDuration {
        super::secs(self.cfg.tick_interval_s)
    }

    fn replica_bounds(&self) -> (u32, u32) {
        let max = if self.cfg.max_scale == 0 {
            u32::MAX
        } else {
            self.cfg.max_scale
        };
        (self.cfg.min_scale, max)
    }

    fn desired_replicas(&mut self, obs: &fleetsim_core::autoscale::Observation<'_>) -> u32 {
        let now = obs.now;
        if self.state.is_none() {
            let a = if obs.desired == 0 {
                PaActive::Inactive
            } else {
                PaActive::Active
            };
            self.set_state(a, now);
        }
        self.record(obs);
        let ready = super::adapter::ready_pods(obs);
        let spec = self.cfg.decider_spec(true);
        let decider = self.decider.get_or_insert_with(|| {
            KpaDecider::new(spec, ready, now).expect("spec validated in new")
        });
        let res = decider.scale(now, ready, self.metrics.stable_and_panic(now));
        let desired = if res.valid { res.desired_pod_count } else { -1 };
        let proxy = if res.valid {
            desired == 0 || res.excess_burst_capacity < 0
        } else {
            self.proxy_since.is_some()
        };
        match (proxy, self.proxy_since) {
            (true, None) => self.proxy_since = Some(now),
            (false, Some(_)) => self.proxy_since = None,
            _ => {}
        }
        let (active, since) = self.state.expect("set above");
        let input = ScalerInput {
            desired,
            deployment_replicas: Some(obs.desired),
            active,
            condition_age: now.saturating_since(since),
            proxy_for: self.proxy_since.map(|t| now.saturating_since(t)),
            reachability: Reachability::Reachable,
            probe: ProbeResult::Activator,
            scale_target_initialized: true,
            initial_scale_annotation: None,
            window_annotation_s: None,
            retention_annotation_s: None,
            tbc_annotation: None,
        };
        let out = scale_to_zero_step(&self.cfg, &input);
        let want = out.scale;
        let min_ready = self.cfg.min_scale.max(1);
        if want == 0 {
            self.set_state(PaActive::Inactive, now);
        } else if want > 0 || active != PaActive::Inactive {
            let a = if ready < min_ready {
                PaActive::Activating
            } else {
                PaActive::Active
            };
            self.set_state(a, now);
        }
        if out.apply {
            want.max(0) as u32
        } else {
            obs.desired
        }
    }

    fn on_activation(&mut self, now: SimTime) -> Option<u32> {
        self.set_state(PaActive::Activating, now);
        Some(self.cfg.activation_scale.max(1))
    }
}

/// `[scaling] kind = "kpa"`: this file's entry in the autoscaler
/// registry (`autoscalers/mod.rs`).
#[derive(Debug)]
pub struct KpaKind;

impl super::AutoscalerKind for KpaKind {
    const NAME: &'static str = "kpa";
    type Config = KpaAutoscalerConfig;

    fn validate(config: &KpaAutoscalerConfig) -> Result<(), AutoscalerError> {
        let core = config.core();
        core.validate()?;
        core.decider_spec(true).validate()
    }

    fn build(
        config: &KpaAutoscalerConfig,
    ) -> Result<Box<dyn fleetsim_core::Autoscaler>, AutoscalerError> {
        config.build()
    }

    fn default_metrics(config: &KpaAutoscalerConfig) -> fleetsim_core::autoscale::MetricsSpec {
        config.default_metrics()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: f64) -> SimTime {
        SimTime((1_000_000.0 + s * 1e9) as u64 + 100_000 * 1_000_000_000)
    }

    fn spec() -> DeciderSpec {
        KpaConfig::default().decider_spec(true)
    }

    #[test]
    fn default_target_is_70_and_panic_window_6s() {
        let c = KpaConfig::default();
        assert_eq!(c.resolve_target(), (100.0, 70.0));
        assert_eq!(c.panic_window_s(), 6);
        let cc = KpaConfig {
            container_concurrency: 10,
            target: Some(50.0),
            ..KpaConfig::default()
        };
        assert_eq!(cc.resolve_target(), (10.0, 7.0));
        let rps = KpaConfig {
            metric: ScalingMetric::Rps,
            ..KpaConfig::default()
        };
        assert_eq!(rps.resolve_target(), (200.0, 140.0));
    }

    #[test]
    fn decider_table() {
        // (ready, stable, panic) -> desired, on a fresh default decider
        // (target 70, up rate 1000, down rate 2).
        let check = |ready: u32, stable: f64, panic: f64, want: i32| {
            let mut d = KpaDecider::new(spec(), 1, t(0.0)).expect("valid");
            let r = d.scale(t(0.0), ready, Some((stable, panic)));
            assert!(r.valid);
            assert_eq!(
                r.desired_pod_count, want,
                "ready={ready} stable={stable} panic={panic}"
            );
        };
        check(1, 0.0, 0.0, 0);
        check(1, 70.0, 70.0, 1);
        check(1, 71.0, 71.0, 2); // ceil(71/70) = 2, panic 2/1 >= 2
        check(4, 70.0, 70.0, 2); // max scale-down: floor(4/2) = 2
        check(10, 700.0, 140.0, 10);
        assert!(
            !KpaDecider::new(spec(), 1, t(0.0))
                .expect("valid")
                .scale(t(0.0), 1, None)
                .valid
        );
    }

    #[test]
    fn panic_mode_holds_then_expires() {
        let mut d = KpaDecider::new(spec(), 1, t(0.0)).expect("valid");
        // Burst: 7 pods' worth in the panic window with 1 ready.
        assert_eq!(d.scale(t(0.0), 1, Some((70.0, 490.0))).desired_pod_count, 7);
        assert!(d.in_panic());
        // Load gone 30 s later: still in panic, hold 7.
        assert_eq!(d.scale(t(30.0), 7, Some((70.0, 0.0))).desired_pod_count, 7);
        // More than a stable window after the last over-threshold tick.
        let r = d.scale(t(61.0), 7, Some((70.0, 0.0)));
        assert!(!d.in_panic());
        assert_eq!(r.desired_pod_count, 3); // floor(7/2) scale-down limit
    }

    #[test]
    fn starts_in_panic_with_many_ready_pods() {
        let mut d = KpaDecider::new(spec(), 5, t(0.0)).expect("valid");
        assert!(d.in_panic());
        assert_eq!(d.scale(t(2.0), 5, Some((0.0, 0.0))).desired_pod_count, 5);
    }

    #[test]
    fn excess_burst_capacity_table() {
        let check = |tbc: f64, ready: u32, panic: f64, want: i32| {
            let s = DeciderSpec {
                target_burst_capacity: tbc,
                ..spec()
            };
            let mut d = KpaDecider::new(s, 1, t(0.0)).expect("valid");
            assert_eq!(
                d.scale(t(0.0), ready, Some((panic, panic)))
                    .excess_burst_capacity,
                want
            );
        };
        check(211.0, 3, 50.0, 39); // 300 - 211 - 50
        check(211.0, 1, 0.0, -111);
        check(0.0, 3, 50.0, 0);
        check(-1.0, 3, 50.0, -1);
    }

    #[test]
    fn scale_down_delay_keeps_the_max() {
        let s = DeciderSpec {
            scale_down_delay_s: 10,
            ..spec()
        };
        let mut d = KpaDecider::new(s, 1, t(0.0)).expect("valid");
        d.set_panic_state(None, 0);
        assert_eq!(
            d.scale(t(0.0), 5, Some((350.0, 350.0))).desired_pod_count,
            5
        );
        assert_eq!(
            d.scale(t(8.0), 5, Some((140.0, 140.0))).desired_pod_count,
            5
        );
        assert_eq!(
            d.scale(t(10.0), 5, Some((140.0, 140.0))).desired_pod_count,
            2
        );
    }

    #[test]
    fn buckets_average_and_gap() {
        let mut b =
            TimedBuckets::new(SimDuration::from_secs(3), SimDuration::from_secs(1)).expect("ok");
        let at = |s: u64| SimTime(s * 1_000_000_000);
        b.record(at(10), 3.0);
        b.record(at(11), 6.0);
        assert!((b.window_average(at(11)) - 4.5).abs() < 1e-9);
        b.record(at(12), 9.0);
        b.record(at(13), 12.0); // bucket of 10 overwritten: 6, 9, 12
        assert!((b.window_average(at(13)) - 9.0).abs() < 1e-9);
        assert!((b.window_average(at(14)) - 10.5).abs() < 1e-9); // (9+12)/2
        assert!(b.window_average(at(16)).abs() < 1e-9);
        assert!(b.is_empty(at(17)));
    }

    #[test]
    fn scale_to_zero_table() {
        let cfg = KpaConfig::default(); // window 60 s, grace 30 s
        let base = ScalerInput {
            desired: 0,
            deployment_replicas: Some(1),
            active: PaActive::Active,
            condition_age: SimDuration::from_secs(10),
            proxy_for: None,
            reachability: Reachability::Reachable,
            probe: ProbeResult::Activator,
            scale_target_initialized: true,
            initial_scale_annotation: None,
            window_annotation_s: None,
            retention_annotation_s: None,
            tbc_annotation: None,
        };
        let check = |inp: ScalerInput, want: (i32, bool)| {
            let o = scale_to_zero_step(&cfg, &inp);
            assert_eq!((o.scale, o.apply), want, "{inp:?}");
        };
        let secs = SimDuration::from_secs;
        check(base, (1, true)); // active < window: hold 1
        check(
            ScalerInput {
                condition_age: secs(60),
                ..base
            },
            (0, false),
        ); // mark inactive
        check(
            ScalerInput {
                active: PaActive::Inactive,
                condition_age: secs(30),
                ..base
            },
            (0, true),
        );
        check(
            ScalerInput {
                active: PaActive::Inactive,
                ..base
            },
            (0, false),
        ); // wait grace
        check(
            ScalerInput {
                active: PaActive::Inactive,
                proxy_for: Some(secs(30)),
                ..base
            },
            (0, true),
        );
        check(
            ScalerInput {
                active: PaActive::Inactive,
                probe: ProbeResult::Error,
                condition_age: secs(99),
                ..base
            },
            (0, false),
        );
        check(
            ScalerInput {
                active: PaActive::Activating,
                ..base
            },
            (-1, false),
        );
        check(
            ScalerInput {
                active: PaActive::Activating,
                condition_age: secs(630),
                ..base
            },
            (0, true),
        );
        check(ScalerInput { desired: 3, ..base }, (3, true));
        check(
            ScalerInput {
                desired: -1,
                ..base
            },
            (-1, false),
        );
        let no_s2z = KpaConfig {
            enable_scale_to_zero: false,
            ..KpaConfig::default()
        };
        assert_eq!(scale_to_zero_step(&no_s2z, &base).scale, 1);
        let init = ScalerInput {
            desired: 1,
            scale_target_initialized: false,
            initial_scale_annotation: Some(4),
            ..base
        };
        check(init, (4, true));
    }

    #[test]
    fn config_validation_rejects_bad_knobs() {
        let bad = |c: KpaConfig, needle: &str| {
            let e = c.validate().expect_err("invalid").to_string();
            assert!(e.contains(needle), "{e}");
        };
        let d = KpaConfig::default;
        bad(
            KpaConfig {
                panic_threshold_percentage: 100.0,
                ..d()
            },
            "panic-threshold-percentage",
        );
        bad(
            KpaConfig {
                max_scale_up_rate: 1.0,
                ..d()
            },
            "max-scale-up-rate",
        );
        bad(
            KpaConfig {
                max_scale_down_rate: 0.5,
                ..d()
            },
            "max-scale-down-rate",
        );
        bad(
            KpaConfig {
                stable_window_s: 5,
                ..d()
            },
            "stable-window",
        );
        bad(
            KpaConfig {
                target_burst_capacity: -2.0,
                ..d()
            },
            "non-negative or -1",
        );
        bad(
            KpaConfig {
                scale_to_zero_grace_period_s: 0,
                ..d()
            },
            "grace",
        );
        bad(
            KpaConfig {
                min_scale: 5,
                max_scale: 2,
                ..d()
            },
            "min_replicas > max_replicas",
        );
        bad(
            KpaConfig {
                target_utilization_percentage: 0.0,
                ..d()
            },
            "(0, 100]",
        );
        bad(
            KpaConfig {
                panic_window_percentage: 0.5,
                ..d()
            },
            "panic-window-percentage",
        );
        bad(
            KpaConfig {
                max_scale_up_rate: f64::NAN,
                ..d()
            },
            "finite",
        );
        assert!(d().validate().is_ok());
        let s = DeciderSpec {
            panic_threshold: 1.0,
            ..spec()
        };
        let e = s.validate().expect_err("invalid").to_string();
        assert!(e.contains("panic threshold must be > 1"), "{e}");
    }
}

#[cfg(test)]
mod adapter_tests {
    use super::super::adapter::testing::*;
    use super::*;
    use fleetsim_core::autoscale::MetricsStore;
    use fleetsim_core::Autoscaler;
    use std::collections::BTreeMap;

    fn base() -> KpaAutoscalerConfig {
        KpaAutoscalerConfig {
            target: 10.0,
            ..serde_json::from_str("{}").unwrap()
        }
    }

    /// A scrape every second of `0..=end_s` with `load(t)` in flight over
    /// the desired replicas (at the gateway when there are none), a
    /// decision every 2 s; the desired count after each decision.
    fn run(
        a: &mut dyn Autoscaler,
        store: &mut MetricsStore,
        start: u32,
        from_s: u32,
        end_s: u32,
        load: impl Fn(u32) -> u32,
    ) -> BTreeMap<u32, u32> {
        let mut d = start;
        let mut out = BTreeMap::new();
        for t in from_s..=end_s {
            let (pods, gw) = if d == 0 {
                (vec![], load(t))
            } else {
                (fleet(d, load(t), 1.0), 0)
            };
            record(store, [scrape(f64::from(t), pods, gw)]);
            if t % 2 == 0 && t > 0 {
                d = a.desired_replicas(&store.observe(at(f64::from(t)), SimDuration::ZERO, d));
                out.insert(t, d);
            }
        }
        out
    }

    #[test]
    fn steady_load_and_defaults() {
        let c: KpaAutoscalerConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(
            (c.target, c.target_utilization_percentage, c.stable_window_s),
            (100.0, 70.0, 60)
        );
        let mut a = base().build().unwrap();
        assert_eq!(a.sync_period(), SimDuration::from_secs(2));
        assert_eq!(a.replica_bounds(), (0, u32::MAX));
        // Target 10 at 70 %: 7 per replica; 21 in flight → 3.
        let out = run(a.as_mut(), &mut MetricsStore::default(), 3, 0, 60, |_| 21);
        assert!(out.values().all(|&d| d == 3), "{out:?}");
    }

    #[test]
    fn panic_mode_scales_on_the_panic_window_and_holds() {
        let mut a = base().build().unwrap();
        // 7 in flight on 1 replica; 28 for 60..70 s; 7 again.
        let out = run(a.as_mut(), &mut MetricsStore::default(), 1, 0, 124, |t| {
            if (60..70).contains(&t) {
                28
            } else {
                7
            }
        });
        assert_eq!(out[&58], 1);
        // t = 60: panic window (6 s) avg 10.5 → 2 = 2 × 1 ready: panic.
        assert_eq!(out[&60], 2);
        // t = 64: the panic window says 4 while the stable window says 2.
        assert_eq!(out[&64], 4);
        // Load is back to 7 from 70 s, but panic never scales down and
        // lasts a stable window after the last over-threshold tick (60 s).
        assert_eq!(out[&120], 4);
        assert_eq!(
            out[&122], 2,
            "out of panic: stable 2, max scale-down rate 2"
        );
    }

    #[test]
    fn scale_to_zero_after_the_stable_window_then_activation() {
        let mut a = base().build().unwrap();
        let mut store = MetricsStore::default();
        let out = run(
            a.as_mut(),
            &mut store,
            1,
            0,
            80,
            |t| if t < 10 { 7 } else { 0 },
        );
        // The stable window empties at 70 s: Active for a window → marked
        // Inactive (held at 1); the activator has proxied all along (211
        // burst capacity) so the grace period is over: 0 at 72 s.
        assert_eq!(out[&68], 1);
        assert_eq!(out[&70], 1);
        assert_eq!(out[&72], 0);
        assert_eq!(out[&80], 0);
        // A request arrives: activation at once.
        assert_eq!(a.on_activation(at(81.0)), Some(1));
        // The metrics do not show it yet (decider wants 0): Activating
        // holds the 1.
        let out = run(a.as_mut(), &mut store, 1, 81, 90, |_| 0);
        assert!(out.values().all(|&d| d == 1), "{out:?}");
    }

    #[test]
    fn activation_scale_and_scale_down_delay() {
        let mut a = KpaAutoscalerConfig {
            activation_scale: 3,
            ..base()
        }
        .build()
        .unwrap();
        assert_eq!(a.on_activation(at(0.0)), Some(3));
        // 70 in flight on 10 → 10; drop to 7 at 60 s: the 10 is held by
        // a 20 s scale-down delay, then halves (max scale-down rate 2).
        let mut b = KpaAutoscalerConfig {
            scale_down_delay_s: 20,
            max_scale_down_rate: 1.5,
            ..base()
        }
        .build()
        .unwrap();
        let mut store = MetricsStore::default();
        let out = run(b.as_mut(), &mut store, 10, 0, 200, |t| {
            if t < 60 {
                70
            } else {
                7
            }
        });
        assert_eq!(out[&60], 10);
        let first_lower = out.iter().find(|&(_, &d)| d < 10).map(|(&t, _)| t).unwrap();
        // Panic (started with 10 ready) ends at 2 + 60 s; then the delay
        // window (20 s of 2 s ticks) still holds the 10.
        assert!(first_lower >= 84, "{out:?}");
    }

    #[test]
    fn coarse_scrapes_are_held_per_second() {
        // 15 s scrapes of 21 in flight: the 1 s buckets between them hold
        // the older value, so the average stays 21 → 3 (not diluted).
        let mut a = base().build().unwrap();
        let mut store = MetricsStore::default();
        let mut d = 3;
        for t in (0..=120).step_by(15) {
            record(&mut store, [scrape(f64::from(t), fleet(3, 21, 1.0), 0)]);
            d = a.desired_replicas(&store.observe(at(f64::from(t) + 1.0), SimDuration::ZERO, d));
        }
        assert_eq!(d, 3);
    }

    #[test]
    fn bad_knobs_name_the_rule() {
        // (config, knob, fragment)
        let cases = [
            (
                KpaAutoscalerConfig {
                    stable_window_s: 5,
                    ..base()
                },
                "stable_window_s",
                "stable-window must be in [6s; 1h0m0s]",
            ),
            (
                KpaAutoscalerConfig {
                    panic_threshold_percentage: 100.0,
                    ..base()
                },
                "panic_threshold_percentage",
                "[110, 1000]",
            ),
            (
                KpaAutoscalerConfig {
                    max_scale_down_rate: 1.0,
                    ..base()
                },
                "max_scale_down_rate",
                "greater than 1.0",
            ),
            (
                KpaAutoscalerConfig {
                    scale_to_zero_grace_period_s: 5,
                    ..base()
                },
                "scale_to_zero_grace_period_s",
                "at least 6s",
            ),
            (
                KpaAutoscalerConfig {
                    activation_scale: 1,
                    ..base()
                },
                "activation_scale",
                "at least 2",
            ),
            (
                KpaAutoscalerConfig {
                    min_replicas: 5,
                    max_replicas: 2,
                    ..base()
                },
                "min_scale",
                "min-scale must not exceed max-scale",
            ),
            (
                KpaAutoscalerConfig {
                    target: 0.0,
                    ..base()
                },
                "container_concurrency_target_default",
                "at least 0.01",
            ),
        ];
        for (c, knob, frag) in cases {
            let e = c.build().expect_err(knob).to_string();
            assert!(e.contains(knob) && e.contains(frag), "{knob}: {e}");
        }
    }
}
