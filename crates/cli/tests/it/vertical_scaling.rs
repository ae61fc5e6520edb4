//! Vertical against horizontal scaling on one trace with a clear low and
//! high period (`scenarios/vertical-scaling.toml`,
//! `scenarios/horizontal-scaling.toml`): the vertical setup serves the
//! low periods on an L40S and the peak on an H100 (a variant group with a
//! schedule per variant); the horizontal one adds L40S replicas instead.
//! `docs/practices.md` quotes the figures.
#![allow(clippy::unwrap_used)]

use crate::bad_input::{check, scenario_case};
use crate::common;
use fleetsim::headline::Headline;
use fleetsim_core::metrics::RequestRecord;
use fleetsim_core::summary::Summary;
use fleetsim_core::RunResult;

fn text(name: &str) -> String {
    common::shipped_scenario(name)
}

fn run(toml: &str) -> RunResult {
    common::run_beside_scenarios(toml)
}

fn metric(s: &Summary, name: &str) -> f64 {
    Headline::by_name(name).unwrap().value(s).unwrap()
}

/// Names of the deployments that served the requests arriving in
/// `[from_s, to_s)`, sorted and deduplicated.
fn served_by(r: &RunResult, from_s: f64, to_s: f64) -> Vec<String> {
    let records: &[RequestRecord] = &r.records;
    let mut names: Vec<String> = (records.iter())
        .filter(|x| (from_s..to_s).contains(&x.arrival.as_secs_f64()))
        .map(|x| {
            r.summary.deployments[usize::from(x.deployment)]
                .name
                .clone()
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn the_vertical_setup_serves_the_low_periods_on_l40s_and_the_peak_on_h100() {
    let r = run(&text("vertical-scaling.toml"));
    // Before the H100 is asked for (240 s), and once it drains (2100 s):
    // the L40S alone.
    assert_eq!(served_by(&r, 0.0, 240.0), ["llama-l40s"]);
    assert_eq!(served_by(&r, 2100.0, 2400.0), ["llama-l40s"]);
    // The peak (10 req/s from 900 s to 1500 s): the H100 alone, the L40S
    // drained at 900 s and asked back at 1500 s.
    assert_eq!(served_by(&r, 900.0, 1500.0), ["llama-h100"]);
    // Each GPU type is billed on its own pool.
    let cost = r.summary.cost.as_ref().unwrap();
    assert!(
        cost.by_pool.len() == 2 && cost.by_pool.iter().all(|p| p.billed_gpu_hours > 0.0),
        "{:?}",
        cost.by_pool
    );
}

/// The same traffic, both setups meeting the SLA: the peak on one H100
/// gives lower per-token latency than on two L40S, and costs more (an
/// H100 costs twice an L40S, and its cold start and the make-before-break
/// overlaps are paid on the dearer GPU). On this trace vertical scaling
/// buys latency, not dollars.
#[test]
fn vertical_scaling_buys_latency_and_horizontal_is_cheaper_at_equal_sla() {
    let v = run(&text("vertical-scaling.toml")).summary;
    let h = run(&text("horizontal-scaling.toml")).summary;
    for s in [&v, &h] {
        assert!(metric(s, "sla_attainment") >= 0.999, "{}", s.sla.attainment);
    }
    let (v_tpot, h_tpot) = (metric(&v, "tpot_p95_ms"), metric(&h, "tpot_p95_ms"));
    let (v_ttft, h_ttft) = (metric(&v, "ttft_p95_ms"), metric(&h, "ttft_p95_ms"));
    assert!(
        v_tpot < 0.8 * h_tpot,
        "tpot p95: vertical {v_tpot}, horizontal {h_tpot}"
    );
    assert!(
        v_ttft < h_ttft,
        "ttft p95: vertical {v_ttft}, horizontal {h_ttft}"
    );
    let (v_usd, h_usd) = (metric(&v, "cost_usd"), metric(&h, "cost_usd"));
    assert!(
        v_usd > 1.2 * h_usd,
        "cost: vertical {v_usd}, horizontal {h_usd}"
    );
}

/// Each variant's schedule is its own: both stepping modes give the same
/// records and replicas (jumps over steady decode equal step by step).
#[test]
fn scheduled_variants_decide_the_same_in_both_stepping_modes() {
    let text = text("vertical-scaling.toml");
    let step_each = text.replace(
        "replicas = 0\n",
        "replicas = 0\n\n[deployments.engine]\nstepping = \"every_iteration\"\n",
    );
    let step_each = step_each.replacen(
        "share = 1.0\n",
        "share = 1.0\n\n[deployments.engine]\nstepping = \"every_iteration\"\n",
        1,
    );
    common::assert_stepping_agrees(&run(&text), &run(&step_each));
}

#[test]
fn a_variant_schedule_outside_a_scheduled_group_fails_at_its_field() {
    let base = text("vertical-scaling.toml");
    let h100_schedule = "kind = \"scheduled\"\nschedule = [{ at_s = 240";
    // At the last line starting with `prefix` (the variant's, second).
    let case = |name, text: String, prefix: &str, field| {
        let line = (text.lines().enumerate())
            .filter(|(_, l)| l.starts_with(prefix))
            .last()
            .map(|(i, _)| i + 1);
        scenario_case(name, text, &[]).at("scenario.toml", line, Some(field))
    };
    let cases = [
        case(
            "variant_hpa_in_scheduled_group",
            base.replace(
                "kind = \"scheduled\"\nschedule = [{ at_s = 240, replicas = 1 }, { at_s = 2100, replicas = 0 }]",
                "kind = \"hpa\"",
            ),
            "kind = \"hpa\"",
            "deployments[1].scaling.kind",
        )
        .also(&["`scheduled` (its own schedule)"]),
        case(
            "variant_with_its_own_drain_grace",
            base.replace(h100_schedule, &format!("drain_grace_s = 5\n{h100_schedule}")),
            "drain_grace_s",
            "deployments[1].scaling.drain_grace_s",
        )
        .also(&["its group's drain_grace_s"]),
        case(
            "variant_schedule_in_a_fixed_group",
            base.replacen(
                "kind = \"scheduled\"\nschedule = [{ at_s = 900, replicas = 0 }, { at_s = 1500, replicas = 1 }]",
                "kind = \"fixed\"",
                1,
            ),
            "[deployments.scaling]",
            "deployments[1].scaling",
        )
        .also(&["a variant sets no scaling"]),
    ];
    let failures: Vec<String> = cases.iter().filter_map(|c| check(c).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
