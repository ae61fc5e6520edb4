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

mod adapter;
mod behavior;
mod replicas;

pub use adapter::{classify_sample, HpaAutoscaler, HpaAutoscalerConfig, HpaKind, HpaMetric};
use behavior::rules;
pub use behavior::{BehaviorConfig, RulesConfig};
pub use replicas::{
    classify_pod, object_value_replicas, per_pod_replicas, pods_average_value_replicas,
    resource_utilization_replicas, MetricRecommendation, MetricSample, PodClass, PodMetric,
    PodPhase, PodStatus, ReadinessTiming, ReadyCondition, ResourceRecommendation,
};

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

    /// API validation of one direction's rules (the checks the scenario
    /// reader makes too, `behavior::rules`).
    pub fn validate(&self, dir: &'static str) -> Result<(), AutoscalerError> {
        let fail = |field: &str, got: String, allowed: &str| {
            invalid(NAME, dir, format!("{field} {got} must be {allowed}"))
        };
        let w = self.stabilization_window_s;
        rules::window(w).map_err(|a| fail("stabilization_window_s", w.to_string(), a))?;
        let n = self.policies.len();
        rules::policy_count(n).map_err(|a| fail("policies", format!("(count {n})"), a))?;
        for p in &self.policies {
            rules::value(p.value).map_err(|a| fail("policy value", p.value.to_string(), a))?;
            rules::period(p.period_s)
                .map_err(|a| fail("policy period_s", p.period_s.to_string(), a))?;
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
    convert_legacy_with_factor(current, desired, min, max, SCALE_UP_LIMIT_FACTOR)
}

/// `scaleUpLimitFactor` (upstream's tests raise it to 8 in `init()`).
const SCALE_UP_LIMIT_FACTOR: f64 = 2.0;

/// [`convert_legacy`] with `calculateScaleUpLimit`'s factor as a
/// parameter: the cap is `max(factor·current, 4)`.
fn convert_legacy_with_factor(
    current: u32,
    desired: u32,
    min: u32,
    max: u32,
    factor: f64,
) -> (u32, Condition) {
    let limit = (factor * f64::from(current)).max(4.0) as u32;
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
        // Upstream marks every event older than the longest period
        // outdated and reuses the last outdated slot.
        match events
            .iter()
            .rposition(|e| cutoff.is_some_and(|c| e.at < c))
        {
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

#[cfg(test)]
mod defaults_tests;
#[cfg(test)]
mod horizontal_rules_tests;
#[cfg(test)]
mod horizontal_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod upstream_tests;
