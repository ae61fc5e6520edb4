//! The `Autoscaler` trait and what it observes.
//!
//! An autoscaler sees a deployment the way a real controller does: through
//! a metrics pipeline. The engine scrapes every replica's gauges every
//! [`MetricsSpec::scrape_interval`] (vLLM's exported names:
//! `num_requests_running`, `num_requests_waiting`, `kv_cache_usage_perc`,
//! plus the GPU busy fraction over the interval), keeps the scrapes for
//! [`MetricsSpec::lookback`], and shows the autoscaler only scrapes at least
//! [`MetricsSpec::lag`] old. Windowed queries (average concurrency, request
//! and token rates, TTFT quantiles over a window) run over those scrapes, so
//! a policy reacts as late as its real counterpart would.
//!
//! Rates and latencies are read the way Prometheus reads them: each scrape
//! carries cumulative counters ([`Scrape::arrivals_total`],
//! [`ServedCounters`]: vLLM's `prompt_tokens_total`,
//! `generation_tokens_total` and the `time_to_first_token_seconds`
//! histogram with vLLM's buckets), and a windowed query takes the increase
//! between the oldest and newest scrape of the window (`rate(x[w])`,
//! `histogram_quantile(q, rate(x_bucket[w]))`). Memory is per scrape kept,
//! never per request.
//!
//! Every [`Autoscaler::sync_period`] the engine builds an [`Observation`]
//! (the metrics, and the pods' phases as the API server lists them then:
//! [`PodStatus`]) and asks for the desired replica count; it clamps the answer to
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
    /// Scrapes older than this (at the newest scrape) are forgotten: the
    /// longest window a query may ask for.
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

/// One replica as the cluster's API server lists it at a sync: its phase
/// now. Controllers read pod and replica readiness from the API server
/// (the scale subresource, the pod lister, the endpoints, Ray's replica
/// state), not from the metrics pipeline, so neither the metrics lag nor
/// an outage delays it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodStatus {
    /// Replica id (global, stable for its life).
    pub replica: u32,
    /// Its phase now.
    pub phase: PodPhase,
    /// When it was asked for.
    pub created: SimTime,
    /// When it became ready, if it has.
    pub ready_since: Option<SimTime>,
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
    /// Tokens and TTFTs of the requests completed so far, cumulative.
    pub served: ServedCounters,
}

/// Upper bounds (`le`), seconds, of vLLM's `vllm:time_to_first_token_seconds`
/// histogram (`vllm/v1/metrics/loggers.py`, `histogram_time_to_first_token`,
/// vllm-project/vllm at 005a810b); the `+Inf` bucket is [`LatencyHistogram::count`].
pub const TTFT_BUCKETS_S: [f64; 22] = [
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
];

/// Upper bounds (`le`), seconds, of vLLM's `vllm:inter_token_latency_seconds`
/// histogram (same file, `histogram_inter_token_latency`).
pub const ITL_BUCKETS_S: [f64; 19] = [
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0,
    40.0, 80.0,
];

/// The most buckets a [`LatencyHistogram`] has.
const MAX_BUCKETS: usize = TTFT_BUCKETS_S.len();

/// The bucket bounds of one exported histogram.
pub trait LatencyBuckets {
    /// Upper bounds, seconds, increasing (at most 22, the TTFT histogram's count).
    const BOUNDS_S: &'static [f64];
}

/// vLLM's TTFT buckets, [`TTFT_BUCKETS_S`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TtftBuckets;
impl LatencyBuckets for TtftBuckets {
    const BOUNDS_S: &'static [f64] = &TTFT_BUCKETS_S;
}

/// vLLM's inter-token-latency buckets, [`ITL_BUCKETS_S`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ItlBuckets;
impl LatencyBuckets for ItlBuckets {
    const BOUNDS_S: &'static [f64] = &ITL_BUCKETS_S;
}

/// A cumulative Prometheus histogram with the bounds of `B`: `le[i]`
/// counts observations `<= B::BOUNDS_S[i]`, as exported (entries past
/// the bounds stay 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LatencyHistogram<B> {
    /// Cumulative bucket counts (`_bucket{le=...}`).
    pub le: [u64; MAX_BUCKETS],
    /// Observations (`_count`, the `+Inf` bucket).
    pub count: u64,
    /// Sum of the observations, ns (`_sum`).
    pub sum_ns: u64,
    buckets: std::marker::PhantomData<B>,
}

/// vLLM's `time_to_first_token_seconds`.
pub type TtftHistogram = LatencyHistogram<TtftBuckets>;
/// vLLM's `inter_token_latency_seconds`.
pub type ItlHistogram = LatencyHistogram<ItlBuckets>;

impl<B: LatencyBuckets> LatencyHistogram<B> {
    /// Adds one observation (a value equal to a bound falls in that
    /// bucket, as Prometheus clients do).
    pub fn observe(&mut self, value_ns: u64) {
        self.observe_n(value_ns, 1);
    }

    /// Adds `n` observations of one value.
    pub fn observe_n(&mut self, value_ns: u64, n: u64) {
        let s = value_ns as f64 / 1e9;
        let bounds = B::BOUNDS_S;
        let first = bounds.partition_point(|&le| le < s);
        for c in &mut self.le[first..bounds.len()] {
            *c += n;
        }
        self.count += n;
        self.sum_ns = self.sum_ns.saturating_add(value_ns.saturating_mul(n));
    }

    /// `histogram_quantile(q, increase from older to self)`, seconds:
    /// Prometheus's `bucketQuantile` (`promql/quantile.go`): the rank
    /// `q × count` located in its bucket and linearly interpolated between
    /// the bucket's bounds (0 below the first); a rank in the `+Inf`
    /// bucket gives the highest finite bound. `None` when nothing was
    /// observed in between or `q` is outside 0..=1 (Prometheus: NaN or ±Inf).
    pub fn quantile_since(&self, older: &Self, q: f64) -> Option<f64> {
        if !(0.0..=1.0).contains(&q) {
            return None;
        }
        let n = self.count.saturating_sub(older.count);
        if n == 0 {
            return None;
        }
        let bounds = B::BOUNDS_S;
        let rank = q * n as f64;
        let cum = |i: usize| self.le[i].saturating_sub(older.le[i]) as f64;
        let Some(b) = (0..bounds.len()).find(|&i| cum(i) >= rank) else {
            return Some(bounds[bounds.len() - 1]);
        };
        let (start, below) = match b.checked_sub(1) {
            Some(p) => (bounds[p], cum(p)),
            None => (0.0, 0.0),
        };
        let (end, in_bucket) = (bounds[b], cum(b) - below);
        // Only a zero rank (q = 0) can land in an empty bucket: its start.
        if in_bucket <= 0.0 {
            return Some(start);
        }
        Some(start + (end - start) * ((rank - below) / in_bucket))
    }
}

/// A deployment's serving counters, cumulative from the start of the run:
/// what vLLM exports, summed over the deployment's replicas (a counter of
/// a replica that went away keeps counting in the sum). A request counts
/// when it completes: the engine learns its token counts and first-token
/// instant then, where vLLM counts prompt tokens at the first token and
/// generation tokens every iteration; over a window longer than a request
/// the rates agree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServedCounters {
    /// vLLM `prompt_tokens_total`.
    pub prompt_tokens_total: u64,
    /// vLLM `generation_tokens_total`.
    pub generation_tokens_total: u64,
    /// vLLM `time_to_first_token_seconds` (the run's TTFT of each request).
    pub ttft: TtftHistogram,
    /// vLLM `inter_token_latency_seconds`: a completed request of `n`
    /// output tokens adds `n − 1` observations of its mean time per output
    /// token (the engine knows a request's intervals by their mean and
    /// longest, not one by one).
    pub itl: ItlHistogram,
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

/// A deployment's scrape history, newest last, and the live counters the
/// next scrape copies.
#[derive(Clone, Debug, Default)]
pub struct MetricsStore {
    scrapes: VecDeque<Scrape>,
    /// When the metrics source is down.
    outages: Vec<MetricsOutage>,
    served: ServedCounters,
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
    }

    /// Counts a completed request: its prompt and output tokens, its
    /// TTFT and its mean time per output token after the first, if it
    /// has more than one.
    pub fn note_completion(
        &mut self,
        input_tokens: u32,
        output_tokens: u32,
        ttft_ns: u64,
        tpot_ns: Option<u64>,
    ) {
        let c = &mut self.served;
        c.prompt_tokens_total += u64::from(input_tokens);
        c.generation_tokens_total += u64::from(output_tokens);
        c.ttft.observe(ttft_ns);
        if let Some(tpot) = tpot_ns.filter(|_| output_tokens > 1) {
            c.itl.observe_n(tpot, u64::from(output_tokens - 1));
        }
    }

    /// The serving counters as of now (what a scrape taken now reads).
    pub fn served(&self) -> ServedCounters {
        self.served
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
            pods: None,
        }
    }
}

/// What an autoscaler sees at a sync: the latest visible scrape, windowed
/// queries over the visible history, and the pods as the API server lists
/// them now ([`Observation::pods`]).
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
    /// The pods the API server lists at `now`, when attached.
    pods: Option<&'a [PodStatus]>,
}

impl<'a> Observation<'a> {
    /// This observation with the deployment's pods as the API server lists
    /// them now (the engine attaches them at every sync).
    pub fn with_pods(self, pods: &'a [PodStatus]) -> Self {
        Observation {
            pods: Some(pods),
            ..self
        }
    }

    /// The deployment's pods as the API server lists them at the sync,
    /// current whatever the metrics show; `None` when the observation was
    /// built from scrapes alone (a policy's unit test), never in a run.
    pub fn pods(&self) -> Option<&'a [PodStatus]> {
        self.pods
    }

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

    /// The oldest and newest scrapes of the window (`None` with fewer
    /// than two, or no time between them): what `rate(x[window])` reads.
    fn ends(&self, window: SimDuration) -> Option<(&'a Scrape, &'a Scrape, f64)> {
        let mut it = self.window(window);
        let first = it.next()?;
        let last = it.last()?;
        let span = last.at.saturating_since(first.at).as_secs_f64();
        (span > 0.0).then_some((first, last, span))
    }

    /// Per-second increase of the counter `total` between the oldest and
    /// newest scrapes of the window: Prometheus's `rate(x[window])`
    /// without its extrapolation to the window's edges (the same value
    /// for a counter growing steadily; counters here never reset). `None`
    /// with fewer than two scrapes.
    pub fn counter_rate(&self, window: SimDuration, total: impl Fn(&Scrape) -> u64) -> Option<f64> {
        let (first, last, span) = self.ends(window)?;
        Some(total(last).saturating_sub(total(first)) as f64 / span)
    }

    /// Arrivals per second over the window ([`Self::counter_rate`] of
    /// [`Scrape::arrivals_total`]).
    pub fn request_rate(&self, window: SimDuration) -> Option<f64> {
        self.counter_rate(window, |s| s.arrivals_total)
    }

    /// The `q`-quantile (0–1) of TTFT, seconds, over the requests counted
    /// between the oldest and newest scrapes of the window:
    /// `histogram_quantile(q, rate(ttft_bucket[window]))` (see
    /// [`TtftHistogram::quantile_since`]). `None` with fewer than two
    /// scrapes or no request counted.
    pub fn ttft_quantile_s(&self, q: f64, window: SimDuration) -> Option<f64> {
        let (first, last, _) = self.ends(window)?;
        last.served.ttft.quantile_since(&first.served.ttft, q)
    }

    /// The `q`-quantile (0–1) of inter-token latency, seconds, over the
    /// window, as [`Self::ttft_quantile_s`] reads TTFT:
    /// `histogram_quantile(q, rate(inter_token_latency_seconds_bucket[window]))`.
    pub fn itl_quantile_s(&self, q: f64, window: SimDuration) -> Option<f64> {
        let (first, last, _) = self.ends(window)?;
        last.served.itl.quantile_since(&first.served.itl, q)
    }
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

    /// The replica counts wanted now for a variant group (deployments that
    /// serve one model through one gateway, `DeploymentSpec::variant_of`):
    /// `obs[0]` is the deployment this autoscaler belongs to, the others
    /// its variants in scenario order; one count per observation, each
    /// clamped to [`Self::replica_bounds`] by the engine. The default, for
    /// a policy that knows no variants, decides the first deployment alone
    /// and leaves the variants at the counts asked for.
    fn desired_variant_replicas(&mut self, obs: &[Observation<'_>]) -> Vec<u32> {
        let mut out: Vec<u32> = obs.iter().map(|o| o.desired).collect();
        if let (Some(first), Some(o)) = (out.first_mut(), obs.first()) {
            *first = self.desired_replicas(o);
        }
        out
    }

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
            served: ServedCounters::default(),
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
    fn old_scrapes_are_forgotten() {
        let mut m = MetricsStore::default();
        m.record(scrape(0, 1, 0, 0), secs(60));
        m.record(scrape(100, 1, 0, 0), secs(60));
        let o = m.observe(SimTime::ZERO + secs(100), SimDuration::ZERO, 1);
        assert_eq!(o.window(secs(1_000)).count(), 1);
    }

    #[test]
    fn ttft_buckets_are_inclusive_upper_bounds() {
        let mut h = TtftHistogram::default();
        // 1 ms is exactly the first bound; 1.5 ms is in the second bucket;
        // an hour is past every bound (+Inf only).
        for ns in [1_000_000, 1_500_000, 3_600_000_000_000] {
            h.observe(ns);
        }
        assert_eq!((h.le[0], h.le[1], h.le[21], h.count), (1, 2, 2, 3));
        assert_eq!(h.sum_ns, 3_600_002_500_000);
    }

    #[test]
    #[allow(clippy::float_cmp)] // values exact in binary
    fn histogram_quantile_interpolates_inside_the_bucket() {
        let mut old = TtftHistogram::default();
        old.observe(30_000_000_000); // before the window: not counted
        let mut h = old;
        // 10 requests in (0.5, 0.75] s, 10 in (0.75, 1] s.
        for _ in 0..10 {
            h.observe(600_000_000);
            h.observe(900_000_000);
        }
        // Rank 0.5·20 = 10: the top of the (0.5, 0.75] bucket.
        assert_eq!(h.quantile_since(&old, 0.5), Some(0.75));
        // Rank 0.95·20 = 19: 9 of 10 into (0.75, 1] → 0.75 + 0.25·0.9.
        let p95 = h.quantile_since(&old, 0.95).unwrap();
        assert!((p95 - 0.975).abs() < 1e-12, "{p95}");
        // Rank 0.25·20 = 5, half-way into (0.5, 0.75].
        assert_eq!(h.quantile_since(&old, 0.25), Some(0.625));
        assert_eq!(h.quantile_since(&h, 0.5), None, "nothing observed");
        assert_eq!(h.quantile_since(&old, 1.5), None, "q outside 0..=1");
        // A rank past every finite bucket: the highest finite bound.
        let mut slow = TtftHistogram::default();
        slow.observe(3_000_000_000_000);
        assert_eq!(
            slow.quantile_since(&TtftHistogram::default(), 0.5),
            Some(2560.0)
        );
    }

    #[test]
    #[allow(clippy::float_cmp)] // exact rates
    fn counter_rates_and_ttft_quantiles_read_the_window_ends() {
        let mut m = MetricsStore::default();
        let take = |m: &mut MetricsStore, t: u64| {
            let mut s = scrape(t, 0, 0, 3 * t);
            s.served = m.served();
            m.record(s, secs(600));
        };
        take(&mut m, 0);
        m.note_completion(100, 10, 2_000_000_000, None); // TTFT 2 s, before 15 s
        take(&mut m, 15);
        for _ in 0..4 {
            m.note_completion(200, 30, 300_000_000, None); // 0.3 s each
        }
        take(&mut m, 30);
        take(&mut m, 45);
        let o = m.observe(SimTime::ZERO + secs(45), SimDuration::ZERO, 1);
        // Window 35 s: the scrapes at 15, 30 and 45 s (span 30 s).
        assert_eq!(o.request_rate(secs(35)), Some(3.0));
        let prompt = o.counter_rate(secs(35), |s| s.served.prompt_tokens_total);
        assert_eq!(prompt, Some(800.0 / 30.0));
        let gen = o.counter_rate(secs(60), |s| s.served.generation_tokens_total);
        assert_eq!(gen, Some(130.0 / 45.0));
        // Only the four 0.3 s requests are inside: p95 in (0.25, 0.5].
        let p95 = o.ttft_quantile_s(0.95, secs(35)).unwrap();
        assert!((p95 - (0.25 + 0.25 * 0.95)).abs() < 1e-12, "{p95}");
        // The whole history adds the 2 s one: rank 4.75 of 5 in (1, 2.5].
        let all = o.ttft_quantile_s(0.95, secs(60)).unwrap();
        assert!((all - (1.0 + 1.5 * 0.75)).abs() < 1e-12, "{all}");
        assert_eq!(o.ttft_quantile_s(0.95, secs(10)), None, "one scrape");
    }

    #[test]
    fn itl_counts_each_interval_at_the_mean_time_per_output_token() {
        let mut m = MetricsStore::default();
        let take = |m: &mut MetricsStore, t: u64| {
            let mut s = scrape(t, 0, 0, 0);
            s.served = m.served();
            m.record(s, secs(600));
        };
        take(&mut m, 0);
        // 31 output tokens at a mean 40 ms: 30 intervals in (0.025, 0.05].
        m.note_completion(100, 31, 200_000_000, Some(40_000_000));
        // 11 at 120 ms: 10 in (0.1, 0.15]; a one-token answer has none.
        m.note_completion(100, 11, 200_000_000, Some(120_000_000));
        m.note_completion(100, 1, 200_000_000, None);
        take(&mut m, 30);
        let itl = m.served().itl;
        assert_eq!(
            (itl.count, itl.le[1], itl.le[2], itl.le[5]),
            (40, 0, 30, 40)
        );
        assert_eq!(itl.sum_ns, 30 * 40_000_000 + 10 * 120_000_000);
        let o = m.observe(SimTime::ZERO + secs(30), SimDuration::ZERO, 1);
        // Rank 0.5·40 = 20 of 30 into (0.025, 0.05].
        let p50 = o.itl_quantile_s(0.5, secs(60)).unwrap();
        assert!((p50 - (0.025 + 0.025 * 20.0 / 30.0)).abs() < 1e-12, "{p50}");
        // Rank 38 of 40: 8 of 10 into (0.1, 0.15].
        let p95 = o.itl_quantile_s(0.95, secs(60)).unwrap();
        assert!((p95 - (0.1 + 0.05 * 0.8)).abs() < 1e-12, "{p95}");
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
            served: ServedCounters::default(),
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
