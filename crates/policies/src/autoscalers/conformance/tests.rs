use super::*;

fn file(autoscaler: &str, group: &str, case: Value) -> String {
    json!({ "_schema": {}, "autoscalers": { autoscaler: { "description": "", "case_groups": { group: [case] } } } }).to_string()
}

fn baseten_case_json(desired: u32) -> Value {
    json!({
        "id": "b-1", "source": {}, "function": "f",
        "inputs": { "concurrency_target": 10, "target_utilization_percent": 70, "in_flight_requests_avg_over_window": 25 },
        "expected": { "desired_replicas": desired, "scale_up_trigger_per_replica": 7 }
    })
}

#[test]
fn passing_and_failing_cases() {
    let r = run_str(&file(
        "baseten",
        "documentation_examples",
        baseten_case_json(4),
    ))
    .expect("parses");
    assert_eq!(r.len(), 1);
    assert!(r[0].passed, "{}", r[0]);
    let r = run_str(&file(
        "baseten",
        "documentation_examples",
        baseten_case_json(5),
    ))
    .expect("parses");
    assert!(!r[0].passed);
    assert!(
        r[0].expected.contains("\"desired_replicas\":5")
            && r[0].actual.contains("\"desired_replicas\":4"),
        "{}",
        r[0]
    );
}

#[test]
fn malformed_files_are_errors_with_paths() {
    let e = run_str(&file("nomad", "x", baseten_case_json(4))).expect_err("unknown key");
    assert!(
        e.to_string().contains("unknown autoscaler key `nomad`") && e.path == "autoscalers.nomad",
        "{e}"
    );
    let e = run_str(&file("baseten", "nope", baseten_case_json(4))).expect_err("unknown group");
    assert!(e.to_string().contains("unknown case group `nope`"), "{e}");
    let mut c = baseten_case_json(4);
    c["inputs"]["surprise"] = json!(1);
    let e = run_str(&file("baseten", "documentation_examples", c)).expect_err("unknown field");
    assert!(
        e.to_string().contains("unknown field `surprise`")
            && e.path.ends_with("documentation_examples[0]"),
        "{e}"
    );
    assert!(run_str("{ not json").is_err());
    let counted = json!({ "autoscalers": {}, "case_counts": { "baseten": 2 } }).to_string();
    assert!(run_str(&counted)
        .expect_err("count mismatch")
        .to_string()
        .contains("declares 2"));
}

#[test]
fn matching_rules() {
    let check = |e: Value, a: Value, want: bool| assert_eq!(matches(&e, &a), want, "{e} vs {a}");
    check(json!(60), json!(60.0), true);
    check(json!(60), json!(60.1), false);
    check(json!({"a": null, "b": 1}), json!({"b": 1}), true);
    check(json!({"b": 1}), json!({}), false);
    check(json!([1, 2]), json!([1]), false);
    check(json!("Failing"), json!("Happy"), false);
}
