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
//! Each policy file also holds the engine adapter: a type implementing
//! [`fleetsim_core::Autoscaler`] that maps the engine's [`Observation`]
//! onto the core's inputs (the module docs say how). [`AutoscalerConfig`]
//! is the scenario's `[scaling]` table: `kind` picks the policy, the other
//! keys are its knobs (units in their names, upstream defaults);
//! [`AutoscalerConfig::build`] validates them and makes the autoscaler.
//! `concurrency` and the single-signal baselines (`signals`) are not
//! upstream ports; the mechanism the adapters share is in `adapter`.
//!
//! [`Observation`]: fleetsim_core::autoscale::Observation

pub mod adapter;
pub mod aibrix;
pub mod baseten;
pub mod concurrency;
pub mod conformance;
pub mod hpa;
pub mod keda;
pub mod kpa;
pub mod llmd_wva;
pub mod predictive;
pub mod promql;
pub mod ray_serve;
pub mod signals;

use fleetsim_core::autoscale::MetricsSpec;
use fleetsim_core::{Autoscaler, SimDuration, SimTime};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// One autoscaler a scenario can name in `[scaling] kind = "..."`. Each
/// policy's file implements it on a unit type (`hpa::HpaKind`, …), and
/// one line in `autoscaler_registry!` makes it a variant of
/// [`AutoscalerConfig`]: the enum, [`AutoscalerConfig::KINDS`],
/// [`AutoscalerConfig::kind`], [`AutoscalerConfig::build`] and
/// [`AutoscalerConfig::default_metrics`] all come from that list.
pub trait AutoscalerKind {
    /// The `kind` a scenario writes (`"hpa"`). It must be the snake_case
    /// of the variant's name in the registry, which is the serde tag; the
    /// registry's tests check that every name parses back to its kind.
    const NAME: &'static str;
    /// The knobs: the `[scaling]` table without `kind`. Unknown keys
    /// should be errors (`#[serde(deny_unknown_fields)]`), and defaults
    /// those of upstream.
    type Config: Clone + std::fmt::Debug + PartialEq + Serialize + DeserializeOwned;
    /// The knobs whose upstream name (in the core's errors) differs from
    /// the scenario key: `(upstream, scenario)` pairs. The registry renames
    /// them in [`AutoscalerError::InvalidKnob`], so an error names the key
    /// the scenario wrote (a test sets every knob to extreme values and
    /// checks each rejected one is named by a key of `[scaling]`).
    const KNOB_NAMES: &'static [(&'static str, &'static str)] = &[];
    /// Rejects knobs upstream would reject (errors name the upstream rule).
    fn validate(config: &Self::Config) -> Result<(), AutoscalerError>;
    /// Makes the autoscaler from knobs [`Self::validate`] accepted.
    fn build(config: &Self::Config) -> Result<Box<dyn Autoscaler>, AutoscalerError>;
    /// The metrics pipeline this policy normally sees in production (scrape
    /// interval, lag, lookback; docs/autoscalers.md).
    fn default_metrics(config: &Self::Config) -> MetricsSpec;
}

/// Makes [`AutoscalerConfig`] from the list of kinds: one line
/// `Variant => module::Kind,` per policy, in the order error messages list
/// them, where `Kind: AutoscalerKind` and `Variant` is `Kind::NAME` in
/// CamelCase.
macro_rules! autoscaler_registry {
    ($($variant:ident => $module:ident :: $kind:ident,)*) => {
        /// A deployment's autoscaler as a scenario writes it (`[scaling] kind =
        /// "..."` plus that policy's knobs; unknown knobs are errors). One
        /// variant per [`AutoscalerKind`] in the registry.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "kind", rename_all = "snake_case")]
        pub enum AutoscalerConfig {
            $(
                #[doc = concat!("The knobs of [`", stringify!($module), "::", stringify!($kind),
                    "`] (`", stringify!($module), ".rs`).")]
                $variant(<$module::$kind as AutoscalerKind>::Config),
            )*
        }

        impl AutoscalerConfig {
            /// Every kind a scenario may name, as [`Self::kind`] spells them,
            /// in registry order.
            pub const KINDS: &'static [&'static str] =
                &[$(<$module::$kind as AutoscalerKind>::NAME),*];

            /// The scenario kind (`"hpa"`, `"ray_serve"`, …).
            pub fn kind(&self) -> &'static str {
                match self {
                    $(AutoscalerConfig::$variant(_) => <$module::$kind as AutoscalerKind>::NAME,)*
                }
            }

            /// Checks the knobs (errors name the upstream rule and the
            /// scenario's key).
            pub fn validate(&self) -> Result<(), AutoscalerError> {
                match self {
                    $(AutoscalerConfig::$variant(c) => <$module::$kind as AutoscalerKind>::validate(c)
                        .map_err(|e| e.knob_named(<$module::$kind as AutoscalerKind>::KNOB_NAMES)),)*
                }
            }

            /// Validate the knobs (errors name the upstream rule and the
            /// scenario's key) and make the autoscaler.
            pub fn build(&self) -> Result<Box<dyn Autoscaler>, AutoscalerError> {
                match self {
                    $(AutoscalerConfig::$variant(c) => {
                        type K = $module::$kind;
                        <K as AutoscalerKind>::validate(c)
                            .and_then(|()| <K as AutoscalerKind>::build(c))
                            .map_err(|e| e.knob_named(<K as AutoscalerKind>::KNOB_NAMES))
                    })*
                }
            }

            /// The metrics pipeline this policy normally sees in production (see
            /// each kind's `default_metrics` and docs/autoscalers.md).
            pub fn default_metrics(&self) -> MetricsSpec {
                match self {
                    $(AutoscalerConfig::$variant(c) => {
                        <$module::$kind as AutoscalerKind>::default_metrics(c)
                    })*
                }
            }
        }
    };
}

// The registry: adding an autoscaler kind is its file (the module above
// and its `AutoscalerKind` impl) plus one line here.
autoscaler_registry! {
    Concurrency => concurrency::ConcurrencyKind,
    Hpa => hpa::HpaKind,
    Kpa => kpa::KpaKind,
    Keda => keda::KedaKind,
    RayServe => ray_serve::RayServeKind,
    QueueDepth => signals::QueueDepthKind,
    KvCache => signals::KvCacheKind,
    GpuUtilization => signals::GpuUtilizationKind,
    AibrixApa => aibrix::AibrixApaKind,
    AibrixKpa => aibrix::AibrixKpaKind,
    LlmdWva => llmd_wva::LlmdWvaKind,
    Predictive => predictive::PredictiveKind,
}

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

impl AutoscalerError {
    /// The error with its knob renamed by `names` (`(upstream, scenario)`
    /// pairs; [`AutoscalerKind::KNOB_NAMES`]).
    pub fn knob_named(self, names: &[(&'static str, &'static str)]) -> AutoscalerError {
        match self {
            AutoscalerError::InvalidKnob {
                autoscaler,
                knob,
                rule,
            } => AutoscalerError::InvalidKnob {
                autoscaler,
                knob: (names.iter())
                    .find(|(upstream, _)| *upstream == knob)
                    .map_or(knob, |(_, scenario)| scenario),
                rule,
            },
            other => other,
        }
    }
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
/// give zero (callers validate first), and spans longer than the clock
/// holds (1e300 s) the longest one, not zero: a delay of 1e300 s never
/// ends within a run.
pub(crate) fn secs_f64(s: f64) -> SimDuration {
    SimDuration::try_from_secs_f64(s).unwrap_or(match s > 0.0 {
        true => SimDuration::from_nanos(u64::MAX),
        false => SimDuration::ZERO,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<AutoscalerConfig, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn every_kind_parses_builds_and_names_itself() {
        // (config, kind, sync period ms, scrape interval ms, lag ms)
        let cases = [
            (
                r#"{"kind":"concurrency","max_replicas":4}"#,
                "concurrency",
                1000,
                1000,
                0,
            ),
            (r#"{"kind":"hpa"}"#, "hpa", 15_000, 15_000, 15_000),
            (r#"{"kind":"kpa"}"#, "kpa", 2000, 1000, 0),
            (r#"{"kind":"keda"}"#, "keda", 15_000, 15_000, 0),
            (
                r#"{"kind":"ray_serve","max_replicas":4}"#,
                "ray_serve",
                100,
                500,
                5000,
            ),
            (
                r#"{"kind":"queue_depth","max_replicas":4}"#,
                "queue_depth",
                15_000,
                15_000,
                0,
            ),
            (
                r#"{"kind":"kv_cache","max_replicas":4}"#,
                "kv_cache",
                15_000,
                15_000,
                0,
            ),
            (r#"{"kind":"aibrix_apa"}"#, "aibrix_apa", 10_000, 1000, 0),
            (r#"{"kind":"aibrix_kpa"}"#, "aibrix_kpa", 10_000, 1000, 0),
            (r#"{"kind":"llmd_wva"}"#, "llmd_wva", 60_000, 15_000, 0),
            (
                r#"{"kind":"gpu_utilization","max_replicas":4}"#,
                "gpu_utilization",
                15_000,
                15_000,
                0,
            ),
        ];
        for (json, kind, sync, scrape, lag) in cases {
            let c = parse(json).unwrap();
            assert_eq!(c.kind(), kind);
            let a = c.build().unwrap();
            assert_eq!(a.sync_period(), SimDuration::from_millis(sync), "{kind}");
            let m = c.default_metrics();
            assert_eq!(
                (m.scrape_interval, m.lag),
                (
                    SimDuration::from_millis(scrape),
                    SimDuration::from_millis(lag)
                ),
                "{kind}"
            );
            assert!(m.lookback >= SimDuration::from_secs(60), "{kind}");
        }
    }

    #[test]
    fn unknown_kinds_and_knobs_are_errors() {
        // (config, fragment of the error)
        let cases = [
            (r#"{"kind":"hpaa"}"#, "unknown variant `hpaa`"),
            (
                r#"{"kind":"kpa","stable_window":60}"#,
                "unknown field `stable_window`",
            ),
            (r#"{"kind":"concurrency"}"#, "missing field `max_replicas`"),
            (
                r#"{"kind":"hpa","metrics":[{"metric":"num_requests_waiting","target":5}]}"#,
                "unknown field `target`",
            ),
            (
                r#"{"kind":"ray_serve","upscale_delay":1}"#,
                "unknown field `upscale_delay`",
            ),
        ];
        for (json, frag) in cases {
            let e = parse(json).expect_err(json);
            assert!(e.contains(frag), "{json}: {e}");
        }
    }

    #[test]
    fn build_errors_name_the_upstream_rule() {
        let e = parse(r#"{"kind":"ray_serve","min_replicas":3,"max_replicas":2}"#)
            .unwrap()
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Ray Serve: max_replicas must be greater than or equal to min_replicas"),
            "{e}"
        );
    }
}

#[cfg(test)]
mod kinds_tests {
    use super::AutoscalerConfig;

    #[test]
    fn every_listed_kind_parses_with_its_defaults_and_names_itself() {
        for &kind in AutoscalerConfig::KINDS {
            let text = format!("kind = \"{kind}\"\nmax_replicas = 4\n");
            let config: AutoscalerConfig =
                toml::from_str(&text).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(config.kind(), kind);
            assert!(config.build().is_ok(), "{kind}: defaults must be valid");
        }
    }
}

#[cfg(test)]
mod registry_tests {
    use super::AutoscalerConfig;

    /// The backquoted words of `text`, in order.
    fn backquoted(text: &str) -> Vec<&str> {
        text.split('`').skip(1).step_by(2).collect()
    }

    fn sorted(mut v: Vec<&str>) -> Vec<&str> {
        v.sort_unstable();
        v
    }

    /// The kinds in the first column of the table under "Using them in a
    /// scenario" in docs/autoscalers.md (`| kind | sync | ...`).
    fn kinds_in_autoscalers_md() -> Vec<&'static str> {
        let doc = include_str!("../../../../docs/autoscalers.md");
        let section = doc
            .split("## Using them in a scenario")
            .nth(1)
            .expect("docs/autoscalers.md has a \"Using them in a scenario\" section");
        let mut lines = section.lines().skip_while(|l| !l.starts_with("| kind |"));
        assert!(lines.next().is_some(), "no `| kind |` table");
        (lines.skip(1))
            .take_while(|l| l.starts_with('|'))
            .flat_map(|l| backquoted(l.split('|').nth(1).unwrap_or("")))
            .collect()
    }

    /// The autoscalers listed in the `[scaling]` `kind` row of
    /// docs/scenario-reference.md ("An autoscaler: `concurrency` ...;").
    fn kinds_in_scenario_reference() -> Vec<&'static str> {
        let doc = include_str!("../../../../docs/scenario-reference.md");
        let row = doc
            .lines()
            .find(|l| l.starts_with("| `kind` |") && l.contains("An autoscaler:"))
            .expect("docs/scenario-reference.md has the [scaling] kind row");
        let list = row.split("An autoscaler:").nth(1).unwrap_or("");
        backquoted(list.split(';').next().unwrap_or(""))
    }

    #[test]
    fn the_registry_names_the_kinds_the_docs_document() {
        let registry = sorted(AutoscalerConfig::KINDS.to_vec());
        assert_eq!(
            sorted(kinds_in_autoscalers_md()),
            registry,
            "docs/autoscalers.md"
        );
        assert_eq!(
            sorted(kinds_in_scenario_reference()),
            registry,
            "docs/scenario-reference.md"
        );
    }

    #[test]
    fn kinds_are_listed_once_each() {
        let mut kinds = AutoscalerConfig::KINDS.to_vec();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), AutoscalerConfig::KINDS.len());
    }
}

#[cfg(test)]
mod knob_errors_tests {
    #![allow(clippy::unwrap_used)]
    use super::{AutoscalerConfig, AutoscalerError};

    /// Every kind with every top-level number knob set to each of some
    /// extreme values: a configuration that is rejected names a knob the
    /// scenario writes (its top-level key), and one that is accepted builds
    /// an autoscaler with a positive sync period.
    #[test]
    fn every_rejected_knob_is_named_as_the_scenario_writes_it() {
        let mut problems = Vec::new();
        for &kind in AutoscalerConfig::KINDS {
            let base: serde_json::Value =
                serde_json::from_str(&format!(r#"{{"kind":"{kind}","max_replicas":4}}"#)).unwrap();
            let config: AutoscalerConfig = serde_json::from_value(base.clone()).unwrap();
            let serde_json::Value::Object(defaults) = serde_json::to_value(&config).unwrap() else {
                panic!("{kind}: not an object");
            };
            for (key, value) in &defaults {
                let candidates: &[serde_json::Value] = match value {
                    serde_json::Value::Number(n) if n.is_f64() => &[
                        serde_json::json!(-1.0),
                        serde_json::json!(0.0),
                        serde_json::json!(1e-300),
                        serde_json::json!(1e300),
                    ],
                    serde_json::Value::Number(_) => &[
                        serde_json::json!(0),
                        serde_json::json!(1),
                        serde_json::json!(4_000_000_000u64),
                    ],
                    _ => &[],
                };
                for bad in candidates {
                    let mut v = serde_json::Value::Object(defaults.clone());
                    v[key] = bad.clone();
                    let Ok(config) = serde_json::from_value::<AutoscalerConfig>(v) else {
                        continue; // out of the type's range: a located parse error
                    };
                    match config.build() {
                        Err(AutoscalerError::InvalidKnob { knob, .. }) => {
                            let root = knob.split(['.', '[']).next().unwrap_or(knob);
                            if !defaults.contains_key(root) {
                                problems.push(format!(
                                    "{kind}: {key} = {bad}: the error names `{knob}`, not a key of [scaling]"
                                ));
                            }
                        }
                        Err(e) => problems.push(format!("{kind}: {key} = {bad}: {e}")),
                        Ok(a) if a.sync_period().as_nanos() == 0 => problems.push(format!(
                            "{kind}: {key} = {bad}: accepted with a sync period of 0"
                        )),
                        Ok(_) => {}
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
