//! Prefill scheduling (`[deployment.engine] prefill`): what each policy is
//! known for, on `scenarios/prefill-scheduling.toml` (long prompts on one
//! H100). Chunked prefill bounds the stall a prompt puts on the running
//! streams; whole prompts answer a little sooner and stall every stream
//! while they compute, most when prompts go first and decodes wait
//! (vLLM V0). The bad-input rules are vLLM's.
#![allow(clippy::unwrap_used)]

use fleetsim_core::summary::Summary;
use std::path::Path;

fn run(sets: &[&str]) -> Summary {
    let path = super::common::workspace_root().join("scenarios/prefill-scheduling.toml");
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let s = fleetsim::scenario::load_file(&path, &sets).unwrap();
    fleetsim::run::run(&s).unwrap().summary
}

fn whole(policy: &str) -> Summary {
    run(&[
        &format!("deployment.engine.prefill={policy}"),
        "deployment.engine.max_num_batched_tokens=16384",
    ])
}

#[test]
fn whole_prompts_stall_the_streams_that_chunks_let_run() {
    let chunked = run(&[]);
    let whole_prompt = whole("whole_prompt");
    let prefill_first = whole("prefill_first");
    for s in [&chunked, &whole_prompt, &prefill_first] {
        assert_eq!(s.requests.completed, s.requests.arrived, "{:?}", s.requests);
        assert!(s.requests.completed > 400);
    }
    let itl_max = |s: &Summary| s.latency.itl_max_ms.p50;
    let tpot = |s: &Summary| s.latency.tpot_ms.mean;
    let ttft = |s: &Summary| s.latency.ttft_ms.mean;
    // The typical request's longest stall: one 2,048-token chunk beside
    // its decode, against whole prompts of up to 12,000 tokens.
    assert!(
        3.0 * itl_max(&chunked) < itl_max(&whole_prompt),
        "{} vs {}",
        itl_max(&chunked),
        itl_max(&whole_prompt)
    );
    assert!(itl_max(&whole_prompt) < itl_max(&prefill_first));
    // Decodes that ride along with prompt chunks cost little; decode
    // iterations of their own (prefill first) cost the most.
    assert!(tpot(&chunked) < tpot(&whole_prompt));
    assert!(tpot(&whole_prompt) < tpot(&prefill_first));
    // With synchronous scheduling a prompt computed at once answers sooner
    // than one spread over chunks. vLLM's async scheduling (its default)
    // admits a request one iteration late, and that iteration is as long
    // as a whole prompt, which takes the advantage back.
    let sync = |policy: &str| {
        run(&[
            &format!("deployment.engine.prefill={policy}"),
            "deployment.engine.max_num_batched_tokens=16384",
            "deployment.engine.async_scheduling=false",
        ])
    };
    let chunked_sync = run(&["deployment.engine.async_scheduling=false"]);
    assert!(ttft(&sync("whole_prompt")) < ttft(&chunked_sync));
    assert!(ttft(&sync("prefill_first")) < ttft(&chunked_sync));
    for s in [&chunked, &whole_prompt, &prefill_first] {
        assert!(
            ttft(s) > ttft(&chunked_sync),
            "async scheduling admits later"
        );
    }
}

#[test]
fn without_chunks_the_default_budget_holds_the_longest_request() {
    // No budget set: the engine default (8,192) is raised to max_model_len.
    let text = std::fs::read_to_string(
        super::common::workspace_root().join("scenarios/prefill-scheduling.toml"),
    )
    .unwrap()
    .replace("max_num_batched_tokens = 2048\n", "");
    let load = |prefill: &str| {
        let sets = [format!("deployment.engine.prefill={prefill}")];
        fleetsim::scenario::load_str(&text, "p.toml", Path::new("."), &sets)
    };
    let budget = |prefill: &str| {
        let s = load(prefill).unwrap();
        match &s.sim.deployments[0].fleet.replica {
            fleetsim_core::ReplicaSpec::Batching { config, .. } => config.max_num_batched_tokens,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(budget("chunked"), 8192);
    assert_eq!(budget("whole_prompt"), 16384);
    assert_eq!(budget("prefill_first"), 16384);
    // A budget set below max_model_len is refused where it is set.
    let e = fleetsim::scenario::load_file(
        &super::common::workspace_root().join("scenarios/prefill-scheduling.toml"),
        &["deployment.engine.prefill=whole_prompt".to_string()],
    )
    .unwrap_err();
    assert_eq!(
        e.field.as_deref(),
        Some("deployment.engine.max_num_batched_tokens")
    );
    assert!(
        e.message
            .contains("2048 is below max_model_len (16384 tokens)"),
        "{e}"
    );
    let e = load("whole_promt").unwrap_err();
    assert_eq!(e.field.as_deref(), Some("deployment.engine.prefill"));
    assert!(
        e.message
            .contains("`chunked`, `whole_prompt`, `prefill_first`"),
        "{e}"
    );
}
