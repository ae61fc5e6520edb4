//! End to end: bad input that was once accepted without a word, or
//! reported at the wrong place. The same table and the same rules as
//! `bad_input.rs` (exit status 1, one `error:` line naming the file, the
//! line and the field, and what is allowed), in a file of its own to keep
//! both short.

use crate::bad_input::{check, scenario_case, synthetic, Case, SYNTHETIC_SCENARIO};

fn cases() -> Vec<Case> {
    let s = "scenario.toml";
    let mut cases = Vec::new();
    // Routers without knobs ignored any key, so a typo was silent.
    for kind in [
        "round_robin",
        "least_outstanding",
        "random",
        "join_shortest_queue",
        "power_of_two_choices",
    ] {
        let name: &'static str = Box::leak(format!("router_{kind}_typo").into_boxed_str());
        cases.push(
            scenario_case(
                name,
                format!("{SYNTHETIC_SCENARIO}[router]\nkind = \"{kind}\"\nmax_outstanding = 3\n"),
                &[],
            )
            .at(s, Some(20), Some("router.max_outstanding"))
            .also(&["unknown field `max_outstanding`, there are no fields"]),
        );
    }
    cases.extend([
        // A price whose dollars overflow made the cost figures infinite.
        scenario_case(
            "price_beyond_representable_money",
            format!("{SYNTHETIC_SCENARIO}[pool]\ngpus_per_node = 1\nusd_per_gpu_hour = 1.7e308\n"),
            &[],
        )
        .at(s, Some(20), Some("pool.usd_per_gpu_hour"))
        .also(&["must be a number of USD from 0 to 1000000", "got 1.7e308"]),
        scenario_case(
            "price_beyond_representable_money_in_pools",
            format!(
                "{SYNTHETIC_SCENARIO}[[pools]]\nname = \"a\"\nusd_per_gpu_hour = 3\n\
                 [[pools]]\nname = \"b\"\nusd_per_gpu_hour = 1e300\n"
            ),
            &[],
        )
        .at(s, Some(23), Some("pools[1].usd_per_gpu_hour"))
        .also(&["from 0 to 1000000", "got 1e300"]),
    ]);
    // `--out` that cannot be written failed only after the whole run: the
    // trace's bad row (read during the run) must not be reached first.
    let bad_trace = "time_s,input_tokens,output_tokens\n0,12,5\n0.5,twelve,5\n";
    cases.extend([
        Case::new(
            "out_under_a_file",
            &["run", "--trace", "trace.csv", "--out", "file.txt/res"],
        )
        .file("trace.csv", bad_trace)
        .file("file.txt", "not a directory\n")
        .at("file.txt/res", None, None)
        .also(&["--out file.txt/res: file.txt is a file, not a directory"]),
        Case::new(
            "out_is_a_file",
            &["run", "--trace", "trace.csv", "--out", "file.txt"],
        )
        .file("trace.csv", bad_trace)
        .file("file.txt", "not a directory\n")
        .at("file.txt", None, None)
        .also(&["--out file.txt: file.txt is a file, not a directory"]),
        Case::new(
            "out_is_the_current_directory",
            &["run", "--trace", "trace.csv", "--out", "."],
        )
        .file("trace.csv", bad_trace)
        .at("--out .", None, None)
        .also(&["name a directory of its own"]),
    ]);
    // Autoscaler knobs: the error names the key the scenario wrote, at its
    // line, never the kind or the upstream name.
    let scaling = |name: &'static str, table: &str| {
        scenario_case(name, format!("{SYNTHETIC_SCENARIO}[scaling]\n{table}"), &[])
    };
    cases.extend([
        scaling(
            "autoscaler_bad_value_is_not_an_unknown_kind",
            "kind = \"hpa\"\nmax_replicas = 4\n\
             metrics = [{ metric = \"bogus\", target_utilization_percent = 80 }]\n",
        )
        .at(s, Some(21), Some("scaling.metrics[0].metric"))
        .also(&["unknown variant `bogus`"]),
        scaling(
            "kpa_target_named_as_written",
            "kind = \"kpa\"\nmax_replicas = 4\ntarget = 0\n",
        )
        .at(s, Some(21), Some("scaling.target"))
        .also(&["must be >= 0.01"]),
        scaling(
            "kpa_min_named_as_written",
            "kind = \"kpa\"\nmin_replicas = 5\nmax_replicas = 2\n",
        )
        .at(s, Some(20), Some("scaling.min_replicas"))
        .also(&["min-scale 5 > max-scale 2"]),
        scaling(
            "keda_min_named_as_written",
            "kind = \"keda\"\nmin_replicas = 5\nmax_replicas = 2\n",
        )
        .at(s, Some(20), Some("scaling.min_replicas"))
        .also(&["(5 > 2)"]),
        scaling(
            "ray_serve_tick_beyond_the_clock",
            "kind = \"ray_serve\"\nmax_replicas = 4\ncontrol_loop_interval_s = 1e300\n",
        )
        .at(s, Some(21), Some("scaling.control_loop_interval_s"))
        .also(&["must be from 1e-9 s", "got 1e300"]),
        scaling(
            "hpa_sync_period_not_a_whole_number",
            "kind = \"hpa\"\nmax_replicas = 4\nsync_period_s = 1e300\n",
        )
        .at(s, Some(21), Some("scaling.sync_period_s"))
        .also(&["expected u32"]),
        // A missing `kind` inside [workload] is not `workload.kind`.
        scenario_case(
            "arrival_without_kind",
            synthetic(
                "arrival = { kind = \"poisson\", rate_per_s = 2.0 }",
                "arrival = { rate_per_s = 2.0 }",
            ),
            &[],
        )
        .at(s, Some(7), Some("workload.arrival.kind"))
        .also(&["missing field `kind`"]),
        // A cv whose shape overflows failed at run time, without a line.
        scenario_case(
            "gamma_cv_too_small",
            synthetic(
                "arrival = { kind = \"poisson\", rate_per_s = 2.0 }",
                "arrival = { kind = \"gamma\", rate_per_s = 2.0, cv = 1e-200 }",
            ),
            &[],
        )
        .at(s, Some(7), Some("workload.arrival.cv"))
        .also(&["must be from 0.001 to 100"]),
    ]);
    // Accepted without a word before.
    cases.extend([
        scenario_case(
            "max_model_len_beyond_the_models_context",
            synthetic("max_num_seqs = 64", "max_model_len_tokens = 200000"),
            &[],
        )
        .at(s, Some(17), Some("deployment.engine.max_model_len_tokens"))
        .also(&["must be at most the context of llama-3.1-8b, 131072 tokens, got 200000"]),
        scenario_case(
            "duplicate_pool_names",
            format!("{SYNTHETIC_SCENARIO}[[pools]]\nname = \"a\"\n[[pools]]\nname = \"a\"\n"),
            &[],
        )
        .at(s, Some(21), Some("pools[1].name"))
        .also(&["`a` is also the name of pools[0]: pool names must differ"]),
        Case::new(
            "set_overridden_by_a_grid",
            &[
                "sweep",
                "scenario.toml",
                "--set",
                "deployment.replicas=3",
                "--grid",
                "deployment.replicas=1,2",
                "--out",
                "out",
            ],
        )
        .file("scenario.toml", SYNTHETIC_SCENARIO)
        .at("--grid deployment.replicas", None, None)
        .also(&["--set deployment.replicas=3 sets the same key, and the knob would override it"]),
    ]);
    // A whole number written as a float was "larger than the limit".
    cases.push(
        Case::new("mooncake_whole_float", &["run", "--trace", "trace.jsonl"])
            .file(
                "trace.jsonl",
                "{\"timestamp\": 0, \"input_length\": 5.0, \"output_length\": 1}\n",
            )
            .at("trace.jsonl", Some(1), Some("input_length"))
            .also(&["expected an integer token count, got 5.0"]),
    );
    cases
}

#[test]
fn a_byte_order_mark_is_accepted_in_jsonl_as_in_csv() {
    let record = "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 1}\n";
    let bom = format!("\u{feff}{record}");
    let out = crate::bad_input::run_ok(
        "bom-jsonl",
        &[("trace.jsonl", &bom)],
        &["run", "--trace", "trace.jsonl", "--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("summary JSON");
    assert_eq!(v["requests"]["arrived"], 1);
}

#[test]
fn a_seed_the_scenario_cannot_hold_is_refused_at_the_flag() {
    // `--seed` took any u64, and the scenario then refused a seed above
    // 2^63 − 1 as a string, blaming `seed` in the embedded quickstart.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(["run", "--seed", "18446744073709551615"])
        .output()
        .expect("run fleetsim");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("--seed") && err.contains("is not in 0..=9223372036854775807"),
        "{err}"
    );
    assert!(!err.contains("quickstart"), "{err}");
}

#[test]
fn misplaced_and_missing_errors_are_located() {
    let cases = cases();
    let theirs = crate::bad_input::cases();
    let mut names: Vec<&str> = cases.iter().chain(&theirs).map(|c| c.name).collect();
    names.sort_unstable();
    let total = names.len();
    names.dedup();
    assert_eq!(
        names.len(),
        total,
        "case names must be unique in both files"
    );
    let failures: Vec<String> = cases.iter().filter_map(|c| check(c).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn an_os_error_is_told_once() {
    // `plot` and `verify-policies` printed "…: No such file or directory
    // (os error 2): No such file or directory (os error 2)".
    let dir = crate::bad_input::scratch("os-error-once", "dir");
    for args in [
        &["plot", "missing"][..],
        &["verify-policies", "missing.json"],
        &["run", "missing.toml"],
        &["run", "--trace", "missing.csv"],
        &["trace", "stats", "missing.csv"],
        &["check", "--baseline", "missing.toml", "missing.toml"],
        &["merge", "--out", "merged", "missing"],
        &["compare", "missing.toml", "missing.toml"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_fleetsim"))
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("run fleetsim");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.matches("(os error").count(), 1, "{args:?}: {err}");
        assert!(err.contains("missing"), "{args:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
