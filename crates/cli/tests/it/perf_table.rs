//! The measured-profile performance model, wired through a scenario.
#![allow(clippy::unwrap_used)]

use crate::common;

use fleetsim::scenario::{load_str, QUICKSTART_TOML};

#[test]
fn a_scenario_can_use_the_example_profile_table() {
    let root = common::workspace_root();
    let sets = vec![
        "workload.duration_s=60".to_string(),
        "workload.arrival.rate_per_s=6".to_string(),
        "deployment.perf.kind=table".to_string(),
        "deployment.perf.path=scenarios/profiles/h100-llama-3.1-8b-example.csv".to_string(),
    ];
    let scenario = load_str(QUICKSTART_TOML, "quickstart", &root, &sets).unwrap();
    let s = fleetsim::run::run(&scenario).unwrap().summary;
    assert_eq!(s.requests.completed, s.requests.arrived);
    // Decode steps come from the table's 10.75–13.0 ms rows (prefill steps
    // interleave and add a little), so the mean TPOT must sit just above them.
    assert!(
        s.latency.tpot_ms.mean > 10.75 && s.latency.tpot_ms.mean < 16.0,
        "{}",
        s.latency.tpot_ms.mean
    );
}

#[test]
fn a_missing_or_malformed_table_is_a_clear_error() {
    // As a front end prints an error: its display, then each source.
    let chain = |e: &dyn std::error::Error| {
        let mut text = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        text
    };
    let root = common::workspace_root();
    let sets = |path: &str| {
        vec![
            "deployment.perf.kind=table".to_string(),
            format!("deployment.perf.path={path}"),
        ]
    };
    let e = load_str(QUICKSTART_TOML, "q.toml", &root, &sets("nope.csv")).unwrap_err();
    let e = chain(&e);
    assert!(
        e.contains("field `deployment.perf.path`") && e.contains("cannot open"),
        "{e}"
    );
    let dir = std::env::temp_dir().join(format!("fleetsim-perf-table-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("bad.csv"),
        "phase,batch_size,tokens,step_ms\ndecode,1,0,fast\n",
    )
    .unwrap();
    let e = load_str(QUICKSTART_TOML, "q.toml", &dir, &sets("bad.csv")).unwrap_err();
    // The table's own error (line and column in the CSV) is the source.
    let cause = std::error::Error::source(&e).map(ToString::to_string);
    assert!(
        cause.is_some_and(|c| c.starts_with("line 2, field `step_ms`")),
        "{}",
        chain(&e)
    );
    assert!(e.to_string().contains("bad.csv"), "{e}");
}
