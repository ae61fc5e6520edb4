//! Mechanism the engine adapters share: reading a signal from an
//! [`Observation`], the scale-down delay window (max of recommendations
//! over the delay, as Knative's scale-down delay), and the proportional
//! scaler `ceil(signal / per-replica target)` that the `concurrency`
//! autoscaler and the single-signal baselines (`signals.rs`) both are.
//!
//! Nothing here is upstream logic; each policy file says how it maps the
//! observation onto its upstream core.

use super::{invalid, within, AutoscalerError};
use fleetsim_core::autoscale::{Observation, PodPhase, PodSample, Scrape};
use fleetsim_core::{Autoscaler, SimDuration, SimTime};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// A deployment-wide signal read from a scrape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// Requests in the system: running and waiting at every replica plus
    /// waiting at the gateway ([`Scrape::concurrency`], Knative's
    /// concurrency, Ray Serve's ongoing requests).
    Concurrency,
    /// vLLM `num_requests_running`, summed over every replica.
    NumRequestsRunning,
    /// vLLM `num_requests_waiting`, summed over every replica, plus the
    /// requests waiting at the gateway (which is where they queue when no
    /// replica exists: the queue an activator or KEDA's HTTP interceptor
    /// would report).
    NumRequestsWaiting,
    /// vLLM `kv_cache_usage_perc` (0–1), summed over ready replicas.
    KvCacheUsagePerc,
    /// GPU busy fraction over the scrape interval (0–1), summed over ready
    /// replicas.
    GpuBusyFraction,
}

impl Signal {
    /// The signal's value for one pod (the gateway's share excluded).
    pub fn of_pod(self, p: &PodSample) -> f64 {
        match self {
            Signal::Concurrency => f64::from(p.num_requests_running + p.num_requests_waiting),
            Signal::NumRequestsRunning => f64::from(p.num_requests_running),
            Signal::NumRequestsWaiting => f64::from(p.num_requests_waiting),
            Signal::KvCacheUsagePerc => p.kv_cache_usage_perc,
            Signal::GpuBusyFraction => p.gpu_busy_fraction,
        }
    }

    /// Whether only ready pods count (utilisation signals: a starting pod
    /// reports 0 and a draining one is going away).
    fn ready_only(self) -> bool {
        matches!(self, Signal::KvCacheUsagePerc | Signal::GpuBusyFraction)
    }

    /// The deployment-wide value in one scrape.
    pub fn total(self, s: &Scrape) -> f64 {
        let pods: f64 = s
            .pods
            .iter()
            .filter(|p| !self.ready_only() || p.phase == PodPhase::Ready)
            .map(|p| self.of_pod(p))
            .sum();
        let gateway = match self {
            Signal::Concurrency | Signal::NumRequestsWaiting => f64::from(s.gateway_waiting),
            _ => 0.0,
        };
        pods + gateway
    }

    /// Mean of [`Self::total`] over the visible scrapes in `window` (`None`
    /// when none is visible).
    pub fn windowed_total(self, obs: &Observation<'_>, window: SimDuration) -> Option<f64> {
        let (sum, n) = obs
            .window(window)
            .fold((0.0, 0u32), |(a, n), s| (a + self.total(s), n + 1));
        (n > 0).then(|| sum / f64::from(n))
    }
}

/// The window a rate or latency signal is evaluated over when the policy
/// names none: 60 s, Prometheus's customary `rate(x[1m])`.
pub const DEFAULT_WINDOW_S: u64 = 60;

/// A deployment-wide rate or latency observed over a window from the
/// scrapes' cumulative counters, as a Prometheus query reads them
/// ([`Observation::counter_rate`], [`Observation::ttft_quantile_s`]): the
/// increase between the oldest and newest scrape of the window. `None`
/// (no data) with fewer than two scrapes in the window, and for a TTFT
/// quantile when no request completed in it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WindowedSignal {
    /// Requests arriving at the deployment per second, gateway included
    /// (`rate(requests_total[w])`).
    RequestRate,
    /// `rate(vllm:prompt_tokens_total[w])`, tokens per second.
    PromptTokensPerS,
    /// `rate(vllm:generation_tokens_total[w])`, tokens per second.
    GenerationTokensPerS,
    /// `histogram_quantile(q, rate(vllm:time_to_first_token_seconds_bucket[w]))`,
    /// seconds, for the quantile `q` in (0, 1].
    TtftQuantileS(f64),
    /// `histogram_quantile(q, rate(vllm:inter_token_latency_seconds_bucket[w]))`,
    /// seconds: what a decode pool is scaled on.
    ItlQuantileS(f64),
}

impl WindowedSignal {
    /// The value over the `window` before the newest visible scrape.
    pub fn value(self, obs: &Observation<'_>, window: SimDuration) -> Option<f64> {
        match self {
            WindowedSignal::RequestRate => obs.request_rate(window),
            WindowedSignal::PromptTokensPerS => {
                obs.counter_rate(window, |s| s.served.prompt_tokens_total)
            }
            WindowedSignal::GenerationTokensPerS => {
                obs.counter_rate(window, |s| s.served.generation_tokens_total)
            }
            WindowedSignal::TtftQuantileS(q) => obs.ttft_quantile_s(q, window),
            WindowedSignal::ItlQuantileS(q) => obs.itl_quantile_s(q, window),
        }
    }
}

/// Pods as a controller counts them from the cluster's API (the scale
/// subresource's `status.replicas`, the pod lister's ready pods, Ray's
/// replica state), not from the metrics pipeline: current at the sync,
/// whatever the metrics lag and through a metrics outage
/// ([`Observation::pods`]).
///
/// An observation built from scrapes alone (a policy's unit test) has no
/// pod list; its counts are those of the newest visible scrape and, while
/// the source is down, the count asked for (`status.replicas` =
/// [`Observation::desired`]) with the ready pods of the newest stored
/// scrape, at most that count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiPods {
    /// Pods starting or ready, not draining (`status.replicas`).
    pub status: u32,
    /// Pods ready (`readyReplicas`, Ray's running replicas).
    pub ready: u32,
}

impl ApiPods {
    /// The counts at `obs`; `None` for an observation without a pod list
    /// before any scrape was visible.
    pub fn of(obs: &Observation<'_>) -> Option<ApiPods> {
        if let Some(pods) = obs.pods() {
            let count =
                |keep: fn(PodPhase) -> bool| pods.iter().filter(|p| keep(p.phase)).count() as u32;
            return Some(ApiPods {
                status: count(|p| p != PodPhase::Draining),
                ready: count(|p| p == PodPhase::Ready),
            });
        }
        if let Some(s) = obs.latest() {
            let status = (s.pods.iter())
                .filter(|p| p.phase != PodPhase::Draining)
                .count() as u32;
            return Some(ApiPods {
                status,
                ready: s.count(PodPhase::Ready),
            });
        }
        let held = obs.window(SimDuration(u64::MAX)).last()?;
        Some(ApiPods {
            status: obs.desired,
            ready: held.count(PodPhase::Ready).min(obs.desired),
        })
    }
}

/// `status.replicas` ([`ApiPods::status`]; 0 when unknown).
pub fn status_replicas(obs: &Observation<'_>) -> u32 {
    ApiPods::of(obs).map_or(0, |p| p.status)
}

/// Ready pods ([`ApiPods::ready`]; 0 when unknown).
pub fn ready_pods(obs: &Observation<'_>) -> u32 {
    ApiPods::of(obs).map_or(0, |p| p.ready)
}

/// Gauge value as integer milli-units (HPA quantities), rounded.
pub fn milli(v: f64) -> i64 {
    (v * 1000.0).round() as i64
}

/// The scale-down delay: the answer is the maximum recommendation made
/// within the last `delay` (strictly inside, as upstream windows), so a
/// lower recommendation takes effect only once it has held for the whole
/// delay; a higher one at once.
#[derive(Clone, Debug)]
pub struct DownscaleDelay {
    delay: SimDuration,
    recs: VecDeque<(SimTime, u32)>,
}

impl DownscaleDelay {
    /// A window of `delay` (zero: no delay).
    pub fn new(delay: SimDuration) -> Self {
        DownscaleDelay {
            delay,
            recs: VecDeque::new(),
        }
    }

    /// Record `rec` at `now` and return the max over the window.
    pub fn apply(&mut self, now: SimTime, rec: u32) -> u32 {
        while self
            .recs
            .front()
            .is_some_and(|&(t, _)| !within(t, now, self.delay))
        {
            self.recs.pop_front();
        }
        if self.delay > SimDuration::ZERO {
            self.recs.push_back((now, rec));
        }
        self.recs
            .iter()
            .map(|&(_, r)| r)
            .max()
            .unwrap_or(rec)
            .max(rec)
    }
}

/// The last steps a recommendation takes in the adapters that scale to
/// zero: at least one replica for `hold` after an activation (a request
/// that found no replica), the replica bounds, then the scale-down delay.
#[derive(Clone, Debug)]
pub struct Settle {
    bounds: (u32, u32),
    delay: DownscaleDelay,
    hold: SimDuration,
    activated_at: Option<SimTime>,
}

impl Settle {
    /// Within `bounds` (min, max), lowering only after `scale_down_delay`,
    /// keeping an activated replica for `hold`.
    pub fn new(bounds: (u32, u32), scale_down_delay: SimDuration, hold: SimDuration) -> Self {
        Settle {
            bounds,
            delay: DownscaleDelay::new(scale_down_delay),
            hold,
            activated_at: None,
        }
    }

    /// The replica bounds (min, max).
    pub fn bounds(&self) -> (u32, u32) {
        self.bounds
    }

    /// `rec` at `now` after the activation hold, the bounds and the delay.
    pub fn apply(&mut self, now: SimTime, mut rec: u32) -> u32 {
        if (self.activated_at).is_some_and(|t| within(t, now, self.hold)) {
            rec = rec.max(1);
        }
        let rec = rec.clamp(self.bounds.0, self.bounds.1);
        self.delay.apply(now, rec)
    }

    /// A request found no replica at `now`: one at once (or the minimum).
    pub fn on_activation(&mut self, now: SimTime) -> Option<u32> {
        self.activated_at = Some(now);
        Some(self.bounds.0.max(1))
    }
}

/// Reject `min_replicas > max_replicas` for `autoscaler`, citing `rule`.
pub fn check_bounds(
    autoscaler: &'static str,
    min: u32,
    max: u32,
    rule: &str,
) -> Result<(), AutoscalerError> {
    if max == 0 {
        return Err(invalid(
            autoscaler,
            "max_replicas",
            format!("must be >= 1 ({rule})"),
        ));
    }
    if min > max {
        return Err(invalid(
            autoscaler,
            "min_replicas",
            format!("min_replicas > max_replicas ({min} > {max}) ({rule})"),
        ));
    }
    Ok(())
}

/// `desired = ceil(mean signal over the window / per_replica)` within
/// `[min, max]`, through a [`DownscaleDelay`]. Scale to zero when `min`
/// is 0; a request arriving at zero replicas activates one at once, and
/// the activated replica is kept for one window (until the window's
/// average can show the request that woke it).
#[derive(Clone, Debug)]
pub struct Proportional {
    signal: Signal,
    per_replica: f64,
    window: SimDuration,
    sync: SimDuration,
    settle: Settle,
}

impl Proportional {
    /// A scaler; the caller has validated the knobs (`per_replica > 0`).
    pub fn new(
        signal: Signal,
        per_replica: f64,
        window: SimDuration,
        scale_down_delay: SimDuration,
        sync: SimDuration,
        bounds: (u32, u32),
    ) -> Self {
        Proportional {
            signal,
            per_replica,
            window,
            sync,
            // The activated replica is kept for one window.
            settle: Settle::new(bounds, scale_down_delay, window),
        }
    }
}

impl Autoscaler for Proportional {
    fn sync_period(&self) -> SimDuration {
        self.sync
    }

    fn replica_bounds(&self) -> (u32, u32) {
        self.settle.bounds()
    }

    fn desired_replicas(&mut self, obs: &Observation<'_>) -> u32 {
        let Some(v) = self.signal.windowed_total(obs, self.window) else {
            return obs.desired;
        };
        let raw = (v / self.per_replica).ceil();
        let rec = if raw >= f64::from(u32::MAX) {
            u32::MAX
        } else {
            raw.max(0.0) as u32
        };
        self.settle.apply(obs.now, rec)
    }

    fn on_activation(&mut self, now: SimTime) -> Option<u32> {
        self.settle.on_activation(now)
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Building observations for adapter tests.
    use fleetsim_core::autoscale::{MetricsStore, PodPhase, PodSample, Scrape};
    use fleetsim_core::{SimDuration, SimTime};

    /// Seconds (fractional) since the start as a [`SimTime`].
    pub fn at(s: f64) -> SimTime {
        SimTime::ZERO + SimDuration::try_from_secs_f64(s).expect("valid")
    }

    /// A ready pod with `running` requests running and `waiting` waiting,
    /// KV-cache usage and GPU busy fraction `util`.
    pub fn ready(replica: u32, running: u32, waiting: u32, util: f64) -> PodSample {
        PodSample {
            replica,
            phase: PodPhase::Ready,
            created: SimTime::ZERO,
            ready_since: Some(SimTime::ZERO),
            num_requests_running: running,
            num_requests_waiting: waiting,
            kv_cache_usage_perc: util,
            gpu_busy_fraction: util,
        }
    }

    /// A pod that is still starting (no requests, no utilisation).
    pub fn starting(replica: u32) -> PodSample {
        PodSample {
            phase: PodPhase::Starting,
            ready_since: None,
            ..ready(replica, 0, 0, 0.0)
        }
    }

    /// `n` ready pods sharing `in_flight` running requests evenly (the
    /// remainder on the first pods), utilisation `util`.
    pub fn fleet(n: u32, in_flight: u32, util: f64) -> Vec<PodSample> {
        (0..n)
            .map(|i| {
                let share = in_flight / n + u32::from(i < in_flight % n);
                ready(i, share, 0, util)
            })
            .collect()
    }

    /// A scrape at `t` seconds.
    pub fn scrape(t: f64, pods: Vec<PodSample>, gateway_waiting: u32) -> Scrape {
        Scrape {
            at: at(t),
            pods,
            gateway_waiting,
            arrivals_total: 0,
            served: Default::default(),
        }
    }

    /// Records scrapes into a store with a long lookback.
    pub fn record(store: &mut MetricsStore, scrapes: impl IntoIterator<Item = Scrape>) {
        for s in scrapes {
            store.record(s, SimDuration::from_secs(7200));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use fleetsim_core::autoscale::MetricsStore;

    #[test]
    #[allow(clippy::float_cmp)] // exact sums and defaults
    fn signals_read_the_right_gauges() {
        let mut pods = vec![ready(0, 3, 2, 0.5), ready(1, 1, 0, 0.25), starting(2)];
        pods[2].num_requests_waiting = 7; // not possible in the engine; counts anyway
        pods.push(PodSample {
            phase: PodPhase::Draining,
            kv_cache_usage_perc: 0.9,
            ..ready(3, 4, 0, 0.9)
        });
        let s = scrape(0.0, pods, 5);
        // (signal, total)
        let cases = [
            (Signal::Concurrency, 3.0 + 2.0 + 1.0 + 7.0 + 4.0 + 5.0),
            (Signal::NumRequestsRunning, 8.0),
            (Signal::NumRequestsWaiting, 2.0 + 7.0 + 5.0),
            (Signal::KvCacheUsagePerc, 0.75),
            (Signal::GpuBusyFraction, 0.75),
        ];
        for (sig, want) in cases {
            assert_eq!(sig.total(&s), want, "{sig:?}");
        }
    }

    #[test]
    fn downscale_delay_holds_the_max_for_the_delay() {
        let mut d = DownscaleDelay::new(SimDuration::from_secs(10));
        // (t, rec, out)
        let steps = [
            (0.0, 5, 5),
            (4.0, 2, 5),
            (9.0, 2, 5),
            (10.0, 2, 2), // the 5 at t = 0 is exactly 10 s old: out
            (12.0, 7, 7),
            (13.0, 1, 7),
        ];
        for (t, rec, out) in steps {
            assert_eq!(d.apply(at(t), rec), out, "t={t}");
        }
        let mut none = DownscaleDelay::new(SimDuration::ZERO);
        assert_eq!(none.apply(at(0.0), 5), 5);
        assert_eq!(none.apply(at(1.0), 1), 1);
    }

    #[test]
    fn proportional_holds_without_data_and_clamps() {
        let mut p = Proportional::new(
            Signal::Concurrency,
            10.0,
            SimDuration::from_secs(60),
            SimDuration::ZERO,
            SimDuration::from_secs(1),
            (1, 4),
        );
        let store = MetricsStore::default();
        assert_eq!(
            p.desired_replicas(&store.observe(at(5.0), SimDuration::ZERO, 3)),
            3
        );
        let mut store = MetricsStore::default();
        record(&mut store, [scrape(1.0, fleet(2, 100, 1.0), 0)]);
        assert_eq!(
            p.desired_replicas(&store.observe(at(2.0), SimDuration::ZERO, 2)),
            4
        );
    }
}
