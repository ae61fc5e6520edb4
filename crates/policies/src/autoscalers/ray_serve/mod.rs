//! Ray Serve's default request-based autoscaling policy
//! (`python/ray/serve/autoscaling_policy.py`): desired replicas from
//! `total_num_requests / target_ongoing_requests`, scaling factors (with
//! the never-stuck-on-downscale rule), bounds, and upscale / downscale
//! delays counted in control-loop ticks (0.1 s), with the separate 1 → 0
//! step and its own delay. Both generations of upstream code are covered:
//! [`calculate_desired_num_replicas`] (factor + clamp in one function) and
//! [`RayServePolicy::decide`] (`_apply_autoscaling_config` around the
//! default policy, which is what deployments run).
//!
//! Adapter mapping: call [`RayServePolicy::decide`] every
//! `control_loop_interval_s` (0.1 s) with the running replica count, the
//! last decision (`target_num_replicas`; start with the initial count) and
//! `total_num_requests` = requests running at replicas plus queued at the
//! gateway, averaged over `look_back_period_s`.

use super::{invalid, no_decision, AutoscalerError};
use serde::{Deserialize, Serialize};

const NAME: &str = "ray_serve";

/// `AutoscalingConfig` with Ray's defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RayServeConfig {
    /// `min_replicas`: 1 (>= 0).
    pub min_replicas: u32,
    /// `max_replicas`: 1 (>= 1; `AutoscalingConfig.default()` uses 100).
    pub max_replicas: u32,
    /// `initial_replicas`: None (in `[min, max]` when set).
    pub initial_replicas: Option<u32>,
    /// `target_ongoing_requests`: 2 per replica (> 0).
    pub target_ongoing_requests: f64,
    /// `upscale_delay_s`: 30 s (>= 0).
    pub upscale_delay_s: f64,
    /// `downscale_delay_s`: 600 s (>= 0).
    pub downscale_delay_s: f64,
    /// `downscale_to_zero_delay_s`: None = `downscale_delay_s`; used for
    /// 1 → 0 only.
    pub downscale_to_zero_delay_s: Option<f64>,
    /// `upscaling_factor`: None = `upscale_smoothing_factor`.
    pub upscaling_factor: Option<f64>,
    /// `downscaling_factor`: None = `downscale_smoothing_factor`.
    pub downscaling_factor: Option<f64>,
    /// Deprecated `upscale_smoothing_factor`: None = `smoothing_factor`.
    pub upscale_smoothing_factor: Option<f64>,
    /// Deprecated `downscale_smoothing_factor`: None = `smoothing_factor`.
    pub downscale_smoothing_factor: Option<f64>,
    /// Deprecated `smoothing_factor`: 1.0.
    pub smoothing_factor: f64,
    /// `look_back_period_s`: 30 s averaging window (> 0).
    pub look_back_period_s: f64,
    /// `RAY_SERVE_CONTROL_LOOP_INTERVAL_S`: 0.1 s per decision tick.
    pub control_loop_interval_s: f64,
    /// How the delays are measured: `wall_clock` (the newest upstream:
    /// time since the first decision of a run in one direction) or
    /// `ticks` (Ray releases before it: consecutive decisions against
    /// `int(delay_s / control_loop_interval_s)`).
    pub delay_clock: DelayClock,
}

/// How `_apply_delay_logic` measures a delay.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DelayClock {
    /// `now − first decision + 1e-6 >= delay_s` (`__decision_timestamp`).
    #[default]
    WallClock,
    /// `counter > int(delay_s / interval)` (`__decision_counters` only).
    Ticks,
}

impl Default for RayServeConfig {
    fn default() -> Self {
        RayServeConfig {
            min_replicas: 1,
            max_replicas: 1,
            initial_replicas: None,
            target_ongoing_requests: 2.0,
            upscale_delay_s: 30.0,
            downscale_delay_s: 600.0,
            downscale_to_zero_delay_s: None,
            upscaling_factor: None,
            downscaling_factor: None,
            upscale_smoothing_factor: None,
            downscale_smoothing_factor: None,
            smoothing_factor: 1.0,
            look_back_period_s: 30.0,
            control_loop_interval_s: 0.1,
            delay_clock: DelayClock::WallClock,
        }
    }
}

impl RayServeConfig {
    /// The pydantic validation of `AutoscalingConfig`.
    pub fn validate(&self) -> Result<(), AutoscalerError> {
        if self.max_replicas == 0 {
            return Err(invalid(
                NAME,
                "max_replicas",
                "must be >= 1 (Ray Serve: max_replicas is a PositiveInt)",
            ));
        }
        if self.min_replicas > self.max_replicas {
            return Err(invalid(NAME, "min_replicas", format!(
                "min_replicas > max_replicas ({} > {}) (Ray Serve: max_replicas must be greater than or equal to min_replicas)",
                self.min_replicas, self.max_replicas
            )));
        }
        if let Some(i) = self.initial_replicas {
            if i < self.min_replicas || i > self.max_replicas {
                return Err(invalid(NAME, "initial_replicas", "must be in [min_replicas, max_replicas] (Ray Serve: initial_replicas bounds check)"));
            }
        }
        let positive = [
            (
                "target_ongoing_requests",
                Some(self.target_ongoing_requests),
            ),
            ("upscaling_factor", self.upscaling_factor),
            ("downscaling_factor", self.downscaling_factor),
            ("upscale_smoothing_factor", self.upscale_smoothing_factor),
            (
                "downscale_smoothing_factor",
                self.downscale_smoothing_factor,
            ),
            ("smoothing_factor", Some(self.smoothing_factor)),
            ("look_back_period_s", Some(self.look_back_period_s)),
            (
                "control_loop_interval_s",
                Some(self.control_loop_interval_s),
            ),
        ];
        for (k, v) in positive {
            if let Some(v) = v {
                if !v.is_finite() || v <= 0.0 {
                    return Err(invalid(
                        NAME,
                        k,
                        format!("must be a finite value > 0, got {v} (Ray Serve: PositiveFloat)"),
                    ));
                }
            }
        }
        // The tick is a sync period of the simulated clock: at least 1 ns
        // and no longer than the clock holds.
        let tick = self.control_loop_interval_s;
        if fleetsim_core::SimDuration::try_from_secs_f64(tick)
            .is_none_or(|d| d == fleetsim_core::SimDuration::ZERO)
        {
            return Err(invalid(
                NAME,
                "control_loop_interval_s",
                format!(
                    "must be from 1e-9 s (one tick of the simulated clock) to {:e} s, got {tick:e}",
                    u64::MAX as f64 / 1e9
                ),
            ));
        }
        let non_negative = [
            ("upscale_delay_s", Some(self.upscale_delay_s)),
            ("downscale_delay_s", Some(self.downscale_delay_s)),
            ("downscale_to_zero_delay_s", self.downscale_to_zero_delay_s),
        ];
        for (k, v) in non_negative {
            if let Some(v) = v {
                if !v.is_finite() || v < 0.0 {
                    return Err(invalid(
                        NAME,
                        k,
                        format!(
                            "must be a finite value >= 0, got {v} (Ray Serve: NonNegativeFloat)"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// `get_upscaling_factor()`: `upscaling_factor`, else
    /// `upscale_smoothing_factor`, else `smoothing_factor`.
    pub fn effective_upscaling_factor(&self) -> f64 {
        self.upscaling_factor
            .or(self.upscale_smoothing_factor)
            .unwrap_or(self.smoothing_factor)
    }

    /// `get_downscaling_factor()`: `downscaling_factor`, else
    /// `downscale_smoothing_factor`, else `smoothing_factor`.
    pub fn effective_downscaling_factor(&self) -> f64 {
        self.downscaling_factor
            .or(self.downscale_smoothing_factor)
            .unwrap_or(self.smoothing_factor)
    }
}

/// `_apply_scaling_factors`: move from `current` toward `desired` by the
/// factor of the direction, `ceil`, and never get stuck on a downscale
/// (if `ceil(desired) < current` and the step is 0, take one off).
pub fn apply_scaling_factors(
    desired: f64,
    current: u32,
    upscaling_factor: f64,
    downscaling_factor: f64,
) -> i64 {
    let cur = f64::from(current);
    let f = if desired > cur {
        upscaling_factor
    } else {
        downscaling_factor
    };
    let mut d = (cur + f * (desired - cur)).ceil() as i64;
    if desired.ceil() < cur && d == i64::from(current) {
        d -= 1;
    }
    d
}

/// Mid-generation `_calculate_desired_num_replicas`, in upstream's own
/// arithmetic: `error_ratio = total / (target · n)`, the upscaling factor
/// when `error_ratio >= 1` (else the downscaling one),
/// `ceil(n · (1 + (error_ratio − 1) · factor))`, one off when that is
/// stuck at `n` although `ceil(n · error_ratio) < n`, then
/// `max(min, min(max, d))`.
pub fn calculate_desired_num_replicas(
    cfg: &RayServeConfig,
    total_num_requests: f64,
    num_running_replicas: u32,
) -> Result<u32, AutoscalerError> {
    if num_running_replicas == 0 {
        return Err(no_decision(
            NAME,
            "number of running replicas cannot be zero",
        ));
    }
    let n = f64::from(num_running_replicas);
    let error_ratio = total_num_requests / (cfg.target_ongoing_requests * n);
    let f = if error_ratio >= 1.0 {
        cfg.effective_upscaling_factor()
    } else {
        cfg.effective_downscaling_factor()
    };
    let mut d = (n * (1.0 + (error_ratio - 1.0) * f)).ceil() as i64;
    if (n * error_ratio).ceil() < n && d == i64::from(num_running_replicas) {
        d -= 1;
    }
    Ok(apply_bounds(d, i64::from(cfg.min_replicas), i64::from(cfg.max_replicas)) as u32)
}

/// The decision counter kept in `policy_state["__decision_counters"]`:
/// positive = consecutive upscale decisions, negative = downscale; and,
/// for the wall-clock delays, `policy_state["__decision_timestamp"]`: when
/// the current run of decisions in one direction began.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DelayState {
    /// The counter.
    pub counter: i64,
    /// The first decision of the current run, in seconds (wall clock only).
    pub since_s: Option<f64>,
}

/// The wall-clock tolerance upstream adds to the elapsed time
/// (`_DELAY_ELAPSED_EPS_S`).
pub const DELAY_ELAPSED_EPS_S: f64 = 1e-6;

/// Ticks in a delay: `int(delay_s / interval_s)` (IEEE: `int(0.3/0.1) == 2`).
pub fn delay_ticks(delay_s: f64, interval_s: f64) -> i64 {
    (delay_s / interval_s) as i64
}

/// `_apply_bounds`: `max(min, min(max, n))` with the capacity-adjusted
/// bounds (a `min` above `max` gives `min`, as upstream's nesting does).
pub fn apply_bounds(num_replicas: i64, min_replicas: i64, max_replicas: i64) -> i64 {
    min_replicas.max(max_replicas.min(num_replicas))
}

/// `_apply_delay_logic`: act on the `ticks + 1`-th consecutive decision in
/// one direction; downscale never skips 1 (1 → 0 is its own step with
/// `downscale_to_zero_delay_s`).
pub fn apply_delay_logic(
    cfg: &RayServeConfig,
    state: &mut DelayState,
    desired: u32,
    curr_target: u32,
) -> u32 {
    let dt = cfg.control_loop_interval_s;
    if desired > curr_target {
        state.counter = state.counter.max(0) + 1;
        if state.counter > delay_ticks(cfg.upscale_delay_s, dt) {
            state.counter = 0;
            return desired;
        }
        curr_target
    } else if desired < curr_target {
        state.counter = state.counter.min(0) - 1;
        let (delay, d) = downscale_step(cfg, desired, curr_target);
        if state.counter < -delay_ticks(delay, dt) {
            state.counter = 0;
            return d;
        }
        curr_target
    } else {
        state.counter = 0;
        curr_target
    }
}

/// The delay a scale-down waits for and the count it goes to: from one
/// replica to `desired` (zero allowed) after the scale-to-zero delay,
/// otherwise to at least one after the downscale delay.
fn downscale_step(cfg: &RayServeConfig, desired: u32, curr_target: u32) -> (f64, u32) {
    if curr_target == 1 {
        (
            cfg.downscale_to_zero_delay_s
                .unwrap_or(cfg.downscale_delay_s),
            desired,
        )
    } else {
        (cfg.downscale_delay_s, desired.max(1))
    }
}

/// `_apply_delay_logic` of the newest upstream (`_now` = `now_s`): the
/// same runs and resets as [`apply_delay_logic`], but a run acts once
/// `now_s − first + 1e-6 >= delay_s`, the first being the time of the run's
/// first decision (so it acts on time however far apart the decisions
/// are, and never before the delay).
pub fn apply_delay_logic_at(
    cfg: &RayServeConfig,
    state: &mut DelayState,
    desired: u32,
    curr_target: u32,
    now_s: f64,
) -> u32 {
    let elapsed = |state: &mut DelayState| {
        let since = *state.since_s.get_or_insert(now_s);
        now_s - since + DELAY_ELAPSED_EPS_S
    };
    let act = |state: &mut DelayState, d| {
        state.counter = 0;
        state.since_s = None;
        d
    };
    if desired > curr_target {
        if state.counter < 0 {
            state.counter = 0;
            state.since_s = None;
        }
        state.counter += 1;
        if elapsed(state) >= cfg.upscale_delay_s {
            return act(state, desired);
        }
        curr_target
    } else if desired < curr_target {
        if state.counter > 0 {
            state.counter = 0;
            state.since_s = None;
        }
        state.counter -= 1;
        let (delay, d) = downscale_step(cfg, desired, curr_target);
        if elapsed(state) >= delay {
            return act(state, d);
        }
        curr_target
    } else {
        act(state, curr_target)
    }
}

/// The policy as deployed: `_apply_autoscaling_config` around the default
/// `replica_queue_length_autoscaling_policy`, one call per control-loop
/// tick.
#[derive(Clone, Debug)]
pub struct RayServePolicy {
    config: RayServeConfig,
    state: DelayState,
    /// Decisions made through [`Self::decide`] / [`Self::apply`]: their
    /// clock is `ticks × control_loop_interval_s`.
    ticks: u64,
}

impl RayServePolicy {
    /// A policy with a fresh decision counter.
    pub fn new(config: RayServeConfig) -> Result<Self, AutoscalerError> {
        config.validate()?;
        Ok(RayServePolicy {
            config,
            state: DelayState::default(),
            ticks: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &RayServeConfig {
        &self.config
    }

    /// The decision counter.
    pub fn state(&self) -> DelayState {
        self.state
    }

    /// The time of the next decision on the tick clock (decisions one
    /// control-loop interval apart), counting it.
    fn next_tick_s(&mut self) -> f64 {
        let now_s = self.ticks as f64 * self.config.control_loop_interval_s;
        self.ticks += 1;
        now_s
    }

    /// One tick of the default policy: `raw = total / target_ongoing`, then
    /// [`Self::apply`]; the decisions are one control-loop interval apart.
    pub fn decide(
        &mut self,
        current_num_replicas: u32,
        target_num_replicas: u32,
        total_num_requests: f64,
    ) -> u32 {
        let now_s = self.next_tick_s();
        self.decide_at(
            now_s,
            current_num_replicas,
            target_num_replicas,
            total_num_requests,
        )
    }

    /// [`Self::decide`] at `now_s` seconds (the wall clock of the delays).
    pub fn decide_at(
        &mut self,
        now_s: f64,
        current_num_replicas: u32,
        target_num_replicas: u32,
        total_num_requests: f64,
    ) -> u32 {
        let raw = if current_num_replicas == 0 {
            0.0
        } else {
            let cur = f64::from(current_num_replicas);
            cur * (total_num_requests / (self.config.target_ongoing_requests * cur))
        };
        self.apply_at(
            now_s,
            raw,
            current_num_replicas,
            target_num_replicas,
            total_num_requests,
        )
    }

    /// `_apply_autoscaling_config` around any policy's raw (float) desired
    /// count: cold-start fast path at 0 running replicas (bypasses delays
    /// and bounds), else scaling factors, bounds and delays; the decisions
    /// are one control-loop interval apart.
    pub fn apply(
        &mut self,
        raw_desired: f64,
        current_num_replicas: u32,
        target_num_replicas: u32,
        total_num_requests: f64,
    ) -> u32 {
        let now_s = self.next_tick_s();
        self.apply_at(
            now_s,
            raw_desired,
            current_num_replicas,
            target_num_replicas,
            total_num_requests,
        )
    }

    /// [`Self::apply`] at `now_s` seconds.
    pub fn apply_at(
        &mut self,
        now_s: f64,
        raw_desired: f64,
        current_num_replicas: u32,
        target_num_replicas: u32,
        total_num_requests: f64,
    ) -> u32 {
        let c = &self.config;
        if current_num_replicas == 0 {
            return if total_num_requests > 0.0 {
                let first = (c.effective_upscaling_factor()).ceil() as u32;
                first.max(1).max(target_num_replicas)
            } else {
                target_num_replicas
            };
        }
        let d = apply_scaling_factors(
            raw_desired,
            current_num_replicas,
            c.effective_upscaling_factor(),
            c.effective_downscaling_factor(),
        );
        let d = d.clamp(i64::from(c.min_replicas), i64::from(c.max_replicas)) as u32;
        match c.delay_clock {
            DelayClock::WallClock => {
                apply_delay_logic_at(c, &mut self.state, d, target_num_replicas, now_s)
            }
            DelayClock::Ticks => apply_delay_logic(c, &mut self.state, d, target_num_replicas),
        }
    }
}

/// Engine adapter: [`RayServePolicy::decide_at`] every control-loop tick
/// (`control_loop_interval_s`, 0.1 s) at the simulated time (the delays'
/// wall clock; with `delay_clock = "ticks"` they count these ticks) with `current_num_replicas` = ready replicas,
/// `target_num_replicas` = the count currently asked for, and
/// `total_num_requests` = requests running and waiting at replicas plus
/// waiting at the gateway (Ray's handle queue), averaged over the scrapes
/// visible in `look_back_period_s` (simple mode). No visible scrape: the
/// count is held. While the metrics source is down the controller still
/// knows its running replicas ([`super::adapter::ApiPods`]) and decides
/// on the last reports it holds ([`HANDLE_METRICS_TIMEOUT_S`]).
///
/// Scale from zero: with no replica, a Ray handle reports its queued
/// requests at once and the next tick's cold-start fast path scales to
/// `max(1, ceil(upscaling_factor))`, bypassing the upscale delay and the
/// bounds. [`fleetsim_core::Autoscaler::on_activation`] returns that count at once (at
/// most one 0.1 s tick earlier than Ray).
#[derive(Clone, Debug)]
pub struct RayServeAutoscaler {
    policy: RayServePolicy,
    look_back: fleetsim_core::SimDuration,
    tick: fleetsim_core::SimDuration,
}

impl RayServeAutoscaler {
    /// Validates the config.
    pub fn new(config: RayServeConfig) -> Result<Self, AutoscalerError> {
        let look_back = super::secs_f64(config.look_back_period_s);
        let tick = super::secs_f64(config.control_loop_interval_s);
        Ok(RayServeAutoscaler {
            policy: RayServePolicy::new(config)?,
            look_back,
            tick,
        })
    }
}

impl fleetsim_core::Autoscaler for RayServeAutoscaler {
    fn sync_period(&self) -> fleetsim_core::SimDuration {
        self.tick
    }

    fn replica_bounds(&self) -> (u32, u32) {
        let c = self.policy.config();
        (c.min_replicas, c.max_replicas)
    }

    fn desired_replicas(&mut self, obs: &fleetsim_core::autoscale::Observation<'_>) -> u32 {
        let total = if obs.metrics_down() {
            held_reports_total(obs, self.look_back)
        } else {
            super::adapter::Signal::Concurrency.windowed_total(obs, self.look_back)
        };
        let Some(total) = total else {
            return obs.desired;
        };
        // Running replicas come from the controller's replica state, which
        // a metrics outage does not hide.
        let running = super::adapter::ready_pods(obs);
        (self.policy).decide_at(obs.now.as_secs_f64(), running, obs.desired, total)
    }

    fn on_activation(&mut self, _now: fleetsim_core::SimTime) -> Option<u32> {
        Some((self.policy.config().effective_upscaling_factor().ceil() as u32).max(1))
    }
}

/// A handle's report is dropped once no newer one came for
/// `max(2 × metrics_interval_s, RAY_SERVE_MIN_HANDLE_METRICS_TIMEOUT_S)`
/// = max(2 × 10 s, 10 s) (`DeploymentAutoscalingState.drop_stale_handle_metrics`,
/// `_private/constants.py`; `metrics_interval_s` at its default).
pub const HANDLE_METRICS_TIMEOUT_S: u64 = 20;

/// `total_num_requests` while the metrics source is down: no report
/// arrives, and the controller keeps the last ones. Handles collect the
/// metrics (`RAY_SERVE_COLLECT_AUTOSCALING_METRICS_ON_HANDLE`, on by
/// default), each report the average over the look-back before it was
/// sent: the mean over `look_back` before the newest stored scrape, until
/// that report is [`HANDLE_METRICS_TIMEOUT_S`] old; then the handles'
/// reports are dropped and the total is 0. `None` with no report at all.
fn held_reports_total(
    obs: &fleetsim_core::autoscale::Observation<'_>,
    look_back: fleetsim_core::SimDuration,
) -> Option<f64> {
    let all = fleetsim_core::SimDuration(u64::MAX);
    let last = obs.window(all).last()?;
    if obs.now.saturating_since(last.at) >= super::secs(HANDLE_METRICS_TIMEOUT_S) {
        return Some(0.0);
    }
    let from = last.at.0.checked_sub(look_back.0);
    let (sum, n) = (obs.window(all))
        .filter(|s| from.is_none_or(|f| s.at.0 > f))
        .fold((0.0, 0u32), |(a, n), s| {
            (a + super::adapter::Signal::Concurrency.total(s), n + 1)
        });
    Some(sum / f64::from(n.max(1)))
}

/// Ray Serve's metrics path: replicas and handles record every 0.5 s and
/// push every 10 s (reference §4.1); the lag is 5 s, the mean age of a
/// pushed sample. Kept for the look-back period (at least 60 s).
pub fn default_metrics(config: &RayServeConfig) -> fleetsim_core::autoscale::MetricsSpec {
    fleetsim_core::autoscale::MetricsSpec {
        scrape_interval: fleetsim_core::SimDuration::from_millis(500),
        lag: fleetsim_core::SimDuration::from_secs(5),
        lookback: super::secs_f64(config.look_back_period_s.max(60.0)),
    }
}

/// `[scaling] kind = "ray_serve"`: this file's entry in the autoscaler
/// registry (`autoscalers/mod.rs`).
#[derive(Debug)]
pub struct RayServeKind;

impl super::AutoscalerKind for RayServeKind {
    const NAME: &'static str = "ray_serve";
    type Config = RayServeConfig;

    fn validate(config: &RayServeConfig) -> Result<(), AutoscalerError> {
        config.validate()
    }

    fn build(
        config: &RayServeConfig,
    ) -> Result<Box<dyn fleetsim_core::Autoscaler>, AutoscalerError> {
        Ok(Box::new(RayServeAutoscaler::new(config.clone())?))
    }

    fn default_metrics(config: &RayServeConfig) -> fleetsim_core::autoscale::MetricsSpec {
        default_metrics(config)
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod adapter_tests;

#[cfg(test)]
mod upstream_tests;
