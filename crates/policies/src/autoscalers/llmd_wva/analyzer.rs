//! The saturation analyzer (`internal/saturation/analyzer.go`):
//! `AnalyzeModelSaturation`, `analyzeVariant` and
//! `CalculateSaturationTargets`, with upstream's arithmetic order (spares
//! averaged per variant, then weighted by each variant's non-saturated
//! count; scale-down safety through the average load scaled by
//! `n / (n − 1)`), so boundary cases round as upstream's do.

// Costs are compared exactly, as upstream's `<`, `>` and `==`.
#![allow(clippy::float_cmp)]

use super::WvaConfig;
use std::collections::BTreeMap;

/// Fewest non-saturated replicas for a safe scale-down
/// (`MinNonSaturatedReplicasForScaleDown`).
const MIN_NON_SATURATED_FOR_SCALE_DOWN: usize = 2;

/// One replica's peak metrics (one variant, unnamed pods).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReplicaMetrics {
    /// KV-cache usage fraction.
    pub kv_cache_usage: f64,
    /// Waiting requests.
    pub queue_length: f64,
}

/// One replica's metrics as upstream's `ReplicaMetrics`: pod, variant and
/// the variant's cost per replica.
#[derive(Clone, Debug, PartialEq)]
pub struct PodMetrics {
    /// Pod name.
    pub pod: String,
    /// Variant (deployment) name.
    pub variant: String,
    /// Cost per replica of the variant.
    pub cost: f64,
    /// KV-cache usage fraction.
    pub kv_cache_usage: f64,
    /// Waiting requests.
    pub queue_length: f64,
}

/// `analyzeVariant`'s result.
#[derive(Clone, Debug, PartialEq)]
pub struct VariantAnalysis {
    /// Variant name.
    pub name: String,
    /// Cost of the variant's first replica (upstream takes `metrics[0]`).
    pub cost: f64,
    /// Replicas reporting metrics.
    pub replica_count: usize,
    /// Replicas below both thresholds.
    pub non_saturated_count: usize,
    /// Pods at or above a threshold, in input order.
    pub saturated_replicas: Vec<String>,
    /// Average spare KV over the non-saturated replicas (0 when none).
    pub avg_spare_kv: f64,
    /// Average spare queue over the non-saturated replicas (0 when none).
    pub avg_spare_queue: f64,
    /// Highest KV-cache usage (0 floor, as upstream's zero start).
    pub max_kv_cache_usage: f64,
    /// Longest queue (0 floor).
    pub max_queue_length: f64,
}

/// `AnalyzeModelSaturation`'s result.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelAnalysis {
    /// Replicas reporting.
    pub total_replicas: usize,
    /// Replicas below both thresholds, over all variants.
    pub non_saturated_count: usize,
    /// Model-wide average spare KV (0 when no replica is non-saturated).
    pub avg_spare_kv: f64,
    /// Model-wide average spare queue.
    pub avg_spare_queue: f64,
    /// Average spare below a trigger (false with no replicas at all).
    pub should_scale_up: bool,
    /// Removing one replica keeps both spares at or above the triggers.
    pub scale_down_safe: bool,
    /// One analysis per variant, in order of first appearance.
    pub variants: Vec<VariantAnalysis>,
}

/// The model-wide figures of [`ModelAnalysis`] (one variant).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Analysis {
    /// Replicas reporting.
    pub total_replicas: usize,
    /// Replicas below both thresholds.
    pub non_saturated_count: usize,
    /// Average spare KV over non-saturated replicas (0 when none).
    pub avg_spare_kv: f64,
    /// Average spare queue over non-saturated replicas (0 when none).
    pub avg_spare_queue: f64,
    /// Average spare below a trigger.
    pub should_scale_up: bool,
    /// Removing one replica keeps both spares at or above the triggers.
    pub scale_down_safe: bool,
}

/// Analyze one variant's replicas (`analyzeVariant`).
pub fn analyze_variant(cfg: &WvaConfig, name: &str, pods: &[PodMetrics]) -> VariantAnalysis {
    let mut a = VariantAnalysis {
        name: name.to_owned(),
        cost: pods.first().map_or(0.0, |p| p.cost),
        replica_count: pods.len(),
        non_saturated_count: 0,
        saturated_replicas: Vec::new(),
        avg_spare_kv: 0.0,
        avg_spare_queue: 0.0,
        max_kv_cache_usage: 0.0,
        max_queue_length: 0.0,
    };
    let (mut spare_kv, mut spare_q) = (0.0, 0.0);
    for p in pods {
        let saturated = p.kv_cache_usage >= cfg.kv_cache_threshold
            || p.queue_length >= cfg.queue_length_threshold;
        if saturated {
            a.saturated_replicas.push(p.pod.clone());
        } else {
            spare_kv += cfg.kv_cache_threshold - p.kv_cache_usage;
            spare_q += cfg.queue_length_threshold - p.queue_length;
            a.non_saturated_count += 1;
        }
        if p.kv_cache_usage > a.max_kv_cache_usage {
            a.max_kv_cache_usage = p.kv_cache_usage;
        }
        if p.queue_length > a.max_queue_length {
            a.max_queue_length = p.queue_length;
        }
    }
    if a.non_saturated_count > 0 {
        a.avg_spare_kv = spare_kv / a.non_saturated_count as f64;
        a.avg_spare_queue = spare_q / a.non_saturated_count as f64;
    }
    a
}

/// Analyze one model's replicas over all its variants
/// (`AnalyzeModelSaturation`). No replicas: nothing to do (neither scale
/// up nor a safe scale-down).
pub fn analyze_model(cfg: &WvaConfig, pods: &[PodMetrics]) -> ModelAnalysis {
    let mut out = ModelAnalysis {
        total_replicas: pods.len(),
        non_saturated_count: 0,
        avg_spare_kv: 0.0,
        avg_spare_queue: 0.0,
        should_scale_up: false,
        scale_down_safe: false,
        variants: Vec::new(),
    };
    if pods.is_empty() {
        return out;
    }
    let mut names: Vec<&str> = Vec::new();
    for p in pods {
        if !names.contains(&p.variant.as_str()) {
            names.push(&p.variant);
        }
    }
    let (mut spare_kv, mut spare_q) = (0.0, 0.0);
    for name in names {
        let of: Vec<PodMetrics> = pods.iter().filter(|p| p.variant == name).cloned().collect();
        let v = analyze_variant(cfg, name, &of);
        out.non_saturated_count += v.non_saturated_count;
        spare_kv += v.avg_spare_kv * v.non_saturated_count as f64;
        spare_q += v.avg_spare_queue * v.non_saturated_count as f64;
        out.variants.push(v);
    }
    let n = out.non_saturated_count;
    if n > 0 {
        out.avg_spare_kv = spare_kv / n as f64;
        out.avg_spare_queue = spare_q / n as f64;
    }
    out.should_scale_up =
        out.avg_spare_kv < cfg.kv_spare_trigger || out.avg_spare_queue < cfg.queue_spare_trigger;
    out.scale_down_safe = n >= MIN_NON_SATURATED_FOR_SCALE_DOWN && {
        let factor = n as f64 / (n - 1) as f64;
        let kv_after = (cfg.kv_cache_threshold - out.avg_spare_kv) * factor;
        let q_after = (cfg.queue_length_threshold - out.avg_spare_queue) * factor;
        cfg.kv_cache_threshold - kv_after >= cfg.kv_spare_trigger
            && cfg.queue_length_threshold - q_after >= cfg.queue_spare_trigger
    };
    out
}

/// Analyze the replicas of a single variant ([`analyze_model`] with one
/// unnamed variant).
pub fn analyze(cfg: &WvaConfig, replicas: &[ReplicaMetrics]) -> Analysis {
    let pods: Vec<PodMetrics> = replicas
        .iter()
        .enumerate()
        .map(|(i, r)| PodMetrics {
            pod: format!("pod-{i}"),
            variant: String::new(),
            cost: 0.0,
            kv_cache_usage: r.kv_cache_usage,
            queue_length: r.queue_length,
        })
        .collect();
    let m = analyze_model(cfg, &pods);
    Analysis {
        total_replicas: m.total_replicas,
        non_saturated_count: m.non_saturated_count,
        avg_spare_kv: m.avg_spare_kv,
        avg_spare_queue: m.avg_spare_queue,
        should_scale_up: m.should_scale_up,
        scale_down_safe: m.scale_down_safe,
    }
}

/// What `CalculateSaturationTargets` reads of a variant's analysis.
#[derive(Clone, Debug, PartialEq)]
pub struct VariantCost {
    /// Variant name.
    pub name: String,
    /// Cost per replica.
    pub cost: f64,
    /// Replicas reporting metrics.
    pub replica_count: u32,
}

/// A variant's replica state (`VariantReplicaState`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VariantState {
    /// Variant name.
    pub name: String,
    /// Current replicas.
    pub current: u32,
    /// Desired replicas last set (0 = none yet).
    pub desired: u32,
    /// Replicas created but not yet scheduled or ready.
    pub pending: u32,
}

/// `CalculateSaturationTargets`. With no analysed variant, every state at
/// its current count. Otherwise one target per analysed variant (a variant
/// with no state has the zero state): if any is in transition (desired set
/// and different from current, or metrics count different from current)
/// the whole model is blocked and each keeps its desired count when that
/// is set and differs, else its current count; a stable model starts from
/// the metrics counts and adds 1 to the cheapest variant without pending
/// replicas on scale-up (ties: the lower name), or takes 1 from the most
/// expensive variant above 1 when scale-down is safe (ties: the higher
/// name).
pub fn targets(
    should_scale_up: bool,
    scale_down_safe: bool,
    analyses: &[VariantCost],
    states: &[VariantState],
) -> BTreeMap<String, u32> {
    if analyses.is_empty() {
        return states.iter().map(|s| (s.name.clone(), s.current)).collect();
    }
    let zero = VariantState::default();
    let state = |name: &str| states.iter().find(|s| s.name == name).unwrap_or(&zero);
    let desired_differs = |s: &VariantState| s.desired != 0 && s.desired != s.current;
    let in_transition = analyses.iter().any(|a| {
        let s = state(&a.name);
        desired_differs(s) || a.replica_count != s.current
    });
    let mut out: BTreeMap<String, u32> = analyses
        .iter()
        .map(|a| {
            let s = state(&a.name);
            let t = match (in_transition, desired_differs(s)) {
                (true, true) => s.desired,
                (true, false) => s.current,
                (false, _) => a.replica_count,
            };
            (a.name.clone(), t)
        })
        .collect();
    if in_transition {
        return out;
    }
    if should_scale_up {
        let mut cheapest: Option<&VariantCost> = None;
        for a in analyses.iter().filter(|a| state(&a.name).pending == 0) {
            if cheapest.is_none_or(|c| a.cost < c.cost || (a.cost == c.cost && a.name < c.name)) {
                cheapest = Some(a);
            }
        }
        if let Some(t) = cheapest.and_then(|c| out.get_mut(&c.name)) {
            *t = t.saturating_add(1);
        }
    } else if scale_down_safe {
        let mut dearest: Option<&VariantCost> = None;
        for a in analyses
            .iter()
            .filter(|a| out.get(&a.name).is_some_and(|&t| t > 1))
        {
            if dearest.is_none_or(|c| a.cost > c.cost || (a.cost == c.cost && a.name > c.name)) {
                dearest = Some(a);
            }
        }
        if let Some(t) = dearest.and_then(|c| out.get_mut(&c.name)) {
            *t -= 1;
        }
    }
    out
}
