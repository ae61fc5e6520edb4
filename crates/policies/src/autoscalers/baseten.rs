//! Baseten's managed autoscaler (closed source; `docs.baseten.co/deploy/
//! autoscaling`): the documented algorithm only. Every autoscaling window
//! the average in-flight requests give `desired = ceil(avg / (concurrency
//! target × utilization))` in `[min, max]`; scale-up applies at once;
//! scale-down waits until load has stayed below for a whole scale-down
//! delay, then removes half the excess (the max scale-down rate), and
//! repeats after each further delay. Sampling and rounding are not public:
//! here the excess removed is `ceil(excess × rate%)`, at least one.
//!
//! Adapter mapping: every `autoscaling_window_s` call [`Baseten::decide`]
//! with the current replicas and the in-flight requests averaged over the
//! window.

use super::{invalid, AutoscalerError};
use fleetsim_core::SimTime;
use serde::{Deserialize, Serialize};

const NAME: &str = "baseten";

/// Baseten's settings with the documented defaults.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BasetenConfig {
    /// Min replicas: 0 (scale to zero).
    pub min_replicas: u32,
    /// Max replicas: 1.
    pub max_replicas: u32,
    /// Autoscaling window: 60 s (10..=3600).
    pub autoscaling_window_s: u64,
    /// Scale-down delay: 900 s (0..=3600).
    pub scale_down_delay_s: u64,
    /// Concurrency target: 1 request per replica (>= 1).
    pub concurrency_target: u32,
    /// Target utilization: 70 % (1..=100).
    pub target_utilization_percent: u32,
    /// Max scale-down rate: 50 % of the excess per step (1..=50).
    pub max_scale_down_percent: u32,
}

impl Default for BasetenConfig {
    fn default() -> Self {
        BasetenConfig {
            min_replicas: 0,
            max_replicas: 1,
            autoscaling_window_s: 60,
            scale_down_delay_s: 900,
            concurrency_target: 1,
            target_utilization_percent: 70,
            max_scale_down_percent: 50,
        }
    }
}

impl BasetenConfig {
    /// The documented ranges.
    pub fn validate(&self) -> Result<(), AutoscalerError> {
        if self.max_replicas < 1 {
            return Err(invalid(
                NAME,
                "max_replicas",
                "must be >= 1 (Baseten: max replicas >= 1)",
            ));
        }
        if self.min_replicas > self.max_replicas {
            return Err(invalid(
                NAME,
                "min_replicas",
                format!(
                    "min_replicas > max_replicas ({} > {})",
                    self.min_replicas, self.max_replicas
                ),
            ));
        }
        if !(10..=3600).contains(&self.autoscaling_window_s) {
            return Err(invalid(
                NAME,
                "autoscaling_window_s",
                "must be in 10..=3600 s (Baseten: autoscaling window range)",
            ));
        }
        if self.scale_down_delay_s > 3600 {
            return Err(invalid(
                NAME,
                "scale_down_delay_s",
                "must be in 0..=3600 s (Baseten: scale-down delay range)",
            ));
        }
        if self.concurrency_target < 1 {
            return Err(invalid(
                NAME,
                "concurrency_target",
                "must be >= 1 (Baseten: concurrency target >= 1)",
            ));
        }
        if !(1..=100).contains(&self.target_utilization_percent) {
            return Err(invalid(
                NAME,
                "target_utilization_percent",
                "must be in 1..=100 (Baseten: target utilization 1-100 %)",
            ));
        }
        if !(1..=50).contains(&self.max_scale_down_percent) {
            return Err(invalid(
                NAME,
                "max_scale_down_percent",
                "must be in 1..=50 (Baseten: max scale-down rate 1-50 %)",
            ));
        }
        Ok(())
    }

    /// The per-replica scale-up trigger: `concurrency_target ×
    /// utilization` (10 at 70 % → 7).
    pub fn trigger_per_replica(&self) -> f64 {
        f64::from(self.concurrency_target) * f64::from(self.target_utilization_percent) / 100.0
    }

    /// `ceil(avg / trigger)` clamped to `[min, max]`.
    pub fn desired(&self, avg_in_flight: f64) -> u32 {
        let d = (avg_in_flight.max(0.0) / self.trigger_per_replica()).ceil();
        (d.min(f64::from(u32::MAX)) as u32).clamp(self.min_replicas, self.max_replicas)
    }
}

/// Baseten's decision state: when load first went below the current count.
#[derive(Clone, Debug)]
pub struct Baseten {
    config: BasetenConfig,
    below_since: Option<SimTime>,
}

impl Baseten {
    /// An autoscaler with `config`.
    pub fn new(config: BasetenConfig) -> Result<Self, AutoscalerError> {
        config.validate()?;
        Ok(Baseten {
            config,
            below_since: None,
        })
    }

    /// One decision at `now`.
    pub fn decide(&mut self, now: SimTime, current: u32, avg_in_flight: f64) -> u32 {
        let desired = self.config.desired(avg_in_flight);
        if desired >= current {
            self.below_since = None;
            return desired;
        }
        let since = *self.below_since.get_or_insert(now);
        if now.saturating_since(since) >= super::secs(self.config.scale_down_delay_s) {
            let excess = f64::from(current - desired);
            let step = ((excess * f64::from(self.config.max_scale_down_percent) / 100.0).ceil()
                as u32)
                .max(1);
            self.below_since = Some(now);
            return current - step.min(current - desired);
        }
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desired_table() {
        let c = BasetenConfig {
            max_replicas: 100,
            concurrency_target: 10,
            ..BasetenConfig::default()
        };
        let check = |avg: f64, want: u32| assert_eq!(c.desired(avg), want, "avg={avg}");
        check(0.0, 0);
        check(7.0, 1);
        check(7.5, 2);
        check(1000.0, 100);
    }

    #[test]
    fn scale_down_halves_after_delay() {
        let c = BasetenConfig {
            max_replicas: 20,
            scale_down_delay_s: 100,
            ..BasetenConfig::default()
        };
        let mut b = Baseten::new(c).expect("valid");
        let at = |s: u64| SimTime(s * 1_000_000_000);
        assert_eq!(b.decide(at(0), 0, 7.0), 10); // up at once: ceil(7 / 0.7)
        assert_eq!(b.decide(at(60), 10, 0.0), 10); // below since 60
        assert_eq!(b.decide(at(160), 10, 0.0), 5); // half the excess
        assert_eq!(b.decide(at(220), 5, 0.0), 5);
        assert_eq!(b.decide(at(260), 5, 0.0), 2); // ceil(2.5) removed
        assert_eq!(b.decide(at(300), 2, 7.0), 10); // load back: up at once
    }

    #[test]
    fn validation_rejects_bad_knobs() {
        let d = BasetenConfig::default;
        assert!(d().validate().is_ok());
        for c in [
            BasetenConfig {
                min_replicas: 2,
                ..d()
            },
            BasetenConfig {
                autoscaling_window_s: 5,
                ..d()
            },
            BasetenConfig {
                scale_down_delay_s: 4000,
                ..d()
            },
            BasetenConfig {
                target_utilization_percent: 0,
                ..d()
            },
            BasetenConfig {
                max_scale_down_percent: 60,
                ..d()
            },
            BasetenConfig {
                concurrency_target: 0,
                ..d()
            },
        ] {
            assert!(c.validate().is_err(), "{c:?}");
        }
    }
}
