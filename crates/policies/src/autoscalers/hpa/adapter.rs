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

/// `groupPods` for an engine pod in a scrape: `classify_engine_pod` with
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
pub(crate) fn classify_engine_pod(
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
#[path = "adapter_tests.rs"]
mod tests;
