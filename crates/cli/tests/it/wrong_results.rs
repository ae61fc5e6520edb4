//! Results that must not claim what did not happen: SLA verdicts of runs
//! that served nothing or lost requests, in the run table, the summary and
//! a sweep's recommendation.
#![allow(clippy::unwrap_used)]
#![allow(clippy::float_cmp)] // exact values: zero, knob settings

use crate::common::scratch_dir;
use fleetsim::sweep::{select, Knob, RunOptions, Sweep, SweepSpec};
use std::path::Path;

/// The quickstart for 20 s with `sets`.
fn quickstart(sets: &[&str]) -> fleetsim::scenario::Scenario {
    let mut all = vec!["workload.duration_s=20".to_string()];
    all.extend(sets.iter().map(|s| s.to_string()));
    fleetsim::scenario::load_str(
        fleetsim::scenario::QUICKSTART_TOML,
        "quickstart.toml",
        Path::new("."),
        &all,
    )
    .unwrap()
}

#[test]
fn a_run_that_rejects_every_request_meets_no_target() {
    // A 10-token context rejects every request.
    let scenario = quickstart(&["deployment.engine.max_model_len_tokens=10"]);
    let result = fleetsim::run::run(&scenario).unwrap();
    let s = &result.summary;
    assert_eq!(s.requests.completed, 0);
    assert_eq!(s.requests.rejected, s.requests.arrived);
    assert_eq!(s.sla.attainment, 0.0);
    assert_eq!(s.sla.misses, s.requests.arrived);
    assert!(!s.sla.all_targets_met);
    for t in &s.sla.targets {
        assert_eq!((t.actual_ms, t.met), (None, false), "{t:?}");
        let why = t.reason.as_deref().unwrap();
        assert!(why.starts_with("no request completed"), "{why}");
    }
    let json = fleetsim::report::summary_json(s);
    assert!(json.contains("\"actual_ms\": null"), "{json}");
    assert!(json.contains("\"met\": false"), "{json}");
    let table = fleetsim::report::render_table(&scenario, s);
    assert!(
        table.contains("p95 ttft_ms ≤ 300 ms: MISSED, not measured: no request completed"),
        "{table}"
    );
    assert!(!table.contains(" met\n"), "{table}");
    // No zero latencies that read as instant answers.
    assert!(
        table.contains("ttft     (no completed request to measure)"),
        "{table}"
    );
}

#[test]
fn a_target_counts_the_requests_that_did_not_complete() {
    // A 2,000-token context rejects the long prompts (about one in five);
    // the survivors are served fast, but a p95 over every request falls on
    // a rejected one.
    let scenario = quickstart(&["deployment.engine.max_model_len_tokens=2000"]);
    let s = fleetsim::run::run(&scenario).unwrap().summary;
    assert!(
        s.requests.rejected * 10 > s.requests.arrived,
        "{:?}",
        s.requests
    );
    let ttft = &s.sla.targets[0];
    assert!(
        s.latency.ttft_ms.p95 < ttft.max_ms,
        "the served ones are fast"
    );
    assert_eq!((ttft.actual_ms, ttft.met), (None, false), "{ttft:?}");
    assert!(
        ttft.reason
            .as_deref()
            .unwrap()
            .contains("did not complete and count as over the bound"),
        "{ttft:?}"
    );
}

#[test]
fn a_sweep_never_recommends_a_configuration_that_served_nothing() {
    // One replica rejecting everything is the cheapest configuration; it
    // used to be recommended as meeting the SLA.
    let spec = SweepSpec {
        knobs: vec![
            Knob::parse_grid("deployment.replicas=1,3").unwrap(),
            Knob::parse_grid("deployment.engine.max_model_len_tokens=10,20000").unwrap(),
        ],
        random: None,
        sample_seed: 1,
        seeds: 1,
    };
    let sweep = Sweep::from_str(
        fleetsim::scenario::QUICKSTART_TOML,
        "quickstart.toml",
        Path::new("."),
        &["workload.duration_s=20".to_string()],
        spec,
    )
    .unwrap();
    let dir = scratch_dir("sweep-served-nothing");
    let options = RunOptions {
        threads: Some(2),
        ..RunOptions::default()
    };
    let rows = sweep.run(&dir, &options, &mut |_| {}).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let candidates = select::candidates(&rows);
    let context = |c: &select::Candidate| {
        (c.knobs.iter())
            .find(|(k, _)| k == "deployment.engine.max_model_len_tokens")
            .and_then(|(_, v)| v.as_f64())
            .unwrap()
    };
    for c in candidates.iter().filter(|c| context(c) == 10.0) {
        assert!(!c.meets_sla, "{c:?}");
    }
    let best = select::cheapest_meeting_sla(&candidates).expect("a configuration serves");
    assert_eq!(context(&candidates[best]), 20000.0);
}

#[test]
fn shares_of_1e308_split_the_requests_evenly() {
    // Two shares of 1e308 summed to infinity and sent every request to
    // the second deployment.
    let one = |name: &str| {
        format!(
            "[[deployments]]\nname = \"{name}\"\nreplicas = 1\nshare = 1e308\n\
             model = \"llama-3.1-8b\"\ngpu = \"h100-sxm\"\n"
        )
    };
    let toml = format!(
        "name = \"shares\"\nseed = 7\n[workload]\nkind = \"synthetic\"\nduration_s = 60\n\
         arrival = {{ kind = \"poisson\", rate_per_s = 10.0 }}\n\
         input_tokens = {{ kind = \"fixed\", tokens = 100 }}\n\
         output_tokens = {{ kind = \"fixed\", tokens = 10 }}\n{}{}",
        one("a"),
        one("b")
    );
    let scenario = fleetsim::scenario::load_str(&toml, "shares.toml", Path::new("."), &[]).unwrap();
    let s = fleetsim::run::run(&scenario).unwrap().summary;
    let (a, b) = (
        s.deployments[0].requests.arrived,
        s.deployments[1].requests.arrived,
    );
    let n = s.requests.arrived;
    assert!(a * 10 > n * 4 && b * 10 > n * 4, "a {a}, b {b} of {n}");
}

/// The names in `dir` and the bytes of `summary.json`.
fn listing(dir: &Path) -> (Vec<String>, Vec<u8>) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    (names, std::fs::read(dir.join("summary.json")).unwrap())
}

#[test]
fn an_out_directory_is_replaced_as_a_set() {
    use fleetsim::out_dir::OutDir;
    let root = scratch_dir("out-set");
    let dir = root.join("res");
    let a = fleetsim::run::run(&quickstart(&["seed=1"])).unwrap();
    let b = fleetsim::run::run(&quickstart(&["seed=2"])).unwrap();
    fleetsim::report::write_out_dir(&dir, &a).unwrap();
    let earlier = listing(&dir);
    assert_eq!(
        earlier.0,
        [
            "replicas.csv",
            "requests.csv",
            "summary.json",
            "timeseries.csv"
        ]
    );
    // Interrupted after writing but before the rename: the earlier set is
    // untouched and nothing is left beside it.
    let out = OutDir::prepare(&dir).unwrap();
    out.write_run(&b).unwrap();
    drop(out);
    assert_eq!(listing(&dir), earlier);
    let siblings = || -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(siblings(), ["res"]);
    // Killed mid-write (a stale staging directory, a stray `.tmp` of the
    // per-file writes of earlier versions): the next run leaves exactly
    // its own set.
    std::fs::create_dir(root.join(".res.partial")).unwrap();
    std::fs::write(root.join(".res.partial/summary.json"), "{").unwrap();
    std::fs::write(dir.join("summary.json.tmp"), "{").unwrap();
    fleetsim::report::write_out_dir(&dir, &b).unwrap();
    let (names, summary) = listing(&dir);
    assert_eq!(names, earlier.0);
    assert_eq!(
        summary,
        fleetsim::report::summary_json(&b.summary).into_bytes()
    );
    assert_eq!(siblings(), ["res"]);
    // A directory holding other files is never replaced.
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let err = OutDir::prepare(&dir).unwrap_err().to_string();
    assert!(
        err.ends_with("res: holds notes.txt that a run does not write; give --out a new directory or one an earlier run wrote"),
        "{err}"
    );
    assert!(dir.join("notes.txt").exists());
    assert_eq!(siblings(), ["res"]);
    std::fs::remove_dir_all(&root).unwrap();
}
