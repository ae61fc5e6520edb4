//! The HPA adapter to the engine's `Autoscaler` trait: the metrics it can
//! target (Pods and Utilization-like metrics read per pod from the latest
//! visible scrape; External metrics on the rates and TTFT quantiles
//! observed over a window), its `[scaling]` configuration and its registry
//! entry.

use super::*;

/// A metric the HPA adapter can target (`[[scaling.metrics]] metric =
/// "..."`): per pod from the latest visible scrape, or an External metric
/// over a window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "metric", rename_all = "snake_case", deny_unknown_fields)]
pub enum HpaMetric {
    /// GPU busy fraction as a Utilization-like metric: each pod "requests"
    /// one GPU and uses its busy fraction (the
    /// [`resource_utilization_replicas`] maths, integer percent).
    GpuBusyFraction {
        /// Target utilization, percent (> 0; KServe's default metric is
        /// cpu at 80).
        target_utilization_percent: i32,
    },
    /// KV-cache usage (`kv_cache_usage_perc`) the same way, the whole
    /// cache being the request.
    KvCacheUsagePerc {
        /// Target utilization, percent (> 0).
        target_utilization_percent: i32,
    },
    /// `num_requests_waiting` as a Pods metric with an AverageValue
    /// target ([`pods_average_value_replicas`]).
    NumRequestsWaiting {
        /// Target waiting requests per pod (> 0).
        target_average_value: f64,
    },
    /// `num_requests_running` as a Pods metric with an AverageValue target.
    NumRequestsRunning {
        /// Target running requests per pod (> 0).
        target_average_value: f64,
    },
    /// Requests arriving per second (External).
    RequestRate(ExternalTarget),
    /// Prompt tokens per second, `rate(vllm:prompt_tokens_total)` (External).
    PromptTokensPerS(ExternalTarget),
    /// Generation tokens per second (External).
    GenerationTokensPerS(ExternalTarget),
    /// TTFT p95, seconds, from vLLM's histogram (External).
    TtftP95S(ExternalTarget),
    /// TTFT at `quantile`, seconds (External).
    TtftQuantileS(ExternalTarget),
    /// Inter-token latency p95, seconds, from vLLM's histogram (External):
    /// the signal of a disaggregated decode pool.
    ItlP95S(ExternalTarget),
}

fn default_window_s() -> u64 {
    crate::autoscalers::adapter::DEFAULT_WINDOW_S
}

/// An External metric's target and window: exactly one of `target_value`
/// (type Value: `r = value / target`, `ceil(r · ready pods)` outside the
/// tolerance, [`object_value_replicas`]) and `target_average_value` (type
/// AverageValue: `ceil(value / target)`, [`per_pod_replicas`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalTarget {
    /// Value target for the deployment-wide value (> 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_value: Option<f64>,
    /// AverageValue target per replica (> 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_average_value: Option<f64>,
    /// The range the rate or quantile is taken over, seconds (1..=3600).
    /// Default 60 (`rate(x[1m])`).
    #[serde(default = "default_window_s")]
    pub window_s: u64,
    /// The quantile, in (0, 1]: required by `ttft_quantile_s`, refused by
    /// the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantile: Option<f64>,
}

impl HpaMetric {
    /// The per-pod signal, or the External metric's windowed signal and
    /// target.
    fn source(&self) -> Source<'_> {
        use crate::autoscalers::adapter::{Signal, WindowedSignal as W};
        match self {
            HpaMetric::GpuBusyFraction { .. } => Source::Pods(Signal::GpuBusyFraction),
            HpaMetric::KvCacheUsagePerc { .. } => Source::Pods(Signal::KvCacheUsagePerc),
            HpaMetric::NumRequestsWaiting { .. } => Source::Pods(Signal::NumRequestsWaiting),
            HpaMetric::NumRequestsRunning { .. } => Source::Pods(Signal::NumRequestsRunning),
            HpaMetric::RequestRate(t) => Source::External(W::RequestRate, t),
            HpaMetric::PromptTokensPerS(t) => Source::External(W::PromptTokensPerS, t),
            HpaMetric::GenerationTokensPerS(t) => Source::External(W::GenerationTokensPerS, t),
            HpaMetric::TtftP95S(t) => Source::External(W::TtftQuantileS(0.95), t),
            HpaMetric::ItlP95S(t) => Source::External(W::ItlQuantileS(0.95), t),
            // NaN only if validation was skipped: the quantile then has no value.
            HpaMetric::TtftQuantileS(t) => {
                Source::External(W::TtftQuantileS(t.quantile.unwrap_or(f64::NAN)), t)
            }
        }
    }

    /// The longest window an External metric reads.
    fn window(&self) -> Option<SimDuration> {
        match self.source() {
            Source::External(_, t) => Some(crate::autoscalers::secs(t.window_s)),
            Source::Pods(_) => None,
        }
    }

    /// `i` is the metric's index in `metrics`, for the error.
    fn validate(&self, i: usize) -> Result<(), AutoscalerError> {
        if let Source::External(_, t) = self.source() {
            let bad = |field: &str, rule: String| {
                Err(invalid(
                    NAME,
                    "metrics",
                    format!("metrics[{i}].{field}: {rule}"),
                ))
            };
            let wants_q = matches!(self, HpaMetric::TtftQuantileS(_));
            match (t.target_value, t.target_average_value) {
                (Some(_), Some(_)) | (None, None) => {
                    return bad(
                        "target_value",
                        "set exactly one of target_value (Value) and target_average_value (AverageValue) (HPA: an External metric target has one type)".into(),
                    )
                }
                (Some(v), None) | (None, Some(v)) if !v.is_finite() || v <= 0.0 => {
                    let field = if t.target_value.is_some() {
                        "target_value"
                    } else {
                        "target_average_value"
                    };
                    return bad(field, format!("must be > 0, got {v} (HPA: value and averageValue must be positive)"));
                }
                _ => {}
            }
            if !(1..=3600).contains(&t.window_s) {
                return bad(
                    "window_s",
                    format!("must be in 1..=3600, got {}", t.window_s),
                );
            }
            match (wants_q, t.quantile) {
                (true, None) => {
                    return bad(
                        "quantile",
                        "ttft_quantile_s needs a quantile in (0, 1]".into(),
                    )
                }
                (true, Some(q)) if !(q > 0.0 && q <= 1.0) => {
                    return bad("quantile", format!("must be in (0, 1], got {q}"))
                }
                (false, Some(_)) => {
                    return bad("quantile", "only ttft_quantile_s takes a quantile".into())
                }
                _ => {}
            }
            return Ok(());
        }
        // The Pods metrics: errors name the entry of `metrics`, as above.
        let bad = |field: &str, rule: String| {
            Err(invalid(
                NAME,
                "metrics",
                format!("metrics[{i}].{field}: {rule}"),
            ))
        };
        match *self {
            HpaMetric::GpuBusyFraction {
                target_utilization_percent: t,
            }
            | HpaMetric::KvCacheUsagePerc {
                target_utilization_percent: t,
            } if t <= 0 => bad(
                "target_utilization_percent",
                format!("must be > 0, got {t} (HPA: averageUtilization must be greater than 0)"),
            ),
            HpaMetric::NumRequestsWaiting {
                target_average_value: v,
            }
            | HpaMetric::NumRequestsRunning {
                target_average_value: v,
            } if !v.is_finite() || v <= 0.0 => bad(
                "target_average_value",
                format!("must be > 0, got {v} (HPA: averageValue must be positive)"),
            ),
            _ => Ok(()),
        }
    }

    /// This metric's replica recommendation for the pods of `scrape` (the
    /// newest visible one of `obs`) or, for an External metric, from its
    /// value over its window (no value: no decision, an invalid metric).
    pub fn replicas(
        &self,
        current: u32,
        tol: Tolerances,
        scrape: &fleetsim_core::autoscale::Scrape,
        obs: &fleetsim_core::autoscale::Observation<'_>,
    ) -> Result<u32, AutoscalerError> {
        use crate::autoscalers::adapter::{milli, ready_pods, status_replicas};
        let signal = match self.source() {
            Source::Pods(s) => s,
            Source::External(w, t) => {
                let value = w
                    .value(obs, crate::autoscalers::secs(t.window_s))
                    .ok_or_else(|| {
                        no_decision(NAME, "the External metric has no value over its window")
                    })?;
                return match (t.target_value, t.target_average_value) {
                    (Some(v), _) => {
                        object_value_replicas(current, milli(value), milli(v), ready_pods(obs), tol)
                    }
                    (None, Some(v)) => {
                        per_pod_replicas(status_replicas(obs), milli(value), milli(v), tol)
                    }
                    (None, None) => Err(no_decision(NAME, "no target")),
                }
                .map(|r| r.replicas);
            }
        };
        let pods = grouped_pods(obs, scrape, signal);
        match *self {
            HpaMetric::GpuBusyFraction {
                target_utilization_percent: t,
            }
            | HpaMetric::KvCacheUsagePerc {
                target_utilization_percent: t,
            } => resource_utilization_replicas(current, t, tol, &pods).map(|r| r.replicas),
            HpaMetric::NumRequestsWaiting {
                target_average_value: v,
            }
            | HpaMetric::NumRequestsRunning {
                target_average_value: v,
            } => pods_average_value_replicas(
                current,
                crate::autoscalers::adapter::milli(v),
                tol,
                &pods,
            )
            .map(|r| r.replicas),
            // Answered above.
            _ => Err(no_decision(NAME, "not a per-pod metric")),
        }
    }
}

/// Where a metric's value comes from.
enum Source<'a> {
    /// Per pod, from the newest visible scrape.
    Pods(crate::autoscalers::adapter::Signal),
    /// Deployment-wide over a window, with the target.
    External(
        crate::autoscalers::adapter::WindowedSignal,
        &'a ExternalTarget,
    ),
}

/// `groupPods` for an engine pod in a scrape: [`classify_engine_pod`] with
/// the scrape's sample.
pub fn classify_sample(
    p: &fleetsim_core::autoscale::PodSample,
    scraped: SimTime,
    now: SimTime,
) -> PodClass {
    classify_engine_pod(p.phase, p.created, p.ready_since, Some(scraped), now)
}

/// `groupPods` for an engine pod: Starting = Pending (unready), Draining =
/// being deleted (ignored), Ready = Running with its Ready condition since
/// `ready_since`; no sample (`sampled` = `None`) = missing. The metrics are
/// not cpu, so the readiness rules do not apply (as upstream for custom
/// metrics).
pub fn classify_engine_pod(
    phase: fleetsim_core::autoscale::PodPhase,
    created: SimTime,
    ready_since: Option<SimTime>,
    sampled: Option<SimTime>,
    now: SimTime,
) -> PodClass {
    use fleetsim_core::autoscale::PodPhase as P;
    let status = PodStatus {
        phase: match phase {
            P::Starting => PodPhase::Pending,
            P::Ready | P::Draining => PodPhase::Running,
        },
        deleting: phase == P::Draining,
        start_time: Some(created),
        ready: Some(match ready_since {
            Some(t) => ReadyCondition {
                ready: true,
                last_transition: t,
            },
            None => ReadyCondition {
                ready: false,
                last_transition: created,
            },
        }),
        sample: sampled.map(|at| MetricSample {
            timestamp: Some(at),
            window: SimDuration::ZERO,
        }),
    };
    classify_pod(&status, false, now, ReadinessTiming::default())
}

/// The replica calculator's pods as upstream's `groupPods` forms them: the
/// pods the lister returns now, each with its sample from `scrape` if the
/// metrics API has one (a pod started since is missing), plus the samples
/// of pods no longer listed (a pod gone since), which stay among the
/// samples. Without a listing (a policy's unit test), the scrape's pods.
fn grouped_pods(
    obs: &fleetsim_core::autoscale::Observation<'_>,
    scrape: &fleetsim_core::autoscale::Scrape,
    signal: crate::autoscalers::adapter::Signal,
) -> Vec<PodMetric> {
    use crate::autoscalers::adapter::milli;
    let now = obs.now;
    let value = |p: &fleetsim_core::autoscale::PodSample| Some(milli(signal.of_pod(p)));
    let Some(listed) = obs.pods() else {
        return (scrape.pods.iter())
            .map(|p| PodMetric {
                class: classify_sample(p, scrape.at, now),
                request_milli: Some(1000),
                value_milli: value(p),
            })
            .collect();
    };
    let samples: std::collections::HashMap<u32, &fleetsim_core::autoscale::PodSample> =
        scrape.pods.iter().map(|p| (p.replica, p)).collect();
    let mut pods: Vec<PodMetric> = (listed.iter())
        .map(|pod| {
            let sample = samples.get(&pod.replica).copied();
            PodMetric {
                class: classify_engine_pod(
                    pod.phase,
                    pod.created,
                    pod.ready_since,
                    sample.map(|_| scrape.at),
                    now,
                ),
                request_milli: Some(1000),
                value_milli: sample.and_then(value),
            }
        })
        .collect();
    let listed_ids: std::collections::HashSet<u32> = listed.iter().map(|p| p.replica).collect();
    pods.extend(
        (scrape.pods.iter())
            .filter(|p| !listed_ids.contains(&p.replica))
            .map(|p| PodMetric {
                class: PodClass::Unlisted,
                request_milli: None,
                value_milli: value(p),
            }),
    );
    pods
}

fn one() -> u32 {
    1
}
fn ten() -> u32 {
    10
}
fn fifteen() -> u32 {
    15
}
fn three_hundred() -> u32 {
    300
}
fn default_hpa_metrics() -> Vec<HpaMetric> {
    vec![HpaMetric::GpuBusyFraction {
        target_utilization_percent: 80,
    }]
}

/// `[scaling] kind = "hpa"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HpaAutoscalerConfig {
    /// `minReplicas`, default 1 (0 is rejected: scale to zero needs the
    /// alpha `HPAScaleToZero` gate and an Object/External metric).
    #[serde(default = "one")]
    pub min_replicas: u32,
    /// `maxReplicas`, default 10 (required upstream).
    #[serde(default = "ten")]
    pub max_replicas: u32,
    /// The metrics; the HPA takes the max of their recommendations.
    /// Default: GPU busy fraction at 80 % (KServe's cpu 80 % default).
    #[serde(default = "default_hpa_metrics")]
    pub metrics: Vec<HpaMetric>,
    /// `--horizontal-pod-autoscaler-sync-period`, default 15 s.
    #[serde(default = "fifteen")]
    pub sync_period_s: u32,
    /// Tolerances, default 0.1 both ways.
    #[serde(default)]
    pub tolerance: Tolerances,
    /// `--horizontal-pod-autoscaler-downscale-stabilization`, default 300 s.
    #[serde(default = "three_hundred")]
    pub downscale_stabilization_s: u32,
    /// `spec.behavior`, snake_case or autoscaling/v2 spelling, fields left
    /// out taking the API defaults; absent = the legacy path.
    #[serde(default)]
    pub behavior: Option<BehaviorConfig>,
}

impl HpaAutoscalerConfig {
    /// The core's knobs, the behavior defaulted as the API server would.
    pub(crate) fn core(&self) -> HpaConfig {
        HpaConfig {
            min_replicas: self.min_replicas,
            max_replicas: self.max_replicas,
            sync_period_s: self.sync_period_s,
            tolerance: self.tolerance,
            downscale_stabilization_s: self.downscale_stabilization_s,
            behavior: (self.behavior.as_ref()).map(|b| b.defaulted(self.downscale_stabilization_s)),
            readiness: ReadinessTiming::default(),
        }
    }

    /// Upstream validation plus the adapter's own.
    pub fn validate(&self) -> Result<(), AutoscalerError> {
        self.core().validate()?;
        if self.min_replicas == 0 {
            return Err(invalid(NAME, "min_replicas", "must be >= 1 (HPA: minReplicas = 0 needs the HPAScaleToZero alpha gate and at least one Object or External metric; these are Pods/Resource metrics)"));
        }
        if self.metrics.is_empty() {
            return Err(invalid(NAME, "metrics", "must list at least one metric (HPA: autoscaling/v2 defaults an empty list to cpu at 80 %; write the metric out)"));
        }
        (self.metrics.iter().enumerate()).try_for_each(|(i, m)| m.validate(i))
    }

    /// The autoscaler.
    pub fn build(&self) -> Result<Box<dyn fleetsim_core::Autoscaler>, AutoscalerError> {
        self.validate()?;
        Ok(Box::new(HpaAutoscaler {
            hpa: Hpa::new(self.core())?,
            metrics: self.metrics.clone(),
        }))
    }

    /// Custom and External metrics through Prometheus and
    /// prometheus-adapter: 15 s scrapes, visible 15 s later (assumed, not
    /// from the reference: one adapter query/relist period), 10 minutes
    /// kept or the longest External window if longer.
    pub fn default_metrics(&self) -> fleetsim_core::autoscale::MetricsSpec {
        let longest = self.metrics.iter().filter_map(HpaMetric::window).max();
        fleetsim_core::autoscale::MetricsSpec {
            scrape_interval: SimDuration::from_secs(15),
            lag: SimDuration::from_secs(15),
            lookback: longest.map_or(SimDuration::from_secs(600), |w| {
                w.max(SimDuration::from_secs(600))
            }),
        }
    }
}

/// Engine adapter: [`Hpa::reconcile`] every sync period with `current` =
/// the count currently asked for and one recommendation per metric from
/// the latest visible scrape (pods classified by [`classify_sample`]). A
/// metric that cannot be computed counts as invalid, as upstream; when
/// the HPA makes no decision (or nothing is visible yet) the count is
/// held. No activation hook: the HPA never scales from zero.
#[derive(Clone, Debug)]
pub struct HpaAutoscaler {
    hpa: Hpa,
    metrics: Vec<HpaMetric>,
}

impl fleetsim_core::Autoscaler for HpaAutoscaler {
    fn sync_period(&self) -> SimDuration {
        crate::autoscalers::secs(u64::from(self.hpa.config().sync_period_s))
    }

    fn replica_bounds(&self) -> (u32, u32) {
        (
            self.hpa.config().min_replicas,
            self.hpa.config().max_replicas,
        )
    }

    fn desired_replicas(&mut self, obs: &fleetsim_core::autoscale::Observation<'_>) -> u32 {
        let Some(scrape) = obs.latest() else {
            return obs.desired;
        };
        let tol = self.hpa.config().tolerance;
        let recs: Vec<Option<u32>> = (self.metrics.iter())
            .map(|m| m.replicas(obs.desired, tol, scrape, obs).ok())
            .collect();
        match self.hpa.reconcile(obs.now, obs.desired, &recs) {
            Ok(d) => d.desired,
            Err(_) => obs.desired,
        }
    }
}

/// `[scaling] kind = "hpa"`: this file's entry in the autoscaler
/// registry (`autoscalers/mod.rs`).
#[derive(Debug)]
pub struct HpaKind;

impl crate::autoscalers::AutoscalerKind for HpaKind {
    const NAME: &'static str = "hpa";
    type Config = HpaAutoscalerConfig;

    fn validate(config: &HpaAutoscalerConfig) -> Result<(), AutoscalerError> {
        config.validate()
    }

    fn build(
        config: &HpaAutoscalerConfig,
    ) -> Result<Box<dyn fleetsim_core::Autoscaler>, AutoscalerError> {
        config.build()
    }

    fn default_metrics(config: &HpaAutoscalerConfig) -> fleetsim_core::autoscale::MetricsSpec {
        config.default_metrics()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autoscalers::adapter::testing::*;
    use fleetsim_core::autoscale::{MetricsStore, PodPhase as P, PodSample};
    use fleetsim_core::Autoscaler;

    fn waiting(target: f64) -> HpaMetric {
        HpaMetric::NumRequestsWaiting {
            target_average_value: target,
        }
    }

    fn config(metrics: Vec<HpaMetric>) -> HpaAutoscalerConfig {
        HpaAutoscalerConfig {
            metrics,
            ..serde_json::from_str("{}").unwrap()
        }
    }

    fn pods_waiting(w: &[u32]) -> Vec<PodSample> {
        (0..).zip(w).map(|(i, &w)| ready(i, 1, w, 0.5)).collect()
    }

    fn decide(a: &mut dyn Autoscaler, t: f64, desired: u32, pods: Vec<PodSample>) -> u32 {
        let mut store = MetricsStore::default();
        record(&mut store, [scrape(t, pods, 0)]);
        a.desired_replicas(&store.observe(at(t), SimDuration::ZERO, desired))
    }

    #[test]
    fn defaults_and_sync() {
        let c: HpaAutoscalerConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(
            (c.min_replicas, c.max_replicas, c.sync_period_s),
            (1, 10, 15)
        );
        assert_eq!(c.metrics, default_hpa_metrics());
        let a = c.build().unwrap();
        assert_eq!(a.sync_period(), SimDuration::from_secs(15));
        assert_eq!(a.replica_bounds(), (1, 10));
    }

    #[test]
    fn per_metric_decisions() {
        let gpu = HpaMetric::GpuBusyFraction {
            target_utilization_percent: 80,
        };
        // (metrics, desired now, per-pod waiting, expected)
        let cases: Vec<(Vec<HpaMetric>, u32, Vec<u32>, u32)> = vec![
            // avg 5.33 at target 5: ratio 1.07, inside the 10 % band.
            (vec![waiting(5.0)], 3, vec![5, 5, 6], 3),
            // avg 10 at target 5 → ceil(2 · 3) = 6.
            (vec![waiting(5.0)], 3, vec![10, 10, 10], 6),
            // gpu 50 % of 80 → ceil(0.625 · 3) = 2 (legacy path: stored
            // recommendations start at the current 3, so held at 3).
            (vec![gpu.clone()], 3, vec![0, 0, 0], 3),
            // Two metrics: max(waiting → 6, gpu → held 3).
            (vec![gpu, waiting(5.0)], 3, vec![10, 10, 10], 6),
        ];
        for (metrics, desired, w, want) in cases {
            let mut a = config(metrics.clone()).build().unwrap();
            assert_eq!(
                decide(a.as_mut(), 0.0, desired, pods_waiting(&w)),
                want,
                "{metrics:?} {w:?}"
            );
        }
    }

    /// `groupPods` takes its pods from the lister and their samples from
    /// the metrics API: a pod gone since the scrape keeps its sample among
    /// the samples but does not count.
    #[test]
    fn pods_come_from_the_listing_and_samples_from_the_scrape() {
        use fleetsim_core::autoscale::PodStatus as Listed;
        let listed = |ids: &[u32]| -> Vec<Listed> {
            (ids.iter())
                .map(|&replica| Listed {
                    replica,
                    phase: P::Ready,
                    created: at(0.0),
                    ready_since: Some(at(50.0)),
                })
                .collect()
        };
        let mut store = MetricsStore::default();
        record(&mut store, [scrape(200.0, pods_waiting(&[10, 10]), 0)]);
        // (pods listed now, expected), with 2 replicas asked for.
        let cases: [(&[u32], u32); 2] = [
            // Both listed: avg 10 at target 5 → ceil(2 · 2) = 4.
            (&[0, 1], 4),
            // Pod 1 gone since the scrape: its sample still averages in
            // (ratio 2) but only pod 0 counts → ceil(2 · 1) = 2.
            (&[0], 2),
        ];
        for (ids, want) in cases {
            let mut a = config(vec![waiting(5.0)]).build().unwrap();
            let pods = listed(ids);
            let obs = store
                .observe(at(200.0), SimDuration::ZERO, 2)
                .with_pods(&pods);
            assert_eq!(a.desired_replicas(&obs), want, "listed {ids:?}");
        }
    }

    #[test]
    fn starting_pods_are_unready_and_draining_pods_ignored() {
        let mut a = config(vec![waiting(5.0)]).build().unwrap();
        // Two ready pods at 10 waiting and two starting: on a scale-up the
        // unready pods count as 0 → avg 5 → ratio 1 → hold at 4.
        let mut pods = pods_waiting(&[10, 10]);
        pods.extend([starting(2), starting(3)]);
        assert_eq!(decide(a.as_mut(), 0.0, 4, pods), 4);
        // A draining pod's queue is ignored: 2 ready at 5 → hold 2.
        let mut b = config(vec![waiting(5.0)]).build().unwrap();
        let mut pods = pods_waiting(&[5, 5]);
        pods.push(PodSample {
            phase: P::Draining,
            ..ready(9, 0, 100, 0.0)
        });
        assert_eq!(decide(b.as_mut(), 0.0, 2, pods), 2);
    }

    #[test]
    fn legacy_stabilization_holds_scale_down_for_300_s() {
        let mut a = config(vec![waiting(5.0)]).build().unwrap();
        assert_eq!(decide(a.as_mut(), 0.0, 3, pods_waiting(&[10, 10, 10])), 6);
        // Load falls: avg 1 → ceil(0.2 · 6) = 2, held by the 6 at t = 0
        // while it is at most 300 s old.
        let low = || pods_waiting(&[1, 1, 1, 1, 1, 1]);
        assert_eq!(decide(a.as_mut(), 150.0, 6, low()), 6);
        assert_eq!(decide(a.as_mut(), 300.0, 6, low()), 6);
        assert_eq!(decide(a.as_mut(), 301.0, 6, low()), 2);
    }

    #[test]
    fn behavior_path_rate_limits_scale_up() {
        let c = HpaAutoscalerConfig {
            behavior: Some(BehaviorConfig::default()),
            ..config(vec![waiting(1.0)])
        };
        let mut a = c.build().unwrap();
        // Wants 20 from 2: max(+4 pods, +100 %) per 15 s → 6.
        assert_eq!(decide(a.as_mut(), 0.0, 2, pods_waiting(&[10, 10])), 6);
    }

    #[test]
    fn kubernetes_spelled_behavior_rate_limits_scale_up() {
        let c: HpaAutoscalerConfig = toml::from_str(
            "metrics = [{ metric = \"num_requests_waiting\", target_average_value = 1.0 }]\n\
             behavior = { scaleUp = { policies = [{ type = \"Pods\", value = 1, periodSeconds = 60 }] } }\n",
        )
        .unwrap();
        let mut a = c.build().unwrap();
        // Wants 20 from 2; one pod per 60 s → 3, where the default
        // max(+4 pods, +100 %) would give 6.
        assert_eq!(decide(a.as_mut(), 0.0, 2, pods_waiting(&[10, 10])), 3);
    }

    #[test]
    fn no_scrape_holds() {
        let mut a = config(vec![waiting(5.0)]).build().unwrap();
        let store = MetricsStore::default();
        assert_eq!(
            a.desired_replicas(&store.observe(at(20.0), SimDuration::ZERO, 4)),
            4
        );
    }

    fn external(json: &str) -> HpaMetric {
        serde_json::from_str(json).unwrap()
    }

    /// Scrapes at 0 and 30 s of `ready` pods: `rps` arrivals per second and,
    /// between them, 20 requests completed with TTFT `ttft_ms` each.
    fn windowed(ready: u32, rps: u64, ttft_ms: u64) -> MetricsStore {
        let mut store = MetricsStore::default();
        let take = |store: &mut MetricsStore, t: u64| {
            let mut s = scrape(t as f64, pods_waiting(&vec![0; ready as usize]), 0);
            s.arrivals_total = rps * t;
            s.served = store.served();
            record(store, [s]);
        };
        take(&mut store, 0);
        for _ in 0..20 {
            store.note_completion(1000, 100, ttft_ms * 1_000_000, None);
        }
        take(&mut store, 30);
        store
    }

    #[test]
    fn external_metrics_on_observed_rates_and_latency() {
        let decide_on = |m: &str, store: &MetricsStore, desired: u32| {
            let mut a = config(vec![external(m)]).build().unwrap();
            a.desired_replicas(&store.observe(at(30.0), SimDuration::ZERO, desired))
        };
        // TTFT 0.9 s in (0.75, 1]: p95 = 0.75 + 0.25 · 0.95 = 0.9875 s, at
        // a 0.5 s Value target r = 1.975 → ceil(1.975 · 3 ready) = 6.
        let slow = windowed(3, 10, 900);
        let p95 = r#"{"metric":"ttft_p95_s","target_value":0.5}"#;
        assert_eq!(decide_on(p95, &slow, 3), 6);
        // Fast requests (p95 0.25 · 0.95 / 1 → 0.2375 s): r = 0.475, down
        // to ceil(1.425) = 2, held by the legacy 300 s stabilization at 3.
        assert_eq!(decide_on(p95, &windowed(3, 10, 200), 3), 3);
        // 45 req/s at an AverageValue of 10 per replica: ceil(4.5) = 5
        // (within the legacy scale-up limit max(2 · 3, 4)).
        let rate = r#"{"metric":"request_rate","target_average_value":10}"#;
        assert_eq!(decide_on(rate, &windowed(3, 45, 100), 3), 5);
        // 20 · 100 generation tokens in 30 s = 66.7/s; target 20 per
        // replica → ceil(3.33) = 4.
        let gen = r#"{"metric":"generation_tokens_per_s","target_average_value":20}"#;
        assert_eq!(decide_on(gen, &slow, 3), 4);
        // p50 of the slow ones: 0.75 + 0.25 · 0.5 = 0.875 s; Value 0.25 →
        // r = 3.5 → ceil(3.5 · 3) = 11, limited to max(2 · 3, 4) = 6.
        let p50 = r#"{"metric":"ttft_quantile_s","quantile":0.5,"target_value":0.25}"#;
        assert_eq!(decide_on(p50, &slow, 3), 6);
        // p95 at 0.99 s against a 1 s target: within the 10 % band, held.
        let p95_1s = r#"{"metric":"ttft_p95_s","target_value":1}"#;
        assert_eq!(decide_on(p95_1s, &slow, 3), 3);
        // Inter-token latency: 20 requests of 100 tokens at a mean 60 ms,
        // 1,980 intervals in (0.05, 0.075]: p95 = 0.05 + 0.025 · 0.95 =
        // 0.07375 s; at a 0.05 s target r = 1.475 → ceil(1.475 · 2) = 3.
        let mut decode = MetricsStore::default();
        let take = |store: &mut MetricsStore, t: u64| {
            let mut s = scrape(t as f64, pods_waiting(&[0, 0]), 0);
            s.served = store.served();
            record(store, [s]);
        };
        take(&mut decode, 0);
        for _ in 0..20 {
            decode.note_completion(1000, 100, 100_000_000, Some(60_000_000));
        }
        take(&mut decode, 30);
        let itl = r#"{"metric":"itl_p95_s","target_value":0.05}"#;
        assert_eq!(decide_on(itl, &decode, 2), 3);
        // A window with one scrape has no rate: the metric is invalid and
        // the count is held.
        let short = r#"{"metric":"request_rate","target_average_value":10,"window_s":20}"#;
        assert_eq!(decide_on(short, &windowed(2, 45, 100), 2), 2);
        // The longest window sets the lookback.
        let long = config(vec![external(
            r#"{"metric":"prompt_tokens_per_s","target_average_value":1000,"window_s":1200}"#,
        )]);
        assert_eq!(
            long.default_metrics().lookback,
            SimDuration::from_secs(1200)
        );
    }

    #[test]
    fn bad_external_metrics_name_the_field() {
        // (metric, fragment)
        let cases = [
            (
                r#"{"metric":"request_rate"}"#,
                "metrics[0].target_value: set exactly one",
            ),
            (
                r#"{"metric":"request_rate","target_value":1,"target_average_value":1}"#,
                "set exactly one",
            ),
            (
                r#"{"metric":"ttft_p95_s","target_value":-0.5}"#,
                "metrics[0].target_value: must be > 0",
            ),
            (
                r#"{"metric":"request_rate","target_value":1,"window_s":0}"#,
                "metrics[0].window_s: must be in 1..=3600",
            ),
            (
                r#"{"metric":"ttft_quantile_s","target_value":1}"#,
                "metrics[0].quantile: ttft_quantile_s needs a quantile",
            ),
            (
                r#"{"metric":"ttft_quantile_s","target_value":1,"quantile":0}"#,
                "must be in (0, 1]",
            ),
            (
                r#"{"metric":"ttft_p95_s","target_value":1,"quantile":0.9}"#,
                "only ttft_quantile_s takes a quantile",
            ),
        ];
        for (m, frag) in cases {
            let e = config(vec![external(m)]).build().expect_err(m).to_string();
            assert!(
                e.contains("invalid metrics") && e.contains(frag),
                "{m}: {e}"
            );
        }
        let unknown = serde_json::from_str::<HpaMetric>(
            r#"{"metric":"ttft_p95_s","target_value":1,"target":2}"#,
        );
        assert!(unknown
            .unwrap_err()
            .to_string()
            .contains("unknown field `target`"));
    }

    #[test]
    fn bad_knobs_name_the_rule() {
        let gpu0 = HpaMetric::GpuBusyFraction {
            target_utilization_percent: 0,
        };
        // (config, knob, fragment)
        let cases = [
            (
                HpaAutoscalerConfig {
                    min_replicas: 0,
                    ..config(vec![waiting(5.0)])
                },
                "min_replicas",
                "HPAScaleToZero",
            ),
            (
                HpaAutoscalerConfig {
                    min_replicas: 5,
                    max_replicas: 4,
                    ..config(vec![waiting(5.0)])
                },
                "min_replicas",
                "maxReplicas must be greater than or equal to minReplicas",
            ),
            (config(vec![]), "metrics", "at least one metric"),
            (
                config(vec![gpu0]),
                "metrics[0].target_utilization_percent",
                "averageUtilization must be greater than 0",
            ),
            (
                config(vec![waiting(-1.0)]),
                "metrics[0].target_average_value",
                "averageValue must be positive",
            ),
            (
                HpaAutoscalerConfig {
                    downscale_stabilization_s: 4000,
                    ..config(vec![waiting(5.0)])
                },
                "downscale_stabilization_s",
                "3600",
            ),
        ];
        for (c, knob, frag) in cases {
            let e = c.build().expect_err(knob).to_string();
            assert!(e.contains(knob) && e.contains(frag), "{knob}: {e}");
        }
    }
}
