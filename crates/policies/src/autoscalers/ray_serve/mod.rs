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
/// positive = consecutive upscale decisions, negative = downscale.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DelayState {
    /// The counter.
    pub counter: i64,
}

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
        let (delay, d) = if curr_target == 1 {
            (
                cfg.downscale_to_zero_delay_s
                    .unwrap_or(cfg.downscale_delay_s),
                desired,
            )
        } else {
            (cfg.downscale_delay_s, desired.max(1))
        };
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

/// The policy as deployed: `_apply_autoscaling_config` around the default
/// `replica_queue_length_autoscaling_policy`, one call per control-loop
/// tick.
#[derive(Clone, Debug)]
pub struct RayServePolicy {
    config: RayServeConfig,
    state: DelayState,
}

impl RayServePolicy {
    /// A policy with a fresh decision counter.
    pub fn new(config: RayServeConfig) -> Result<Self, AutoscalerError> {
        config.validate()?;
        Ok(RayServePolicy {
            config,
            state: DelayState::default(),
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

    /// One tick of the default policy: `raw = total / target_ongoing`, then
    /// [`Self::apply`].
    pub fn decide(
        &mut self,
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
        self.apply(
            raw,
            current_num_replicas,
            target_num_replicas,
            total_num_requests,
        )
    }

    /// `_apply_autoscaling_config` around any policy's raw (float) desired
    /// count: cold-start fast path at 0 running replicas (bypasses delays
    /// and bounds), else scaling factors, bounds and delays.
    pub fn apply(
        &mut self,
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
        apply_delay_logic(c, &mut self.state, d, target_num_replicas)
    }
}

/// Engine adapter: [`RayServePolicy::decide`] every control-loop tick
/// (`control_loop_interval_s`, 0.1 s, so the delays count the same ticks
/// as upstream) with `current_num_replicas` = ready replicas,
/// `target_num_replicas` = the count currently asked for, and
/// `total_num_requests` = requests running and waiting at replicas plus
/// waiting at the gateway (Ray's handle queue), averaged over the scrapes
/// visible in `look_back_period_s` (simple mode). No visible scrape: the
/// count is held.
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
        let Some(total) = super::adapter::Signal::Concurrency.windowed_total(obs, self.look_back)
        else {
            return obs.desired;
        };
        let running = super::adapter::ready_pods(obs);
        self.policy.decide(running, obs.desired, total)
    }

    fn on_activation(&mut self, _now: fleetsim_core::SimTime) -> Option<u32> {
        Some((self.policy.config().effective_upscaling_factor().ceil() as u32).max(1))
    }
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
mod tests {
    use super::*;

    fn cfg(min: u32, max: u32, target: f64) -> RayServeConfig {
        RayServeConfig {
            min_replicas: min,
            max_replicas: max,
            target_ongoing_requests: target,
            ..RayServeConfig::default()
        }
    }

    #[test]
    fn calculate_desired_table() {
        // (min, max, target, up, down, requests, running) -> desired
        let check = |min, max, target, up, down, req, run, want| {
            let c = RayServeConfig {
                upscaling_factor: Some(up),
                downscaling_factor: Some(down),
                ..cfg(min, max, target)
            };
            assert_eq!(
                calculate_desired_num_replicas(&c, req, run).expect("ok"),
                want,
                "req={req} run={run}"
            );
        };
        check(0, 100, 2.0, 1.0, 1.0, 40.0, 10, 20);
        check(0, 100, 2.0, 1.0, 1.0, 10.0, 10, 5);
        check(0, 100, 2.0, 0.5, 1.0, 40.0, 10, 15); // halfway up
        check(0, 100, 2.0, 1.0, 0.5, 10.0, 10, 8); // 10 + 0.5*(5-10) = 7.5 -> 8
        check(0, 100, 2.0, 1.0, 0.1, 18.0, 10, 9); // 9.9 -> 10 would stick: 9
        check(3, 6, 2.0, 1.0, 1.0, 100.0, 10, 6); // clamp
                                                  // Upstream's own arithmetic, n · (1 + (ratio − 1) · f), where
                                                  // n + f · (n · ratio − n) rounds to the integer below:
        check(0, 100, 2.0, 1.0, 2.0, 36.0, 34, 3); // 2.0000000000000004
        check(0, 100, 0.5, 2.0, 1.0, 11.0, 21, 24); // 23.000000000000004
        assert!(calculate_desired_num_replicas(&cfg(0, 5, 1.0), 1.0, 0).is_err());
    }

    #[test]
    fn delay_ticks_follow_ieee() {
        let check = |d: f64, want: i64| assert_eq!(delay_ticks(d, 0.1), want, "{d}");
        check(0.3, 2);
        check(0.4, 4);
        check(30.0, 300);
        check(0.0, 0);
    }

    #[test]
    fn upscale_waits_delay_ticks() {
        let c = RayServeConfig {
            upscale_delay_s: 0.2,
            ..cfg(1, 10, 1.0)
        };
        let mut p = RayServePolicy::new(c).expect("valid");
        // int(0.2/0.1) = 2 ticks: the 3rd consecutive decision acts.
        let got: Vec<u32> = (0..3).map(|_| p.decide(1, 1, 5.0)).collect();
        assert_eq!(got, vec![1, 1, 5]);
        // A neutral decision resets the counter.
        assert_eq!(p.decide(5, 5, 5.0), 5);
        assert_eq!(p.state().counter, 0);
    }

    #[test]
    fn downscale_stops_at_one_then_zero_step() {
        let c = RayServeConfig {
            downscale_delay_s: 0.0,
            downscale_to_zero_delay_s: Some(0.1),
            ..cfg(0, 10, 1.0)
        };
        let mut p = RayServePolicy::new(c).expect("valid");
        assert_eq!(p.decide(4, 4, 0.0), 1); // never past 1
        assert_eq!(p.decide(1, 1, 0.0), 1); // 1 -> 0 waits 1 tick
        assert_eq!(p.decide(1, 1, 0.0), 0);
    }

    #[test]
    fn cold_start_bypasses_delays() {
        let c = RayServeConfig {
            upscaling_factor: Some(3.5),
            ..cfg(0, 2, 1.0)
        };
        let mut p = RayServePolicy::new(c).expect("valid");
        assert_eq!(p.decide(0, 0, 1.0), 4); // ceil(3.5), not clipped to max
        assert_eq!(p.decide(0, 0, 0.0), 0);
        assert_eq!(p.decide(0, 6, 1.0), 6);
    }

    #[test]
    fn validation_rejects_bad_knobs() {
        let bad = |c: RayServeConfig, needle: &str| {
            let e = c.validate().expect_err("invalid").to_string();
            assert!(e.contains(needle), "{e}");
        };
        bad(cfg(5, 2, 1.0), "min_replicas > max_replicas");
        bad(cfg(0, 0, 1.0), "max_replicas");
        bad(cfg(0, 2, 0.0), "target_ongoing_requests");
        bad(
            RayServeConfig {
                upscale_delay_s: -1.0,
                ..cfg(0, 2, 1.0)
            },
            "upscale_delay_s",
        );
        bad(
            RayServeConfig {
                downscaling_factor: Some(f64::INFINITY),
                ..cfg(0, 2, 1.0)
            },
            "downscaling_factor",
        );
        bad(
            RayServeConfig {
                initial_replicas: Some(9),
                ..cfg(0, 2, 1.0)
            },
            "initial_replicas",
        );
        bad(
            RayServeConfig {
                upscale_smoothing_factor: Some(0.0),
                ..cfg(0, 2, 1.0)
            },
            "upscale_smoothing_factor",
        );
        // get_upscaling_factor / get_downscaling_factor fall back through
        // the per-direction smoothing factor to smoothing_factor.
        let c = RayServeConfig {
            upscale_smoothing_factor: Some(3.0),
            downscale_smoothing_factor: Some(0.25),
            smoothing_factor: 0.5,
            ..cfg(0, 2, 1.0)
        };
        assert_eq!(c.effective_upscaling_factor().to_bits(), 3.0f64.to_bits());
        assert_eq!(
            c.effective_downscaling_factor().to_bits(),
            0.25f64.to_bits()
        );
        let c = RayServeConfig {
            upscaling_factor: Some(2.0),
            ..c
        };
        assert_eq!(c.effective_upscaling_factor().to_bits(), 2.0f64.to_bits());
        assert_eq!(
            RayServeConfig {
                smoothing_factor: 0.5,
                ..cfg(0, 2, 1.0)
            }
            .effective_downscaling_factor()
            .to_bits(),
            0.5f64.to_bits()
        );
        assert!(RayServeConfig::default().validate().is_ok());
    }
}

#[cfg(test)]
mod adapter_tests {
    use super::super::adapter::testing::*;
    use super::*;
    use fleetsim_core::autoscale::MetricsStore;
    use fleetsim_core::{Autoscaler, SimDuration};

    fn config() -> RayServeConfig {
        RayServeConfig {
            min_replicas: 0,
            max_replicas: 10,
            target_ongoing_requests: 2.0,
            upscale_delay_s: 0.3,
            downscale_delay_s: 0.5,
            downscale_to_zero_delay_s: Some(0.2),
            look_back_period_s: 1.0,
            ..RayServeConfig::default()
        }
    }

    /// Ticks at 0.1 s with a constant in-flight count over `ready`
    /// replicas, starting at `desired`; the desired count after each tick.
    fn ticks(
        a: &mut RayServeAutoscaler,
        n: u32,
        ready: u32,
        in_flight: u32,
        desired: u32,
    ) -> Vec<u32> {
        let mut store = MetricsStore::default();
        let mut d = desired;
        (1..=n)
            .map(|i| {
                let t = f64::from(i) * 0.1;
                record(&mut store, [scrape(t, fleet(ready, in_flight, 1.0), 0)]);
                d = a.desired_replicas(&store.observe(at(t), SimDuration::ZERO, d));
                d
            })
            .collect()
    }

    #[test]
    fn upscale_fires_on_the_third_tick_of_a_03_s_delay() {
        // 16 ongoing over 2 replicas at target 2 → 8; int(0.3/0.1) = 2
        // ticks of waiting, so the 3rd consecutive decision acts.
        let mut a = RayServeAutoscaler::new(config()).unwrap();
        assert_eq!(a.sync_period(), SimDuration::from_millis(100));
        assert_eq!(ticks(&mut a, 4, 2, 16, 2), vec![2, 2, 8, 8]);
    }

    #[test]
    fn downscale_waits_and_never_skips_one() {
        // 0 ongoing on 4 replicas: int(0.5/0.1) = 5 → acts on the 6th tick,
        // to 1 (not 0); then 1 → 0 after int(0.2/0.1) + 1 = 3 more ticks.
        let mut a = RayServeAutoscaler::new(config()).unwrap();
        let out = ticks(&mut a, 6, 4, 0, 4);
        assert_eq!(out, vec![4, 4, 4, 4, 4, 1]);
        let out = ticks(&mut a, 3, 1, 0, 1);
        assert_eq!(out, vec![1, 1, 0]);
    }

    #[test]
    fn cold_start_bypasses_the_delay() {
        let mut a = RayServeAutoscaler::new(RayServeConfig {
            upscaling_factor: Some(2.5),
            ..config()
        })
        .unwrap();
        assert_eq!(a.on_activation(at(0.0)), Some(3));
        // No ready replica, requests queued at the gateway: fast path.
        let mut store = MetricsStore::default();
        record(&mut store, [scrape(0.1, vec![], 4)]);
        assert_eq!(
            a.desired_replicas(&store.observe(at(0.1), SimDuration::ZERO, 0)),
            3
        );
        // No visible scrape: hold.
        let empty = MetricsStore::default();
        assert_eq!(
            a.desired_replicas(&empty.observe(at(0.2), SimDuration::ZERO, 5)),
            5
        );
    }
}

#[cfg(test)]
mod upstream_tests;
