//! Pod grouping (`groupPods`) and the replica calculator per metric type
//! (`replica_calculator.go`).

use super::*;

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
    /// A metric sample for a pod the selector does not list (a pod that no
    /// longer exists): `groupPods` never sees it, so it stays among the
    /// samples. It has no request, so Utilization sums skip it, but it
    /// counts in the number of samples of the slow path, and Pods/AverageValue
    /// metrics average it in.
    #[serde(alias = "no_pod", alias = "unknown_pod", alias = "nonexistent")]
    Unlisted,
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
                let init_end =
                    start + crate::autoscalers::secs(u64::from(timing.cpu_initialization_period_s));
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
                    let delay_end = start
                        + crate::autoscalers::secs(u64::from(timing.initial_readiness_delay_s));
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
    /// `readyPodCount`: listed pods counted with their sample.
    ready: usize,
    unready: Vec<usize>,
    missing: Vec<usize>,
    /// Samples of listed ready pods.
    used: Vec<usize>,
    /// Samples of pods the selector does not list.
    unlisted: Vec<usize>,
}

fn group(pods: &[PodMetric]) -> Grouped {
    let mut g = Grouped {
        ready: 0,
        unready: Vec::new(),
        missing: Vec::new(),
        used: Vec::new(),
        unlisted: Vec::new(),
    };
    for (i, p) in pods.iter().enumerate() {
        match p.class {
            PodClass::Ignored => {}
            PodClass::Unready => g.unready.push(i),
            PodClass::Missing => g.missing.push(i),
            PodClass::Unlisted => {
                if p.value_milli.is_some() {
                    g.unlisted.push(i);
                }
            }
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

/// The checks every per-pod calculator makes before its ratio, in
/// upstream's order: the metrics API returned nothing; the selector lists
/// no pod; nothing is left once ignored and unready pods are dropped.
fn check_samples(pods: &[PodMetric], api: &str) -> Result<Grouped, AutoscalerError> {
    if pods.iter().all(|p| p.value_milli.is_none()) {
        return Err(no_decision(
            NAME,
            format!("unable to get metrics: no metrics returned from {api}"),
        ));
    }
    if pods.iter().all(|p| p.class == PodClass::Unlisted) {
        return Err(no_decision(
            NAME,
            "no pods returned by selector while calculating replica count",
        ));
    }
    let g = group(pods);
    if g.used.is_empty() && g.unlisted.is_empty() {
        return Err(no_decision(
            NAME,
            "did not receive metrics for targeted pods (pods might be unready)",
        ));
    }
    Ok(g)
}

/// What a missing pod is taken to use on the slow path: `down` below a
/// ratio of 1, 0 above it, and no sample at all at exactly 1 (upstream
/// fills only `usageRatio < 1.0` and `usageRatio > 1.0`).
fn missing_fill(ratio: f64, down: i64) -> Option<i64> {
    if ratio < 1.0 {
        Some(down)
    } else if ratio > 1.0 {
        Some(0)
    } else {
        None
    }
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
    let g = check_samples(pods, "resource metrics API")?;
    for p in pods {
        if p.class != PodClass::Unlisted && p.request_milli.is_none() {
            return Err(no_decision(
                NAME,
                "missing request for a pod (Utilization targets need container requests)",
            ));
        }
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
            let down = pods[i].request_milli.unwrap_or(0).saturating_mul(fallback) / 100;
            if let Some(v) = missing_fill(ratio, down) {
                s.push((i, v));
            }
        }
        if fill_unready {
            s.extend(g.unready.iter().map(|&i| (i, 0)));
        }
        let (r, _, _) = util(&s)?;
        // Samples of unlisted pods have no request (skipped in the sums)
        // but count in `len(metrics)`.
        Ok((r, s.len() + g.unlisted.len()))
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
    let g = check_samples(pods, "custom metrics API")?;
    let avg = |vals: &[i64]| -> (f64, i64) {
        let total = vals.iter().fold(0i64, |a, &v| a.saturating_add(v));
        let usage = total / vals.len() as i64;
        (usage as f64 / target_average_milli as f64, usage)
    };
    // Samples of unlisted pods stay in the average (`GetMetricUsageRatio`
    // sums every sample left).
    let base: Vec<i64> = g
        .used
        .iter()
        .chain(&g.unlisted)
        .map(|&i| pods[i].value_milli.unwrap_or(0))
        .collect();
    let (ratio, usage) = avg(&base);
    let replicas = two_path(current, tol, &g, ratio, |fill_unready| {
        let mut s = base.clone();
        if let Some(fill) = missing_fill(ratio, target_average_milli) {
            s.extend(g.missing.iter().map(|_| fill));
        }
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
