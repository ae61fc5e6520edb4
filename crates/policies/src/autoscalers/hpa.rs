//! Kubernetes HorizontalPodAutoscaler (`pkg/controller/podautoscaler`):
//! pod grouping, the replica calculator per metric type, and both
//! normalization paths (legacy `behavior == nil` and the behavior path with
//! stabilization windows and rate-limit policies).
//!
//! Units follow upstream: metric values are integer milli-units
//! (1 CPU = 1000, a custom metric value 20 = 20000), windows and periods
//! whole seconds, replica counts `u32` (upstream `int32`, results capped at
//! `i32::MAX`).
//!
//! Adapter mapping (for the engine's future `Autoscaler` trait): call
//! [`Hpa::reconcile`] every `sync_period_s` (15 s) with `current` = the
//! deployment's desired count (`scale.spec.replicas`, not the ready count)
//! and one [`MetricRecommendation`] per metric, computed with
//! [`resource_utilization_replicas`] / [`pods_average_value_replicas`]
//! (per-replica gauges, each replica classified by [`classify_pod`] or
//! directly: starting = unready, no sample = missing, draining = ignored)
//! or [`object_value_replicas`] / [`per_pod_replicas`] (a fleet-wide value).

use super::{invalid, no_decision, within, AutoscalerError};
use fleetsim_core::{SimDuration, SimTime};
use serde::{Deserialize, Serialize};
use std::fmt;

const NAME: &str = "kubernetes_hpa";
/// Upper limit of stabilization windows (API validation: 0..=3600 s).
pub const MAX_STABILIZATION_WINDOW_S: u32 = 3600;
/// Upper limit of a policy period (API validation: 1..=1800 s).
pub const MAX_POLICY_PERIOD_S: u32 = 1800;

/// The HPA tolerance band: a usage ratio `r` is left alone iff
/// `1 - scale_down <= r <= 1 + scale_up` (both ends inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tolerances {
    /// Fraction above 1 that is still "within" (default 0.1).
    pub scale_up: f64,
    /// Fraction below 1 that is still "within" (default 0.1).
    pub scale_down: f64,
}

impl Default for Tolerances {
    /// `--horizontal-pod-autoscaler-tolerance` = 0.1 for both directions.
    fn default() -> Self {
        Tolerances {
            scale_up: 0.1,
            scale_down: 0.1,
        }
    }
}

impl Tolerances {
    /// `(1 - scale_down) <= r && r <= (1 + scale_up)`.
    pub fn is_within(&self, r: f64) -> bool {
        (1.0 - self.scale_down) <= r && r <= (1.0 + self.scale_up)
    }

    /// Tolerances must be finite and non-negative (the flag and the
    /// per-direction Quantities are non-negative).
    pub fn validate(&self) -> Result<(), AutoscalerError> {
        for (knob, v) in [
            ("tolerance.scale_up", self.scale_up),
            ("tolerance.scale_down", self.scale_down),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(invalid(
                    NAME,
                    knob,
                    format!("must be a finite value >= 0, got {v} (HPA: tolerance is a non-negative quantity)"),
                ));
            }
        }
        Ok(())
    }
}

/// How `groupPods` classifies a pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PodClass {
    /// Counted, its sample used.
    Ready,
    /// Pending, or (cpu only) not yet ready / sample not fresh: its sample
    /// is dropped, and on a scale-up it counts as using 0.
    Unready,
    /// No metric sample: filled with the target (scale-down) or 0
    /// (scale-up) on the slow path.
    Missing,
    /// Being deleted or Failed: left out entirely.
    Ignored,
}

/// Pod phase as far as grouping cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PodPhase {
    /// Not yet running.
    Pending,
    /// Running.
    Running,
    /// Completed.
    Succeeded,
    /// Failed: ignored.
    Failed,
}

/// The pod's Ready condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadyCondition {
    /// `Ready == True`.
    pub ready: bool,
    /// When the condition last changed.
    pub last_transition: SimTime,
}

/// A pod's metric sample as the metrics API reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricSample {
    /// Sample time; `None` is Go's zero time (before every instant).
    pub timestamp: Option<SimTime>,
    /// The window the sample averages over.
    pub window: SimDuration,
}

/// What `groupPods` reads of a pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodStatus {
    /// Phase.
    pub phase: PodPhase,
    /// `deletionTimestamp` set.
    pub deleting: bool,
    /// `status.startTime`, `None` when unset.
    pub start_time: Option<SimTime>,
    /// The Ready condition, `None` when absent.
    pub ready: Option<ReadyCondition>,
    /// Its metric sample, `None` when the metrics API has none.
    pub sample: Option<MetricSample>,
}

/// Readiness timing of the controller (kube-controller-manager flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadinessTiming {
    /// `--horizontal-pod-autoscaler-cpu-initialization-period`, default
    /// 300 s: while a pod is this young, a cpu sample counts only if it was
    /// taken a full window after the pod became ready.
    pub cpu_initialization_period_s: u32,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay`, default 30 s:
    /// an unready pod whose Ready condition changed within this time after
    /// start is taken as "never ready yet".
    pub initial_readiness_delay_s: u32,
}

impl Default for ReadinessTiming {
    fn default() -> Self {
        ReadinessTiming {
            cpu_initialization_period_s: 300,
            initial_readiness_delay_s: 30,
        }
    }
}

/// `groupPods` for one pod: deleting/Failed → ignored; Pending → unready;
/// no sample → missing; for the cpu resource only, the readiness rules;
/// otherwise ready.
pub fn classify_pod(pod: &PodStatus, cpu: bool, now: SimTime, timing: ReadinessTiming) -> PodClass {
    if pod.deleting || pod.phase == PodPhase::Failed {
        return PodClass::Ignored;
    }
    if pod.phase == PodPhase::Pending {
        return PodClass::Unready;
    }
    let Some(sample) = pod.sample else {
        return PodClass::Missing;
    };
    if cpu {
        let unready = match (pod.ready, pod.start_time) {
            (Some(cond), Some(start)) => {
                let init_end = start + super::secs(u64::from(timing.cpu_initialization_period_s));
                if init_end > now {
                    // Inside the initialization period: the sample must be
                    // a full window newer than the last transition.
                    let fresh_from = cond.last_transition + sample.window;
                    let stale = match sample.timestamp {
                        None => true,
                        Some(ts) => ts < fresh_from,
                    };
                    !cond.ready || stale
                } else {
                    let delay_end =
                        start + super::secs(u64::from(timing.initial_readiness_delay_s));
                    !cond.ready && delay_end > cond.last_transition
                }
            }
            _ => true,
        };
        if unready {
            return PodClass::Unready;
        }
    }
    PodClass::Ready
}

/// One pod's input to the replica calculator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodMetric {
    /// Its class (from [`classify_pod`], or assigned by the caller).
    pub class: PodClass,
    /// Sum of container requests in milli-units (Resource metrics only).
    pub request_milli: Option<i64>,
    /// Its sample in milli-units; `None` when it has none.
    pub value_milli: Option<i64>,
}

/// Result of [`resource_utilization_replicas`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceRecommendation {
    /// Replicas this metric asks for.
    pub replicas: u32,
    /// Utilization of the ready pods in integer percent of requests.
    pub utilization_percent: i64,
    /// Average raw usage of the ready pods, milli-units.
    pub raw_average_milli: i64,
}

/// Result of the plain (average-value) calculators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricRecommendation {
    /// Replicas this metric asks for.
    pub replicas: u32,
    /// The usage reported in the status, milli-units.
    pub usage_milli: i64,
}

fn cap(n: f64) -> u32 {
    if n.is_nan() || n <= 0.0 {
        0
    } else if n >= f64::from(i32::MAX) {
        i32::MAX as u32
    } else {
        n as u32
    }
}

fn ceil_replicas(x: f64) -> u32 {
    cap(x.ceil())
}

/// Samples used, after dropping ignored and unready pods.
struct Grouped {
    ready: usize,
    unready: Vec<usize>,
    missing: Vec<usize>,
    used: Vec<usize>,
}

fn group(pods: &[PodMetric]) -> Grouped {
    let mut g = Grouped {
        ready: 0,
        unready: Vec::new(),
        missing: Vec::new(),
        used: Vec::new(),
    };
    for (i, p) in pods.iter().enumerate() {
        match p.class {
            PodClass::Ignored => {}
            PodClass::Unready => g.unready.push(i),
            PodClass::Missing => g.missing.push(i),
            PodClass::Ready => {
                if p.value_milli.is_some() {
                    g.ready += 1;
                    g.used.push(i);
                } else {
                    // A ready pod without a sample is missing.
                    g.missing.push(i);
                }
            }
        }
    }
    g
}

/// The two-path decision shared by every per-pod calculator: the fast path
/// when nothing needs filling, else fill missing/unready pods, re-run, and
/// refuse to change direction.
fn two_path(
    current: u32,
    tol: Tolerances,
    g: &Grouped,
    ratio: f64,
    recompute: impl Fn(bool) -> Result<(f64, usize), AutoscalerError>,
) -> Result<u32, AutoscalerError> {
    let scale_up_with_unready = !g.unready.is_empty() && ratio > 1.0;
    if !scale_up_with_unready && g.missing.is_empty() {
        if tol.is_within(ratio) {
            return Ok(current);
        }
        return Ok(ceil_replicas(ratio * g.ready as f64));
    }
    let (new_ratio, n_samples) = recompute(scale_up_with_unready)?;
    if tol.is_within(new_ratio)
        || (ratio < 1.0 && new_ratio > 1.0)
        || (ratio > 1.0 && new_ratio < 1.0)
    {
        return Ok(current);
    }
    let n = ceil_replicas(new_ratio * n_samples as f64);
    if (new_ratio < 1.0 && n > current) || (new_ratio > 1.0 && n < current) {
        return Ok(current);
    }
    Ok(n)
}

/// Resource metric with a Utilization target (`GetResourceReplicas`):
/// `util% = Σusage·100 // Σrequest` over pods with a request,
/// `r = util% / target`.
pub fn resource_utilization_replicas(
    current: u32,
    target_utilization_percent: i32,
    tol: Tolerances,
    pods: &[PodMetric],
) -> Result<ResourceRecommendation, AutoscalerError> {
    if target_utilization_percent <= 0 {
        return Err(invalid(
            NAME,
            "target_utilization_percent",
            "must be > 0 (HPA: averageUtilization must be greater than 0)",
        ));
    }
    if pods.iter().all(|p| p.class == PodClass::Ignored) || pods.is_empty() {
        return Err(no_decision(
            NAME,
            "no pods returned by selector while calculating replica count",
        ));
    }
    for p in pods {
        if p.class != PodClass::Ignored && p.request_milli.is_none() {
            return Err(no_decision(
                NAME,
                "missing request for a pod (Utilization targets need container requests)",
            ));
        }
    }
    let g = group(pods);
    if g.used.is_empty() {
        return Err(no_decision(
            NAME,
            "did not receive metrics for targeted pods (pods might be unready)",
        ));
    }
    let target = i64::from(target_utilization_percent);
    // (index, value) samples; requests come from the pod.
    let util = |samples: &[(usize, i64)]| -> Result<(f64, i64, i64), AutoscalerError> {
        let mut usage: i64 = 0;
        let mut req: i64 = 0;
        for &(i, v) in samples {
            usage = usage.saturating_add(v);
            req = req.saturating_add(pods[i].request_milli.unwrap_or(0));
        }
        if req == 0 {
            return Err(no_decision(
                NAME,
                "no metrics returned matched known pods (requests sum to 0)",
            ));
        }
        let pct = usage.saturating_mul(100) / req;
        let raw = usage / samples.len() as i64;
        Ok((pct as f64 / target as f64, pct, raw))
    };
    let base: Vec<(usize, i64)> = g
        .used
        .iter()
        .map(|&i| (i, pods[i].value_milli.unwrap_or(0)))
        .collect();
    let (ratio, pct, raw) = util(&base)?;
    let replicas = two_path(current, tol, &g, ratio, |fill_unready| {
        let mut s = base.clone();
        let fallback = target.max(100);
        for &i in &g.missing {
            let v = if ratio < 1.0 {
                pods[i].request_milli.unwrap_or(0).saturating_mul(fallback) / 100
            } else {
                0
            };
            s.push((i, v));
        }
        if fill_unready {
            s.extend(g.unready.iter().map(|&i| (i, 0)));
        }
        let (r, _, _) = util(&s)?;
        Ok((r, s.len()))
    })?;
    Ok(ResourceRecommendation {
        replicas,
        utilization_percent: pct,
        raw_average_milli: raw,
    })
}

/// Pods metric, or Resource metric with an AverageValue target
/// (`GetMetricReplicas` / `GetRawResourceReplicas`):
/// `usage = Σvalue // n`, `r = usage / target`. Readiness rules apply to cpu
/// only, so for other metrics classify pods with `cpu = false`.
pub fn pods_average_value_replicas(
    current: u32,
    target_average_milli: i64,
    tol: Tolerances,
    pods: &[PodMetric],
) -> Result<MetricRecommendation, AutoscalerError> {
    if target_average_milli <= 0 {
        return Err(invalid(
            NAME,
            "target_average_value_milli",
            "must be > 0 (HPA: averageValue must be positive)",
        ));
    }
    if pods.is_empty() {
        return Err(no_decision(
            NAME,
            "no pods returned by selector while calculating replica count",
        ));
    }
    let g = group(pods);
    if g.used.is_empty() {
        return Err(no_decision(
            NAME,
            "did not receive metrics for targeted pods (pods might be unready)",
        ));
    }
    let avg = |vals: &[i64]| -> (f64, i64) {
        let total = vals.iter().fold(0i64, |a, &v| a.saturating_add(v));
        let usage = total / vals.len() as i64;
        (usage as f64 / target_average_milli as f64, usage)
    };
    let base: Vec<i64> = g
        .used
        .iter()
        .map(|&i| pods[i].value_milli.unwrap_or(0))
        .collect();
    let (ratio, usage) = avg(&base);
    let replicas = two_path(current, tol, &g, ratio, |fill_unready| {
        let mut s = base.clone();
        let fill = if ratio < 1.0 { target_average_milli } else { 0 };
        s.extend(g.missing.iter().map(|_| fill));
        if fill_unready {
            s.extend(g.unready.iter().map(|_| 0));
        }
        Ok((avg(&s).0, s.len()))
    })?;
    Ok(MetricRecommendation {
        replicas,
        usage_milli: usage,
    })
}

/// Object or External metric with a Value target: `r = value / target`
/// (External: `value` is the sum of all series). With `current == 0` this
/// is the scale-from-zero path `ceil(r)`; otherwise `ceil(r · ready)` where
/// `ready_running_pods` counts pods Running and Ready.
pub fn object_value_replicas(
    current: u32,
    value_milli: i64,
    target_milli: i64,
    ready_running_pods: u32,
    tol: Tolerances,
) -> Result<MetricRecommendation, AutoscalerError> {
    if target_milli <= 0 {
        return Err(invalid(
            NAME,
            "target_value_milli",
            "must be > 0 (HPA: value must be positive)",
        ));
    }
    let r = value_milli as f64 / target_milli as f64;
    let replicas = if current != 0 {
        if tol.is_within(r) {
            current
        } else {
            ceil_replicas(r * f64::from(ready_running_pods))
        }
    } else {
        ceil_replicas(r)
    };
    Ok(MetricRecommendation {
        replicas,
        usage_milli: value_milli,
    })
}

/// Object or External metric with an AverageValue target (the path KEDA
/// uses): `r = value / (target · status_replicas)`; outside tolerance the
/// answer is `ceil(value / target)`, else `status_replicas`. The reported
/// usage is `ceil(value / status_replicas)`.
pub fn per_pod_replicas(
    status_replicas: u32,
    value_milli: i64,
    target_average_milli: i64,
    tol: Tolerances,
) -> Result<MetricRecommendation, AutoscalerError> {
    if target_average_milli <= 0 {
        return Err(invalid(
            NAME,
            "target_average_value_milli",
            "must be > 0 (HPA: averageValue must be positive)",
        ));
    }
    if status_replicas == 0 {
        return Err(no_decision(
            NAME,
            "status.replicas is 0: per-pod average undefined (the HPA is disabled at 0 replicas)",
        ));
    }
    let r = value_milli as f64 / (target_average_milli as f64 * f64::from(status_replicas));
    let replicas = if tol.is_within(r) {
        status_replicas
    } else {
        ceil_replicas(value_milli as f64 / target_average_milli as f64)
    };
    let usage = (value_milli as f64 / f64::from(status_replicas)).ceil() as i64;
    Ok(MetricRecommendation {
        replicas,
        usage_milli: usage,
    })
}

/// A scaling policy's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyType {
    /// Absolute number of pods per period.
    Pods,
    /// Percent of the replicas at the start of the period.
    Percent,
}

/// One rate-limit policy: at most `value` (pods or percent) per `period_s`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalingPolicy {
    /// Pods or Percent.
    #[serde(rename = "type")]
    pub kind: PolicyType,
    /// Amount (> 0).
    pub value: u32,
    /// Period in seconds (1..=1800).
    pub period_s: u32,
}

/// How policies combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SelectPolicy {
    /// The policy allowing the largest change (default).
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// `HPAScalingRules` for one direction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalingRules {
    /// Stabilization window in seconds (0..=3600).
    pub stabilization_window_s: u32,
    /// How policies combine.
    pub select_policy: SelectPolicy,
    /// The rate limits.
    pub policies: Vec<ScalingPolicy>,
}

impl ScalingRules {
    /// API default for scale-up: window 0, Max of +4 pods / 15 s and
    /// +100 % / 15 s.
    pub fn default_scale_up() -> Self {
        ScalingRules {
            stabilization_window_s: 0,
            select_policy: SelectPolicy::Max,
            policies: vec![
                ScalingPolicy {
                    kind: PolicyType::Pods,
                    value: 4,
                    period_s: 15,
                },
                ScalingPolicy {
                    kind: PolicyType::Percent,
                    value: 100,
                    period_s: 15,
                },
            ],
        }
    }

    /// API default for scale-down: window from the controller flag
    /// (`downscale_stabilization_s`, 300 s), Max of -100 % / 15 s.
    pub fn default_scale_down(downscale_stabilization_s: u32) -> Self {
        ScalingRules {
            stabilization_window_s: downscale_stabilization_s,
            select_policy: SelectPolicy::Max,
            policies: vec![ScalingPolicy {
                kind: PolicyType::Percent,
                value: 100,
                period_s: 15,
            }],
        }
    }

    fn longest_period(&self) -> u32 {
        self.policies.iter().map(|p| p.period_s).max().unwrap_or(0)
    }

    /// API validation of one direction's rules.
    pub fn validate(&self, dir: &'static str) -> Result<(), AutoscalerError> {
        if self.stabilization_window_s > MAX_STABILIZATION_WINDOW_S {
            return Err(invalid(NAME, dir, format!(
                "stabilization_window_s {} must be in 0..=3600 (HPA: stabilizationWindowSeconds must be less than or equal to 3600)",
                self.stabilization_window_s
            )));
        }
        if self.policies.is_empty() && self.select_policy != SelectPolicy::Disabled {
            return Err(invalid(
                NAME,
                dir,
                "at least one policy is required (HPA: must specify at least one Policy)",
            ));
        }
        for p in &self.policies {
            if p.value == 0 {
                return Err(invalid(
                    NAME,
                    dir,
                    "policy value must be > 0 (HPA: value must be greater than zero)",
                ));
            }
            if p.period_s == 0 || p.period_s > MAX_POLICY_PERIOD_S {
                return Err(invalid(NAME, dir, format!(
                    "policy period_s {} must be in 1..=1800 (HPA: periodSeconds must be greater than zero and less than or equal to 1800)",
                    p.period_s
                )));
            }
        }
        Ok(())
    }
}

/// `spec.behavior`; a `None` direction takes the API default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Behavior {
    /// Scale-up rules (`None` = [`ScalingRules::default_scale_up`]).
    pub scale_up: Option<ScalingRules>,
    /// Scale-down rules (`None` = [`ScalingRules::default_scale_down`]).
    pub scale_down: Option<ScalingRules>,
}

/// Knobs of one HPA object plus the controller flags it depends on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HpaConfig {
    /// `minReplicas`, default 1; 0 needs the `HPAScaleToZero` gate.
    pub min_replicas: u32,
    /// `maxReplicas` (required upstream; default here 10).
    pub max_replicas: u32,
    /// `--horizontal-pod-autoscaler-sync-period`, default 15 s.
    pub sync_period_s: u32,
    /// Tolerances (flag default 0.1 both ways; KEP-4951 per direction).
    pub tolerance: Tolerances,
    /// `--horizontal-pod-autoscaler-downscale-stabilization`, default
    /// 300 s: the legacy window, and the scale-down window when behavior
    /// leaves it unset.
    pub downscale_stabilization_s: u32,
    /// `spec.behavior`; `None` selects the legacy path (per-sync scale-up
    /// cap `max(2·current, 4)`, no scale-up delay).
    pub behavior: Option<Behavior>,
    /// Readiness timing flags.
    pub readiness: ReadinessTiming,
}

impl Default for HpaConfig {
    fn default() -> Self {
        HpaConfig {
            min_replicas: 1,
            max_replicas: 10,
            sync_period_s: 15,
            tolerance: Tolerances::default(),
            downscale_stabilization_s: 300,
            behavior: None,
            readiness: ReadinessTiming::default(),
        }
    }
}

impl HpaConfig {
    /// Reject what the API server or the controller would.
    pub fn validate(&self) -> Result<(), AutoscalerError> {
        if self.max_replicas == 0 {
            return Err(invalid(
                NAME,
                "max_replicas",
                "must be >= 1 (HPA: maxReplicas must be greater than 0)",
            ));
        }
        if self.min_replicas > self.max_replicas {
            return Err(invalid(NAME, "min_replicas", format!(
                "min_replicas > max_replicas ({} > {}) (HPA: maxReplicas must be greater than or equal to minReplicas)",
                self.min_replicas, self.max_replicas
            )));
        }
        if self.max_replicas > i32::MAX as u32 {
            return Err(invalid(NAME, "max_replicas", "must fit in int32"));
        }
        if self.sync_period_s == 0 {
            return Err(invalid(NAME, "sync_period_s", "must be > 0"));
        }
        self.tolerance.validate()?;
        if self.downscale_stabilization_s > MAX_STABILIZATION_WINDOW_S {
            return Err(invalid(
                NAME,
                "downscale_stabilization_s",
                "must be in 0..=3600 (HPA: stabilizationWindowSeconds <= 3600)",
            ));
        }
        if let Some(b) = &self.behavior {
            if let Some(r) = &b.scale_up {
                r.validate("behavior.scale_up")?;
            }
            if let Some(r) = &b.scale_down {
                r.validate("behavior.scale_down")?;
            }
        }
        Ok(())
    }

    /// The scale-up rules in force (behavior path).
    pub fn scale_up_rules(&self) -> ScalingRules {
        self.behavior
            .as_ref()
            .and_then(|b| b.scale_up.clone())
            .unwrap_or_else(ScalingRules::default_scale_up)
    }

    /// The scale-down rules in force (behavior path).
    pub fn scale_down_rules(&self) -> ScalingRules {
        self.behavior
            .as_ref()
            .and_then(|b| b.scale_down.clone())
            .unwrap_or_else(|| ScalingRules::default_scale_down(self.downscale_stabilization_s))
    }
}

/// The `ScalingLimited` condition reason a normalization step reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Condition {
    /// Desired within `[min, max]` and the rate limits.
    DesiredWithinRange,
    /// Clamped up to `min`.
    TooFewReplicas,
    /// Clamped down to `max`.
    TooManyReplicas,
    /// Limited by the scale-up rate.
    ScaleUpLimit,
    /// Limited by the scale-down rate.
    ScaleDownLimit,
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

/// A stored recommendation (`timestampedRecommendation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recommendation {
    /// Replicas recommended.
    pub replicas: u32,
    /// When.
    pub at: SimTime,
}

/// A stored scale event (`timestampedScaleEvent`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScaleEvent {
    /// Magnitude of the change (positive).
    pub change: u32,
    /// When.
    pub at: SimTime,
}

fn change_in_period(period_s: u32, events: &[ScaleEvent], now: SimTime) -> i64 {
    let w = super::secs(u64::from(period_s));
    events
        .iter()
        .filter(|e| within(e.at, now, w))
        .map(|e| i64::from(e.change))
        .sum()
}

/// `calculateScaleUpLimitWithScalingRules`: the highest count the rules
/// allow now, from the replicas at the start of each policy's period.
pub fn scale_up_limit(
    current: u32,
    up: &[ScaleEvent],
    down: &[ScaleEvent],
    rules: &ScalingRules,
    now: SimTime,
) -> i64 {
    let cur = i64::from(current);
    let mut result: Option<i64> = None;
    match rules.select_policy {
        SelectPolicy::Disabled => return cur,
        SelectPolicy::Max | SelectPolicy::Min => {}
    }
    for p in &rules.policies {
        let start =
            cur - change_in_period(p.period_s, up, now) + change_in_period(p.period_s, down, now);
        let proposed = match p.kind {
            PolicyType::Pods => start + i64::from(p.value),
            PolicyType::Percent => {
                (start as f64 * (1.0 + f64::from(p.value) / 100.0)).ceil() as i64
            }
        };
        result = Some(match (result, rules.select_policy) {
            (None, _) => proposed,
            (Some(r), SelectPolicy::Min) => r.min(proposed),
            (Some(r), _) => r.max(proposed),
        });
    }
    result.unwrap_or(match rules.select_policy {
        SelectPolicy::Min => i64::from(i32::MAX),
        _ => i64::from(i32::MIN),
    })
}

/// `calculateScaleDownLimitWithBehaviors`: the lowest count the rules allow
/// now (Percent truncates toward zero).
pub fn scale_down_limit(
    current: u32,
    up: &[ScaleEvent],
    down: &[ScaleEvent],
    rules: &ScalingRules,
    now: SimTime,
) -> i64 {
    let cur = i64::from(current);
    let mut result: Option<i64> = None;
    if rules.select_policy == SelectPolicy::Disabled {
        return cur;
    }
    for p in &rules.policies {
        let start =
            cur - change_in_period(p.period_s, up, now) + change_in_period(p.period_s, down, now);
        let proposed = match p.kind {
            PolicyType::Pods => start - i64::from(p.value),
            PolicyType::Percent => (start as f64 * (1.0 - f64::from(p.value) / 100.0)) as i64,
        };
        result = Some(match (result, rules.select_policy) {
            (None, _) => proposed,
            (Some(r), SelectPolicy::Min) => r.max(proposed),
            (Some(r), _) => r.min(proposed),
        });
    }
    result.unwrap_or(match rules.select_policy {
        SelectPolicy::Min => i64::from(i32::MIN),
        _ => i64::from(i32::MAX),
    })
}

/// `convertDesiredReplicasWithRules` (legacy path): clamp to
/// `[min, min(max, max(2·current, 4))]`.
pub fn convert_legacy(current: u32, desired: u32, min: u32, max: u32) -> (u32, Condition) {
    let limit = (2.0 * f64::from(current)).max(4.0) as u32;
    let (max_allowed, cond) = if max > limit {
        (limit, Condition::ScaleUpLimit)
    } else {
        (max, Condition::TooManyReplicas)
    };
    if desired < min {
        (min, Condition::TooFewReplicas)
    } else if desired > max_allowed {
        (max_allowed, cond)
    } else {
        (desired, Condition::DesiredWithinRange)
    }
}

/// One HPA object's controller state: recommendations and scale events,
/// lost on controller restart, seeded on the first reconcile.
#[derive(Clone, Debug)]
pub struct Hpa {
    config: HpaConfig,
    recommendations: Vec<Recommendation>,
    up_events: Vec<ScaleEvent>,
    down_events: Vec<ScaleEvent>,
    initialized: bool,
}

/// What one reconcile decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HpaDecision {
    /// The new `spec.replicas` (equal to `current` when not rescaling).
    pub desired: u32,
    /// Whether the scale is patched.
    pub rescale: bool,
    /// The limiting condition of the normalization step.
    pub condition: Condition,
}

impl Hpa {
    /// A controller for one HPA; validates the config.
    pub fn new(config: HpaConfig) -> Result<Self, AutoscalerError> {
        config.validate()?;
        Ok(Hpa {
            config,
            recommendations: Vec::new(),
            up_events: Vec::new(),
            down_events: Vec::new(),
            initialized: false,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &HpaConfig {
        &self.config
    }

    /// Stored recommendations, oldest slot first (slots are reused).
    pub fn recommendations(&self) -> &[Recommendation] {
        &self.recommendations
    }

    /// Replace the stored recommendations (tests, restarts).
    pub fn set_recommendations(&mut self, recs: Vec<Recommendation>) {
        self.recommendations = recs;
        self.initialized = true;
    }

    /// Replace the stored scale events.
    pub fn set_scale_events(&mut self, up: Vec<ScaleEvent>, down: Vec<ScaleEvent>) {
        self.up_events = up;
        self.down_events = down;
    }

    /// Legacy `stabilizeRecommendation`: max of the new recommendation and
    /// those at most `downscale_stabilization_s` old; the new one replaces
    /// an out-of-window slot or is appended.
    pub fn stabilize_legacy(&mut self, now: SimTime, desired: u32) -> u32 {
        let window = super::secs(u64::from(self.config.downscale_stabilization_s));
        let cutoff = super::minus(now, window);
        let mut best = desired;
        let mut old = None;
        for (i, r) in self.recommendations.iter().enumerate() {
            if cutoff.is_some_and(|c| r.at < c) {
                old = Some(i);
            } else if r.replicas > best {
                best = r.replicas;
            }
        }
        self.store_recommendation(old, desired, now);
        best
    }

    fn store_recommendation(&mut self, slot: Option<usize>, replicas: u32, now: SimTime) {
        let rec = Recommendation { replicas, at: now };
        match slot {
            Some(i) => self.recommendations[i] = rec,
            None => self.recommendations.push(rec),
        }
    }

    /// `stabilizeRecommendationWithBehaviors`: `clamp(current, min of
    /// recommendations in the up window, max of those in the down window)`.
    pub fn stabilize_with_behaviors(&mut self, now: SimTime, current: u32, desired: u32) -> u32 {
        let up_w = super::secs(u64::from(
            self.config.scale_up_rules().stabilization_window_s,
        ));
        let down_w = super::secs(u64::from(
            self.config.scale_down_rules().stabilization_window_s,
        ));
        let (up_cut, down_cut) = (super::minus(now, up_w), super::minus(now, down_w));
        let mut up_rec = desired;
        let mut down_rec = desired;
        let mut old = None;
        for (i, r) in self.recommendations.iter().enumerate() {
            if within(r.at, now, up_w) {
                up_rec = up_rec.min(r.replicas);
            }
            if within(r.at, now, down_w) {
                down_rec = down_rec.max(r.replicas);
            }
            if up_cut.is_some_and(|c| r.at < c) && down_cut.is_some_and(|c| r.at < c) {
                old = Some(i);
            }
        }
        let mut rec = current;
        if rec < up_rec {
            rec = up_rec;
        }
        if rec > down_rec {
            rec = down_rec;
        }
        self.store_recommendation(old, desired, now);
        rec
    }

    /// `convertDesiredReplicasWithBehaviorRate`: apply the rate limits of
    /// the direction of change and `[min, max]`.
    pub fn convert_with_behavior_rate(
        &self,
        now: SimTime,
        current: u32,
        desired: u32,
    ) -> (u32, Condition) {
        let (min, max) = (self.config.min_replicas, self.config.max_replicas);
        let cur = i64::from(current);
        let d = i64::from(desired);
        if desired > current {
            let limit = scale_up_limit(
                current,
                &self.up_events,
                &self.down_events,
                &self.config.scale_up_rules(),
                now,
            )
            .max(cur);
            let (allowed, cond) = if i64::from(max) > limit {
                (limit, Condition::ScaleUpLimit)
            } else {
                (i64::from(max), Condition::TooManyReplicas)
            };
            if d > allowed {
                return (allowed as u32, cond);
            }
        } else if desired < current {
            let limit = scale_down_limit(
                current,
                &self.up_events,
                &self.down_events,
                &self.config.scale_down_rules(),
                now,
            )
            .min(cur);
            let (allowed, cond) = if i64::from(min) < limit {
                (limit, Condition::ScaleDownLimit)
            } else {
                (i64::from(min), Condition::TooFewReplicas)
            };
            if d < allowed {
                return (allowed.max(0) as u32, cond);
            }
        }
        (desired, Condition::DesiredWithinRange)
    }

    fn store_scale_event(&mut self, now: SimTime, prev: u32, new: u32) {
        if self.config.behavior.is_none() || prev == new {
            return;
        }
        let (events, rules) = if new > prev {
            (&mut self.up_events, self.config.scale_up_rules())
        } else {
            (&mut self.down_events, self.config.scale_down_rules())
        };
        let longest = super::secs(u64::from(rules.longest_period()));
        let cutoff = super::minus(now, longest);
        let ev = ScaleEvent {
            change: new.abs_diff(prev),
            at: now,
        };
        match events.iter().position(|e| cutoff.is_some_and(|c| e.at < c)) {
            Some(i) => events[i] = ev,
            None => events.push(ev),
        }
    }

    /// One reconcile (`reconcileAutoscaler`) at `now`. `current` is the
    /// target's `spec.replicas`; `metrics` holds each metric's replica
    /// recommendation, `None` for a metric that could not be computed.
    ///
    /// Returns an error, and changes nothing, when every metric is invalid
    /// or some are invalid and the rest would not scale up.
    pub fn reconcile(
        &mut self,
        now: SimTime,
        current: u32,
        metrics: &[Option<u32>],
    ) -> Result<HpaDecision, AutoscalerError> {
        if !self.initialized {
            self.recommendations.push(Recommendation {
                replicas: current,
                at: now,
            });
            self.initialized = true;
        }
        let (min, max) = (self.config.min_replicas, self.config.max_replicas);
        let (desired, condition) = if current == 0 && min != 0 {
            // ScalingDisabled: the implicit maintenance mode.
            return Ok(HpaDecision {
                desired: 0,
                rescale: false,
                condition: Condition::DesiredWithinRange,
            });
        } else if current > max {
            (max, Condition::TooManyReplicas)
        } else if current < min {
            (min, Condition::TooFewReplicas)
        } else {
            let valid: Vec<u32> = metrics.iter().flatten().copied().collect();
            let invalid_count = metrics.len() - valid.len();
            let proposal = valid.iter().copied().max().unwrap_or(0);
            if metrics.is_empty()
                || invalid_count == metrics.len()
                || (invalid_count > 0 && proposal < current)
            {
                return Err(no_decision(
                    NAME,
                    format!(
                        "{invalid_count} of {} metrics invalid; not scaling",
                        metrics.len()
                    ),
                ));
            }
            if self.config.behavior.is_some() {
                let stab = self.stabilize_with_behaviors(now, current, proposal);
                self.convert_with_behavior_rate(now, current, stab)
            } else {
                let stab = self.stabilize_legacy(now, proposal);
                convert_legacy(current, stab, min, max)
            }
        };
        let rescale = desired != current;
        if rescale {
            self.store_scale_event(now, current, desired);
        }
        Ok(HpaDecision {
            desired,
            rescale,
            condition,
        })
    }
}

/// A metric the HPA adapter can target, read per pod from the latest
/// visible scrape (`[[scaling.metrics]] metric = "..."`).
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
}

impl HpaMetric {
    fn signal(&self) -> super::adapter::Signal {
        use super::adapter::Signal;
        match self {
            HpaMetric::GpuBusyFraction { .. } => Signal::GpuBusyFraction,
            HpaMetric::KvCacheUsagePerc { .. } => Signal::KvCacheUsagePerc,
            HpaMetric::NumRequestsWaiting { .. } => Signal::NumRequestsWaiting,
            HpaMetric::NumRequestsRunning { .. } => Signal::NumRequestsRunning,
        }
    }

    fn validate(&self) -> Result<(), AutoscalerError> {
        match *self {
            HpaMetric::GpuBusyFraction {
                target_utilization_percent: t,
            }
            | HpaMetric::KvCacheUsagePerc {
                target_utilization_percent: t,
            } if t <= 0 => Err(invalid(
                NAME,
                "target_utilization_percent",
                format!("must be > 0, got {t} (HPA: averageUtilization must be greater than 0)"),
            )),
            HpaMetric::NumRequestsWaiting {
                target_average_value: v,
            }
            | HpaMetric::NumRequestsRunning {
                target_average_value: v,
            } if !v.is_finite() || v <= 0.0 => Err(invalid(
                NAME,
                "target_average_value",
                format!("must be > 0, got {v} (HPA: averageValue must be positive)"),
            )),
            _ => Ok(()),
        }
    }

    /// This metric's replica recommendation for the pods of `scrape`.
    pub fn replicas(
        &self,
        current: u32,
        tol: Tolerances,
        scrape: &fleetsim_core::autoscale::Scrape,
        now: SimTime,
    ) -> Result<u32, AutoscalerError> {
        let signal = self.signal();
        let pods: Vec<PodMetric> = scrape
            .pods
            .iter()
            .map(|p| PodMetric {
                class: classify_sample(p, scrape.at, now),
                request_milli: Some(1000),
                value_milli: Some(super::adapter::milli(signal.of_pod(p))),
            })
            .collect();
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
            } => pods_average_value_replicas(current, super::adapter::milli(v), tol, &pods)
                .map(|r| r.replicas),
        }
    }
}

/// `groupPods` for an engine pod: Starting = Pending (unready), Draining =
/// being deleted (ignored), Ready = Running with its Ready condition since
/// `ready_since` and a sample taken at the scrape. The metrics are not cpu,
/// so the readiness rules do not apply (as upstream for custom metrics);
/// every pod in the scrape has a sample, so none is missing.
pub fn classify_sample(
    p: &fleetsim_core::autoscale::PodSample,
    scraped: SimTime,
    now: SimTime,
) -> PodClass {
    use fleetsim_core::autoscale::PodPhase as P;
    let status = PodStatus {
        phase: match p.phase {
            P::Starting => PodPhase::Pending,
            P::Ready | P::Draining => PodPhase::Running,
        },
        deleting: p.phase == P::Draining,
        start_time: Some(p.created),
        ready: Some(match p.ready_since {
            Some(t) => ReadyCondition {
                ready: true,
                last_transition: t,
            },
            None => ReadyCondition {
                ready: false,
                last_transition: p.created,
            },
        }),
        sample: Some(MetricSample {
            timestamp: Some(scraped),
            window: SimDuration::ZERO,
        }),
    };
    classify_pod(&status, false, now, ReadinessTiming::default())
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
    /// `spec.behavior`; absent = the legacy path.
    #[serde(default)]
    pub behavior: Option<Behavior>,
}

impl HpaAutoscalerConfig {
    fn core(&self) -> HpaConfig {
        HpaConfig {
            min_replicas: self.min_replicas,
            max_replicas: self.max_replicas,
            sync_period_s: self.sync_period_s,
            tolerance: self.tolerance,
            downscale_stabilization_s: self.downscale_stabilization_s,
            behavior: self.behavior.clone(),
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
        self.metrics.iter().try_for_each(HpaMetric::validate)
    }

    /// The autoscaler.
    pub fn build(&self) -> Result<Box<dyn fleetsim_core::Autoscaler>, AutoscalerError> {
        self.validate()?;
        Ok(Box::new(HpaAutoscaler {
            hpa: Hpa::new(self.core())?,
            metrics: self.metrics.clone(),
        }))
    }

    /// Custom metrics through Prometheus and prometheus-adapter: 15 s
    /// scrapes, visible 15 s later (assumed, not from the reference: one
    /// adapter query/relist period), 10 minutes kept.
    pub fn default_metrics(&self) -> fleetsim_core::autoscale::MetricsSpec {
        fleetsim_core::autoscale::MetricsSpec {
            scrape_interval: SimDuration::from_secs(15),
            lag: SimDuration::from_secs(15),
            lookback: SimDuration::from_secs(600),
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
        super::secs(u64::from(self.hpa.config().sync_period_s))
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
            .map(|m| m.replicas(obs.desired, tol, scrape, obs.now).ok())
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

impl super::AutoscalerKind for HpaKind {
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

    fn tol() -> Tolerances {
        Tolerances::default()
    }

    fn pod(class: PodClass, request: i64, value: Option<i64>) -> PodMetric {
        PodMetric {
            class,
            request_milli: Some(request),
            value_milli: value,
        }
    }

    #[test]
    fn tolerance_band_is_inclusive() {
        // (ratio, within?)
        let check = |r: f64, expect: bool| assert_eq!(tol().is_within(r), expect, "r={r}");
        check(1.0, true);
        check(1.1, true);
        check(0.9, true);
        check(1.1000001, false);
        check(0.8999999, false);
    }

    #[test]
    fn resource_utilization_table() {
        use PodClass::*;
        // (current, target %, pods, expected replicas, util %)
        let check = |current: u32, target: i32, pods: &[PodMetric], want: u32, util: i64| {
            let r = resource_utilization_replicas(current, target, tol(), pods).expect("decides");
            assert_eq!(
                (r.replicas, r.utilization_percent),
                (want, util),
                "{pods:?}"
            );
        };
        // Plain scale-up: 80 % of requests against a 40 % target doubles.
        check(
            2,
            40,
            &[pod(Ready, 1000, Some(800)), pod(Ready, 1000, Some(800))],
            4,
            80,
        );
        // Within tolerance: 42 % vs 40 % keeps 2.
        check(
            2,
            40,
            &[pod(Ready, 1000, Some(420)), pod(Ready, 1000, Some(420))],
            2,
            42,
        );
        // Scale-down on ready pods only.
        check(4, 50, &[pod(Ready, 1000, Some(100)); 4], 1, 10);
        // Scale-up with an unready pod: it counts as 0 and damps the change
        // (2000/3000 = 66 % -> 1.32 x 3 samples -> 4, not 2 x 3 = 6).
        check(
            3,
            50,
            &[
                pod(Ready, 1000, Some(1000)),
                pod(Ready, 1000, Some(1000)),
                pod(Unready, 1000, Some(900)),
            ],
            4,
            100,
        );
        // Missing pod on a scale-down is filled with the target, which
        // flips the direction: keep current.
        check(
            2,
            50,
            &[pod(Ready, 1000, Some(400)), pod(Missing, 1000, None)],
            2,
            40,
        );
        // Ignored pods do not count.
        check(
            2,
            50,
            &[pod(Ready, 1000, Some(1000)), pod(Ignored, 1000, None)],
            2,
            100,
        );
    }

    #[test]
    fn resource_bad_inputs_are_errors() {
        assert!(
            resource_utilization_replicas(1, 0, tol(), &[pod(PodClass::Ready, 1, Some(1))])
                .is_err()
        );
        assert!(resource_utilization_replicas(1, 50, tol(), &[]).is_err());
        assert!(
            resource_utilization_replicas(1, 50, tol(), &[pod(PodClass::Unready, 1, Some(1))])
                .is_err()
        );
        let no_req = PodMetric {
            class: PodClass::Ready,
            request_milli: None,
            value_milli: Some(5),
        };
        assert!(resource_utilization_replicas(1, 50, tol(), &[no_req]).is_err());
    }

    #[test]
    fn pods_average_value_table() {
        use PodClass::*;
        let check =
            |current: u32, target: i64, vals: &[(PodClass, Option<i64>)], want: (u32, i64)| {
                let pods: Vec<PodMetric> = vals.iter().map(|&(c, v)| pod(c, 0, v)).collect();
                let r =
                    pods_average_value_replicas(current, target, tol(), &pods).expect("decides");
                assert_eq!((r.replicas, r.usage_milli), want);
            };
        check(
            2,
            1000,
            &[(Ready, Some(2000)), (Ready, Some(2000))],
            (4, 2000),
        );
        check(
            2,
            1000,
            &[(Ready, Some(1050)), (Ready, Some(1000))],
            (2, 1025),
        );
        check(4, 1000, &[(Ready, Some(250)); 4], (1, 250));
        // Average is integer-floored: 1001 // 2 = 500.
        check(2, 1000, &[(Ready, Some(1000)), (Ready, Some(1))], (1, 500));
    }

    #[test]
    fn object_and_per_pod_table() {
        let check = |cur: u32, v: i64, t: i64, ready: u32, want: u32| {
            assert_eq!(
                object_value_replicas(cur, v, t, ready, tol())
                    .expect("ok")
                    .replicas,
                want
            );
        };
        check(2, 3000, 1000, 2, 6);
        check(0, 2500, 1000, 0, 3); // scale from zero: ceil(r)
        check(4, 1050, 1000, 4, 4); // within tolerance
        let check_pp = |status: u32, v: i64, t: i64, want: (u32, i64)| {
            let r = per_pod_replicas(status, v, t, tol()).expect("ok");
            assert_eq!((r.replicas, r.usage_milli), want);
        };
        check_pp(2, 9000, 1000, (9, 4500));
        check_pp(5, 5200, 1000, (5, 1040));
        check_pp(3, 1000, 1000, (1, 334));
        assert!(per_pod_replicas(0, 1, 1, tol()).is_err());
    }

    #[test]
    fn classify_pod_table() {
        let now = SimTime(1_000 * 1_000_000_000);
        let s = |x: i64| SimTime((1_000 + x) as u64 * 1_000_000_000);
        let timing = ReadinessTiming {
            cpu_initialization_period_s: 120,
            initial_readiness_delay_s: 10,
        };
        let sample = Some(MetricSample {
            timestamp: Some(s(0)),
            window: SimDuration::from_secs(30),
        });
        let base = PodStatus {
            phase: PodPhase::Running,
            deleting: false,
            start_time: Some(s(-600)),
            ready: Some(ReadyCondition {
                ready: true,
                last_transition: s(-500),
            }),
            sample,
        };
        let check = |p: PodStatus, cpu: bool, want: PodClass| {
            assert_eq!(classify_pod(&p, cpu, now, timing), want, "{p:?}");
        };
        check(base, true, PodClass::Ready);
        check(
            PodStatus {
                deleting: true,
                ..base
            },
            true,
            PodClass::Ignored,
        );
        check(
            PodStatus {
                phase: PodPhase::Pending,
                ..base
            },
            true,
            PodClass::Unready,
        );
        check(
            PodStatus {
                sample: None,
                ..base
            },
            true,
            PodClass::Missing,
        );
        check(
            PodStatus {
                ready: None,
                ..base
            },
            true,
            PodClass::Unready,
        );
        check(
            PodStatus {
                ready: None,
                ..base
            },
            false,
            PodClass::Ready,
        );
        // Young pod whose sample predates readiness + window: unready.
        let young = PodStatus {
            start_time: Some(s(-60)),
            ready: Some(ReadyCondition {
                ready: true,
                last_transition: s(-10),
            }),
            ..base
        };
        check(young, true, PodClass::Unready);
        // Old pod that went unready later (was ready once): counts.
        let flapped = PodStatus {
            ready: Some(ReadyCondition {
                ready: false,
                last_transition: s(-100),
            }),
            ..base
        };
        check(flapped, true, PodClass::Ready);
    }

    fn at(s: u64) -> SimTime {
        SimTime(s * 1_000_000_000)
    }

    #[test]
    fn legacy_rules_table() {
        // (current, desired, min, max) -> (replicas, condition)
        let check =
            |c, d, mn, mx, want: (u32, Condition)| assert_eq!(convert_legacy(c, d, mn, mx), want);
        check(5, 6, 1, 10, (6, Condition::DesiredWithinRange));
        check(1, 100, 1, 1000, (4, Condition::ScaleUpLimit));
        check(10, 100, 1, 15, (15, Condition::TooManyReplicas));
        check(5, 0, 2, 10, (2, Condition::TooFewReplicas));
    }

    #[test]
    fn legacy_stabilization_holds_scale_down() {
        let mut h = Hpa::new(HpaConfig::default()).expect("valid");
        assert_eq!(h.reconcile(at(1000), 5, &[Some(8)]).expect("ok").desired, 8);
        // 2 is wanted 60 s later, but 8 is in the 300 s window.
        assert_eq!(h.reconcile(at(1060), 8, &[Some(2)]).expect("ok").desired, 8);
        // 301 s after the 8, it is out: scale down to 2.
        let d = h.reconcile(at(1301), 8, &[Some(2)]).expect("ok");
        assert_eq!((d.desired, d.rescale), (2, true));
    }

    #[test]
    fn behavior_rate_limits_and_events() {
        let cfg = HpaConfig {
            max_replicas: 1000,
            behavior: Some(Behavior::default()),
            ..HpaConfig::default()
        };
        let mut h = Hpa::new(cfg).expect("valid");
        // Default scale-up: max(+4, +100 %) per 15 s from 3 -> 7.
        assert_eq!(h.reconcile(at(100), 3, &[Some(50)]).expect("ok").desired, 7);
        // 5 s later the +4 event is still in the 15 s period: start = 3.
        let d = h.reconcile(at(105), 7, &[Some(50)]).expect("ok");
        assert_eq!((d.desired, d.condition), (7, Condition::ScaleUpLimit));
        // After the period: 7 -> 14.
        assert_eq!(
            h.reconcile(at(116), 7, &[Some(50)]).expect("ok").desired,
            14
        );
    }

    #[test]
    fn reconcile_guards() {
        let mut h = Hpa::new(HpaConfig::default()).expect("valid");
        let d = h.reconcile(at(1), 0, &[Some(5)]).expect("ok");
        assert_eq!((d.desired, d.rescale), (0, false)); // scaling disabled
        assert_eq!(h.reconcile(at(2), 20, &[Some(5)]).expect("ok").desired, 10);
        assert!(h.reconcile(at(3), 5, &[None]).is_err());
        assert!(h.reconcile(at(4), 5, &[None, Some(3)]).is_err());
        assert_eq!(
            h.reconcile(at(5), 5, &[None, Some(8)]).expect("ok").desired,
            8
        );
    }

    #[test]
    fn config_validation_rejects_bad_knobs() {
        let bad = |c: HpaConfig, needle: &str| {
            let e = c.validate().expect_err("invalid").to_string();
            assert!(e.contains(needle), "{e}");
        };
        bad(
            HpaConfig {
                min_replicas: 5,
                max_replicas: 2,
                ..HpaConfig::default()
            },
            "min_replicas > max_replicas",
        );
        bad(
            HpaConfig {
                max_replicas: 0,
                min_replicas: 0,
                ..HpaConfig::default()
            },
            "maxReplicas",
        );
        bad(
            HpaConfig {
                tolerance: Tolerances {
                    scale_up: -0.1,
                    scale_down: 0.1,
                },
                ..HpaConfig::default()
            },
            "non-negative",
        );
        bad(
            HpaConfig {
                downscale_stabilization_s: 3601,
                ..HpaConfig::default()
            },
            "3600",
        );
        let mut rules = ScalingRules::default_scale_up();
        rules.policies[0].period_s = 1801;
        bad(
            HpaConfig {
                behavior: Some(Behavior {
                    scale_up: Some(rules),
                    scale_down: None,
                }),
                ..HpaConfig::default()
            },
            "1800",
        );
        assert!(HpaConfig::default().validate().is_ok());
    }
}

#[cfg(test)]
mod adapter_tests {
    use super::super::adapter::testing::*;
    use super::*;
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
            behavior: Some(Behavior::default()),
            ..config(vec![waiting(1.0)])
        };
        let mut a = c.build().unwrap();
        // Wants 20 from 2: max(+4 pods, +100 %) per 15 s → 6.
        assert_eq!(decide(a.as_mut(), 0.0, 2, pods_waiting(&[10, 10])), 6);
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
                "target_utilization_percent",
                "averageUtilization must be greater than 0",
            ),
            (
                config(vec![waiting(-1.0)]),
                "target_average_value",
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
