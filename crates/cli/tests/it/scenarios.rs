//! Every scenario in `scenarios/` loads, and a short piece of each runs.
//!
//! Scenarios that read a trace in `../shared` are skipped (with a message)
//! when it is absent, except under `CI=true`, where that is a failure. To
//! stay quick in debug builds, synthetic workloads are cut to 60 s and the
//! others to their first 60 s with `--set` of a slice transform.

use crate::common;

use fleetsim::scenario::{self, ScenarioError, WorkloadSpec};
use std::path::PathBuf;

/// Every `*.toml` in `scenarios/` and its subfolders, sorted.
pub(crate) fn scenario_files() -> Vec<PathBuf> {
    fn walk(dir: &std::path::Path, files: &mut Vec<PathBuf>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&common::workspace_root().join("scenarios"), &mut files);
    files.sort();
    files
}

pub(crate) fn name_of(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Loads `path` with `sets`; `None` if its trace is missing and `../shared`
/// is absent (skipped), a panic for any other error.
pub(crate) fn load(path: &std::path::Path, sets: &[String]) -> Option<scenario::Scenario> {
    match scenario::load_file(path, sets) {
        Ok(s) => Some(s),
        Err(ScenarioError {
            field: Some(field), ..
        }) if field == "workload.path"
            && common::shared_dir(&format!("scenario {}", name_of(path))).is_none() =>
        {
            None
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn every_scenario_loads_and_a_minute_of_it_runs() {
    let files = scenario_files();
    let names: Vec<String> = files.iter().map(|p| name_of(p)).collect();
    for expected in [
        "quickstart.toml",
        "mooncake-conversation.toml",
        "mooncake-synthetic.toml",
        "mooncake-prefix.toml",
        "two-models.toml",
        "priority-classes.toml",
        "fixed-at-peak.toml",
        "kpa-concurrency.toml",
        "servegen-m-large.toml",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing");
    }
    for path in &files {
        let name = name_of(path);
        let Some(full) = load(path, &[]) else {
            continue;
        };
        let short = match full.workload {
            WorkloadSpec::Synthetic { .. } => "workload.duration_s=60",
            WorkloadSpec::Trace { .. } | WorkloadSpec::Servegen { .. } => {
                "workload.transforms=[{ kind = \"slice\", start_s = 0, end_s = 60 }]"
            }
        };
        let scenario = load(path, &[short.to_string()]).expect("loaded once already");
        let start = std::time::Instant::now();
        let result =
            fleetsim::run::run(&scenario).unwrap_or_else(|e| panic!("{name}: run failed: {e}"));
        let r = &result.summary.requests;
        eprintln!(
            "{name}: {} requests in the first minute, {:.2} s wall",
            r.arrived,
            start.elapsed().as_secs_f64()
        );
        assert!(r.arrived > 0, "{name}: no requests in the first minute");
        assert_eq!(
            r.arrived,
            r.completed + r.rejected + r.timed_out + r.failed,
            "{name}: outcomes must add up"
        );
        assert!(
            r.completed > 0,
            "{name}: nothing completed in the first minute"
        );
        assert_eq!(result.records.len() as u64, r.arrived);
    }
}

#[test]
fn quickstart_file_is_the_embedded_one() {
    let path = common::workspace_root().join("scenarios/quickstart.toml");
    let text = std::fs::read_to_string(path).expect("read quickstart.toml");
    assert_eq!(text, scenario::QUICKSTART_TOML);
}

#[test]
fn a_scenario_error_holds_the_field_error_and_ends_the_chain() {
    let set = "sla.ttft_ms=-1".to_string();
    let e = scenario::load_str(
        scenario::QUICKSTART_TOML,
        "quickstart",
        std::path::Path::new("."),
        &[set],
    )
    .expect_err("a negative TTFT threshold");
    assert_eq!(e.field.as_deref(), Some("sla.ttft_ms"));
    assert_eq!(
        e.message,
        "must be a finite number of ms > 0, got -1 (from --set sla.ttft_ms=-1)"
    );
    // The message is the whole story: no source to print it again.
    assert!(std::error::Error::source(&e).is_none());
    assert_eq!(e.to_string().matches("got -1").count(), 1, "{e}");
}

#[test]
fn an_error_names_the_set_flag_that_gave_the_value() {
    let load = |sets: &[&str]| {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        scenario::load_str(
            scenario::QUICKSTART_TOML,
            "quickstart",
            std::path::Path::new("."),
            &sets,
        )
    };
    // A later flag overrides an earlier one on the same key: the value in
    // error came from the last.
    let e = load(&["sla.ttft_ms=250", "sla.ttft_ms=-1"]).expect_err("negative");
    assert!(e.message.ends_with("(from --set sla.ttft_ms=-1)"), "{e}");
    // A section set after the key replaces it, value and all.
    let e = load(&["sla.ttft_ms=-1", "sla={ tpot_ms = 40, ttft_ms = -2 }"]).expect_err("negative");
    assert!(
        e.message
            .ends_with("got -2 (from --set sla={ tpot_ms = 40, ttft_ms = -2 })"),
        "{e}"
    );
    let e = load(&["sla={ tpot_ms = 40 }", "sla.ttft_ms=-1"]).expect_err("negative");
    assert!(e.message.ends_with("(from --set sla.ttft_ms=-1)"), "{e}");
    // The good value last: no error.
    assert!(load(&["sla.ttft_ms=-1", "sla.ttft_ms=250"]).is_ok());
}
