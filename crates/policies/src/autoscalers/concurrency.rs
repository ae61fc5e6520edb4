//! The five-knob concurrency autoscaler (new here, not an upstream port):
//! `desired = ceil(average concurrency over the autoscaling window /
//! (target concurrency per replica × target utilization))` within
//! `[min_replicas, max_replicas]`. A higher count applies at the next
//! decision; a lower one only after it has been the recommendation for a
//! whole `scale_down_delay_s` (the maximum over the delay window, as
//! Knative's scale-down delay). With `min_replicas = 0` it scales to zero,
//! and a request arriving at zero replicas activates one replica at once.
//!
//! The knobs and their ranges are Baseten's documented ones (the same
//! formula; Baseten then removes half the excess per delay, see
//! `baseten.rs`, where this one goes straight to the held recommendation).
//! Concurrency is [`Signal::Concurrency`]: requests running and waiting at
//! replicas plus waiting at the gateway, averaged over the scrapes visible
//! in the window. It decides every second.

use super::adapter::{check_bounds, Proportional, Signal};
use super::{finite, invalid, secs, AutoscalerError};
use fleetsim_core::autoscale::MetricsSpec;
use fleetsim_core::{Autoscaler, SimDuration};
use serde::{Deserialize, Serialize};

const NAME: &str = "concurrency";

/// `[scaling] kind = "concurrency"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConcurrencyConfig {
    /// Lowest replica count; 0 allows scale to zero. Default 0.
    #[serde(default)]
    pub min_replicas: u32,
    /// Highest replica count (required).
    pub max_replicas: u32,
    /// Autoscaling window the concurrency is averaged over, seconds
    /// (10..=3600). Default 60.
    #[serde(default = "default_window_s")]
    pub window_s: u64,
    /// How long a lower recommendation must hold before replicas are
    /// removed, seconds (0..=3600). Default 900.
    #[serde(default = "default_scale_down_delay_s")]
    pub scale_down_delay_s: u64,
    /// Concurrent requests one replica is meant to carry (> 0). Default 1.
    #[serde(default = "default_target")]
    pub target_concurrency_per_replica: f64,
    /// Fraction of the target to aim at, (0, 1]. Default 0.7.
    #[serde(default = "default_utilization")]
    pub target_utilization: f64,
}

fn default_window_s() -> u64 {
    60
}
fn default_scale_down_delay_s() -> u64 {
    900
}
fn default_target() -> f64 {
    1.0
}
fn default_utilization() -> f64 {
    0.7
}

/// Decision period.
pub const SYNC_PERIOD: SimDuration = SimDuration::from_secs(1);

impl ConcurrencyConfig {
    /// Reject knobs outside Baseten's documented ranges.
    pub fn validate(&self) -> Result<(), AutoscalerError> {
        check_bounds(
            NAME,
            self.min_replicas,
            self.max_replicas,
            "Baseten: max replicas >= 1 and >= min replicas",
        )?;
        if !(10..=3600).contains(&self.window_s) {
            return Err(invalid(
                NAME,
                "window_s",
                format!(
                    "{} outside 10..=3600 s (Baseten: autoscaling window 10-3600 s)",
                    self.window_s
                ),
            ));
        }
        if self.scale_down_delay_s > 3600 {
            return Err(invalid(
                NAME,
                "scale_down_delay_s",
                format!(
                    "{} outside 0..=3600 s (Baseten: scale-down delay 0-3600 s)",
                    self.scale_down_delay_s
                ),
            ));
        }
        let t = self.target_concurrency_per_replica;
        finite(NAME, "target_concurrency_per_replica", t)?;
        if t <= 0.0 {
            return Err(invalid(
                NAME,
                "target_concurrency_per_replica",
                format!("must be > 0, got {t} (Baseten: concurrency target >= 1)"),
            ));
        }
        let u = self.target_utilization;
        finite(NAME, "target_utilization", u)?;
        if u <= 0.0 || u > 1.0 {
            return Err(invalid(
                NAME,
                "target_utilization",
                format!("{u} outside (0, 1] (Baseten: target utilization 1-100 %)"),
            ));
        }
        Ok(())
    }

    /// The autoscaler.
    pub fn build(&self) -> Result<Box<dyn Autoscaler>, AutoscalerError> {
        self.validate()?;
        Ok(Box::new(Proportional::new(
            Signal::Concurrency,
            self.target_concurrency_per_replica * self.target_utilization,
            secs(self.window_s),
            secs(self.scale_down_delay_s),
            SYNC_PERIOD,
            (self.min_replicas, self.max_replicas),
        )))
    }

    /// In-flight counts at the gateway every second, no lag (what a
    /// serving platform's own proxy sees); kept for the window.
    pub fn default_metrics(&self) -> MetricsSpec {
        MetricsSpec {
            scrape_interval: SimDuration::from_secs(1),
            lag: SimDuration::ZERO,
            lookback: secs(self.window_s.max(60)),
        }
    }
}

/// `[scaling] kind = "concurrency"`: this file's entry in the autoscaler
/// registry (`autoscalers/mod.rs`).
#[derive(Debug)]
pub struct ConcurrencyKind;

impl super::AutoscalerKind for ConcurrencyKind {
    const NAME: &'static str = "concurrency";
    type Config = ConcurrencyConfig;

    fn validate(config: &ConcurrencyConfig) -> Result<(), AutoscalerError> {
        config.validate()
    }

    fn build(
        config: &ConcurrencyConfig,
    ) -> Result<Box<dyn fleetsim_core::Autoscaler>, AutoscalerError> {
        config.build()
    }

    fn default_metrics(config: &ConcurrencyConfig) -> fleetsim_core::autoscale::MetricsSpec {
        config.default_metrics()
    }
}

#[cfg(test)]
mod tests {
    use super::super::adapter::testing::*;
    use super::*;
    use fleetsim_core::autoscale::MetricsStore;

    fn config(min: u32, max: u32, window_s: u64, delay_s: u64, target: f64) -> ConcurrencyConfig {
        ConcurrencyConfig {
            min_replicas: min,
            max_replicas: max,
            window_s,
            scale_down_delay_s: delay_s,
            target_concurrency_per_replica: target,
            target_utilization: 1.0,
        }
    }

    /// Runs the autoscaler once a second over `0..end_s` with the
    /// in-flight count `load(t)` spread over the currently desired
    /// replicas; returns the desired count after each second.
    fn run(a: &mut dyn Autoscaler, start: u32, end_s: u32, load: impl Fn(u32) -> u32) -> Vec<u32> {
        let mut store = MetricsStore::default();
        let mut desired = start;
        let mut out = Vec::new();
        for t in 0..end_s {
            let t_f = f64::from(t);
            let pods = if desired == 0 {
                vec![]
            } else {
                fleet(desired, load(t), 1.0)
            };
            let gateway = if desired == 0 { load(t) } else { 0 };
            record(&mut store, [scrape(t_f, pods, gateway)]);
            desired = a.desired_replicas(&store.observe(at(t_f), SimDuration::ZERO, desired));
            out.push(desired);
        }
        out
    }

    #[test]
    fn steady_load_at_target_keeps_the_count() {
        // Concurrency 30 over 3 replicas at target 10 → 3.
        let mut a = config(1, 10, 60, 0, 10.0).build().unwrap();
        let out = run(a.as_mut(), 3, 30, |_| 30);
        assert!(out.iter().all(|&d| d == 3), "{out:?}");
        // Utilization 0.5 halves the per-replica aim: 6 replicas.
        let mut half = ConcurrencyConfig {
            target_utilization: 0.5,
            ..config(1, 10, 60, 0, 10.0)
        }
        .build()
        .unwrap();
        assert_eq!(*run(half.as_mut(), 3, 5, |_| 30).last().unwrap(), 6);
    }

    #[test]
    fn spike_scales_up_and_drop_waits_for_the_delay() {
        let mut a = config(1, 20, 10, 30, 10.0).build().unwrap();
        // 30 in flight for 20 s, 90 for 20 s, then 10.
        let out = run(a.as_mut(), 3, 120, |t| match t {
            0..20 => 30,
            20..40 => 90,
            _ => 10,
        });
        assert_eq!(out[19], 3);
        // The 10 s window average crosses 30 → 4 replicas on the first
        // spike second, and reaches 9 once the window is all spike.
        // The 10 s window holds the scrapes of t = 11..=20: (9·30 + 90)/10
        // = 36 → 4 on the first spike second; all spike by t = 29 → 9.
        assert_eq!(out[20], 4);
        assert_eq!(out[21], 5);
        assert_eq!(out[29], 9);
        assert_eq!(out[39], 9);
        // The drop: the window average falls below 90 at t = 40, but 9 is
        // held until it has been out of the recommendations for 30 s.
        let first_lower = out.iter().skip(40).position(|&d| d < 9).unwrap() + 40;
        assert_eq!(first_lower, 70, "{out:?}");
        assert_eq!(out[119], 1);
    }

    #[test]
    fn scales_to_zero_and_activates_one() {
        let mut a = config(0, 5, 10, 5, 10.0).build().unwrap();
        let out = run(a.as_mut(), 1, 30, |t| u32::from(t < 5));
        assert_eq!(out[4], 1);
        assert_eq!(*out.last().unwrap(), 0, "{out:?}");
        assert_eq!(a.on_activation(at(30.0)), Some(1));
        // The activated replica is held for a window even though the
        // scrapes (still empty) say 0.
        let mut store = MetricsStore::default();
        record(&mut store, [scrape(31.0, vec![], 0)]);
        assert_eq!(
            a.desired_replicas(&store.observe(at(31.0), SimDuration::ZERO, 1)),
            1
        );
        // (t, desired): held to t = 40 (a window), then the 5 s delay.
        for (t, want) in [(38.0, 1), (42.0, 1), (44.0, 0)] {
            record(&mut store, [scrape(t, vec![], 0)]);
            assert_eq!(
                a.desired_replicas(&store.observe(at(t), SimDuration::ZERO, 1)),
                want,
                "t={t}"
            );
        }
        // With min_replicas 2, activation asks for 2.
        let mut b = config(2, 5, 10, 5, 10.0).build().unwrap();
        assert_eq!(b.on_activation(at(0.0)), Some(2));
        assert_eq!(b.replica_bounds(), (2, 5));
    }

    #[test]
    fn bad_knobs_name_the_rule() {
        // (config, knob, rule fragment)
        let cases = [
            (
                config(3, 2, 60, 0, 1.0),
                "min_replicas",
                "min_replicas > max_replicas",
            ),
            (config(0, 0, 60, 0, 1.0), "max_replicas", "Baseten"),
            (
                config(0, 1, 5, 0, 1.0),
                "window_s",
                "Baseten: autoscaling window 10-3600 s",
            ),
            (
                config(0, 1, 60, 3601, 1.0),
                "scale_down_delay_s",
                "Baseten: scale-down delay",
            ),
            (
                config(0, 1, 60, 0, 0.0),
                "target_concurrency_per_replica",
                "Baseten",
            ),
            (
                ConcurrencyConfig {
                    target_utilization: 1.5,
                    ..config(0, 1, 60, 0, 1.0)
                },
                "target_utilization",
                "(0, 1]",
            ),
        ];
        for (c, knob, frag) in cases {
            let e = c.build().expect_err(knob).to_string();
            assert!(e.contains(knob) && e.contains(frag), "{knob}: {e}");
        }
    }
}
