//! Scaling modifiers and their fallback, ported from kedacore/keda:
//! `pkg/scaling/modifiers/formula_test.go` and the scalingModifiers `It`s
//! of `apis/keda/v1alpha1/scaledobject_webhook_test.go`, at `8b4f083c`.
//! `TestGetPairTriggerAndMetric` is ported as what its rows decide: with
//! a formula each trigger must be named and is read by its name; without
//! one no name is needed. Not ported, with the reason:
//! - `TestArrayContainsElement`: the case-insensitive match of the HPA's
//!   requested metric name against a scaler's metric names
//!   (`GetScaledObjectMetrics`); a run has no metric names, the adapter
//!   reads its triggers directly.
//! - `TestCalculateScalingModifiersFormulaNilCompiled`: the scalers
//!   cache's compiled formula is nil; here the formula is parsed when the
//!   autoscaler is built (`Composite::new`) and kept with it, so it cannot
//!   be missing at evaluation.
//! - `TestGetPairTriggerAndMetric`'s numbered pairs (`trigger01` for a
//!   trigger's second metric): a scenario's trigger has one metric.

use super::*;

fn modifiers(formula: &str, target: &str) -> ScalingModifiers {
    ScalingModifiers {
        formula: formula.into(),
        target: target.into(),
        activation_target: String::new(),
        metric_type: MetricType::AverageValue,
    }
}

fn failing(failures: u32) -> Option<FallbackState> {
    Some(FallbackState {
        failures,
        status: HealthStatus::Failing,
    })
}

/// `TestScalingModifierTriggerValue`: a 7.0 metric read through its
/// trigger's health under `behavior = scalingModifiers`, threshold 3.
#[test]
fn scaling_modifier_trigger_value() {
    let fallback = FallbackConfig {
        failure_threshold: 3,
        replicas: 5,
        behavior: FallbackBehavior::ScalingModifiers,
    };
    let happy = Some(FallbackState {
        failures: 0,
        status: HealthStatus::Happy,
    });
    // (name, fallback configured, health, nil)
    let cases = [
        (
            "no fallback configured returns the metric value",
            false,
            None,
            false,
        ),
        (
            "no health status for trigger returns the metric value",
            true,
            None,
            false,
        ),
        (
            "failures below threshold returns the metric value",
            true,
            failing(2),
            false,
        ),
        (
            "failures at threshold returns the metric value (gate is strict >)",
            true,
            failing(3),
            false,
        ),
        (
            "failures one over threshold returns nil",
            true,
            failing(4),
            true,
        ),
        (
            "failures exceed threshold returns nil",
            true,
            failing(5),
            true,
        ),
        (
            "healthy (failures reset to 0) returns the metric value",
            true,
            happy,
            false,
        ),
    ];
    for (name, configured, health, nil) in cases {
        let reading = TriggerReading {
            name: "trigger-a",
            value: 7.0,
            health,
        };
        let got = trigger_value(configured.then_some(&fallback), &reading);
        assert_eq!(got, (!nil).then_some(7.0), "{name}");
    }
}

/// `TestCalculateScalingModifiersFormula`: `trigger1 + trigger2` over 2
/// and 5 is the composite 7 (7000m).
#[test]
fn calculate_scaling_modifiers_formula() {
    let m = modifiers("trigger1 + trigger2", "2");
    let f = m.validate(&["trigger1", "trigger2"]).unwrap();
    let readings = [
        TriggerReading {
            name: "trigger1",
            value: 2.0,
            health: None,
        },
        TriggerReading {
            name: "trigger2",
            value: 5.0,
            health: None,
        },
    ];
    assert_eq!(composite_value(&f, &m, None, &readings), Ok(7.0));
    assert_eq!(
        handle_scaling_modifiers(&f, &m, None, &readings, &[]),
        Ok(7.0)
    );
}

/// `TestCalculateScalingModifiersFormulaFallbackReplicas`: both triggers
/// of `trigger1 ?? trigger2` past the threshold (5 > 3) read nil, so the
/// composite is replicas 7 × target 2 = 14 (the HPA then asks for 7).
#[test]
fn calculate_scaling_modifiers_formula_fallback_replicas() {
    let m = modifiers("trigger1 ?? trigger2", "2");
    let fallback = FallbackConfig {
        failure_threshold: 3,
        replicas: 7,
        behavior: FallbackBehavior::ScalingModifiers,
    };
    let f = m.validate(&["trigger1", "trigger2"]).unwrap();
    let readings = ["trigger1", "trigger2"].map(|name| TriggerReading {
        name,
        value: SCALING_MODIFIERS_PLACEHOLDER,
        health: failing(5),
    });
    assert_eq!(
        composite_value(&f, &m, Some(&fallback), &readings),
        Ok(14.0)
    );
    // A name the formula reads with no reading is an error.
    assert_eq!(
        composite_value(&f, &m, None, &readings[..0]).unwrap_err(),
        ModifiersError::Formula(formula::FormulaError {
            column: None,
            what: "unknown name trigger1 (no trigger has it)".into(),
        })
    );
}

/// The scalingModifiers `It`s of `scaledobject_webhook_test.go`: the
/// formula over the named triggers, the target, and the fallback
/// behavior's need for a formula.
#[test]
fn webhook_scaling_modifiers_cases() {
    let two = ["workload_trig", "cron_trig"];
    let ones = ["trig_one", "trig_two"];
    // (It, formula, target, trigger names, valid)
    let cases: [(&str, &str, &str, &[&str], bool); 11] = [
        ("should validate the so creation with ScalingModifiers.Formula",
            "workload_trig + cron_trig", "2", &two, true),
        ("shouldnt validate the so creation with scalingModifiers.Formula but no target",
            "workload_trig + cron_trig", "", &two, false),
        ("shouldnt validate the so creation with ScalingModifiers when triggers dont have names",
            "workload_trig + cron_trig", "", &[], false),
        ("should validate the so creation with ScalingModifiers when formula triggers do have names but not all triggers",
            "workload_trig + 1", "2", &["workload_trig"], true),
        ("should validate the so creation with ScalingModifiers when formula casts to float already",
            "float(workload_trig + 1)", "2", &["workload_trig"], true),
        ("should validate the so creation with ScalingModifiers.Formula - casting float from ternary operator",
            "float(workload_trig < 5 ? cron_trig + workload_trig : 5)", "2", &two, true),
        ("should validate the so creation with ScalingModifiers.Formula - ternary operator without casting float",
            "workload_trig < 5 ? cron_trig + workload_trig : 5", "2", &two, true),
        ("should validate the so creation with ScalingModifiers.Formula - count operator",
            "count([trig_one,trig_two],{#>1}) > 1 ? 5 : 0", "2", &ones, true),
        ("should validate the so creation with ScalingModifiers.Formula - complex ternary",
            "float(trig_one < 2 ? trig_one+trig_two >= 2 ? 5 : 10 : 0)", "2", &ones, true),
        ("should validate the so creation with ScalingModifiers.Formula - double float cast",
            "float(float(trig_two < 5 ? trig_one + trig_two : 5))", "2", &ones, true),
        ("should validate the so creation with scalingModifiers fallback behavior",
            "trig_one ?? trig_two ?? 5", "2", &ones, true),
    ];
    for (it, formula, target, names, valid) in cases {
        let got = modifiers(formula, target).validate(names);
        assert_eq!(got.is_ok(), valid, "{it}: {got:?}");
    }
    // The count formula's values (the `It` validates it only): 5 when
    // both triggers are above 1.
    let count = modifiers("count([trig_one,trig_two],{#>1}) > 1 ? 5 : 0", "2")
        .validate(&ones)
        .unwrap();
    let at = |one: f64, two: f64| {
        count.eval(&|n| match n {
            "trig_one" => Some(Some(one)),
            "trig_two" => Some(Some(two)),
            _ => None,
        })
    };
    assert_eq!(at(2.0, 3.0), Ok(formula::Value::Num(5.0)));
    assert_eq!(at(2.0, 1.0), Ok(formula::Value::Num(0.0)));
    // "should validate the so creation with scalingModifiers fallback
    // behavior" / "shouldn't validate the so creation with
    // scalingModifiers fallback without formula".
    let fallback = FallbackConfig {
        failure_threshold: 3,
        replicas: 5,
        behavior: FallbackBehavior::ScalingModifiers,
    };
    let m = modifiers("trig_one ?? trig_two ?? 5", "2");
    assert_eq!(check_fallback(Some(&fallback), Some(&m)), Ok(()));
    assert_eq!(
        check_fallback(Some(&fallback), None),
        Err(ModifiersError::FallbackWithoutFormula)
    );
}

/// `GetMetricsWithFallback` and `doFallback` with modifiers (fallback.go;
/// its test file has no modifiers case, so these follow the code): the
/// placeholder under `behavior = scalingModifiers`, the normalisation by
/// the modifiers' target and metric type otherwise, and
/// `HasValidFallback`'s integer target.
#[test]
fn fallback_with_modifiers_follows_fallback_go() {
    let fb = |behavior| FallbackConfig {
        failure_threshold: 1,
        replicas: 4,
        behavior,
    };
    let m = modifiers("a + b", "3");
    let served = |f: &FallbackConfig, m: &ScalingModifiers, ready: Option<u32>| {
        let mut state = FallbackState::default();
        // Two failures: past the threshold of 1.
        let first = modifiers_metric_with_fallback(&mut state, Some(f), m, None, Some(2), ready);
        assert_eq!(first, FallbackResult::Error, "not past the threshold yet");
        modifiers_metric_with_fallback(&mut state, Some(f), m, None, Some(2), ready)
    };
    let sm = fb(FallbackBehavior::ScalingModifiers);
    assert_eq!(
        served(&sm, &m, None),
        FallbackResult::Metric(SCALING_MODIFIERS_PLACEHOLDER)
    );
    // Static: replicas 4 × the modifiers' target 3.
    let st = fb(FallbackBehavior::Static);
    assert_eq!(served(&st, &m, None), FallbackResult::Fallback(12.0));
    // A Value composite divides by the ready pods: 3 × 4 / 2.
    let value = ScalingModifiers {
        metric_type: MetricType::Value,
        ..m.clone()
    };
    assert_eq!(served(&st, &value, Some(2)), FallbackResult::Fallback(6.0));
    // "2.5" is a float target but not an integer one: no valid fallback,
    // so the error passes through and the health is left alone.
    let frac = modifiers("a + b", "2.5");
    assert!(frac.validate(&["a", "b"]).is_ok());
    let mut state = FallbackState::default();
    let r = modifiers_metric_with_fallback(&mut state, Some(&st), &frac, None, Some(2), None);
    assert_eq!(
        (r, state),
        (FallbackResult::Error, FallbackState::default())
    );
    // While a fallback metric is served it is the composite outright.
    let f = m.validate(&["a", "b"]).unwrap();
    assert_eq!(
        handle_scaling_modifiers(&f, &m, None, &[], &[12.0]),
        Ok(12.0)
    );
    // Activity is the composite against activationTarget ("" = 0).
    assert_eq!(m.is_active(0.5), Ok(true));
    let act = ScalingModifiers {
        activation_target: "1".into(),
        ..m.clone()
    };
    assert_eq!(act.is_active(0.5), Ok(false));
}

/// `GetScaledObjectMetrics` (`pkg/scaling/scale_handler.go`) over two
/// triggers: a failure with no fallback metric served is an error for the
/// HPA ("This case happens in failed times under failureThreshold"), a
/// fallback metric served is the composite, else the formula.
#[test]
fn composite_metric_follows_get_scaled_object_metrics() {
    let m = modifiers("a ?? b", "2");
    let f = m.validate(&["a", "b"]).unwrap();
    let fb = |behavior| FallbackConfig {
        failure_threshold: 1,
        replicas: 5,
        behavior,
    };
    let run = |fallback: Option<FallbackConfig>, values: [Option<f64>; 2], rounds: usize| {
        let mut states = [FallbackState::default(); 2];
        let mut out = Vec::new();
        for _ in 0..rounds {
            out.push(composite_metric(
                &f,
                &m,
                fallback.as_ref(),
                &["a", "b"],
                &values,
                &mut states,
                Some(3),
                Some(3),
            ));
        }
        out
    };
    // Both fine: the formula (a = 4).
    assert_eq!(run(None, [Some(4.0), Some(9.0)], 1), vec![Ok(4.0)]);
    // `a` fails with no fallback: an error every time.
    let err = Err(ModifiersError::TriggerFailed);
    assert_eq!(
        run(None, [None, Some(9.0)], 2),
        vec![err.clone(), err.clone()]
    );
    // scalingModifiers: within the threshold an error, then `a` is nil
    // and `a ?? b` reads b.
    let sm = Some(fb(FallbackBehavior::ScalingModifiers));
    assert_eq!(run(sm, [None, Some(9.0)], 2), vec![err.clone(), Ok(9.0)]);
    // Both past the threshold: nil, so replicas 5 × target 2.
    assert_eq!(run(sm, [None, None], 2), vec![err.clone(), Ok(10.0)]);
    // static: past the threshold the fallback metric 5 × 2 is the
    // composite outright, whatever the formula.
    let st = Some(fb(FallbackBehavior::Static));
    assert_eq!(run(st, [None, Some(9.0)], 2), vec![err, Ok(10.0)]);
}

/// `TestGetPairTriggerAndMetric`: (row, triggers, formula, the composite
/// value or the error's words). The formula reads each trigger by name
/// (`trigger1` = 3 running, `trigger2` = 4 waiting); an unnamed trigger
/// under a formula is an error ("trigger name not given with
/// compositeScaler"); without a formula the single trigger needs no name.
#[test]
fn get_pair_trigger_and_metric() {
    use crate::autoscalers::adapter::{testing::*, Signal};
    use composite::{Composite, NamedTrigger};
    use fleetsim_core::autoscale::MetricsStore;
    use fleetsim_core::SimDuration;
    let named = |name: &str, signal| NamedTrigger {
        name: name.into(),
        trigger_metric: Some(signal),
        query: None,
    };
    let mut store = MetricsStore::default();
    record(&mut store, [scrape(0.0, vec![ready(0, 3, 4, 0.5)], 0)]);
    let obs = store.observe(at(0.0), SimDuration::ZERO, 1);
    let rows: [(&str, Vec<NamedTrigger>, Result<f64, &str>); 2] = [
        (
            "formula defined with valid trigger returns pair",
            vec![
                named("trigger1", Signal::NumRequestsRunning),
                named("trigger2", Signal::NumRequestsWaiting),
            ],
            Ok(7.0),
        ),
        (
            "formula defined with empty trigger returns error",
            vec![
                named("", Signal::NumRequestsRunning),
                named("trigger2", Signal::NumRequestsWaiting),
            ],
            Err("triggers[0].name: must not be empty"),
        ),
    ];
    let m = modifiers("trigger1 + trigger2", "2");
    for (row, triggers, want) in rows {
        match (Composite::new(&triggers, &m), want) {
            (Ok(mut c), Ok(v)) => assert_eq!(c.value(&obs, false, None, 1, 1), Ok(v), "{row}"),
            (Err(e), Err(words)) => assert!(e.to_string().contains(words), "{row}: {e}"),
            (got, _) => panic!("{row}: {got:?}"),
        }
    }
    // "no formula defined returns empty map" / "nil advanced returns
    // empty map": a ScaledObject without scaling modifiers builds with
    // its one unnamed trigger.
    let plain: KedaAutoscalerConfig = serde_json::from_str("{}").unwrap();
    assert!(plain.scaling_modifiers.is_none() && plain.build().is_ok());
}
