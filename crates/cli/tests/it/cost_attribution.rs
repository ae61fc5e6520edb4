//! Cost attribution (chargeback) on `scenarios/cost-attribution.toml`:
//! the classes' dollars add up to the billed total, busy dollars follow
//! served tokens, a streamed run attributes exactly what a kept run does,
//! and the section is absent without a price or without classes.
#![allow(clippy::unwrap_used)]

use crate::common;
use fleetsim::scenario;
use fleetsim_core::summary::attribution::{CostAttribution, ALLOCATION_RULE};
use fleetsim_core::RunResult;

/// Relative tolerance of a sum of dollars against the billed total.
const SUM_TOLERANCE: f64 = 1e-9;

fn run(sets: &[&str]) -> RunResult {
    let path = common::workspace_root().join("scenarios/cost-attribution.toml");
    // The whole scenario in a release build; its first five minutes in a
    // debug build.
    let mut sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    if cfg!(debug_assertions) {
        sets.push("workload.duration_s=300".to_string());
    }
    let s = scenario::load_file(&path, &sets).unwrap();
    fleetsim::run::run(&s).unwrap()
}

fn attribution(r: &RunResult) -> &CostAttribution {
    r.summary
        .cost_attribution
        .as_ref()
        .expect("a priced run with classes is attributed")
}

#[test]
fn the_classes_pay_the_billed_total_and_busy_dollars_follow_tokens() {
    let r = run(&[]);
    let cost = r.summary.cost.as_ref().expect("a priced pool");
    let a = attribution(&r);
    assert_eq!(a.allocation_rule, ALLOCATION_RULE);
    let classes: Vec<_> = a.deployments.iter().flat_map(|d| &d.classes).collect();
    assert_eq!(classes.len(), 3, "three tenants");
    let sum: f64 = classes.iter().map(|c| c.total_usd).sum();
    let tol = SUM_TOLERANCE * cost.total_usd;
    assert!(
        (sum - cost.total_usd).abs() <= tol,
        "classes {sum} vs billed {}",
        cost.total_usd
    );
    let busy: f64 = classes.iter().map(|c| c.busy_usd).sum();
    assert!((busy - cost.by_state.busy.usd).abs() <= tol);
    // The scenario pays for cold starts: there is something to allocate.
    assert!(a.non_busy_usd > 0.0, "{a:?}");
    // Busy dollars per served token are the same for every class: a class
    // with twice the tokens pays twice the busy dollars.
    let rate =
        |c: &&fleetsim_core::summary::attribution::ClassCost| c.busy_usd / c.served_tokens as f64;
    for c in &classes {
        assert!(c.served_tokens > 0, "{c:?}");
        assert!(
            (rate(c) - rate(&classes[0])).abs() <= SUM_TOLERANCE * rate(&classes[0]),
            "{c:?} vs {:?}",
            classes[0]
        );
        // Requests and tokens are the class's own.
        let counted = r.summary.deployments[0]
            .classes
            .iter()
            .find(|k| k.name == c.name)
            .unwrap();
        assert_eq!(c.requests, counted.requests.arrived);
        assert_eq!(c.completed, counted.requests.completed);
        assert_eq!(c.usd_per_request, Some(c.total_usd / c.completed as f64));
    }
    // The run table shows it.
    let table = r.summary.to_string();
    assert!(table.contains("chargeback"), "{table}");
    assert!(table.contains("search: $"), "{table}");
}

#[test]
fn streaming_attributes_what_keeping_attributes() {
    let kept = run(&["output.records=\"keep\""]);
    let streamed = run(&["output.records=\"stream\""]);
    assert!(streamed.records.is_empty() && !kept.records.is_empty());
    assert_eq!(attribution(&kept), attribution(&streamed));
    // Keeping the records: the attribution's tokens are the records' own.
    let served: u64 = (kept.records.iter())
        .filter(|r| r.outcome == fleetsim_core::request::Outcome::Completed)
        .map(|r| u64::from(r.input_tokens) + u64::from(r.output_tokens))
        .sum();
    let attributed: u64 = (attribution(&kept).deployments.iter())
        .flat_map(|d| &d.classes)
        .map(|c| c.served_tokens)
        .sum();
    assert_eq!(attributed, served);
}

#[test]
fn no_attribution_without_classes_or_without_a_price() {
    let classless = run(&["queue.classes=[]"]);
    assert!(classless.summary.cost.is_some());
    assert_eq!(classless.summary.cost_attribution, None);
    assert!(!classless.summary.to_string().contains("chargeback"));
    let path = common::workspace_root().join("scenarios/priority-classes.toml");
    let s = scenario::load_file(&path, &["workload.duration_s=60".to_string()]).unwrap();
    let unpriced = fleetsim::run::run(&s).unwrap();
    assert!(unpriced.summary.cost.is_none());
    assert_eq!(unpriced.summary.cost_attribution, None);
}
