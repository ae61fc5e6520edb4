//! Tests of the knob search (`tuning.rs`) with a computed stand-in for the
//! simulation: a setting's cost and SLA follow from its knobs.

use super::*;

fn context() -> Context {
    Context {
        initial: 2,
        max_replicas: 8,
        capacity_per_s: 10.0,
        concurrency: 64.0,
        lead_s: 300.0,
    }
}

fn eval(meets_sla: bool, monthly_usd: f64, sla_attainment: f64) -> Evaluation {
    Evaluation {
        meets_sla,
        monthly_usd,
        equation_monthly_usd: None,
        sla_attainment,
        cold_start_p95_s: 0.0,
    }
}

/// Knob `k` of `t`, or `default` when the table leaves it out.
fn num(t: &toml::Table, k: &str, default: f64) -> f64 {
    match t.get(k) {
        Some(toml::Value::Float(v)) => *v,
        Some(toml::Value::Integer(v)) => *v as f64,
        None => default,
        other => panic!("{k}: {other:?}"),
    }
}

/// A stand-in for `concurrency`: a larger per-replica target is cheaper
/// (in $100 steps of ⌈200 ÷ target⌉) and meets the SLA up to 40; the
/// window and utilization do not change the result; the delay costs a
/// little. Counts probes by horizon.
fn stand_in(
    calls: &mut Vec<Option<f64>>,
) -> impl FnMut(&toml::Table, Option<f64>) -> Result<Option<Evaluation>, ()> + '_ {
    move |t, horizon| {
        calls.push(horizon);
        // `concurrency`'s defaults: target 1, delay 900 s.
        let target = num(t, "target_concurrency_per_replica", 1.0);
        let delay = num(t, "scale_down_delay_s", 900.0);
        let usd = 100.0 * (200.0 / target).ceil() + (delay / 600.0).floor();
        Ok(Some(eval(target <= 40.0, usd, (40.0 / target).min(1.0))))
    }
}

fn defaults() -> toml::Table {
    toml::from_str("kind = \"concurrency\"\nmin_replicas = 1\nmax_replicas = 8").unwrap()
}

#[test]
fn the_search_is_deterministic_and_no_worse_than_the_defaults() {
    let space = space("concurrency", &context()).unwrap();
    let mut calls = Vec::new();
    let a = search(
        "concurrency",
        &space,
        &defaults(),
        7,
        &mut stand_in(&mut calls),
    )
    .unwrap();
    let mut again = Vec::new();
    let b = search(
        "concurrency",
        &space,
        &defaults(),
        7,
        &mut stand_in(&mut again),
    )
    .unwrap();
    assert_eq!(a, b);
    assert_eq!(calls, again);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    let best = a.best.as_ref().unwrap();
    let d = a.defaults.as_ref().unwrap();
    assert!(a.complete && best.meets_sla);
    // The defaults (target 1) meet the SLA at $20,001; the search is
    // cheaper, and every setting it reports met the SLA at that cost.
    assert!(
        d.meets_sla && best.monthly_usd <= d.monthly_usd,
        "{best:?} vs {d:?}"
    );
    assert!(best.monthly_usd < d.monthly_usd / 4.0, "{best:?}");
    // Successive halving: 10 settings on a quarter, the best third (4)
    // on half, its best third (2) on the whole workload, each time with
    // the defaults (the dearest here) carried along.
    assert_eq!(a.runs_by_horizon, vec![(0.25, 10), (0.5, 5), (1.0, 3)]);
    let quarter = calls.iter().filter(|h| **h == Some(0.25)).count();
    assert_eq!(quarter, 10);
    // A different seed draws different settings.
    let c = search(
        "concurrency",
        &space,
        &defaults(),
        8,
        &mut stand_in(&mut Vec::new()),
    )
    .unwrap();
    assert_ne!(a.trials, c.trials);
}

#[test]
#[allow(clippy::float_cmp)] // whole hundreds, exact
fn settings_with_the_same_result_are_ties_and_their_differing_knobs_are_named() {
    // Every knob but the target is irrelevant; the target only matters
    // through ⌈200 ÷ target⌉, so the refinement's neighbours tie.
    let space = space("concurrency", &context()).unwrap();
    let mut probe = |t: &toml::Table, _: Option<f64>| -> Result<Option<Evaluation>, ()> {
        let target = num(t, "target_concurrency_per_replica", 1.0);
        Ok(Some(eval(
            true,
            100.0 * (200.0 / target.min(40.0)).ceil(),
            1.0,
        )))
    };
    let r = search("concurrency", &space, &defaults(), 3, &mut probe).unwrap();
    let best = r.best.as_ref().unwrap();
    assert!(!r.ties.is_empty(), "{r:?}");
    for t in &r.ties {
        let tied = r.trials.iter().find(|x| &x.knobs == t).unwrap();
        assert_eq!(tied.monthly_usd, best.monthly_usd);
    }
    // The named knobs are exactly those that differ among the ties.
    for k in &r.knobs_that_do_not_matter {
        assert!(
            r.ties.iter().any(|t| t.get(k) != best.knobs.get(k)),
            "{k} does not differ"
        );
    }
    assert!(!r.knobs_that_do_not_matter.is_empty());
}

#[test]
fn a_spent_budget_stops_the_search_and_says_so() {
    let space = space("concurrency", &context()).unwrap();
    let mut n = 0;
    let mut probe = |_: &toml::Table, _: Option<f64>| -> Result<Option<Evaluation>, ()> {
        n += 1;
        Ok((n <= 12).then(|| eval(true, 1.0, 1.0)))
    };
    let r = search("concurrency", &space, &defaults(), 1, &mut probe).unwrap();
    assert!(!r.complete);
    assert_eq!(r.best, None, "no whole-workload run happened");
    assert_eq!(r.runs_by_horizon, vec![(0.25, 10)]);
}

#[test]
fn knob_spaces_build_valid_scaling_tables() {
    for kind in TUNABLE {
        let s = space(kind, &context()).unwrap();
        for point in [
            vec![0.0; s.dims.len()],
            vec![1.0; s.dims.len()],
            vec![0.5; s.dims.len()],
        ] {
            let t = s.table(&point);
            let config: fleetsim_policies::autoscalers::AutoscalerConfig =
                toml::Value::Table(t.clone())
                    .try_into()
                    .unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(config.kind(), kind);
            config.build().unwrap_or_else(|e| panic!("{kind} {t}: {e}"));
        }
    }
    assert!(space("scheduled", &context()).is_none());
    // KPA's panic threshold is the one knob AIBrix's strategies differ by.
    let apa = space("aibrix_apa", &context()).unwrap();
    let kpa = space("aibrix_kpa", &context()).unwrap();
    assert_eq!(kpa.dims.len(), apa.dims.len() + 1);
    // The HPA's target is set inside its metric.
    let hpa = space("hpa", &context()).unwrap().table(&[1.0, 0.0]);
    let m = &hpa["metrics"].as_array().unwrap()[0];
    assert_eq!(m["target_average_value"].as_float(), Some(64.0));
    assert_eq!(m["metric"].as_str(), Some("num_requests_running"));
    // Log scale: the middle of [4, 64] is 16.
    let c = space("concurrency", &context())
        .unwrap()
        .table(&[0.5, 0.0, 0.0, 0.0]);
    assert_eq!(c["target_concurrency_per_replica"].as_float(), Some(16.0));
}
