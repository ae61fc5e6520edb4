//! The `Autoscaler` trait and what it observes.
//!
//! An autoscaler sees a deployment the way a real controller does: through
//! a metrics pipeline. The engine scrapes every replica's gauges every
//! [`MetricsSpec::scrape_interval`] (vLLM's exported names:
//! `num_requests_running`, `num_requests_waiting`, `kv_cache_usage_perc`,
//! plus the GPU busy fraction over the interval), keeps the scrapes for
//! [`MetricsSpec::lookback`], and shows the autoscaler only scrapes at least
//! [`MetricsSpec::lag`] old. Windowed queries (average concurrency, request
//! rate, TTFT and TPOT quantiles over a window) run over those scrapes, so a policy
//! reacts as late as its real counterpart would.
//!
//! Every [`Autoscaler::sync_period`] the engine builds an [`Observation`]
//! and asks for the desired replica count; it clamps the answer to
//! [`Autoscaler::replica_bounds`] and applies it with the deployment's
//! scale-up rate limit, placement and drain, exactly as a `scheduled`
//! entry is applied. When a request arrives while the deployment has no
//! replica ready or starting, the activator calls
//! [`Autoscaler::on_activation`] at once, not at the next sync.
//!
//! Implementations live in `fleetsim-policies`, one file each.

use crate::time::{SimDuration, SimTime};
use std::collections::VecDeque;
use std::fmt::Debug;

/// How the engine scrapes a deployment's metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricsSpec {
    /// Time between scrapes.
    pub scrape_interval: SimDuration,
    /// A scrape becomes visible to the autoscaler this long after it was
    /// taken (collection, aggregation, adapter delays).
    pub lag: SimDuration,
    /// Scrapes and TTFT samples older than this (at the newest scrape) are
    /// forgotten: the longest window a query may ask for.
    pub lookback: SimDuration,
}

impl Default for MetricsSpec {
    /// A Prometheus-style pipeline: 15 s scrapes, visible at once, 10
    /// minutes kept.
    fn default() -> Self {
        MetricsSpec {
            scrape_interval: SimDuration::from_secs(15),
            lag: SimDuration::ZERO,
            lookback: SimDuration::from_secs(600),
        }
    }
}

/// A span `[start, end)` during which a deployment's metrics source is
/// down (`[scaling.scrape] outages`): no scrape is taken, and a read at a
/// sync inside it fails ([`Observation::latest`] is `None`,
/// [`Observation::metrics_down`] is true). Windowed queries still see the
/// history stored before it, as a controller keeps its own windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricsOutage {
    /// First instant of the outage.
    pub start: SimTime,
    /// First instant after it.
    pub end: SimTime,
}

impl MetricsOutage {
    /// `t` lies in `[start, end)`.
    pub fn contains(&self, t: SimTime) -> bool {
        self.start <= t && t < self.end
    }
}

/// A replica's lifecycle phase as the cluster reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodPhase {
    /// Asked for, not serving yet (provisioning, pulling, loading, starting).
    Starting,
    /// Serving.
    Ready,
    /// Finishing its requests before it goes away.
    Draining,
}

/// One replica in one scrape.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PodSample {
    /// Replica id (global, stable for its life).
    pub replica: u32,
    /// Its phase.
    pub phase: PodPhase,
    /// When it was asked for.
    pub created: SimTime,
    /// When it became ready, if it has.
    pub ready_since: Option<SimTime>,
    /// vLLM `num_requests_running`.
    pub num_requests_running: u32,
    /// vLLM `num_requests_waiting`.
    pub num_requests_waiting: u32,
    /// vLLM `kv_cache_usage_perc`, 0–1 (slot replicas: busy slots ÷ slots).
    pub kv_cache_usage_perc: f64,
    /// Fraction of the last scrape interval the replica spent in
    /// iterations (the GPU-utilisation signal, which lags and saturates).
    pub gpu_busy_fraction: f64,
}

/// One scrape of a deployment.
#[derive(Clone, Debug, PartialEq)]
pub struct Scrape {
    /// When it was taken.
    pub at: SimTime,
    /// Every replica that was starting, ready or draining.
    pub pods: Vec<PodSample>,
    /// Requests waiting at the gateway (the activator's queue, or the
    /// central queue).
    pub gateway_waiting: u32,
    /// Requests that had arrived at the deployment, cumulative.
    pub arrivals_total: u64,
}

impl Scrape {
    /// Requests in the system at the scrape: running and waiting at
    /// replicas, plus waiting at the gateway (Knative's "concurrency").
    pub fn concurrency(&self) -> u32 {
        self.gateway_waiting
            + self
                .pods
                .iter()
                .map(|p| p.num_requests_running + p.num_requests_waiting)
                .sum::<u32>()
    }

    /// Pods in `phase`.
    pub fn count(&self, phase: PodPhase) -> u32 {
        self.pods.iter().filter(|p| p.phase == phase).count() as u32
    }
}

/// A deployment's scrape history, newest last.
#[derive(Clone, Debug, Default)]
pub struct MetricsStore {
    scrapes: VecDeque<Scrape>,
    /// When the metrics source is down.
    outages: Vec<MetricsOutage>,
    /// Latencies of completed requests, in completion order.
    completions: VecDeque<Completion>,
}

impl MetricsStore {
    /// Sets when the metrics source is down (replacing earlier outages).
    pub fn set_outages(&mut self, outages: Vec<MetricsOutage>) {
        self.outages = outages;
    }

    /// The metrics source is down at `t`.
    pub fn is_down(&self, t: SimTime) -> bool {
        self.outages.iter().any(|o| o.contains(t))
    }

    /// Adds a scrape and forgets what falls out of `lookback`. A scrape
    /// taken while the source is down is not kept: it never happened.
    pub fn record(&mut self, scrape: Scrape, lookback: SimDuration) {
        if self.is_down(scrape.at) {
            return;
        }
        let oldest = SimTime(scrape.at.0.saturating_sub(lookback.0));
        self.scrapes.push_back(scrape);
        while self.scrapes.front().is_some_and(|s| s.at < oldest) {
            self.scrapes.pop_front();
        }
        while self.completions.front().is_some_and(|c| c.at < oldest) {
            self.completions.pop_front();
        }
    }

    /// Notes a request completed at `at` with its TTFT and TPOT (the
    /// engine's histograms' samples).
    pub fn note_completion(&mut self, at: SimTime, ttft_ns: u64, tpot_ns: Option<u64>) {
        self.completions.push_back(Completion {
            at,
            ttft_ns,
            tpot_ns,
        });
    }

    /// The observation an autoscaler gets at `now` under `lag`.
    pub fn observe(&self, now: SimTime, lag: SimDuration, desired: u32) -> Observation<'_> {
        // Before `lag` has passed, nothing is visible yet.
        let (visible, n) = match now.0.checked_sub(lag.0) {
            Some(t) => (SimTime(t), self.scrapes.partition_point(|s| s.at.0 <= t)),
            None => (SimTime::ZERO, 0),
        };
        Observation {
            now,
            desired,
            store: self,
            visible: n,
            visible_at: visible,
            down: self.is_down(now),
        }
    }
}

/// What an autoscaler sees at a sync: the latest visible scrape and
/// windowed queries over the visible history.
#[derive(Clone, Copy, Debug)]
pub struct Observation<'a> {
    /// The sync instant.
    pub now: SimTime,
    /// The replica count currently asked for (`spec.replicas`).
    pub desired: u32,
    store: &'a MetricsStore,
    /// Scrapes `0..visible` are visible.
    visible: usize,
    visible_at: SimTime,
    /// The metrics source is down at `now`.
    down: bool,
}

impl<'a> Observation<'a> {
    /// The newest visible scrape (`None` before the first one is visible,
    /// and while the metrics source is down: a read now fails).
    pub fn latest(&self) -> Option<&'a Scrape> {
        if self.down {
            return None;
        }
        self.visible
            .checked_sub(1)
            .and_then(|i| self.store.scrapes.get(i))
    }

    /// The metrics source is down at this sync (`[scaling.scrape]
    /// outages`): a live read fails.
    pub fn metrics_down(&self) -> bool {
        self.down
    }

    /// Visible scrapes taken within `window` before the newest visible
    /// instant (`at > now − lag − window`).
    pub fn window(&self, window: SimDuration) -> impl Iterator<Item = &'a Scrape> + 'a {
        // Strictly inside the window, as upstream's `After(now - window)`;
        // a window reaching back past time 0 holds everything.
        let from = self.visible_at.0.checked_sub(window.0);
        let store = self.store;
        (0..self.visible)
            .map(move |i| &store.scrapes[i])
            .filter(move |s| from.is_none_or(|f| s.at.0 > f))
    }

    /// Mean of [`Scrape::concurrency`] over the scrapes in `window`.
    pub fn avg_concurrency(&self, window: SimDuration) -> Option<f64> {
        mean(self.window(window).map(|s| f64::from(s.concurrency())))
    }

    /// Mean over the window's scrapes of `f` summed over ready pods.
    pub fn avg_ready_sum(&self, window: SimDuration, f: impl Fn(&PodSample) -> f64) -> Option<f64> {
        mean(self.window(window).map(|s| {
            s.pods
                .iter()
                .filter(|p| p.phase == PodPhase::Ready)
                .map(&f)
                .sum::<f64>()
        }))
    }

    /// Mean over the window's scrapes of the mean of `f` over ready pods
    /// (scrapes without a ready pod are skipped).
    pub fn avg_per_ready_pod(
        &self,
        window: SimDuration,
        f: impl Fn(&PodSample) -> f64,
    ) -> Option<f64> {
        mean(
            self.window(window)
                .filter_map(|s| mean(s.pods.iter().filter(|p| p.phase == PodPhase::Ready).map(&f))),
        )
    }

    /// Arrivals per second between the oldest and newest scrapes of the
    /// window (`None` with fewer than two).
    pub fn request_rate(&self, window: SimDuration) -> Option<f64> {
        let mut it = self.window(window);
        let first = it.next()?;
        let last = it.last()?;
        let span = last.at.saturating_since(first.at).as_secs_f64();
        (span > 0.0).then(|| (last.arrivals_total - first.arrivals_total) as f64 / span)
    }

    /// The `q`-quantile (0–1) of TTFT, ms, over requests completed within
    /// `window` of the newest visible instant.
    pub fn ttft_quantile_ms(&self, q: f64, window: SimDuration) -> Option<f64> {
        self.latency_quantile_ms(q, window, |c| Some(c.ttft_ns))
    }

    /// The `q`-quantile (0–1) of time per output token, ms, over requests
    /// completed within `window` (those with at least two output tokens).
    pub fn tpot_quantile_ms(&self, q: f64, window: SimDuration) -> Option<f64> {
        self.latency_quantile_ms(q, window, |c| c.tpot_ns)
    }

    fn latency_quantile_ms(
        &self,
        q: f64,
        window: SimDuration,
        value: impl Fn(&Completion) -> Option<u64>,
    ) -> Option<f64> {
        let from = self.visible_at.0.checked_sub(window.0);
        let mut v: Vec<u64> = (self.store.completions.iter())
            .filter(|c| from.is_none_or(|f| c.at.0 > f) && c.at <= self.visible_at)
            .filter_map(value)
            .collect();
        crate::metrics::percentiles_unsorted(&mut v, &[q * 100.0])[0].map(|ns| ns / 1e6)
    }
}

/// A completed request's latencies, as a histogram would have recorded them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Completion {
    at: SimTime,
    ttft_ns: u64,
    tpot_ns: Option<u64>,
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0u32), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / f64::from(n))
}

/// A replica-count policy for one deployment. See the module docs.
pub trait Autoscaler: Debug + Send {
    /// How often the controller decides.
    fn sync_period(&self) -> SimDuration;

    /// The lowest and highest replica counts the engine may apply.
    fn replica_bounds(&self) -> (u32, u32);

    /// The replica count wanted now, given what the metrics show. The
    /// engine clamps it to [`Self::replica_bounds`].
    fn desired_replicas(&mut self, obs: &Observation<'_>) -> u32;

    /// A request arrived while no replica is ready or starting (scale from
    /// zero): the count to apply at once, or `None` to wait for the next
    /// sync. The default waits.
    fn on_activation(&mut self, _now: SimTime) -> Option<u32> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape(at_s: u64, running: u32, gateway: u32, arrivals: u64) -> Scrape {
        Scrape {
            at: SimTime::ZERO + SimDuration::from_secs(at_s),
            pods: vec![PodSample {
                replica: 0,
                phase: PodPhase::Ready,
                created: SimTime::ZERO,
                ready_since: Some(SimTime::ZERO),
                num_requests_running: running,
                num_requests_waiting: 0,
                kv_cache_usage_perc: 0.5,
                gpu_busy_fraction: 1.0,
            }],
            gateway_waiting: gateway,
            arrivals_total: arrivals,
        }
    }

    fn store(scrapes: &[(u64, u32, u32, u64)]) -> MetricsStore {
        let mut m = MetricsStore::default();
        for &(t, r, g, a) in scrapes {
            m.record(scrape(t, r, g, a), SimDuration::from_secs(60));
        }
        m
    }

    fn secs(s: u64) -> SimDuration {
        SimDuration::from_secs(s)
    }

    #[test]
    fn the_lag_hides_recent_scrapes() {
        let m = store(&[(0, 1, 0, 0), (10, 2, 0, 10), (20, 3, 0, 30)]);
        let at = |now_s: u64, lag_s: u64| {
            m.observe(SimTime::ZERO + secs(now_s), secs(lag_s), 1)
                .latest()
                .map(|s| s.at.as_secs_f64())
        };
        assert_eq!(at(20, 0), Some(20.0));
        assert_eq!(at(25, 10), Some(10.0));
        assert_eq!(at(29, 20), Some(0.0));
        assert_eq!(at(5, 10), None);
    }

    #[test]
    fn windowed_queries_cover_the_window_only() {
        let m = store(&[(0, 1, 0, 0), (10, 2, 1, 10), (20, 6, 0, 30)]);
        let o = m.observe(SimTime::ZERO + secs(20), SimDuration::ZERO, 1);
        // Window 15 s before t = 20 s: the scrapes at 10 and 20.
        assert_eq!(o.avg_concurrency(secs(15)), Some((3.0 + 6.0) / 2.0));
        assert_eq!(o.avg_concurrency(secs(60)), Some((1.0 + 3.0 + 6.0) / 3.0));
        assert_eq!(o.request_rate(secs(15)), Some(2.0));
        assert_eq!(o.request_rate(secs(5)), None, "one scrape is no rate");
        assert_eq!(
            o.avg_per_ready_pod(secs(60), |p| p.kv_cache_usage_perc),
            Some(0.5)
        );
    }

    #[test]
    fn old_scrapes_and_samples_are_forgotten() {
        let mut m = MetricsStore::default();
        m.note_completion(SimTime::ZERO + secs(1), 5_000_000, Some(1_000_000));
        m.note_completion(SimTime::ZERO + secs(100), 7_000_000, Some(3_000_000));
        m.note_completion(SimTime::ZERO + secs(100), 9_000_000, None);
        m.record(scrape(0, 1, 0, 0), secs(60));
        m.record(scrape(100, 1, 0, 0), secs(60));
        let o = m.observe(SimTime::ZERO + secs(100), SimDuration::ZERO, 1);
        assert_eq!(o.window(secs(1_000)).count(), 1);
        assert_eq!(o.ttft_quantile_ms(0.5, secs(1_000)), Some(8.0));
        assert_eq!(
            o.tpot_quantile_ms(0.5, secs(1_000)),
            Some(3.0),
            "one-token requests have none"
        );
        assert_eq!(o.tpot_quantile_ms(0.5, SimDuration::ZERO), None);
    }
}

#[cfg(test)]
mod outage_tests {
    use super::*;

    fn scrape(at_s: u64) -> Scrape {
        Scrape {
            at: SimTime(at_s * 1_000_000_000),
            pods: Vec::new(),
            gateway_waiting: 0,
            arrivals_total: at_s,
        }
    }

    #[test]
    fn an_outage_drops_its_scrapes_and_fails_reads_inside_it_only() {
        let mut m = MetricsStore::default();
        m.set_outages(vec![MetricsOutage {
            start: SimTime(20_000_000_000),
            end: SimTime(40_000_000_000),
        }]);
        let keep = SimDuration::from_secs(600);
        for s in (0..60).step_by(10) {
            m.record(scrape(s), keep);
        }
        let at = |s: u64| SimTime(s * 1_000_000_000);
        // Inside: no live read, but the history before it is still there.
        let o = m.observe(at(30), SimDuration::ZERO, 1);
        assert!(o.metrics_down() && o.latest().is_none());
        let kept: Vec<u64> = o
            .window(SimDuration::from_secs(60))
            .map(|s| s.arrivals_total)
            .collect();
        assert_eq!(kept, vec![0, 10]);
        // The end is exclusive: at 40 s the source is back.
        let o = m.observe(at(40), SimDuration::ZERO, 1);
        assert!(!o.metrics_down());
        assert_eq!(o.latest().map(|s| s.arrivals_total), Some(40));
        let all: Vec<u64> = o
            .window(SimDuration::from_secs(60))
            .map(|s| s.arrivals_total)
            .collect();
        assert_eq!(all, vec![0, 10, 40]);
    }
}
