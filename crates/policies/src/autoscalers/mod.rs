//! Decision cores of production autoscalers, one file each, written from
//! the specifications in `../shared/reference/autoscalers.md` (the upstream
//! source read and its revisions are listed there) and checked against the
//! shared conformance vectors by [`conformance`].
//!
//! The cores are independent of the simulation engine: they take plain
//! inputs (metric values, pod counts and classifications, timestamps) the
//! way the upstream functions do, and time is always passed in
//! ([`SimTime`], integer nanoseconds); nothing here reads a clock. Where
//! upstream keeps state between calls (HPA recommendations and scale
//! events, KPA panic mode and windows, KEDA's last active time, Ray Serve's
//! decision counter, …) the core is a struct that owns exactly that state.
//!
//! Every configuration struct carries the upstream defaults in its
//! `Default` impl and a `validate()` that rejects values upstream would
//! reject, naming the upstream rule. Errors are [`AutoscalerError`]; no
//! function here panics on bad input.
//!
//! The engine-facing `Autoscaler` trait (called at a sync period with an
//! observation of per-replica gauges, returning desired replicas per
//! deployment) will live in `fleetsim-core`; each module's docs say how an
//! adapter maps that observation onto the core's inputs.

pub mod aibrix;
pub mod baseten;
pub mod conformance;
pub mod hpa;
pub mod keda;
pub mod kpa;
pub mod llmd_wva;
pub mod ray_serve;

use fleetsim_core::{SimDuration, SimTime};

/// Why a configuration was rejected or a decision could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AutoscalerError {
    /// A knob lies outside the range upstream validation accepts; `rule`
    /// states the constraint and the upstream rule it mirrors.
    #[error("{autoscaler}: invalid {knob}: {rule}")]
    InvalidKnob {
        /// Which autoscaler (`"kubernetes_hpa"`, `"knative_kpa"`, …).
        autoscaler: &'static str,
        /// The knob's name as written in this crate (`stable_window_s`).
        knob: &'static str,
        /// The violated constraint, with the upstream rule in parentheses.
        rule: String,
    },
    /// The inputs admit no decision; upstream returns an error here and
    /// leaves the scale unchanged (for example HPA with no metric samples).
    #[error("{autoscaler}: no decision: {reason}")]
    NoDecision {
        /// Which autoscaler.
        autoscaler: &'static str,
        /// What is missing or inconsistent.
        reason: String,
    },
}

pub(crate) fn invalid(
    autoscaler: &'static str,
    knob: &'static str,
    rule: impl Into<String>,
) -> AutoscalerError {
    AutoscalerError::InvalidKnob {
        autoscaler,
        knob,
        rule: rule.into(),
    }
}

pub(crate) fn no_decision(autoscaler: &'static str, reason: impl Into<String>) -> AutoscalerError {
    AutoscalerError::NoDecision {
        autoscaler,
        reason: reason.into(),
    }
}

/// Whole seconds as a [`SimDuration`].
pub(crate) fn secs(s: u64) -> SimDuration {
    SimDuration::from_secs(s)
}

/// Fractional seconds as a [`SimDuration`]; negative or non-finite values
/// give zero (callers validate first).
pub(crate) fn secs_f64(s: f64) -> SimDuration {
    SimDuration::try_from_secs_f64(s).unwrap_or(SimDuration::ZERO)
}

/// `t - d`, or `None` when that is before the start of the run (so "every
/// stored instant is after it" holds).
pub(crate) fn minus(t: SimTime, d: SimDuration) -> Option<SimTime> {
    t.as_nanos().checked_sub(d.as_nanos()).map(SimTime)
}

/// `ts` is strictly after `now - window` (upstream `ts.After(now - window)`,
/// i.e. its age is below the window).
pub(crate) fn within(ts: SimTime, now: SimTime, window: SimDuration) -> bool {
    match minus(now, window) {
        Some(cut) => ts > cut,
        None => true,
    }
}

/// Check a float knob is finite.
pub(crate) fn finite(
    autoscaler: &'static str,
    knob: &'static str,
    v: f64,
) -> Result<(), AutoscalerError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(invalid(
            autoscaler,
            knob,
            format!("must be finite, got {v}"),
        ))
    }
}
