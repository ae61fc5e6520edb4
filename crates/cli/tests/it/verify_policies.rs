//! `fleetsim verify-policies`: every shared conformance vector passes, and
//! malformed or failing files exit 1 with a clear message.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn verify(file: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .arg("verify-policies")
        .arg(file)
        .output()
        .unwrap()
}

fn last_line(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .last()
        .unwrap_or("")
        .to_string()
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fleetsim-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// A one-case file in the shared schema: the Baseten documented example
/// with `desired` as the expected replicas, `extra` merged into inputs.
fn baseten_file(key: &str, desired: u32, extra: &str) -> String {
    format!(
        r#"{{"_schema": {{}}, "autoscalers": {{"{key}": {{"description": "", "case_groups": {{"documentation_examples": [
        {{"id": "doc-1", "source": {{}}, "function": "scale-up sizing",
          "inputs": {{"concurrency_target": 10, "target_utilization_percent": 70, "in_flight_requests_avg_over_window": 25{extra}}},
          "expected": {{"desired_replicas": {desired}, "scale_up_trigger_per_replica": 7}}}}]}}}}}}}}"#
    )
}

#[test]
fn shared_vectors_all_pass() {
    let Some(shared) = common::shared_dir("shared_vectors_all_pass") else {
        return;
    };
    let file = shared.join("conformance/autoscaler_vectors.json");
    let total: u64 = {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        v["case_counts"]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum()
    };
    assert!(
        total >= 100,
        "expected the full shared file, got {total} cases"
    );
    let o = verify(&file);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        last_line(&o),
        format!("{total} passed, 0 failed"),
        "{stdout}"
    );
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for key in [
        "kubernetes_hpa",
        "knative_kpa",
        "keda",
        "ray_serve",
        "aibrix",
        "llmd_wva",
        "baseten",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("{key}: ")) && l.ends_with(" 0 failed")),
            "{key}: {stdout}"
        );
    }
}

#[test]
fn passing_temp_file_exits_0() {
    let o = verify(&temp_file("ok.json", &baseten_file("baseten", 4, "")));
    assert!(o.status.success());
    assert_eq!(last_line(&o), "1 passed, 0 failed");
}

#[test]
fn wrong_expected_value_fails_with_both_values() {
    let o = verify(&temp_file("wrong.json", &baseten_file("baseten", 5, "")));
    assert_eq!(o.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(last_line(&o), "0 passed, 1 failed");
    assert!(stdout.contains("FAIL doc-1"), "{stdout}");
    assert!(
        stdout.contains("\"desired_replicas\":5") && stdout.contains("\"desired_replicas\":4"),
        "{stdout}"
    );
    assert!(stdout.contains("baseten: 0 passed, 1 failed"), "{stdout}");
}

#[test]
fn unknown_autoscaler_key_is_an_error() {
    let p = temp_file("key.json", &baseten_file("basetenn", 4, ""));
    let o = verify(&p);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("key.json")
            && stderr.contains("autoscalers.basetenn")
            && stderr.contains("unknown autoscaler key"),
        "{stderr}"
    );
}

#[test]
fn unknown_field_fails_its_case_with_a_located_error() {
    let p = temp_file(
        "field.json",
        &baseten_file("baseten", 4, r#", "window_s": 60"#),
    );
    let o = verify(&p);
    assert_eq!(o.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("FAIL doc-1")
            && stdout.contains("documentation_examples[0].inputs.window_s")
            && stdout.contains("unknown field `window_s`"),
        "{stdout}"
    );
    assert_eq!(last_line(&o), "0 passed, 1 failed");
    assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"));
}

#[test]
fn failing_case_names_its_upstream_source() {
    let text = baseten_file("baseten", 5, "").replace(
        r#""source": {}"#,
        r#""source": {"repo": "kubernetes/kubernetes", "path": "pkg/x_test.go", "test": "TestY/z"}"#,
    );
    let o = verify(&temp_file("source.json", &text));
    assert_eq!(o.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("upstream: kubernetes/kubernetes pkg/x_test.go TestY/z"),
        "{stdout}"
    );
}

#[test]
fn invalid_json_and_missing_file_are_errors() {
    let o = verify(&temp_file("broken.json", "{ \"autoscalers\": "));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not valid JSON"));
    let o = verify(Path::new("/nonexistent/vectors.json"));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read"));
}
