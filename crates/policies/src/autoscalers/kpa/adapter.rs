//! The KPA adapter to the engine's `Autoscaler` trait: its `[scaling]`
//! configuration (defaults as in `config-autoscaler`), the autoscaler that
//! feeds the decider from scrapes, and its registry entry.

use super::*;

fn d_target() -> f64 {
    100.0
}
fn d_rps_target() -> f64 {
    200.0
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
    /// The `metric` annotation: `concurrency` (default) or `rps`.
    #[serde(default)]
    pub metric: ScalingMetric,
    /// Requests per second per replica before utilization
    /// (`requests-per-second-target-default`), default 200 (>= 0.01);
    /// read with `metric = "rps"`.
    #[serde(default = "d_rps_target")]
    pub rps_target: f64,
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
            metric: self.metric,
            rps_target_default: self.rps_target,
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
            lookback: crate::autoscalers::secs(self.stable_window_s.max(60)),
        }
    }
}

/// Engine adapter. Every decider tick (`tick_interval_s`, 2 s):
///
/// 1. Record the revision-wide metric into [`KpaMetrics`], one value per
///    whole second, for every visible scrape not yet recorded. Upstream
///    records every 1 s; with the default 1 s scrapes that is each scrape.
///    Concurrency is [`fleetsim_core::autoscale::Scrape::concurrency`]
///    (running and waiting at replicas plus waiting at the gateway, i.e.
///    the activator). Rps is the requests that arrived since the previous
///    scrape (the queue-proxies' and activator's request counts), per
///    second. With coarser scrapes the seconds between two scrapes hold
///    the older scrape's concurrency (the collector would have read the
///    same stale value), or the rate over the interval the newer scrape
///    closes, so the 1 s buckets are never diluted by empty ones; seconds
///    after the newest visible scrape stay empty, as upstream's window
///    average handles a recent gap.
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
    /// The second of the first sync since then that found the metrics
    /// source down: the seconds from it on were not scraped, so they are
    /// not filled with the older value (upstream has no data for them).
    down_since: Option<u64>,
    /// The last scrape read for rps: when, and the arrivals it counted
    /// (the run starts at 0 arrivals).
    arrivals_at: (SimTime, u64),
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
            down_since: None,
            arrivals_at: (SimTime::ZERO, 0),
            state: None,
            proxy_since: None,
        })
    }

    fn record(&mut self, obs: &fleetsim_core::autoscale::Observation<'_>) {
        const S: u64 = 1_000_000_000;
        let window = self.cfg.stable_window_s;
        for scrape in obs.window(crate::autoscalers::secs(window)) {
            let sec = scrape.at.as_nanos() / S;
            if self.last.is_some_and(|(ls, _)| sec <= ls) {
                continue;
            }
            let v = match self.cfg.metric {
                ScalingMetric::Concurrency => f64::from(scrape.concurrency()),
                ScalingMetric::Rps => {
                    let (t0, n0) = self.arrivals_at;
                    let span = scrape.at.saturating_since(t0).as_secs_f64();
                    if span <= 0.0 {
                        // Nothing elapsed (a scrape at time 0): no rate yet.
                        continue;
                    }
                    self.arrivals_at = (scrape.at, scrape.arrivals_total);
                    scrape.arrivals_total.saturating_sub(n0) as f64 / span
                }
            };
            if let Some((ls, lv)) = self.last {
                // The seconds between: the older concurrency, or the new
                // rate; none from an outage on (Knative's collector records
                // nothing for a failed scrape, so those buckets stay empty).
                let fill = match self.cfg.metric {
                    ScalingMetric::Concurrency => lv,
                    ScalingMetric::Rps => v,
                };
                let end = self.down_since.map_or(sec, |d| d.clamp(ls + 1, sec));
                for k in (ls + 1).max(sec.saturating_sub(window))..end {
                    self.metrics.record(SimTime(k * S), fill);
                }
            }
            if self.down_since.is_some_and(|d| sec >= d) {
                self.down_since = None;
            }
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
        crate::autoscalers::secs(self.cfg.tick_interval_s)
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
        if obs.metrics_down() && self.down_since.is_none() {
            self.down_since = Some(now.as_nanos() / 1_000_000_000);
        }
        self.record(obs);
        // Knative counts ready pods from the endpoints, not the metrics
        // source: an outage does not make them 0 (which would read as a
        // burst on one pod and enter panic mode).
        let ready = crate::autoscalers::adapter::ready_pods(obs);
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
        let a = compute_active_condition(want, ready, min_ready, active);
        self.set_state(a, now);
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

impl crate::autoscalers::AutoscalerKind for KpaKind {
    const NAME: &'static str = "kpa";
    type Config = KpaAutoscalerConfig;
    const KNOB_NAMES: &'static [(&'static str, &'static str)] = &[
        ("min_scale", "min_replicas"),
        ("max_scale", "max_replicas"),
        ("container_concurrency_target_default", "target"),
        ("rps_target_default", "rps_target"),
    ];

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
    use crate::autoscalers::adapter::testing::*;
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

    /// Desired counts after two minutes of `rps` arrivals per second
    /// (`rps` ≥ 1) with one request in flight per replica, scraped every
    /// `interval_s`, decided every 2 s from one replica.
    fn steady_rps(c: &KpaAutoscalerConfig, rps: u64, interval_s: u32) -> u32 {
        let mut a = c.build().unwrap();
        let mut store = MetricsStore::default();
        let mut d = 1;
        for t in 0..=120u32 {
            if t % interval_s == 0 {
                let mut s = scrape(f64::from(t), fleet(d, d, 1.0), 0);
                s.arrivals_total = rps * u64::from(t);
                record(&mut store, [s]);
            }
            if t % 2 == 0 && t > 0 {
                d = a.desired_replicas(&store.observe(at(f64::from(t)), SimDuration::ZERO, d));
            }
        }
        d
    }

    /// Knative's buckets after a metrics outage shorter than the stable
    /// window (`TimedFloat64Buckets`): the collector recorded nothing for
    /// the outage's seconds, so the first write after it leaves them empty
    /// and the average counts them as 0; during the outage the average is
    /// of the data still in the window. 40 in flight at target 10 on 4
    /// replicas (past the initial panic, which lasts a stable window),
    /// source down from 81 s to 100 s: held at 4 during the outage; at
    /// 100 s the 60 s window holds 40 for 41..=81 s (the first sync that
    /// finds the source down is at 82 s) and for 100 s: 40 × 42 / 60 = 28
    /// → 3 (the adapter used to fill the outage with the older 40 → 4).
    #[test]
    fn an_outage_leaves_its_seconds_empty_in_the_windows() {
        let c = KpaAutoscalerConfig {
            target_utilization_percentage: 100.0,
            ..base()
        };
        let mut a = c.build().unwrap();
        let mut store = MetricsStore::default();
        store.set_outages(vec![fleetsim_core::autoscale::MetricsOutage {
            start: at(81.0),
            end: at(100.0),
        }]);
        let mut d = 4;
        let mut out = BTreeMap::new();
        for t in 0..=100u32 {
            record(&mut store, [scrape(f64::from(t), fleet(d, 40, 1.0), 0)]);
            if t % 2 == 0 && t > 0 {
                d = a.desired_replicas(&store.observe(at(f64::from(t)), SimDuration::ZERO, d));
                out.insert(t, d);
            }
        }
        assert_eq!(out[&80], 4);
        for t in (82..=98).step_by(2) {
            assert_eq!(out[&t], 4, "held on the window's data at {t} s");
        }
        assert_eq!(out[&100], 3, "the outage's seconds count as 0 after it");
    }

    #[test]
    fn rps_scales_on_the_arrival_rate_not_on_concurrency() {
        let c = KpaAutoscalerConfig {
            metric: ScalingMetric::Rps,
            rps_target: 10.0,
            target_utilization_percentage: 100.0,
            ..base()
        };
        // 35 req/s at 10 per replica: ceil(3.5) = 4, with 1 s scrapes and
        // with 5 s ones (the seconds between hold the interval's rate).
        assert_eq!(steady_rps(&c, 35, 1), 4);
        assert_eq!(steady_rps(&c, 35, 5), 4);
        assert_eq!(steady_rps(&c, 95, 1), 10);
        // The same scrapes under the concurrency metric (1 in flight per
        // replica, target 10): one replica.
        let conc = KpaAutoscalerConfig {
            target_utilization_percentage: 100.0,
            ..base()
        };
        assert_eq!(steady_rps(&conc, 35, 1), 1);
        let bad = KpaAutoscalerConfig {
            rps_target: 0.0,
            ..c
        };
        let e = crate::autoscalers::AutoscalerConfig::Kpa(bad)
            .build()
            .expect_err("rps_target 0")
            .to_string();
        assert!(e.contains("rps_target"), "{e}");
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
