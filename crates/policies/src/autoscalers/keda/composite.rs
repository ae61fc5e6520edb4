//! A scenario's ScaledObject with several named triggers combined by
//! `scaling_modifiers` ([`ScalingModifiers`]): the config of one trigger,
//! and the composite metric the adapter reads at each poll and HPA sync.

use super::formula::Formula;
use super::trigger::Trigger;
use super::*;
use fleetsim_core::autoscale::Observation;

/// One entry of `triggers`: a name the formula uses and what it reads
/// (`trigger_metric` or `query`, as the single trigger takes them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedTrigger {
    /// The trigger's `name`, as the formula spells it.
    pub name: String,
    /// A gauge summed over the deployment (default `num_requests_waiting`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_metric: Option<crate::autoscalers::adapter::Signal>,
    /// A `prometheus` trigger's query instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

/// The triggers, the parsed formula and each trigger's health.
#[derive(Clone, Debug)]
pub(super) struct Composite {
    names: Vec<String>,
    triggers: Vec<Trigger>,
    modifiers: ScalingModifiers,
    formula: Formula,
    states: Vec<FallbackState>,
}

impl Composite {
    /// Validates the triggers and the modifiers as KEDA's webhook does;
    /// errors name the scenario's keys.
    pub(super) fn new(
        triggers: &[NamedTrigger],
        modifiers: &ScalingModifiers,
    ) -> Result<Composite, AutoscalerError> {
        let bad = |knob: &'static str, rule: String| Err(invalid(NAME, knob, rule));
        let mut resolved = Vec::with_capacity(triggers.len());
        for (i, t) in triggers.iter().enumerate() {
            if t.name.is_empty() {
                return bad("triggers", format!("triggers[{i}].name: must not be empty (the formula reads triggers by name)"));
            }
            if triggers[..i].iter().any(|o| o.name == t.name) {
                return bad(
                    "triggers",
                    format!("triggers[{i}].name: `{}` is repeated", t.name),
                );
            }
            let r = Trigger::resolve(t.query.as_deref(), t.trigger_metric)
                .map_err(|e| invalid(NAME, "triggers", format!("triggers[{i}]: {e}")))?;
            resolved.push(r);
        }
        let names: Vec<&str> = triggers.iter().map(|t| t.name.as_str()).collect();
        let formula = (modifiers.validate(&names))
            .and_then(|f| modifiers.is_active(0.0).map(|_| f))
            .map_err(|e| invalid(NAME, "scaling_modifiers", e.to_string()))?;
        Ok(Composite {
            names: names.iter().map(|n| n.to_string()).collect(),
            states: vec![FallbackState::default(); resolved.len()],
            triggers: resolved,
            modifiers: modifiers.clone(),
            formula,
        })
    }

    /// The modifiers (target and metric type of the composite).
    pub(super) fn modifiers(&self) -> &ScalingModifiers {
        &self.modifiers
    }

    /// The longest range a trigger's query reads.
    pub(super) fn range(&self) -> Option<fleetsim_core::SimDuration> {
        self.triggers.iter().filter_map(Trigger::range).max()
    }

    /// The composite metric at `obs` ([`composite_metric`]), counting each
    /// trigger's failures and successes in its health (the HPA's reads and
    /// the executor's polls both go through `GetMetricsWithFallback`).
    pub(super) fn value(
        &mut self,
        obs: &Observation<'_>,
        ignore_null_values: bool,
        fallback: Option<&FallbackConfig>,
        current: u32,
        ready: u32,
    ) -> Result<f64, ModifiersError> {
        let values: Vec<Option<f64>> = (self.triggers.iter())
            .map(|t| t.value(obs, ignore_null_values))
            .collect();
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        composite_metric(
            &self.formula,
            &self.modifiers,
            fallback,
            &names,
            &values,
            &mut self.states,
            Some(current),
            Some(ready),
        )
    }
}
