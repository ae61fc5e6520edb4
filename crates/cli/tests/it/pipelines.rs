//! Pipelines: a request passes through several deployments in order
//! (VAD → ASR → LLM), with a network hop before each later stage, and
//! ends once, end to end.
#![allow(clippy::unwrap_used)]

use crate::common;

use fleetsim_core::{Outcome, RunResult};

fn run_trace(trace: &str, toml: &str) -> RunResult {
    common::run_trace(trace, toml).unwrap()
}

/// Three one-slot deployments with fixed service times (VAD 0.1 s, ASR
/// 0.5 s, LLM 1 s) and a `voice` pipeline over them with hops of 2 ms and
/// 20 ms; `llm_extra` is appended to the LLM deployment.
fn voice(llm_extra: &str) -> String {
    format!(
        r#"
[workload]
kind = "trace"
path = "t.csv"

[[deployments]]
name = "vad"
replicas = 1
[deployments.slots]
slots = 1
service = {{ dist = "fixed", duration_s = 0.1 }}

[[deployments]]
name = "asr"
replicas = 1
[deployments.slots]
slots = 1
service = {{ dist = "fixed", duration_s = 0.5 }}

[[deployments]]
name = "llm"
replicas = 1
[deployments.slots]
slots = 1
service = {{ dist = "fixed", duration_s = 1.0 }}
{llm_extra}

[[pipelines]]
name = "voice"
stages = ["vad", "asr", "llm"]
hops_ms = [2, 20]
"#
    )
}

const HEADER: &str = "time_s,input_tokens,output_tokens,model\n";

fn ms(ns: Option<u64>) -> f64 {
    ns.unwrap() as f64 / 1e6
}

#[test]
fn one_request_takes_every_stage_and_hop_exactly() {
    let r = run_trace(&format!("{HEADER}0,10,10,voice\n"), &voice(""));
    assert_eq!(r.records.len(), 1);
    let rec = &r.records[0];
    assert_eq!(rec.outcome, Outcome::Completed);
    assert_eq!(rec.pipeline, Some(0));
    // 0.1 + 0.002 + 0.5 + 0.020 + 1.0 s.
    assert_eq!(rec.e2e_ns, Some(1_622_000_000));
    assert_eq!(rec.queue_ns, Some(0));
    // It ended at the LLM (deployment 2, replica 2).
    assert_eq!((rec.deployment, rec.replica), (2, Some(2)));
    let p = &r.summary.pipelines[0];
    assert_eq!(p.stages, ["vad", "asr", "llm"]);
    assert_eq!(p.requests.completed, 1);
    assert!((p.latency.e2e_ms.max - 1622.0).abs() < 1e-9);
}

#[test]
fn queueing_adds_up_across_stages() {
    // Two requests at t = 0. The second waits 0.1 s at the VAD, reaches the
    // ASR at 0.202 s and waits there until 0.602 s (0.4 s), reaches the LLM
    // at 1.122 s and waits until 1.622 s (0.5 s): 1.0 s of queueing, done
    // at 2.622 s.
    let r = run_trace(
        &format!("{HEADER}0,10,10,voice\n0,10,10,voice\n"),
        &voice(""),
    );
    let got: Vec<(f64, f64)> = r
        .records
        .iter()
        .map(|x| (ms(x.queue_ns), ms(x.e2e_ns)))
        .collect();
    assert_eq!(got, vec![(0.0, 1622.0), (1000.0, 2622.0)]);
    // Each deployment served two stage visits; the run counts two requests.
    for d in &r.summary.deployments {
        assert_eq!(
            (d.requests.arrived, d.requests.completed),
            (2, 2),
            "{}",
            d.name
        );
    }
    assert_eq!(r.summary.requests.arrived, 2);
    assert_eq!(r.summary.pipelines[0].requests.completed, 2);
    // The LLM's own section measures its stage: the second visit waited 0.5 s.
    let llm = &r.summary.deployments[2];
    assert!((llm.latency.queue_ms.max - 500.0).abs() < 1e-9);
}

#[test]
fn a_request_lost_at_a_stage_ends_once_with_that_outcome() {
    // The LLM takes one request at a time and queues none: the second
    // request is rejected there, after completing VAD and ASR.
    let llm_queue = "[deployments.queue]\nmode = \"central\"\nmax_concurrency_per_replica = 1\n[[deployments.queue.classes]]\nname = \"all\"\nshare = 1\nmax_queue_length = 0";
    let r = run_trace(
        &format!("{HEADER}0,10,10,voice\n0,10,10,voice\n"),
        &voice(llm_queue),
    );
    let outcomes: Vec<Outcome> = r.records.iter().map(|x| x.outcome).collect();
    assert_eq!(outcomes, vec![Outcome::Completed, Outcome::Rejected]);
    let c = &r.summary.requests;
    assert_eq!((c.arrived, c.completed, c.rejected), (2, 1, 1));
    assert_eq!(r.summary.pipelines[0].requests.rejected, 1);
    let d = &r.summary.deployments;
    assert_eq!(d[1].requests.completed, 2, "both passed the ASR");
    assert_eq!((d[2].requests.completed, d[2].requests.rejected), (1, 1));
    assert_eq!(r.records[1].deployment, 2, "lost at the LLM");
}

#[test]
fn direct_and_pipeline_requests_share_a_deployment() {
    // The LLM serves its own requests and the pipeline's last stage.
    let trace = format!("{HEADER}0,10,10,llm\n0,10,10,voice\n");
    let r = run_trace(&trace, &voice(""));
    assert_eq!(r.records[0].pipeline, None);
    assert_eq!(r.records[0].e2e_ns, Some(1_000_000_000));
    // The pipeline request reaches the LLM at 0.622 s while it is busy
    // until 1.0 s: 0.378 s of queueing there.
    assert_eq!(r.records[1].e2e_ns, Some(2_000_000_000));
    assert_eq!(r.records[1].queue_ns, Some(378_000_000));
    assert_eq!(r.summary.deployments[2].requests.arrived, 2);
    assert_eq!(r.summary.pipelines[0].requests.arrived, 1);
}

proptest::proptest! {
    // Failing cases are saved beside this file, as in `queueing.rs`.
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 16,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        .. proptest::prelude::ProptestConfig::default()
    })]

    /// Overloaded stages with timeouts and length limits: every request
    /// still ends exactly once, the pipeline's counts are the run's, and
    /// each stage saw no more requests than the one before it.
    #[test]
    fn pipeline_outcomes_add_up_under_overload(
        n in 5usize..60,
        gap_ms in 1u32..200,
        timeout_s in 0.2f64..3.0,
        limit in 0u32..5,
    ) {
        let llm = format!(
            "[deployments.queue]\nmode = \"central\"\nmax_concurrency_per_replica = 1\n\
             [[deployments.queue.classes]]\nname = \"all\"\nshare = 1\ntimeout_s = {timeout_s}\nmax_queue_length = {limit}"
        );
        let mut trace = String::from(HEADER);
        for i in 0..n {
            trace.push_str(&format!("{},10,10,voice\n", f64::from(gap_ms) * i as f64 / 1e3));
        }
        let r = run_trace(&trace, &voice(&llm));
        let c = &r.summary.requests;
        proptest::prop_assert_eq!(c.arrived, n as u64);
        proptest::prop_assert_eq!(c.arrived, c.completed + c.rejected + c.timed_out + c.failed);
        proptest::prop_assert_eq!(&r.summary.pipelines[0].requests, c);
        let mut ids: Vec<u64> = r.records.iter().map(|x| x.id).collect();
        ids.dedup();
        proptest::prop_assert_eq!(ids.len(), n);
        let d = &r.summary.deployments;
        proptest::prop_assert_eq!(d[0].requests.arrived, n as u64);
        proptest::prop_assert_eq!(d[1].requests.arrived, d[0].requests.completed);
        proptest::prop_assert_eq!(d[2].requests.arrived, d[1].requests.completed);
        proptest::prop_assert_eq!(d[2].requests.completed, c.completed);
    }
}

/// Every request passes a 10-s first stage and is then turned away by the
/// model stage (longer than its `max_model_len_tokens`). The run lasts
/// until the last stage visit ended (10 s), not until the last arrival
/// (0 s): the first stage's servers were busy all that time, and are
/// billed for it.
#[test]
fn a_run_whose_requests_all_fail_at_a_later_stage_lasts_until_the_stages_end() {
    let toml = r#"
[workload]
kind = "trace"
path = "t.csv"

[[deployments]]
name = "pre"
replicas = 1
[deployments.slots]
slots = 1
service = { dist = "fixed", duration_s = 10.0 }

[[deployments]]
name = "llm"
model = "llama-3.1-8b"
gpu = "h100-sxm"
replicas = 1
[deployments.engine]
max_model_len_tokens = 16

[[pipelines]]
name = "p"
stages = ["pre", "llm"]
hops_ms = [2]
"#;
    let r = run_trace(&format!("{HEADER}0,10,10,p\n"), toml);
    assert_eq!(r.records[0].outcome, Outcome::Rejected);
    assert!(
        r.summary.sim.simulated_s >= 10.0 - 1e-9,
        "the run ended at {} s, before the first stage finished",
        r.summary.sim.simulated_s
    );
    assert!(r.summary.fleet.busy_fraction_max <= 1.0);
}
