//! Fallback (`GetMetricsWithFallback`): per-trigger health, the metric
//! served while a trigger fails, and the Fallback condition.

use super::*;

/// Health of one trigger's metric.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum HealthStatus {
    /// Last read succeeded.
    #[default]
    Happy,
    /// Last read failed.
    Failing,
}

/// Per-trigger failure count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FallbackState {
    /// Consecutive failures.
    pub failures: u32,
    /// Health.
    pub status: HealthStatus,
}

/// What the metrics server returns to the HPA for one trigger.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FallbackResult {
    /// The scaler's own value (it succeeded).
    Metric(f64),
    /// The synthetic fallback value `replicas × target`.
    Fallback(f64),
    /// The scaler's error is returned (no fallback yet or configured).
    Error,
}

/// The HPA target type of a trigger's external metric (the trigger's
/// `metricType`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetricType {
    /// `AverageValue` (KEDA's default): the threshold is per replica.
    #[default]
    AverageValue,
    /// `Value`: the threshold is for the metric as a whole.
    Value,
}

/// The external metric's target as `doFallback` normalises it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FallbackTarget {
    /// `AverageValue`: the fallback value is `replicas × target`.
    AverageValue(f64),
    /// `Value`: the fallback value is `target × replicas / ready`, so that
    /// the HPA's `ceil(value / target × ready)` asks for `replicas`.
    /// `ready_replicas` counts pods Running and Ready (`None`: it could
    /// not be read); with none ready there is no fallback value.
    Value {
        /// The metric's `Value` target.
        target: f64,
        /// Pods Running and Ready.
        ready_replicas: Option<u32>,
    },
}

/// `GetMetricsWithFallback` for an AverageValue external metric with
/// target `target_average_value`: [`metric_with_fallback_to`] with
/// [`FallbackTarget::AverageValue`].
pub fn metric_with_fallback(
    state: &mut FallbackState,
    fallback: Option<&FallbackConfig>,
    scaler: Option<f64>,
    current_replicas: Option<u32>,
    target_average_value: f64,
) -> FallbackResult {
    let target = FallbackTarget::AverageValue(target_average_value);
    metric_with_fallback_to(state, fallback, scaler, current_replicas, target)
}

/// `GetMetricsWithFallback` for an external metric with target `target`.
/// `scaler` is the scaler's value or `None` on error; `current_replicas`
/// is the target's count when known. Without a fallback, or with an
/// invalid one (`HasValidFallback`), the health is neither reset nor
/// bumped and the error passes through. A Value target whose ready pods
/// cannot be read, or are none, has no fallback value (`doFallback`
/// returns nil): an error, after the failure was counted.
pub fn metric_with_fallback_to(
    state: &mut FallbackState,
    fallback: Option<&FallbackConfig>,
    scaler: Option<f64>,
    current_replicas: Option<u32>,
    target: FallbackTarget,
) -> FallbackResult {
    let valid = fallback.filter(|f| f.is_valid());
    served_with_fallback(state, valid, scaler, current_replicas, target)
}

/// [`metric_with_fallback_to`] given the fallback already checked valid
/// (`None`: none, or an invalid one).
pub(super) fn served_with_fallback(
    state: &mut FallbackState,
    valid: Option<&FallbackConfig>,
    scaler: Option<f64>,
    current_replicas: Option<u32>,
    target: FallbackTarget,
) -> FallbackResult {
    if let Some(v) = scaler {
        if valid.is_some() {
            *state = FallbackState {
                failures: 0,
                status: HealthStatus::Happy,
            };
        }
        return FallbackResult::Metric(v);
    }
    let Some(f) = valid else {
        return FallbackResult::Error;
    };
    state.status = HealthStatus::Failing;
    state.failures = state.failures.saturating_add(1);
    // `NumberOfFailures > FailureThreshold` (threshold >= 0 here).
    if i64::from(state.failures) <= i64::from(f.failure_threshold) {
        return FallbackResult::Error;
    }
    // The formula reads this trigger as nil (by its health); the value
    // served is a placeholder, and no fallback is active.
    if f.behavior == FallbackBehavior::ScalingModifiers {
        return FallbackResult::Metric(SCALING_MODIFIERS_PLACEHOLDER);
    }
    let fixed = u32::try_from(f.replicas).unwrap_or(0);
    let replicas = match (f.behavior, current_replicas) {
        (FallbackBehavior::Static | FallbackBehavior::ScalingModifiers, _) => fixed,
        (FallbackBehavior::CurrentReplicas, Some(c)) => c,
        (FallbackBehavior::CurrentReplicasIfHigher, Some(c)) => c.max(fixed),
        (FallbackBehavior::CurrentReplicasIfLower, Some(c)) => c.min(fixed),
        // The current count could not be read: the scaler's error.
        (_, None) => return FallbackResult::Error,
    };
    let (normalisation, replicas) = match target {
        FallbackTarget::AverageValue(t) => (t, f64::from(replicas)),
        FallbackTarget::Value {
            target,
            ready_replicas,
        } => match ready_replicas {
            Some(ready) if ready > 0 => (target, f64::from(replicas) / f64::from(ready)),
            _ => return FallbackResult::Error,
        },
    };
    // Milli-exact like upstream: int64(target * 1000 * replicas) milli.
    let milli = (normalisation * 1000.0 * replicas) as i64;
    FallbackResult::Fallback(milli as f64 / 1000.0)
}

/// The Fallback condition (`fallbackExceededThreshold`): True when any
/// trigger's metric is failing with more failures than the threshold.
pub fn fallback_condition(states: &[FallbackState], failure_threshold: i32) -> bool {
    states.iter().any(|s| {
        s.status == HealthStatus::Failing && i64::from(s.failures) > i64::from(failure_threshold)
    })
}
