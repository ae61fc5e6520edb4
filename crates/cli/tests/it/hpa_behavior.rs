//! End to end: an HPA behavior (`[scaling] kind = "hpa"` `behavior`, KEDA's
//! `hpa_behavior`) in the Kubernetes autoscaling/v2 spelling runs as its
//! snake_case twin, and a bad key or value in either spelling is reported
//! at its line and field as the user wrote it, with what is allowed (the
//! rules of `bad_input.rs`).

use crate::bad_input::{check, run_ok, scenario_case, synthetic, Case, SYNTHETIC_SCENARIO};

/// The synthetic scenario with `[scaling]` (line 18) holding `table`.
fn scaling(name: &'static str, table: &str, extra: &[&str]) -> Case {
    scenario_case(
        name,
        format!("{SYNTHETIC_SCENARIO}[scaling]\n{table}"),
        extra,
    )
}

fn cases() -> Vec<Case> {
    let s = "scenario.toml";
    let hpa = "kind = \"hpa\"\nmax_replicas = 4\n";
    vec![
        scaling(
            "behavior_policy_type_misspelt",
            &format!(
                "{hpa}[scaling.behavior.scaleUp]\nstabilizationWindowSeconds = 0\n\
                 policies = [{{ type = \"Pod\", value = 4, periodSeconds = 15 }}]\n"
            ),
            &[],
        )
        .at(
            s,
            Some(23),
            Some("scaling.behavior.scaleUp.policies[0].type"),
        )
        .also(&["unknown variant `Pod`, expected `Pods` or `Percent`"]),
        scaling(
            "behavior_spellings_mixed",
            &format!("{hpa}[scaling.behavior.scaleUp]\nstabilization_window_s = 0\n"),
            &[],
        )
        .at(
            s,
            Some(22),
            Some("scaling.behavior.scaleUp.stabilization_window_s"),
        )
        .also(&["expected `stabilizationWindowSeconds`, `selectPolicy` or `policies`"]),
        scaling(
            "behavior_direction_unknown",
            &format!("{hpa}behavior = {{ scaleup = {{}} }}\n"),
            &[],
        )
        .at(s, Some(21), Some("scaling.behavior.scaleup"))
        .also(&["`scale_up` or `scale_down` (snake_case) or `scaleUp` or `scaleDown`"]),
        scaling(
            "keda_behavior_window_too_long",
            "kind = \"keda\"\nmax_replicas = 4\n\
             hpa_behavior = { scaleDown = { stabilizationWindowSeconds = 4000 } }\n",
            &[],
        )
        .at(
            s,
            Some(21),
            Some("scaling.hpa_behavior.scaleDown.stabilizationWindowSeconds"),
        )
        .also(&["integer `4000`", "in 0..=3600"]),
        scaling(
            "behavior_select_policy_from_set",
            hpa,
            &[
                "--set",
                "scaling.behavior={scaleUp={selectPolicy=\"Maximum\"}}",
            ],
        )
        .at(s, Some(18), Some("scaling.behavior.scaleUp.selectPolicy"))
        .also(&[
            "unknown variant `Maximum`",
            "`Max`, `Min`, `Disabled`",
            "(from --set",
        ]),
        // `--set` reaches an entry of an inline list of policies.
        scaling(
            "behavior_policy_type_from_set",
            &format!(
                "{hpa}behavior = {{ scaleUp = {{ policies = [{{ type = \"Pods\", value = 4, periodSeconds = 15 }}] }} }}\n"
            ),
            &["--set", "scaling.behavior.scaleUp.policies[0].type=Pod"],
        )
        .at(s, Some(21), Some("scaling.behavior.scaleUp.policies[0].type"))
        .also(&["unknown variant `Pod`", "(from --set"]),
        // An empty list of policies, a policy without one of its keys
        // and a bad number written twice are found at the policy (or
        // list) at fault, on its own line.
        scaling(
            "behavior_policies_empty",
            &format!("{hpa}behavior = {{ scaleDown = {{ policies = [] }} }}\n"),
            &[],
        )
        .at(s, Some(21), Some("scaling.behavior.scaleDown.policies"))
        .also(&["`scaleDown.policies` with at least one policy (HPA: must specify at least one Policy)"]),
        scaling(
            "behavior_policy_period_missing",
            &format!(
                "{hpa}[scaling.behavior.scaleDown]\nstabilizationWindowSeconds = 60\n\
                 policies = [\n  {{ type = \"Percent\", value = 10, periodSeconds = 60 }},\n  \
                 {{ type = \"Pods\", value = 4 }},\n]\n"
            ),
            &[],
        )
        .at(
            s,
            Some(25),
            Some("scaling.behavior.scaleDown.policies[1].periodSeconds"),
        )
        .also(&[
            "missing field `periodSeconds` in `scaleDown.policies[1]`",
            "a policy takes `type`, `value` and `periodSeconds`",
        ]),
        scaling(
            "behavior_policy_type_missing_in_array_of_tables",
            &format!(
                "{hpa}[[scaling.behavior.scale_up.policies]]\ntype = \"Pods\"\nvalue = 2\nperiod_s = 15\n\n\
                 [[scaling.behavior.scale_up.policies]]\nvalue = 50\nperiod_s = 15\n"
            ),
            &[],
        )
        .at(
            s,
            Some(26),
            Some("scaling.behavior.scale_up.policies[1].type"),
        )
        .also(&["missing field `type` in `scale_up.policies[1]`", "`type`, `value` and `period_s`"]),
        scaling(
            "behavior_policy_value_zero_beside_a_zero_window",
            &format!(
                "{hpa}[scaling.behavior.scaleUp]\nstabilizationWindowSeconds = 0\n\
                 policies = [{{ type = \"Pods\", value = 0, periodSeconds = 15 }}]\n"
            ),
            &[],
        )
        .at(
            s,
            Some(23),
            Some("scaling.behavior.scaleUp.policies[0].value"),
        )
        .also(&["integer `0`, expected `scaleUp.policies[0].value` > 0"]),
        scaling(
            "keda_behavior_policy_period_zero",
            "kind = \"keda\"\nmax_replicas = 4\n\
             hpa_behavior = { scale_down = { policies = [{ type = \"Pods\", value = 1, period_s = 0 }] } }\n",
            &[],
        )
        .at(
            s,
            Some(21),
            Some("scaling.hpa_behavior.scale_down.policies[0].period_s"),
        )
        .also(&["integer `0`", "in 1..=1800"]),
        scaling(
            "behavior_policies_emptied_from_set",
            &format!(
                "{hpa}behavior = {{ scaleDown = {{ policies = [{{ type = \"Pods\", value = 1, periodSeconds = 60 }}] }} }}\n"
            ),
            &["--set", "scaling.behavior.scaleDown.policies=[]"],
        )
        .at(s, Some(21), Some("scaling.behavior.scaleDown.policies"))
        .also(&["at least one policy", "(from --set"]),
        scaling(
            "behavior_select_policy_misspelt_in_the_second_direction",
            &format!(
                "{hpa}behavior = {{ scaleUp = {{ selectPolicy = \"Max\" }}, scaleDown = {{ selectPolicy = \"max\" }} }}\n"
            ),
            &[],
        )
        .at(s, Some(21), Some("scaling.behavior.scaleDown.selectPolicy"))
        .also(&["unknown variant `max`"]),
        // A bad target inside `metrics` is reported at the list's line,
        // naming the entry and its key.
        scaling(
            "metric_target_not_positive",
            &format!(
                "{hpa}metrics = [{{ metric = \"num_requests_waiting\", target_average_value = 5.0 }},\n\
                 {{ metric = \"gpu_busy_fraction\", target_utilization_percent = 0 }}]\n"
            ),
            &[],
        )
        .at(s, Some(21), Some("scaling.metrics"))
        .also(&[
            "metrics[1].target_utilization_percent: must be > 0",
            "averageUtilization must be greater than 0",
        ]),
    ]
}

#[test]
fn behavior_errors_are_located_as_written() {
    let failures: Vec<String> = cases().iter().filter_map(|c| check(c).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The summary of a run with `table` as `[scaling]`, without the wall
/// time: 400 requests/s for 120 s, enough for the HPA to scale up.
fn summary(test: &str, table: &str) -> serde_json::Value {
    let busy = synthetic("rate_per_s = 2.0", "rate_per_s = 400.0").replacen(
        "duration_s = 10\n",
        "duration_s = 120\n",
        1,
    );
    assert!(busy.contains("duration_s = 120\n"));
    let scenario = format!("{busy}[scaling]\n{table}");
    let out = run_ok(
        test,
        &[("scenario.toml", &scenario)],
        &["run", "scenario.toml", "--format", "json"],
    );
    let mut v: serde_json::Value = serde_json::from_str(&out).expect("summary JSON");
    v["sim"]["wall_s"] = serde_json::Value::Null;
    v
}

#[test]
fn kubernetes_spelling_runs_as_its_snake_case_twin() {
    let head = "kind = \"hpa\"\nmax_replicas = 4\nsync_period_s = 1\n\
                metrics = [{ metric = \"num_requests_running\", target_average_value = 1.0 }]\n";
    let k8s = summary(
        "behavior-k8s",
        &format!(
            "{head}[scaling.behavior.scaleUp]\nselectPolicy = \"Min\"\n\
             policies = [{{ type = \"Pods\", value = 1, periodSeconds = 5 }}]\n"
        ),
    );
    let snake = summary(
        "behavior-snake",
        &format!(
            "{head}[scaling.behavior.scale_up]\nselect_policy = \"Min\"\n\
             policies = [{{ type = \"Pods\", value = 1, period_s = 5 }}]\n"
        ),
    );
    let legacy = summary("behavior-none", head);
    assert_eq!(k8s, snake);
    // Not vacuous: the behavior changes the run.
    assert_ne!(k8s, legacy);
}
