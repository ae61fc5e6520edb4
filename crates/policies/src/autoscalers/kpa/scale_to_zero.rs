//! Scale to zero: the PodAutoscaler state and `scaler.scale` (bounds,
//! initial scale and the `handleScaleToZero` state machine).

use super::*;

/// The PodAutoscaler's `Active` condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaActive {
    /// Active=True.
    Active,
    /// Active=False.
    Inactive,
    /// Active=Unknown (scaling from zero): the state upstream writes as
    /// `Unknown`.
    #[serde(alias = "Unknown", alias = "Activating")]
    Activating,
}

/// `computeActiveCondition` (`pkg/reconciler/autoscaling/kpa/kpa.go`):
/// the PodAutoscaler's Active condition after a reconcile, from the
/// scaler's answer `want` (-1: unknown), the ready pods, the active
/// threshold `min_ready` (`activeThreshold`: max(minScale, 1) once the
/// scale target is initialised) and the condition before.
pub fn compute_active_condition(want: i32, ready: u32, min_ready: u32, was: PaActive) -> PaActive {
    use PaActive::*;
    if want == 0 || min_ready == 0 {
        // Upstream's reason differs (TimedOut while activating); the
        // condition is the same.
        return Inactive;
    }
    let engaged = want > 0 || was != Inactive;
    match (ready < min_ready, engaged) {
        (true, true) => Activating,
        (false, true) => Active,
        (_, false) => Inactive,
    }
}

/// Revision reachability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reachability {
    /// Routed to.
    Reachable,
    /// Not routed to: min scale is ignored and scale-down is immediate.
    Unreachable,
    /// Not known yet.
    Unknown,
}

/// Result of probing the activator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeResult {
    /// The activator answered: it is in the path.
    Activator,
    /// The probe failed: start an async probe and wait.
    Error,
}

/// The PodAutoscaler state [`scale_to_zero_step`] reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScalerInput {
    /// The decider's desired scale (-1 = unknown).
    pub desired: i32,
    /// The deployment's current `spec.replicas` (`None` reads as 1).
    pub deployment_replicas: Option<u32>,
    /// `Active` condition.
    pub active: PaActive,
    /// Time since the `Active` condition last changed.
    pub condition_age: SimDuration,
    /// How long the SKS has been in Proxy mode (`None` = Serve mode).
    pub proxy_for: Option<SimDuration>,
    /// Reachability.
    pub reachability: Reachability,
    /// The activator probe's result (used only when inactive and TBC != -1).
    pub probe: ProbeResult,
    /// Whether the scale target has been initialized (reached initial
    /// scale once).
    pub scale_target_initialized: bool,
    /// Per-revision `initial-scale` annotation.
    pub initial_scale_annotation: Option<u32>,
    /// Per-revision `window` annotation, seconds.
    pub window_annotation_s: Option<u64>,
    /// Per-revision `scale-to-zero-pod-retention-period`, seconds.
    pub retention_annotation_s: Option<u64>,
    /// Per-revision `target-burst-capacity`.
    pub tbc_annotation: Option<f64>,
}

/// What [`scale_to_zero_step`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScalerOutcome {
    /// The scale returned (-1 = unknown, 0 while only marking inactive).
    pub scale: i32,
    /// Whether the scale is to be applied.
    pub apply: bool,
    /// Whether applying it patches the deployment (differs from current).
    pub patches: bool,
    /// Re-check the PodAutoscaler after this long.
    pub requeue_after: Option<SimDuration>,
    /// An asynchronous activator probe was started.
    pub async_probe: bool,
}

/// `scaler.scale`: bounds, initial scale and the scale-to-zero state
/// machine (`handleScaleToZero`).
pub fn scale_to_zero_step(cfg: &KpaConfig, inp: &ScalerInput) -> ScalerOutcome {
    let mut out = ScalerOutcome {
        scale: inp.desired,
        apply: false,
        patches: false,
        requeue_after: None,
        async_probe: false,
    };
    if inp.desired < 0 && inp.active != PaActive::Activating {
        return out;
    }
    let unreachable = inp.reachability == Reachability::Unreachable;
    let mut min = if unreachable { 0 } else { cfg.min_scale as i64 };
    let max = cfg.max_scale as i64;
    let initial = match inp.initial_scale_annotation {
        Some(0) if !cfg.allow_zero_initial_scale => cfg.initial_scale,
        Some(v) => v,
        None => cfg.initial_scale,
    } as i64;
    // Initial scale holds until it is reached once, unless the revision is
    // unreachable (routing state `reserve`): reachable or not yet known.
    if initial > 1 && !inp.scale_target_initialized && !unreachable {
        min = min.max(initial);
    }
    let mut desired = i64::from(inp.desired);
    if desired < min {
        desired = min;
    } else if max != 0 && desired > max {
        desired = max;
    }
    let apply;
    if desired != 0 {
        apply = true;
    } else if !cfg.enable_scale_to_zero {
        desired = 1;
        apply = true;
    } else {
        let sw = crate::autoscalers::secs(inp.window_annotation_s.unwrap_or(cfg.stable_window_s));
        let grace = crate::autoscalers::secs(cfg.scale_to_zero_grace_period_s);
        let age = inp.condition_age;
        match inp.active {
            PaActive::Activating => {
                let timeout = crate::autoscalers::secs(
                    cfg.progress_deadline_s + cfg.activation_timeout_buffer_s,
                );
                if age >= timeout {
                    apply = true;
                } else {
                    out.requeue_after = Some(timeout);
                    desired = -1;
                    apply = false;
                }
            }
            PaActive::Active => {
                if age >= sw {
                    // The SKS already proxies, so nothing else will wake
                    // the PA: re-check in 3 s ("long enough to ensure
                    // current iteration is finished").
                    if inp.proxy_for.is_some() {
                        out.requeue_after = Some(SimDuration::from_secs(3));
                    }
                    apply = false;
                } else {
                    out.requeue_after = Some(SimDuration(sw.as_nanos() - age.as_nanos()));
                    desired = 1;
                    apply = true;
                }
            }
            PaActive::Inactive => {
                let tbc = inp.tbc_annotation.unwrap_or(cfg.target_burst_capacity);
                let in_path = tbc == -1.0 || inp.probe == ProbeResult::Activator;
                if in_path {
                    let retention = if unreachable {
                        SimDuration::ZERO
                    } else {
                        crate::autoscalers::secs(
                            inp.retention_annotation_s
                                .unwrap_or(cfg.scale_to_zero_pod_retention_period_s),
                        )
                    };
                    if age >= grace.max(retention) {
                        apply = true;
                    } else if retention > SimDuration::ZERO && age < retention {
                        out.requeue_after =
                            Some(SimDuration(retention.as_nanos() - age.as_nanos()));
                        apply = false;
                    } else {
                        let pf = inp.proxy_for.unwrap_or(SimDuration::ZERO);
                        if pf >= grace {
                            apply = true;
                        } else {
                            out.requeue_after = Some(SimDuration(grace.as_nanos() - pf.as_nanos()));
                            apply = false;
                        }
                    }
                } else {
                    out.async_probe = true;
                    apply = false;
                }
            }
        }
    }
    out.scale = desired as i32;
    out.apply = apply;
    out.patches = apply && i64::from(inp.deployment_replicas.unwrap_or(1)) != desired;
    out
}
