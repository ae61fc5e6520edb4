//! Single-signal baselines: one mechanism, parameterised by the signal.
//! Each scales proportionally to one vLLM gauge, the way a plain HPA on
//! that gauge would without its tolerance band and rate limits:
//! `desired = ceil(deployment-wide signal, averaged over window_s /
//! per-replica target)` within `[min_replicas, max_replicas]`, a higher
//! count at the next sync and a lower one once it has held for
//! `scale_down_delay_s` (the maximum over the delay window).
//!
//! - `queue_depth`: `num_requests_waiting` summed over replicas plus the
//!   gateway queue, target `target_waiting_per_replica` (default 5, the
//!   vLLM production-stack KEDA threshold).
//! - `kv_cache`: `kv_cache_usage_perc` summed over ready replicas, target
//!   `target_kv_cache_usage` (default 0.5, AIBrix's sample target for
//!   `gpu_cache_usage_perc`).
//! - `gpu_utilization`: GPU busy fraction summed over ready replicas,
//!   target `target_gpu_busy_fraction` (default 0.8, KServe's default
//!   80 % utilization target).
//!
//! The other defaults are HPA-like (sync 15 s, 300 s scale-down delay,
//! min 1); `max_replicas` is required. With `min_replicas = 0` a request
//! arriving at zero replicas activates one at once (no utilisation signal
//! can wake an empty fleet).

use super::adapter::{check_bounds, Proportional, Signal};
use super::{finite, invalid, secs, AutoscalerError};
use fleetsim_core::autoscale::MetricsSpec;
use fleetsim_core::{Autoscaler, SimDuration};
use serde::{Deserialize, Serialize};

fn default_min() -> u32 {
    1
}
fn default_window_s() -> u64 {
    60
}
fn default_scale_down_delay_s() -> u64 {
    300
}
fn default_sync_period_s() -> u64 {
    15
}
fn default_waiting() -> f64 {
    5.0
}
fn default_kv() -> f64 {
    0.5
}
fn default_gpu() -> f64 {
    0.8
}

/// Validation shared by the baselines.
#[allow(clippy::too_many_arguments)]
fn validate(
    name: &'static str,
    min: u32,
    max: u32,
    target_knob: &'static str,
    target: f64,
    target_max: Option<f64>,
    window_s: u64,
    scale_down_delay_s: u64,
    sync_period_s: u64,
) -> Result<(), AutoscalerError> {
    check_bounds(
        name,
        min,
        max,
        "HPA: maxReplicas must be greater than or equal to minReplicas",
    )?;
    finite(name, target_knob, target)?;
    if target <= 0.0 || target_max.is_some_and(|m| target > m) {
        let range = target_max.map_or("> 0".to_string(), |m| format!("in (0, {m}]"));
        return Err(invalid(
            name,
            target_knob,
            format!("must be {range}, got {target} (HPA: target average value must be positive)"),
        ));
    }
    if window_s == 0 {
        return Err(invalid(name, "window_s", "must be > 0"));
    }
    if scale_down_delay_s > 3600 {
        return Err(invalid(
            name,
            "scale_down_delay_s",
            "must be in 0..=3600 (HPA: stabilizationWindowSeconds <= 3600)",
        ));
    }
    if sync_period_s == 0 {
        return Err(invalid(name, "sync_period_s", "must be > 0"));
    }
    Ok(())
}

macro_rules! baseline {
    ($(#[$doc:meta])* $ty:ident, $kind:ident, $name:literal, $signal:expr, $target:ident,
     $default:literal, $target_max:expr, $target_doc:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $ty {
            /// Lowest replica count (0 = scale to zero). Default 1.
            #[serde(default = "default_min")]
            pub min_replicas: u32,
            /// Highest replica count (required).
            pub max_replicas: u32,
            #[doc = $target_doc]
            #[serde(default = $default)]
            pub $target: f64,
            /// Averaging window, seconds (> 0). Default 60.
            #[serde(default = "default_window_s")]
            pub window_s: u64,
            /// Seconds a lower recommendation must hold before replicas go
            /// (0..=3600). Default 300.
            #[serde(default = "default_scale_down_delay_s")]
            pub scale_down_delay_s: u64,
            /// Seconds between decisions (> 0). Default 15.
            #[serde(default = "default_sync_period_s")]
            pub sync_period_s: u64,
        }

        impl $ty {
            /// The signal this baseline follows.
            pub const SIGNAL: Signal = $signal;

            /// Reject bad knobs.
            pub fn validate(&self) -> Result<(), AutoscalerError> {
                validate(
                    $name,
                    self.min_replicas,
                    self.max_replicas,
                    stringify!($target),
                    self.$target,
                    $target_max,
                    self.window_s,
                    self.scale_down_delay_s,
                    self.sync_period_s,
                )
            }

            /// The autoscaler.
            pub fn build(&self) -> Result<Box<dyn Autoscaler>, AutoscalerError> {
                self.validate()?;
                Ok(Box::new(Proportional::new(
                    Self::SIGNAL,
                    self.$target,
                    secs(self.window_s),
                    secs(self.scale_down_delay_s),
                    secs(self.sync_period_s),
                    (self.min_replicas, self.max_replicas),
                )))
            }

            /// Prometheus-style: 15 s scrapes, no lag (an idealised
            /// baseline), kept for the window.
            pub fn default_metrics(&self) -> MetricsSpec {
                MetricsSpec {
                    scrape_interval: SimDuration::from_secs(15),
                    lag: SimDuration::ZERO,
                    lookback: secs(self.window_s.max(600)),
                }
            }
        }

        #[doc = concat!("`[scaling] kind = \"", $name, "\"`: an entry in the autoscaler registry (`autoscalers/mod.rs`).")]
        #[derive(Debug)]
        pub struct $kind;

        impl super::AutoscalerKind for $kind {
            const NAME: &'static str = $name;
            type Config = $ty;

            fn validate(config: &$ty) -> Result<(), AutoscalerError> {
                config.validate()
            }

            fn build(config: &$ty) -> Result<Box<dyn Autoscaler>, AutoscalerError> {
                config.build()
            }

            fn default_metrics(config: &$ty) -> MetricsSpec {
                config.default_metrics()
            }
        }
    };
}

baseline!(
    /// `[scaling] kind = "queue_depth"`: waiting requests per replica.
    QueueDepthConfig,
    QueueDepthKind,
    "queue_depth",
    Signal::NumRequestsWaiting,
    target_waiting_per_replica,
    "default_waiting",
    None,
    "Waiting requests (`num_requests_waiting`, plus the gateway queue) one replica may have (> 0). Default 5."
);

baseline!(
    /// `[scaling] kind = "kv_cache"`: KV-cache usage per replica.
    KvCacheConfig,
    KvCacheKind,
    "kv_cache",
    Signal::KvCacheUsagePerc,
    target_kv_cache_usage,
    "default_kv",
    Some(1.0),
    "Target `kv_cache_usage_perc` per ready replica, (0, 1]. Default 0.5."
);

baseline!(
    /// `[scaling] kind = "gpu_utilization"`: GPU busy fraction per replica.
    GpuUtilizationConfig,
    GpuUtilizationKind,
    "gpu_utilization",
    Signal::GpuBusyFraction,
    target_gpu_busy_fraction,
    "default_gpu",
    Some(1.0),
    "Target GPU busy fraction per ready replica, (0, 1]. Default 0.8."
);

#[cfg(test)]
mod tests {
    use super::super::adapter::testing::*;
    use super::*;
    use fleetsim_core::autoscale::MetricsStore;

    fn decide(a: &mut dyn Autoscaler, store: &MetricsStore, t: f64, desired: u32) -> u32 {
        a.desired_replicas(&store.observe(at(t), SimDuration::ZERO, desired))
    }

    #[test]
    #[allow(clippy::float_cmp)] // exact sums and defaults
    fn queue_depth_counts_replica_and_gateway_queues() {
        let c: QueueDepthConfig = serde_json::from_str(r#"{"max_replicas": 10}"#).unwrap();
        assert_eq!(c.target_waiting_per_replica, 5.0);
        assert_eq!(c.min_replicas, 1);
        let mut a = c.build().unwrap();
        assert_eq!(a.sync_period(), SimDuration::from_secs(15));
        let mut store = MetricsStore::default();
        // 2 replicas with 6 + 8 waiting, 7 at the gateway: 21 / 5 → 5.
        record(
            &mut store,
            [scrape(
                0.0,
                vec![ready(0, 4, 6, 1.0), ready(1, 4, 8, 1.0)],
                7,
            )],
        );
        assert_eq!(decide(a.as_mut(), &store, 0.0, 2), 5);
        // Queues drain: the 5 holds for the 300 s delay, then the minimum.
        record(&mut store, [scrape(100.0, vec![ready(0, 4, 0, 1.0)], 0)]);
        assert_eq!(
            decide(a.as_mut(), &store, 100.0, 5),
            5,
            "window still sees the queue"
        );
        record(&mut store, [scrape(200.0, vec![ready(0, 4, 0, 1.0)], 0)]);
        assert_eq!(decide(a.as_mut(), &store, 200.0, 5), 5, "delay");
        record(&mut store, [scrape(301.0, vec![ready(0, 4, 0, 1.0)], 0)]);
        assert_eq!(decide(a.as_mut(), &store, 301.0, 5), 1);
    }

    #[test]
    fn utilization_baselines_follow_ready_pods_only() {
        // (config, expected): 3 ready pods at 0.9 and one starting pod;
        // sum over ready 2.7.
        let kv = KvCacheConfig {
            target_kv_cache_usage: 0.5,
            ..serde_json::from_str(r#"{"max_replicas": 10}"#).unwrap()
        };
        let gpu: GpuUtilizationConfig = serde_json::from_str(r#"{"max_replicas": 10}"#).unwrap();
        let cases: [(Box<dyn Autoscaler>, u32); 2] =
            [(kv.build().unwrap(), 6), (gpu.build().unwrap(), 4)];
        for (mut a, want) in cases {
            let mut store = MetricsStore::default();
            let mut pods = fleet(3, 0, 0.9);
            pods.push(starting(3));
            record(&mut store, [scrape(0.0, pods, 0)]);
            assert_eq!(decide(a.as_mut(), &store, 0.0, 4), want, "{a:?}");
        }
    }

    #[test]
    fn activation_from_zero() {
        let c = GpuUtilizationConfig {
            min_replicas: 0,
            ..serde_json::from_str(r#"{"max_replicas": 3}"#).unwrap()
        };
        let mut a = c.build().unwrap();
        assert_eq!(a.on_activation(at(5.0)), Some(1));
        let mut store = MetricsStore::default();
        record(&mut store, [scrape(6.0, vec![starting(0)], 0)]);
        assert_eq!(decide(a.as_mut(), &store, 6.0, 1), 1, "held for a window");
    }

    #[test]
    fn bad_knobs_name_the_rule() {
        let base: KvCacheConfig = serde_json::from_str(r#"{"max_replicas": 4}"#).unwrap();
        // (config, knob, fragment)
        let cases = [
            (
                KvCacheConfig {
                    min_replicas: 5,
                    ..base.clone()
                },
                "min_replicas",
                "min_replicas > max_replicas",
            ),
            (
                KvCacheConfig {
                    target_kv_cache_usage: 1.5,
                    ..base.clone()
                },
                "target_kv_cache_usage",
                "in (0, 1]",
            ),
            (
                KvCacheConfig {
                    scale_down_delay_s: 4000,
                    ..base.clone()
                },
                "scale_down_delay_s",
                "stabilizationWindowSeconds <= 3600",
            ),
            (
                KvCacheConfig {
                    window_s: 0,
                    ..base.clone()
                },
                "window_s",
                "> 0",
            ),
        ];
        for (c, knob, frag) in cases {
            let e = c.build().expect_err(knob).to_string();
            assert!(e.contains(knob) && e.contains(frag), "{knob}: {e}");
        }
        let q: QueueDepthConfig =
            serde_json::from_str(r#"{"max_replicas": 4, "target_waiting_per_replica": 0}"#)
                .unwrap();
        assert!(q.build().unwrap_err().to_string().contains("must be > 0"));
    }
}
