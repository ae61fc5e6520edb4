//! The executor's side of a ScaledObject: trigger activity as
//! `getScaledObjectState` aggregates it, the 0 ↔ min/idle decisions of
//! `RequestScale` with their conditions, and the HPAActive condition.

use super::*;

/// One trigger's poll result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TriggerState {
    /// Trigger name (for reporting).
    pub name: String,
    /// `value > activationThreshold`.
    pub is_active: bool,
    /// The scaler returned an error.
    pub is_error: bool,
    /// A cpu or memory trigger (never active itself: an object with only
    /// these is active while none errs).
    pub is_resource: bool,
}

/// The scaling modifiers' composite metric (`CompositeMetricName`).
pub const COMPOSITE_METRIC_NAME: &str = "composite-metric";

/// The ScaledObject's aggregated activity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Activity {
    /// Any trigger active (or only cpu/memory triggers).
    pub is_active: bool,
    /// Any trigger errored.
    pub is_error: bool,
    /// Names of the active triggers.
    pub active_triggers: Vec<String>,
}

/// `getScaledObjectState`: active if any trigger is active (an errored
/// trigger is not active), naming the active triggers. With scaling
/// modifiers pass `Some(composite > activationTarget)` as
/// `composite_active`: the activity is then the composite metric's
/// (`composite-metric` the one active trigger), and false whenever a
/// trigger errs. Last, an object whose triggers are all cpu/memory is
/// active unless a trigger errs (those never activate from zero).
pub fn aggregate_activity(triggers: &[TriggerState], composite_active: Option<bool>) -> Activity {
    let mut active_triggers: Vec<String> = triggers
        .iter()
        .filter(|t| t.is_active && !t.is_error)
        .map(|t| t.name.clone())
        .collect();
    let is_error = triggers.iter().any(|t| t.is_error);
    let mut is_active = !active_triggers.is_empty();
    if let Some(composite) = composite_active {
        // Reset even on an error; evaluated only without one.
        is_active = composite && !is_error;
        active_triggers = match is_active {
            true => vec![COMPOSITE_METRIC_NAME.to_string()],
            false => Vec::new(),
        };
    }
    let only_resource = !triggers.is_empty() && triggers.iter().all(|t| t.is_resource);
    if only_resource && !is_error {
        is_active = true;
    }
    Activity {
        is_active,
        is_error,
        active_triggers,
    }
}

/// A condition's status (`metav1.ConditionStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConditionStatus {
    /// `True`.
    True,
    /// `False`.
    False,
    /// `Unknown`.
    Unknown,
}

/// A ScaledObject condition as the executor writes it: status and reason
/// (KEDA's reason strings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConditionSet {
    /// The status.
    pub status: ConditionStatus,
    /// The reason.
    pub reason: &'static str,
}

impl ConditionSet {
    const fn new(status: ConditionStatus, reason: &'static str) -> Self {
        ConditionSet { status, reason }
    }
}

/// `Ready=True` (`ScaledObjectConditionReadySuccessReason`), which
/// `RequestScale` writes first.
pub const READY: ConditionSet = ConditionSet::new(ConditionStatus::True, "ScaledObjectReady");
/// `Ready=False`: not active, a trigger failed and no fallback is set.
pub const READY_TRIGGER_ERROR: ConditionSet =
    ConditionSet::new(ConditionStatus::False, "TriggerError");
/// `Ready=Unknown`: active while another trigger failed.
pub const READY_PARTIAL_TRIGGER_ERROR: ConditionSet =
    ConditionSet::new(ConditionStatus::Unknown, "PartialTriggerError");

/// What the executor did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExecutorDecision {
    /// The new scale when the scale target is updated.
    pub set_replicas: Option<u32>,
    /// The Active condition written (`None` = untouched).
    pub active_condition: Option<bool>,
    /// The Active condition's reason (`ScalerActive`, `ScalerNotActive`,
    /// `ScalerCooldown` while cooling down before a scale-in); `None` =
    /// untouched.
    pub active_reason: Option<&'static str>,
    /// The Ready condition: [`READY`] unless a trigger failed (and no
    /// fallback holds the scale) while not active ([`READY_TRIGGER_ERROR`])
    /// or while active ([`READY_PARTIAL_TRIGGER_ERROR`]).
    pub ready: ConditionSet,
    /// Whether `lastActiveTime` was set to now.
    pub last_active_time_set: bool,
    /// The Paused condition was set: the executor returned before looking
    /// at the triggers.
    pub paused: bool,
}

/// A boolean KEDA annotation's value as KEDA reads it (`strconv.ParseBool`:
/// `1 t T TRUE true True` / `0 f F FALSE false False`); any other text
/// counts as true.
pub fn annotation_flag(value: &str) -> bool {
    !matches!(value, "0" | "f" | "F" | "FALSE" | "false" | "False")
}

/// The KEDA executor for one ScaledObject: keeps `lastActiveTime` and the
/// creation time.
#[derive(Clone, Debug)]
pub struct KedaExecutor {
    config: KedaConfig,
    created: SimTime,
    last_active: Option<SimTime>,
}

impl KedaExecutor {
    /// An executor for a ScaledObject created at `created`.
    pub fn new(config: KedaConfig, created: SimTime) -> Result<Self, AutoscalerError> {
        config.validate()?;
        Ok(KedaExecutor {
            config,
            created,
            last_active: None,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &KedaConfig {
        &self.config
    }

    /// `status.lastActiveTime`.
    pub fn last_active_time(&self) -> Option<SimTime> {
        self.last_active
    }

    /// Overwrite `lastActiveTime` (tests, restarts).
    pub fn set_last_active_time(&mut self, t: Option<SimTime>) {
        self.last_active = t;
    }

    /// `RequestScale` at `now` for a target currently at `current`.
    pub fn request_scale(
        &mut self,
        now: SimTime,
        current: u32,
        is_active: bool,
        is_error: bool,
    ) -> ExecutorDecision {
        let c = &self.config;
        let mut d = ExecutorDecision {
            set_replicas: None,
            active_condition: None,
            active_reason: None,
            ready: READY,
            last_active_time_set: false,
            paused: false,
        };
        // `handlePaused`: paused-replicas (any value) or paused=true.
        if c.paused_replicas.is_some() || c.paused {
            d.paused = true;
            return d;
        }
        let min = c.min_replica_count;
        if is_active || c.force_activation {
            // Active=True whatever happens next (also when paused-scale-out
            // blocks the activation or a trigger errs).
            d.active_condition = Some(true);
            d.active_reason = Some("ScalerActive");
            if (c.idle_replica_count.is_some() && current < min) || current == 0 {
                if !c.paused_scale_out {
                    d.set_replicas = Some(if min > 0 { min } else { 1 });
                    self.last_active = Some(now);
                    d.last_active_time_set = true;
                }
            } else if is_error {
                d.ready = READY_PARTIAL_TRIGGER_ERROR;
            } else {
                self.last_active = Some(now);
                d.last_active_time_set = true;
            }
            return d;
        }
        // `Fallback != nil && Fallback.Replicas != 0`: replicas 0 falls
        // through to the scale-in cases.
        let has_fallback = c.fallback.is_some_and(|f| f.replicas != 0);
        d.active_condition = Some(false);
        d.active_reason = Some("ScalerNotActive");
        if is_error && has_fallback {
            // The HPA gets the fallback metric; scaling to 0 would disable it.
        } else if is_error && c.fallback.is_none() {
            d.ready = READY_TRIGGER_ERROR;
        } else if c.idle_replica_count.is_some_and(|idle| current > idle)
            || (current > 0 && min == 0)
        {
            let cooled = match self.last_active {
                Some(t) => t + crate::autoscalers::secs(c.cooldown_period_s) < now,
                None => self.created + crate::autoscalers::secs(c.initial_cooldown_period_s) < now,
            };
            if c.paused_scale_in {
                // `scaleToZeroOrIdle` returns before the cooldown check.
            } else if cooled {
                let to = c.idle_replica_count.unwrap_or(min);
                if to != current {
                    d.set_replicas = Some(to);
                }
            } else {
                d.active_reason = Some("ScalerCooldown");
            }
        } else if c.idle_replica_count.is_none() && current < min {
            d.set_replicas = Some(min);
        }
        d
    }
}

/// The HPA's `ScalingActive` condition as the executor reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HpaScalingActive {
    /// `status == True`.
    pub status: bool,
    /// The HPA's reason (may be empty).
    pub reason: String,
    /// The HPA's message (may be empty).
    pub message: String,
}

/// The HPAActive condition of a ScaledObject (`Conditions.SetHPAActiveCondition`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HpaActiveCondition {
    /// The status.
    pub status: ConditionStatus,
    /// The reason: `HPAActive`, `ScalingDisabled`, or the HPA's own reason
    /// (`HPAMetricsUnavailable` when it gives none).
    pub reason: String,
    /// The message.
    pub message: String,
}

/// `getHPAHealth`: the HPAActive condition for the HPA's `ScalingActive`
/// condition, or `None` when the HPA cannot be observed (no HPA name yet,
/// a read error, or no `ScalingActive` condition reported yet), which
/// leaves a condition set earlier as it was (`checkHPAHealth`). Ready does
/// not depend on it (KEDA #7914).
pub fn hpa_health(scaling_active: Option<&HpaScalingActive>) -> Option<HpaActiveCondition> {
    let cond = scaling_active?;
    let (status, reason, message) = if cond.status {
        (
            ConditionStatus::True,
            "HPAActive".to_string(),
            "HPA is actively scaling".to_string(),
        )
    } else if cond.reason == "ScalingDisabled" {
        (
            ConditionStatus::True,
            "ScalingDisabled".to_string(),
            cond.message.clone(),
        )
    } else {
        let reason = match cond.reason.as_str() {
            "" => "HPAMetricsUnavailable".to_string(),
            r => r.to_string(),
        };
        (
            ConditionStatus::False,
            reason,
            format!("HPA is not actively scaling: {}", cond.message),
        )
    };
    Some(HpaActiveCondition {
        status,
        reason,
        message,
    })
}
