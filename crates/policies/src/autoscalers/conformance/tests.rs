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
    assert!(run_str("{ not json").is_err());
    let counted = json!({ "autoscalers": {}, "case_counts": { "baseten": 2 } }).to_string();
    assert!(run_str(&counted)
        .expect_err("count mismatch")
        .to_string()
        .contains("declares 2"));
}

/// A case that cannot be read fails on its own with where and why; the
/// other cases of the file still run.
#[test]
fn unreadable_cases_fail_alone_with_a_located_error() {
    let unreadable = |doc: String| {
        let r = run_str(&doc).expect("the file itself is well formed");
        assert_eq!(r.len(), 1);
        assert!(!r[0].passed);
        r[0].error
            .clone()
            .expect("an unreadable case carries its error")
    };
    let e = unreadable(file("baseten", "nope", baseten_case_json(4)));
    assert!(e.contains("unknown case group `nope`"), "{e}");
    let mut c = baseten_case_json(4);
    c["inputs"]["surprise"] = json!(1);
    let e = unreadable(file("baseten", "documentation_examples", c));
    assert!(
        e.contains("documentation_examples[0].inputs.surprise")
            && e.contains("case `b-1`")
            && e.contains("unknown field `surprise`")
            && e.contains("expected one of"),
        "{e}"
    );
    let mut c = baseten_case_json(4);
    c["source"] = json!({ "repo": "r", "commit": "abc" });
    let e = unreadable(file("baseten", "documentation_examples", c));
    assert!(e.contains(".source") && e.contains("revision_note"), "{e}");
    // One bad case among good ones: the good ones still pass.
    let mut bad = baseten_case_json(4);
    bad["id"] = json!("b-2");
    bad["inputs"]["surprise"] = json!(1);
    let doc = json!({ "autoscalers": { "baseten": { "case_groups": {
        "documentation_examples": [baseten_case_json(4), bad] } } } })
    .to_string();
    let r = run_str(&doc).expect("parses");
    assert_eq!(
        r.iter()
            .map(|r| (r.id.as_str(), r.passed))
            .collect::<Vec<_>>(),
        [("b-1", true), ("b-2", false)]
    );
}

/// Every field the schema documents is accepted: per-case `notes`, and in
/// `source` the test triple, `revision_note`, and `{kind, url}` for
/// non-test material; the report names the upstream source.
#[test]
fn documented_fields_are_accepted_and_sources_reported() {
    let mut c = baseten_case_json(5);
    c["notes"] = json!("a clarification");
    c["source"] =
        json!({ "repo": "o/r", "path": "p_test.go", "test": "TestX/sub", "revision_note": "v2" });
    let r = run_str(&file("baseten", "documentation_examples", c)).expect("parses");
    assert!(r[0].error.is_none(), "{}", r[0]);
    let shown = r[0].to_string();
    assert!(
        shown.contains("upstream: o/r p_test.go TestX/sub (v2)"),
        "{shown}"
    );
    let mut c = baseten_case_json(4);
    c["source"] =
        json!({ "kind": "documentation", "url": "https://example.invalid/a", "section": "s" });
    let r = run_str(&file("baseten", "documentation_examples", c)).expect("parses");
    assert!(r[0].passed, "{}", r[0]);
    assert_eq!(r[0].source, "documentation https://example.invalid/a s");
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
    // An expected error is a substring of the actual one.
    check(
        json!({"error": "no metrics returned matched known pods"}),
        json!({"error": "kubernetes_hpa: no metrics returned matched known pods (requests sum to 0)"}),
        true,
    );
    check(
        json!({"error": "missing request"}),
        json!({"error": "other"}),
        false,
    );
    check(json!({"error": "x"}), json!({"desired_replicas": 3}), false);
}

fn run_one(autoscaler: &str, group: &str, case: Value) -> CaseResult {
    let r = run_str(&file(autoscaler, group, case)).expect("parses");
    assert_eq!(r.len(), 1);
    r.into_iter().next().expect("one case")
}

/// HPA inputs the upstream replica-calculator tests use: pods classified
/// from their `fixture` alone, a ContainerResource `container`, samples for
/// pods the selector does not list, deletion timestamps, expected errors.
#[test]
fn hpa_inputs_of_the_upstream_tests() {
    let fx = |ready: &str, start: &str, deleting: bool| json!({ "phase": "Running", "ready_condition": ready, "start_time": start, "deletion_timestamp": deleting });
    // TestReplicaCalcResourceScale/scale up: hot-CPU container scales less,
    // classes left to the fixtures.
    let case = json!({
        "id": "c-1", "source": {}, "function": "f", "notes": "n",
        "inputs": { "current_replicas": 3, "target_utilization_percent": 30, "container": "container2",
            "tolerance": { "scale_up": 0.1, "scale_down": 0.1 },
            "pods": [
                { "name": "a", "request_milli": 1000, "usage_milli": 300, "fixture": fx("True", "hot", false) },
                { "name": "b", "request_milli": 1000, "usage_milli": 500, "fixture": fx("True", "cool", false) },
                { "name": "c", "request_milli": 1000, "usage_milli": 700, "fixture": fx("True", "cool", false) },
                { "name": "d", "request_milli": 1000, "usage_milli": null, "fixture": fx("False", "unset", true) }
            ] },
        "expected": { "desired_replicas": 4, "utilization_percent": 60, "raw_average_usage_milli": 600 }
    });
    let r = run_one("kubernetes_hpa", "resource_utilization", case);
    assert!(r.passed, "{r}");
    // TestReplicaCalcResourceMissingMetrics/superfluous metrics counted.
    let pod = |u: i64| json!({ "request_milli": 2000, "usage_milli": u, "hpa_class": "ready" });
    let case = json!({
        "id": "c-2", "source": {}, "function": "f",
        "inputs": { "current_replicas": 4, "target_utilization_percent": 100,
            "tolerance": { "scale_up": 0.1, "scale_down": 0.1 },
            "pods": [ pod(8000), pod(19000), pod(6000), pod(14000),
                { "name": "gone", "request_milli": null, "usage_milli": 6400, "hpa_class": "unlisted" } ] },
        "expected": { "desired_replicas": 24, "utilization_percent": 587, "raw_average_usage_milli": 11750 }
    });
    let r = run_one("kubernetes_hpa", "resource_utilization", case);
    assert!(r.passed, "{r}");
    // TestReplicaCalcResourceMissingMetrics/disjoint pod and metric names.
    let case = json!({
        "id": "c-3", "source": {}, "function": "f",
        "inputs": { "current_replicas": 1, "target_utilization_percent": 100,
            "pods": [ { "request_milli": 2000, "usage_milli": null, "hpa_class": "missing" },
                      { "request_milli": null, "usage_milli": 200, "hpa_class": "unlisted" } ] },
        "expected": { "error": "no metrics returned matched known pods" }
    });
    let r = run_one("kubernetes_hpa", "resource_utilization", case);
    assert!(r.passed, "{r}");
    // TestGroupPods/ignore pods with deletion timestamps, then several pods.
    let case = json!({
        "id": "g-1", "source": {}, "function": "f",
        "inputs": { "resource": "cpu",
            "pod": { "phase": "Pending", "start_time_s": null, "ready_condition": null, "deletion_timestamp": true },
            "metric": { "present": true } },
        "expected": { "hpa_class": "ignored" }
    });
    let r = run_one("kubernetes_hpa", "pod_classification", case);
    assert!(r.passed, "{r}");
    let case = json!({
        "id": "g-2", "source": {}, "function": "f",
        "inputs": { "resource": "cpu", "pods": [
            { "name": "lucretius", "phase": "Succeeded", "start_time_s": 0, "metric": { "present": true } },
            { "name": "niccolo", "phase": "Succeeded", "start_time_s": -180,
              "ready_condition": { "status": "True", "last_transition_s": -180 }, "metric": { "present": true } },
            { "name": "epicurus", "phase": "Succeeded", "start_time_s": -180, "metric": { "present": false } } ] },
        "expected": { "ready_pod_count": 1, "unready_pods": ["lucretius"], "missing_pods": ["epicurus"], "ignored_pods": [] }
    });
    let r = run_one("kubernetes_hpa", "pod_classification", case);
    assert!(r.passed, "{r}");
    // A pod with neither class nor fixture is a located error.
    let case = json!({
        "id": "c-4", "source": {}, "function": "f",
        "inputs": { "current_replicas": 1, "target_utilization_percent": 100,
            "pods": [ { "request_milli": 2000, "usage_milli": 10 } ] },
        "expected": { "desired_replicas": 1 }
    });
    let r = run_one("kubernetes_hpa", "resource_utilization", case);
    let e = r.error.expect("unreadable");
    assert!(e.contains("c-4") && e.contains("hpa_class"), "{e}");
}

/// KPA decider inputs beyond the shared sample: a pod counter that errs
/// (at creation and at a step), a spec replaced before a step, the panic
/// state after creation and after a step, and the ±1 burst capacity.
#[test]
fn kpa_decider_pod_count_errors_updates_and_panic_state() {
    let case = |ebc: i32, max_panic: i32| {
        let spec = json!({ "scaling_metric": "concurrency", "target": 10, "total": 13.333333333333334,
            "target_burst_capacity": 77, "panic_threshold": 2.0, "max_scale_up_rate": 10.0,
            "max_scale_down_rate": 10.0, "stable_window_s": 60, "reachable": true,
            "scale_down_delay_s": 0, "activation_scale": 0, "activator_capacity": 150 });
        json!({ "id": "k-1", "source": {}, "function": "f", "inputs": {
            "spec": spec, "ready_pods_at_creation": 2, "pod_count_error_at_creation": "error",
            "expected_after_creation": { "in_panic_mode": false, "max_panic_pods": 0 },
            "steps": [
                { "t_s": 0, "ready_pods": 1, "observed_stable": 100, "observed_panic": 101,
                  "pod_count_error": "error", "expected": { "scale_valid": false } },
                { "t_s": 0, "ready_pods": 1, "observed_stable": 100, "observed_panic": 101,
                  "expected": { "scale_valid": true, "desired_pod_count": 10, "excess_burst_capacity": ebc } },
                { "t_s": 0, "ready_pods": 10, "observed_stable": 100, "observed_panic": 101,
                  "spec_update_before_step": { "target": 1, "total": 1.3333333333333333,
                      "target_burst_capacity": 71, "reachable": false, "activator_capacity": 21 },
                  "expected": { "scale_valid": true, "desired_pod_count": 100,
                      "in_panic_mode": true, "max_panic_pods": max_panic } }
            ] } })
    };
    // floor(13.33 - 77 - 101) = -165; upstream accepts -164.
    let r = run_str(&file("knative_kpa", "decider", case(-164, 100))).expect("parses");
    assert!(r[0].passed, "{}", r[0]);
    let r = run_str(&file("knative_kpa", "decider", case(-167, 100))).expect("parses");
    assert!(!r[0].passed, "EBC off by 2 fails");
    let r = run_str(&file("knative_kpa", "decider", case(-165, 99))).expect("parses");
    assert!(!r[0].passed, "wrong max panic pods fails");
}

/// WVA targets: a variant moving to its desired count blocks the model and
/// keeps that count; variant analyses compare in name order.
#[test]
fn wva_transition_keeps_desired_and_variant_analyses() {
    let tg = json!({ "id": "w-1", "source": {}, "function": "f", "inputs": {
        "should_scale_up": true, "scale_down_safe": false,
        "variant_analyses": [{ "variant": "a", "cost": 20, "replica_count": 2 }, { "variant": "b", "cost": 5, "replica_count": 2 }],
        "variant_states": [{ "variant": "a", "current_replicas": 2, "desired_replicas": 4 },
                           { "variant": "b", "current_replicas": 2, "desired_replicas": 0, "pending_replicas": 0 }] },
        "expected": { "targets": { "a": 4, "b": 2 } } });
    let r = run_str(&file("llmd_wva", "saturation_targets", tg)).expect("parses");
    assert!(r[0].passed, "{}", r[0]);
    let an = json!({ "id": "w-2", "source": {}, "function": "f", "inputs": {
        "config": { "kv_cache_threshold": 0.8, "queue_length_threshold": 5, "kv_spare_trigger": 0.1, "queue_spare_trigger": 3 },
        "replica_metrics": [
            { "pod": "p2", "variant": "y", "kv_cache_usage": 0.9, "queue_length": 1 },
            { "pod": "p1", "variant": "x", "kv_cache_usage": 0.5, "queue_length": 1, "model_id": "m" }] },
        "expected": { "total_replicas": 2, "non_saturated_count": 1, "avg_spare_kv_capacity": 0.30000000000000004,
            "variant_analyses": [{ "variant": "x", "replica_count": 1, "saturated_replicas": [] },
                                 { "variant": "y", "saturated_replicas": ["p2"] }] } });
    let r = run_str(&file("llmd_wva", "saturation_analysis", an)).expect("parses");
    assert!(r[0].passed, "{}", r[0]);
    let empty = json!({ "id": "w-3", "source": {}, "function": "f", "inputs": {
        "config": { "kv_cache_threshold": 0.8, "queue_length_threshold": 5, "kv_spare_trigger": 0.1, "queue_spare_trigger": 3 },
        "replica_metrics": [] }, "expected": { "should_scale_up": true } });
    let r = run_str(&file("llmd_wva", "saturation_analysis", empty)).expect("parses");
    assert!(!r[0].passed, "no replicas: no scale-up");
}
