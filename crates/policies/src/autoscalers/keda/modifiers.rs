//! `advanced.scalingModifiers`: several triggers combined by a formula
//! into one composite metric (`composite-metric`) the HPA scales on, and
//! how that metric falls back when triggers fail. Sources (kedacore/keda):
//! `pkg/scaling/modifiers/formula.go` (`HandleScalingModifiers`,
//! `calculateScalingModifiersFormula`, `scalingModifiersFallbackTarget`,
//! `scalingModifierTriggerValue`), `pkg/fallback/fallback.go`
//! (`HasValidFallback`, `GetMetricsWithFallback`, `doFallback`) and
//! `apis/keda/v1alpha1/scaledobject_webhook.go` (the formula, target and
//! fallback checks).
//!
//! Under `fallback.behavior = scalingModifiers` a trigger past the failure
//! threshold reads as nil in the formula, so `a ?? b` picks another
//! trigger, and a formula that is nil as a whole serves
//! `fallback.replicas × target`. Under the other behaviors a failing
//! trigger's fallback metric (normalised by the modifiers' target and
//! metric type) becomes the composite metric outright.

use super::formula::{Formula, FormulaError, Value};
use super::*;

/// `advanced.scalingModifiers`, as the ScaledObject spells it (the
/// target and activation target are strings there).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalingModifiers {
    /// `formula` over the trigger names.
    pub formula: String,
    /// `target`: the composite metric's HPA target.
    pub target: String,
    /// `activationTarget`: active when the composite is above it ("" = 0).
    #[serde(default)]
    pub activation_target: String,
    /// `metricType` of the composite metric (`AverageValue` by default).
    #[serde(default)]
    pub metric_type: MetricType,
}

/// A scaling-modifiers setting upstream rejects or cannot evaluate.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ModifiersError {
    /// The formula does not parse or evaluate.
    #[error("scalingModifiers.formula: {0}")]
    Formula(#[from] FormulaError),
    /// `target` is empty, not a number or not positive.
    #[error("scalingModifiers.target: {0}")]
    Target(String),
    /// `activationTarget` is not a number.
    #[error("scalingModifiers.activationTarget: `{0}` is not a number")]
    ActivationTarget(String),
    /// The formula is nil and there is nothing to fall back to.
    #[error("scalingModifiers formula evaluated to nil but no fallback is configured")]
    NilWithoutFallback,
    /// `fallback.behavior = scalingModifiers` without a formula.
    #[error("scalingModifiers fallback behavior requires scalingModifiers.formula to be defined")]
    FallbackWithoutFormula,
    /// A trigger failed within its failure threshold (or with no
    /// fallback) and no trigger serves a fallback metric: the HPA gets an
    /// error.
    #[error("a trigger of the composite metric failed")]
    TriggerFailed,
    /// The formula gave a number that is not finite (upstream converts
    /// it to an integer quantity with no defined value).
    #[error("scalingModifiers.formula gave {0}, not a finite value")]
    NotFinite(f64),
}

/// The value [`metric_with_fallback_to`] serves for a trigger past its
/// threshold under `behavior = scalingModifiers`: a placeholder the
/// formula never reads (it reads the trigger's health instead).
pub const SCALING_MODIFIERS_PLACEHOLDER: f64 = -1.0;

impl ScalingModifiers {
    /// The webhook's checks (`ValidateAndCompileScalingModifiers`): the
    /// formula parses and names only `triggers`, and a formula needs a
    /// positive `target`.
    pub fn validate(&self, triggers: &[&str]) -> Result<Formula, ModifiersError> {
        let f = Formula::parse(&self.formula)?;
        // Compiled against the trigger names and run once with -1 each;
        // the result is cast to float (`castToFloatIfNecessary`), which a
        // bool fails.
        if let Value::Bool(b) = f.eval(&|n| triggers.contains(&n).then_some(Some(-1.0)))? {
            return Err(FormulaError {
                column: None,
                what: format!("invalid argument for float: the formula gives a bool ({b})"),
            }
            .into());
        }
        if self.target.is_empty() {
            return Err(ModifiersError::Target(
                "formula is given but target is empty".into(),
            ));
        }
        self.target_value()?;
        Ok(f)
    }

    /// `target` as a float (`strconv.ParseFloat`), > 0.
    pub fn target_value(&self) -> Result<f64, ModifiersError> {
        match self.target.parse::<f64>() {
            Ok(v) if v > 0.0 => Ok(v),
            _ => Err(ModifiersError::Target(format!(
                "`{}` must be a number > 0",
                self.target
            ))),
        }
    }

    /// `HasValidFallback`'s check on the modifiers: `target` parses as a
    /// positive integer (`strconv.ParseInt`, so "2.5" fails it).
    pub fn target_allows_fallback(&self) -> bool {
        self.target.parse::<i64>().is_ok_and(|v| v > 0)
    }

    /// Whether the composite metric is active (`getScaledObjectState`):
    /// `composite > activationTarget` (an empty one is 0).
    pub fn is_active(&self, composite: f64) -> Result<bool, ModifiersError> {
        let threshold = match self.activation_target.as_str() {
            "" => 0.0,
            t => (t.parse::<f64>()).map_err(|_| ModifiersError::ActivationTarget(t.into()))?,
        };
        Ok(composite > threshold)
    }
}

/// `HasValidFallback` with scaling modifiers: the fallback's numbers are
/// >= 0 and the modifiers' target allows a fallback.
pub fn has_valid_fallback(fallback: &FallbackConfig, modifiers: Option<&ScalingModifiers>) -> bool {
    fallback.is_valid() && modifiers.is_none_or(ScalingModifiers::target_allows_fallback)
}

/// The webhook's rule for the fallback: `behavior = scalingModifiers`
/// needs a formula.
pub fn check_fallback(
    fallback: Option<&FallbackConfig>,
    modifiers: Option<&ScalingModifiers>,
) -> Result<(), ModifiersError> {
    let wants = fallback.is_some_and(|f| f.behavior == FallbackBehavior::ScalingModifiers);
    if wants && modifiers.is_none_or(|m| m.formula.is_empty()) {
        return Err(ModifiersError::FallbackWithoutFormula);
    }
    Ok(())
}

/// `GetMetricsWithFallback` for one trigger of a ScaledObject with
/// scaling modifiers: validity checks the modifiers' target too, and the
/// fallback value is normalised by the modifiers' `target` and
/// `metricType` (`doFallback`); under `behavior = scalingModifiers` a
/// trigger past its threshold serves [`SCALING_MODIFIERS_PLACEHOLDER`].
pub fn modifiers_metric_with_fallback(
    state: &mut FallbackState,
    fallback: Option<&FallbackConfig>,
    modifiers: &ScalingModifiers,
    scaler: Option<f64>,
    current_replicas: Option<u32>,
    ready_replicas: Option<u32>,
) -> FallbackResult {
    let valid = fallback.filter(|f| has_valid_fallback(f, Some(modifiers)));
    // `strconv.ParseFloat` of a target that passed `ParseInt`.
    let target = modifiers.target_value().unwrap_or(0.0);
    let target = match modifiers.metric_type {
        MetricType::AverageValue => FallbackTarget::AverageValue(target),
        MetricType::Value => FallbackTarget::Value {
            target,
            ready_replicas,
        },
    };
    served_with_fallback(state, valid, scaler, current_replicas, target)
}

/// One trigger's reading for the formula.
#[derive(Clone, Debug, PartialEq)]
pub struct TriggerReading<'a> {
    /// The trigger's `name`, as the formula spells it.
    pub name: &'a str,
    /// The value the metrics server got for it (a fallback placeholder
    /// included).
    pub value: f64,
    /// Its health, if any was recorded.
    pub health: Option<FallbackState>,
}

/// `scalingModifierTriggerValue`: the trigger's value, or nil when the
/// fallback behavior is `scalingModifiers` and the trigger has failed more
/// than `failure_threshold` times in a row.
pub fn trigger_value(
    fallback: Option<&FallbackConfig>,
    reading: &TriggerReading<'_>,
) -> Option<f64> {
    let Some(f) = fallback.filter(|f| f.behavior == FallbackBehavior::ScalingModifiers) else {
        return Some(reading.value);
    };
    match reading.health {
        Some(h) if i64::from(h.failures) > i64::from(f.failure_threshold) => None,
        _ => Some(reading.value),
    }
}

/// `calculateScalingModifiersFormula`: the composite metric's value (milli
/// precision, truncated as `SetMilli(int64(out * 1000))`). A nil formula
/// serves `fallback.replicas × target`.
pub fn composite_value(
    formula: &Formula,
    modifiers: &ScalingModifiers,
    fallback: Option<&FallbackConfig>,
    readings: &[TriggerReading<'_>],
) -> Result<f64, ModifiersError> {
    let value_of = |name: &str| {
        (readings.iter())
            .find(|r| r.name == name)
            .map(|r| trigger_value(fallback, r))
    };
    let out = match formula.eval(&value_of)? {
        Value::Num(v) => v,
        Value::Nil => {
            let f = fallback.ok_or(ModifiersError::NilWithoutFallback)?;
            f64::from(f.replicas) * modifiers.target_value()?
        }
        Value::Bool(b) => {
            return Err(FormulaError {
                column: None,
                what: format!("the formula gives a bool ({b}), not a number"),
            }
            .into())
        }
    };
    if !out.is_finite() {
        return Err(ModifiersError::NotFinite(out));
    }
    Ok((out * 1000.0) as i64 as f64 / 1000.0)
}

/// `HandleScalingModifiers`: while a trigger serves a fallback metric, the
/// first fallback metric is the composite outright; otherwise the formula
/// over the readings.
pub fn handle_scaling_modifiers(
    formula: &Formula,
    modifiers: &ScalingModifiers,
    fallback: Option<&FallbackConfig>,
    readings: &[TriggerReading<'_>],
    fallback_metrics: &[f64],
) -> Result<f64, ModifiersError> {
    match fallback_metrics.first() {
        Some(&v) => Ok(v),
        None => composite_value(formula, modifiers, fallback, readings),
    }
}

/// `GetScaledObjectMetrics` for a ScaledObject with scaling modifiers:
/// each trigger's value (`None`: its scaler failed) goes through
/// [`modifiers_metric_with_fallback`], updating its health in `states`;
/// then a failure with no fallback metric served is an error for the HPA,
/// a fallback metric served is the composite outright (the first, in
/// trigger order), and otherwise the formula gives it
/// ([`handle_scaling_modifiers`]). `names`, `values` and `states` are in
/// trigger order.
#[allow(clippy::too_many_arguments)] // upstream's inputs, one each
pub fn composite_metric(
    formula: &Formula,
    modifiers: &ScalingModifiers,
    fallback: Option<&FallbackConfig>,
    names: &[&str],
    values: &[Option<f64>],
    states: &mut [FallbackState],
    current_replicas: Option<u32>,
    ready_replicas: Option<u32>,
) -> Result<f64, ModifiersError> {
    let mut readings = Vec::with_capacity(names.len());
    let (mut fallback_metrics, mut failed) = (Vec::new(), false);
    for ((&name, &value), state) in names.iter().zip(values).zip(states.iter_mut()) {
        let served = modifiers_metric_with_fallback(
            state,
            fallback,
            modifiers,
            value,
            current_replicas,
            ready_replicas,
        );
        match served {
            FallbackResult::Metric(v) => readings.push(TriggerReading {
                name,
                value: v,
                health: Some(*state),
            }),
            FallbackResult::Fallback(v) => fallback_metrics.push(v),
            FallbackResult::Error => failed = true,
        }
    }
    if failed && fallback_metrics.is_empty() {
        return Err(ModifiersError::TriggerFailed);
    }
    handle_scaling_modifiers(formula, modifiers, fallback, &readings, &fallback_metrics)
}
