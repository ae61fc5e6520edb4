//! `fleetsim import` / `export` on manifests from upstream docs and
//! examples (`tests/fixtures/k8s/`, each citing its source): the values
//! each maps, what it lists as not mapped, located errors, that the
//! imported scenario runs, and import → export → import equality.

use crate::common::scratch_dir;
use fleetsim::k8s::{self, ExportOptions, ImportOptions, Imported, K8sError};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> (String, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/k8s")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    (name.to_string(), text)
}

fn options(model: Option<&str>, gpu: Option<&str>) -> ImportOptions {
    ImportOptions {
        model: model.map(str::to_string),
        gpu: gpu.map(str::to_string),
        trace: None,
    }
}

fn import(names: &[&str], options: &ImportOptions) -> Imported {
    let sources: Vec<_> = names.iter().map(|n| fixture(n)).collect();
    k8s::import_sources(&sources, options).unwrap_or_else(|e| panic!("{names:?}: {e}"))
}

/// A loaded scenario's autoscalers with their knobs, as the run builds
/// them.
fn autoscaler_configs(s: &fleetsim::scenario::Scenario) -> String {
    format!(
        "{:?}",
        s.autoscalers
            .iter()
            .map(|a| a.as_ref().map(|(c, _, _)| c))
            .collect::<Vec<_>>()
    )
}

fn table(toml: &str) -> toml::Table {
    toml.parse().unwrap_or_else(|e| panic!("{e}\n{toml}"))
}

/// `t` at a dotted path (`scaling.behavior.scaleDown`), `[i]` indexing
/// arrays.
fn at<'a>(t: &'a toml::Table, path: &str) -> &'a toml::Value {
    let mut parts = path.split('.');
    let first = parts.next().unwrap_or_default();
    let mut v = t
        .get(first)
        .unwrap_or_else(|| panic!("no {first} in {t:#?}"));
    for p in parts {
        v = match p.split_once('[') {
            Some((k, i)) => {
                let i: usize = i.trim_end_matches(']').parse().unwrap_or(0);
                &v[k][i]
            }
            None => v.get(p).unwrap_or_else(|| panic!("no {path} in {t:#?}")),
        };
    }
    v
}

fn unmapped_paths(imported: &Imported) -> Vec<String> {
    (imported.unmapped.iter())
        .map(|u| format!("{}:{}: {}", u.origin.file, u.origin.line, u.origin.path))
        .collect()
}

#[test]
fn hpa_with_behavior_maps_windows_policies_and_the_pods_metric() {
    let imported = import(
        &["vllm-deployment.yaml", "hpa-behavior.yaml"],
        &options(None, Some("h100-sxm")),
    );
    let t = table(&imported.toml);
    assert_eq!(at(&t, "scaling.kind").as_str(), Some("hpa"));
    assert_eq!(at(&t, "scaling.min_replicas").as_integer(), Some(1));
    assert_eq!(at(&t, "scaling.max_replicas").as_integer(), Some(10));
    let down = "scaling.behavior.scaleDown";
    assert_eq!(
        at(&t, &format!("{down}.stabilizationWindowSeconds")).as_integer(),
        Some(300)
    );
    let p = at(&t, &format!("{down}.policies[0]"));
    assert_eq!(p["type"].as_str(), Some("Percent"));
    assert_eq!(p["value"].as_integer(), Some(100));
    assert_eq!(p["periodSeconds"].as_integer(), Some(15));
    let up = "scaling.behavior.scaleUp";
    assert_eq!(at(&t, &format!("{up}.selectPolicy")).as_str(), Some("Max"));
    let p = at(&t, &format!("{up}.policies[1]"));
    assert_eq!(
        (p["type"].as_str(), p["value"].as_integer()),
        (Some("Pods"), Some(4))
    );
    let m = at(&t, "scaling.metrics[0]");
    assert_eq!(m["metric"].as_str(), Some("num_requests_waiting"));
    assert_eq!(m["target_average_value"].as_float(), Some(5.0));
    // The Deployment: model from `vllm serve`, flags from the shell line
    // (`--max_num_batched_tokens` in vLLM's underscore spelling).
    assert_eq!(at(&t, "deployment.model").as_str(), Some("mistral-7b"));
    assert_eq!(at(&t, "deployment.gpu").as_str(), Some("h100-sxm"));
    assert_eq!(
        at(&t, "deployment.engine.max_num_batched_tokens").as_integer(),
        Some(1024)
    );
    assert_eq!(
        at(&t, "deployment.engine.prefill").as_str(),
        Some("chunked")
    );
    // Each key says where it came from.
    assert!(
        imported.toml.contains(
            "stabilizationWindowSeconds = 300  # from hpa-behavior.yaml:37: \
             spec.behavior.scaleDown.stabilizationWindowSeconds"
        ),
        "{}",
        imported.toml
    );
    assert!(imported.toml.contains("duration_s = 300.0  # PLACEHOLDER"));
    // What is not mapped is listed: the cpu metric, a vLLM flag, the other
    // documents of the multi-document file.
    let paths = unmapped_paths(&imported);
    for expected in [
        "hpa-behavior.yaml:22: spec.metrics[0]",
        "vllm-deployment.yaml:60: spec.template.spec.containers[0].args[0]",
        "vllm-deployment.yaml:6: PersistentVolumeClaim mistral-7b",
        "vllm-deployment.yaml:20: Secret hf-token-secret",
        "vllm-deployment.yaml:72: spec.template.spec.containers[0].resources.limits.cpu",
        "vllm-deployment.yaml:85: spec.template.spec.containers[0].livenessProbe",
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "{expected} not in {paths:#?}"
        );
    }
    let cpu = &imported.unmapped[paths
        .iter()
        .position(|p| p.contains("metrics[0]"))
        .unwrap_or(0)];
    assert!(cpu.reason.contains("cpu"), "{}", cpu.reason);
    assert!(imported
        .toml
        .contains("#   hpa-behavior.yaml:22: spec.metrics[0]: Resource metric `cpu`"));
}

#[test]
fn keda_scaledobject_spec_maps_triggers_fallback_behavior_and_pause_annotations() {
    let imported = import(
        &["keda-scaledobject-spec.yaml"],
        &options(Some("llama-3.1-8b"), Some("h100-sxm")),
    );
    let t = table(&imported.toml);
    assert_eq!(at(&t, "scaling.kind").as_str(), Some("keda"));
    assert_eq!(at(&t, "scaling.polling_interval_s").as_integer(), Some(30));
    assert_eq!(at(&t, "scaling.cooldown_period_s").as_integer(), Some(300));
    assert_eq!(at(&t, "scaling.idle_replicas").as_integer(), Some(0));
    assert_eq!(at(&t, "scaling.fallback.replicas").as_integer(), Some(6));
    assert_eq!(at(&t, "scaling.fallback.behavior").as_str(), Some("static"));
    assert_eq!(at(&t, "scaling.paused_replicas").as_integer(), Some(0));
    assert_eq!(at(&t, "scaling.paused").as_bool(), Some(true));
    let hb = "scaling.hpa_behavior.scaleDown";
    assert_eq!(
        at(&t, &format!("{hb}.stabilizationWindowSeconds")).as_integer(),
        Some(300)
    );
    assert_eq!(
        at(&t, &format!("{hb}.policies[0]"))["type"].as_str(),
        Some("Percent")
    );
    // The label matcher is dropped (and listed); the rest is the query.
    assert_eq!(
        at(&t, "scaling.query").as_str(),
        Some("sum(rate(http_requests_total[2m]))")
    );
    assert_eq!(at(&t, "scaling.threshold").as_float(), Some(100.5));
    assert_eq!(at(&t, "scaling.activation_threshold").as_float(), Some(5.5));
    let paths = unmapped_paths(&imported);
    for expected in [
        "keda-scaledobject-spec.yaml:44: spec.triggers[0].metadata.query",
        "keda-scaledobject-spec.yaml:43: spec.triggers[0].metadata.serverAddress",
        "keda-scaledobject-spec.yaml:30: spec.advanced.restoreToOriginalReplicaCount",
        "keda-scaledobject-spec.yaml:32: spec.advanced.horizontalPodAutoscalerConfig.name",
        "keda-scaledobject-spec.yaml:11: metadata.annotations.scaledobject.keda.sh/transfer-hpa-ownership",
    ] {
        assert!(paths.iter().any(|p| p == expected), "{expected} not in {paths:#?}");
    }
    let label = imported
        .unmapped
        .iter()
        .find(|u| u.origin.path.ends_with("query"));
    assert!(label.is_some_and(|u| u.reason.contains("{deployment=\"my-deployment\"}")));
}

#[test]
fn knative_annotations_and_the_config_map_map_to_kpa_knobs() {
    let imported = import(&["knative-service.yaml"], &options(None, Some("h100-sxm")));
    let t = table(&imported.toml);
    assert_eq!(at(&t, "scaling.kind").as_str(), Some("kpa"));
    assert_eq!(at(&t, "scaling.target").as_float(), Some(50.0));
    assert_eq!(
        at(&t, "scaling.target_utilization_percentage").as_float(),
        Some(80.0)
    );
    assert_eq!(at(&t, "scaling.stable_window_s").as_integer(), Some(40));
    assert_eq!(
        at(&t, "scaling.panic_window_percentage").as_float(),
        Some(20.0)
    );
    assert_eq!(
        at(&t, "scaling.panic_threshold_percentage").as_float(),
        Some(150.0)
    );
    assert_eq!(at(&t, "scaling.scale_down_delay_s").as_integer(), Some(900));
    assert_eq!(at(&t, "scaling.min_replicas").as_integer(), Some(1));
    assert_eq!(at(&t, "scaling.max_replicas").as_integer(), Some(8));
    assert_eq!(
        at(&t, "scaling.container_concurrency").as_integer(),
        Some(64)
    );
    assert_eq!(at(&t, "deployment.replicas").as_integer(), Some(2));
    // config-autoscaler: scale to zero.
    assert_eq!(at(&t, "scaling.enable_scale_to_zero").as_bool(), Some(true));
    assert_eq!(
        at(&t, "scaling.scale_to_zero_grace_period_s").as_integer(),
        Some(40)
    );
    assert_eq!(
        at(&t, "scaling.scale_to_zero_pod_retention_period_s").as_integer(),
        Some(65)
    );
    assert_eq!(at(&t, "deployment.model").as_str(), Some("llama-3.1-8b"));
    assert_eq!(
        at(&t, "deployment.engine.max_num_seqs").as_integer(),
        Some(128)
    );
    assert_eq!(
        at(&t, "deployment.engine.gpu_memory_utilization").as_float(),
        Some(0.9)
    );
    let paths = unmapped_paths(&imported);
    assert!(
        paths.contains(
            &"knative-service.yaml:34: spec.template.spec.containers[0].image".to_string()
        ),
        "{paths:#?}"
    );
}

#[test]
fn kserve_needs_a_catalogue_model_and_reads_the_predictor_and_the_gke_label() {
    let sources = vec![fixture("kserve-huggingface.yaml")];
    let err = k8s::import_sources(&sources, &options(None, None))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("kserve-huggingface.yaml:28: spec.predictor.model.args[1]: model `meta-llama/meta-llama-3-8b-instruct` is not in the catalogue"),
        "{err}"
    );
    assert!(
        err.contains("llama-3.1-8b") && err.contains("mistral-7b"),
        "{err}"
    );
    let imported = import(
        &["kserve-huggingface.yaml"],
        &options(Some("llama-3.1-8b"), None),
    );
    let t = table(&imported.toml);
    assert_eq!(at(&t, "deployment.gpu").as_str(), Some("l4"));
    assert_eq!(at(&t, "scaling.kind").as_str(), Some("kpa"));
    assert_eq!(at(&t, "scaling.target").as_float(), Some(8.0));
    assert_eq!(at(&t, "scaling.min_replicas").as_integer(), Some(1));
    assert_eq!(at(&t, "scaling.max_replicas").as_integer(), Some(4));
    assert_eq!(at(&t, "scaling.stable_window_s").as_integer(), Some(120));
    let paths = unmapped_paths(&imported);
    assert!(
        paths.contains(&"kserve-huggingface.yaml:27: spec.predictor.model.args[0]".to_string()),
        "{paths:#?}"
    );
    // The flag as written, KServe's underscore spelling kept.
    let flag = imported
        .unmapped
        .iter()
        .find(|u| u.origin.path.ends_with("args[0]"));
    assert!(
        flag.is_some_and(|u| u.reason == "vLLM argument `--model_name=llama3` is not modelled"),
        "{flag:?}"
    );
    // Listed in file order.
    let lines: Vec<usize> = imported.unmapped.iter().map(|u| u.origin.line).collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{lines:?}");
}

#[test]
fn a_bad_field_is_an_error_naming_file_line_field_and_what_is_allowed() {
    let bad = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: x\n\
               spec:\n  maxReplicas: 4\n  behavior:\n    scaleDown:\n      policies:\n\
               \x20     - type: Percentage\n        value: 10\n        periodSeconds: 60\n";
    let sources = vec![("bad-hpa.yaml".to_string(), bad.to_string())];
    let err = k8s::import_sources(&sources, &options(Some("llama-3.1-8b"), Some("h100-sxm")));
    let err = err.unwrap_err();
    assert!(matches!(err, K8sError::Field { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "bad-hpa.yaml:10: spec.behavior.scaleDown.policies[0].type: `Percentage` is not allowed: Pods or Percent"
    );
    // A GPU label outside the catalogue, and no GPU at all.
    let (name, text) = fixture("kserve-huggingface.yaml");
    let text = text.replace("nvidia-l4", "nvidia-tesla-t4");
    let err = k8s::import_sources(
        &[(name.clone(), text)],
        &options(Some("llama-3.1-8b"), None),
    );
    let err = err.unwrap_err().to_string();
    assert!(err.starts_with("kserve-huggingface.yaml:22: spec.predictor.nodeSelector[\"cloud.google.com/gke-accelerator\"]: GPU `nvidia-tesla-t4` is not in the catalogue"), "{err}");
    assert!(err.contains("h100-sxm"), "{err}");
    let err = k8s::import_sources(&[fixture("vllm-deployment.yaml")], &options(None, None));
    let err = err.unwrap_err().to_string();
    assert!(
        err.contains("no GPU type") && err.contains("--gpu") && err.contains("a100-80gb"),
        "{err}"
    );
    // Not YAML at all.
    let err = k8s::import_sources(
        &[("x.yaml".into(), "a: [1,\n".into())],
        &options(None, None),
    );
    assert!(err.unwrap_err().to_string().starts_with("x.yaml:"));
}

#[test]
fn an_imported_scenario_runs_and_completes_requests() {
    for (names, opts) in [
        (
            vec!["keda-production-stack.yaml"],
            options(Some("llama-3.1-8b"), Some("h100-sxm")),
        ),
        (
            vec!["vllm-deployment.yaml", "hpa-behavior.yaml"],
            options(None, Some("h100-sxm")),
        ),
    ] {
        let imported = import(&names, &opts);
        let sets = ["workload.duration_s=60".to_string()];
        let s = fleetsim::scenario::load_str(&imported.toml, "imported", Path::new("."), &sets);
        let s = s.unwrap_or_else(|e| panic!("{names:?}: {e}"));
        let result = fleetsim::run::run(&s).unwrap_or_else(|e| panic!("{names:?}: {e}"));
        let r = &result.summary.requests;
        assert!(r.completed > 50, "{names:?}: {r:?}");
        assert_eq!(r.arrived, r.completed + r.rejected + r.timed_out + r.failed);
    }
}

/// Writes `toml` as a scenario file and exports it.
fn export(toml: &str, test: &str) -> (PathBuf, k8s::Exported) {
    let dir = scratch_dir(test);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("scenario.toml");
    std::fs::write(&path, toml).unwrap_or_else(|e| panic!("{e}"));
    let exported = k8s::export(&ExportOptions {
        scenario: path.clone(),
        kpa_as: Default::default(),
        stack: Default::default(),
    });
    (path, exported.unwrap_or_else(|e| panic!("{e}\n{toml}")))
}

/// The scenario's keys without the description (which names the manifest
/// kinds read) and without comments.
fn keys(toml: &str) -> toml::Table {
    let mut t = table(toml);
    t.remove("description");
    t
}

#[test]
fn import_export_import_gives_the_same_scenario() {
    let cases: [(&[&str], ImportOptions); 5] = [
        (
            &["vllm-deployment.yaml", "hpa-behavior.yaml"],
            options(None, Some("h100-sxm")),
        ),
        (
            &["keda-production-stack.yaml"],
            options(Some("llama-3.1-8b"), Some("h100-sxm")),
        ),
        (
            &["keda-scaledobject-spec.yaml"],
            options(Some("llama-3.1-8b"), Some("a100-80gb")),
        ),
        (&["knative-service.yaml"], options(None, Some("h200"))),
        (
            &["kserve-huggingface.yaml"],
            options(Some("llama-3.1-8b"), None),
        ),
    ];
    for (names, opts) in cases {
        let first = import(names, &opts);
        let (path, exported) = export(&first.toml, "k8s-roundtrip");
        // Every file names the scenario and the version that wrote it.
        for (file, text) in &exported.files {
            assert!(
                text.starts_with(&format!(
                    "# Generated by fleetsim {}",
                    env!("CARGO_PKG_VERSION")
                )),
                "{file}: {text}"
            );
            assert!(text.contains(&path.display().to_string()), "{file}");
        }
        let again = k8s::import_sources(&exported.files, &ImportOptions::default());
        let again = again.unwrap_or_else(|e| panic!("{names:?}: {e}\n{:#?}", exported.files));
        assert_eq!(
            keys(&again.toml),
            keys(&first.toml),
            "{names:?}\n{:#?}",
            exported.files
        );
        // Typed, too: the same scenario as the simulator reads it.
        let load = |t: &str| fleetsim::scenario::load_str(t, "s", Path::new("."), &[]);
        let (a, b) = (load(&first.toml), load(&again.toml));
        let (a, b) = (
            a.unwrap_or_else(|e| panic!("{e}")),
            b.unwrap_or_else(|e| panic!("{e}")),
        );
        let typed = |s: &fleetsim::scenario::Scenario| format!("{:?} {:?}", s.sim, s.autoscalers);
        assert_eq!(typed(&a), typed(&b), "{names:?}");
    }
}

#[test]
fn export_writes_the_manifest_kinds_and_refuses_other_autoscalers_with_a_located_error() {
    let imported = import(&["knative-service.yaml"], &options(None, Some("h100-sxm")));
    let (_, exported) = export(&imported.toml, "k8s-kpa");
    let names: Vec<&str> = exported.files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["service.yaml", "config-autoscaler.yaml"]);
    let service = &exported.files[0].1;
    assert!(
        service.contains("autoscaling.knative.dev/window: 40s"),
        "{service}"
    );
    assert!(
        service.contains("autoscaling.knative.dev/scale-down-delay: 900s"),
        "{service}"
    );
    assert!(service.contains("containerConcurrency: 64"), "{service}");
    assert!(
        service.contains("nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3"),
        "{service}"
    );
    assert!(exported.files[1]
        .1
        .contains("scale-to-zero-grace-period: 40s"));
    let ray = "name = \"r\"\n[workload]\nkind = \"synthetic\"\nduration_s = 10\n\
               arrival = { kind = \"poisson\", rate_per_s = 1.0 }\n\
               input_tokens = { kind = \"fixed\", tokens = 100 }\n\
               output_tokens = { kind = \"fixed\", tokens = 10 }\n\
               [deployment]\nmodel = \"llama-3.1-8b\"\ngpu = \"h100-sxm\"\nreplicas = 1\n\
               [scaling]\nkind = \"ray_serve\"\nmax_replicas = 4\n";
    let dir = scratch_dir("k8s-ray");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("ray.toml");
    std::fs::write(&path, ray).unwrap_or_else(|e| panic!("{e}"));
    let err = k8s::export(&ExportOptions {
        scenario: path,
        kpa_as: Default::default(),
        stack: Default::default(),
    })
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "ray.toml:13: scaling.kind: `ray_serve` has no manifest equivalent; export supports kinds: hpa, keda, kpa, fixed"
    );
}

#[test]
fn shipped_autoscaling_scenarios_export_and_import_back_to_the_same_autoscaler() {
    let dir = crate::common::workspace_root().join("scenarios/autoscaling");
    for name in ["hpa-gpu", "keda-queue", "kpa-concurrency"] {
        let path = dir.join(format!("{name}.toml"));
        let original = fleetsim::scenario::load_file(&path, &[]);
        let original = original.unwrap_or_else(|e| panic!("{name}: {e}"));
        let exported = k8s::export(&ExportOptions {
            scenario: path,
            kpa_as: Default::default(),
            stack: Default::default(),
        });
        let exported = exported.unwrap_or_else(|e| panic!("{name}: {e}"));
        let imported = k8s::import_sources(&exported.files, &ImportOptions::default());
        let imported = imported.unwrap_or_else(|e| panic!("{name}: {e}"));
        let back = fleetsim::scenario::load_str(&imported.toml, name, Path::new("."), &[]);
        let back = back.unwrap_or_else(|e| panic!("{name}: {e}"));
        let policy = autoscaler_configs;
        assert_eq!(
            policy(&back),
            policy(&original),
            "{name}\n{}",
            imported.toml
        );
        let (a, b) = (&original.deployments[0], &back.deployments[0]);
        assert_eq!(
            (
                &a.model,
                &a.gpu,
                a.tensor_parallel,
                a.replicas,
                a.max_num_seqs
            ),
            (
                &b.model,
                &b.gpu,
                b.tensor_parallel,
                b.replicas,
                b.max_num_seqs
            ),
            "{name}"
        );
        // What export could not carry is named with its line.
        assert!(
            exported
                .not_exported
                .iter()
                .any(|n| n.starts_with(&format!("{name}.toml:")) && n.contains(": pool:")),
            "{name}: {:#?}",
            exported.not_exported
        );
    }
}

#[test]
fn two_autoscalers_are_an_error_naming_both() {
    let sources = [
        fixture("vllm-deployment.yaml"),
        fixture("hpa-behavior.yaml"),
        fixture("keda-production-stack.yaml"),
    ];
    let err = k8s::import_sources(&sources, &options(None, Some("h100-sxm")));
    assert_eq!(
        err.unwrap_err().to_string(),
        "keda-production-stack.yaml:6: `vllm-scaledobject` is a second autoscaler \
         (HorizontalPodAutoscaler or ScaledObject) (the first is `mistral-7b` at \
         hpa-behavior.yaml:10); a scenario is one deployment: import one at a time"
    );
}

/// Runs the binary in `dir`, requires success; stdout and stderr.
fn fleetsim(dir: &Path, args: &[&str]) -> (String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "fleetsim {}: {stderr}",
        args.join(" ")
    );
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

#[test]
fn the_commands_import_run_and_export_end_to_end() {
    let dir = scratch_dir("k8s-cli");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/k8s");
    let trace = crate::common::workspace_root().join("traces/example-azure.csv");
    let (dep, hpa) = (
        fixtures.join("vllm-deployment.yaml"),
        fixtures.join("hpa-behavior.yaml"),
    );
    let (out, stderr) = fleetsim(
        &dir,
        &[
            "import",
            &dep.display().to_string(),
            &hpa.display().to_string(),
            "--gpu",
            "h100-sxm",
            "--trace",
            &trace.display().to_string(),
            "--out",
            "imported.toml",
        ],
    );
    assert!(out.is_empty(), "{out}");
    assert!(
        stderr.contains("not mapped: hpa-behavior.yaml:22: spec.metrics[0]: Resource metric `cpu`"),
        "{stderr}"
    );
    let toml = std::fs::read_to_string(dir.join("imported.toml")).unwrap_or_else(|e| panic!("{e}"));
    let t = table(&toml);
    assert_eq!(at(&t, "workload.kind").as_str(), Some("trace"));
    assert_eq!(
        at(&t, "workload.path").as_str(),
        Some(trace.display().to_string().as_str())
    );
    let (report, _) = fleetsim(&dir, &["run", "imported.toml", "--format", "json"]);
    let summary: serde_json::Value =
        serde_json::from_str(&report).unwrap_or_else(|e| panic!("{e}"));
    let completed = summary["requests"]["completed"].as_u64().unwrap_or(0);
    assert!(completed > 0, "{report}");
    let (written, stderr) = fleetsim(&dir, &["export", "imported.toml", "--out", "manifests"]);
    assert_eq!(written.lines().count(), 2, "{written}");
    assert!(stderr.contains("not exported: imported.toml:"), "{stderr}");
    let hpa =
        std::fs::read_to_string(dir.join("manifests/hpa.yaml")).unwrap_or_else(|e| panic!("{e}"));
    assert!(hpa.contains("stabilizationWindowSeconds: 300"), "{hpa}");
    assert!(hpa.contains("name: \"vllm:num_requests_waiting\""), "{hpa}");
}

#[test]
fn an_hpa_with_no_observed_metric_gets_a_marked_placeholder() {
    let (name, text) = fixture("hpa-behavior.yaml");
    let cut = text.find("  - type: Pods").unwrap_or(text.len());
    let end = text.find("  behavior:").unwrap_or(text.len());
    let text = format!("{}{}", &text[..cut], &text[end..]);
    let sources = [fixture("vllm-deployment.yaml"), (name, text)];
    let imported = k8s::import_sources(&sources, &options(None, Some("h100-sxm")));
    let imported = imported.unwrap_or_else(|e| panic!("{e}"));
    let line = imported.toml.lines().find(|l| l.starts_with("metrics = "));
    assert!(
        line.is_some_and(|l| l.contains("PLACEHOLDER (no metric the simulator observes)")),
        "{}",
        imported.toml
    );
}

#[test]
fn damaged_manifests_give_located_errors_not_panics() {
    let all = [
        "vllm-deployment.yaml",
        "hpa-behavior.yaml",
        "keda-production-stack.yaml",
        "keda-scaledobject-spec.yaml",
        "knative-service.yaml",
        "kserve-huggingface.yaml",
    ];
    let opts = options(Some("llama-3.1-8b"), Some("h100-sxm"));
    let mut located = 0;
    for name in all {
        let (_, text) = fixture(name);
        let lines: Vec<&str> = text.lines().collect();
        // Each line dropped in turn, then each line's value replaced by a
        // list: every outcome is a scenario or an error, never a panic.
        for i in 0..lines.len() {
            let dropped: String = (lines.iter().enumerate())
                .filter(|(j, _)| *j != i)
                .map(|(_, l)| format!("{l}\n"))
                .collect();
            let listed: String = (lines.iter().enumerate())
                .map(|(j, l)| match l.split_once(": ") {
                    Some((k, _)) if j == i => format!("{k}: [1, [2]]\n"),
                    _ => format!("{l}\n"),
                })
                .collect();
            for damaged in [dropped, listed] {
                let result = k8s::import_sources(&[(name.to_string(), damaged)], &opts);
                if let Err(e @ (K8sError::Field { .. } | K8sError::Yaml { .. })) = result {
                    assert!(e.to_string().starts_with(&format!("{name}:")), "{e}");
                    located += 1;
                }
            }
        }
    }
    assert!(located > 20, "{located}");
}

#[test]
fn a_kpa_scenario_exports_as_a_kserve_inference_service_and_imports_back() {
    let cases = [
        (
            crate::common::workspace_root().join("scenarios/autoscaling/kpa-concurrency.toml"),
            "kpa-concurrency",
        ),
        (
            export_path(
                &import(&["knative-service.yaml"], &options(None, Some("h100-sxm"))).toml,
                "k8s-isvc",
            ),
            "knative fixture",
        ),
    ];
    for (path, name) in cases {
        let original = fleetsim::scenario::load_file(&path, &[]).unwrap_or_else(|e| panic!("{e}"));
        let exported = k8s::export(&ExportOptions {
            scenario: path,
            kpa_as: k8s::KpaManifest::InferenceService,
            stack: Default::default(),
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let isvc = &exported.files[0];
        assert_eq!(isvc.0, "inferenceservice.yaml", "{name}");
        for needle in [
            "kind: InferenceService",
            "serving.kserve.io/deploymentMode: Serverless",
            "minReplicas:",
            "maxReplicas:",
            "scaleTarget:",
        ] {
            assert!(isvc.1.contains(needle), "{name}: {needle}\n{}", isvc.1);
        }
        // Replicas and target are KServe fields, not annotations.
        assert!(
            !isvc.1.contains("autoscaling.knative.dev/min-scale"),
            "{}",
            isvc.1
        );
        let back = k8s::import_sources(&exported.files, &ImportOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}\n{}", isvc.1));
        let back = fleetsim::scenario::load_str(&back.toml, name, Path::new("."), &[])
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let policy = autoscaler_configs;
        assert_eq!(policy(&back), policy(&original), "{name}");
        assert_eq!(
            back.deployments[0].gpu, original.deployments[0].gpu,
            "{name}"
        );
    }
}

/// Writes `toml` as a scenario file and returns its path.
fn export_path(toml: &str, test: &str) -> PathBuf {
    export(toml, test).0
}

#[test]
fn each_of_several_deployments_exports_as_its_own_workload() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/two-models.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let exported = k8s::export(&ExportOptions {
        scenario: path.clone(),
        kpa_as: Default::default(),
        stack: Default::default(),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = exported.files.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        names,
        ["llama-3-8b-deployment.yaml", "llama-3-70b-deployment.yaml"]
    );
    // Each file imports back to its own deployment's model and degree.
    for ((file, yaml), (model, tp)) in exported
        .files
        .iter()
        .zip([("llama-3.1-8b", 1), ("llama-3.1-70b", 4)])
    {
        let imported = k8s::import_sources(
            &[(file.clone(), yaml.clone())],
            &options(None, Some("h100-sxm")),
        )
        .unwrap_or_else(|e| panic!("{file}: {e}"));
        let t = table(&imported.toml);
        assert_eq!(at(&t, "deployment.model").as_str(), Some(model), "{file}");
        let got_tp = t["deployment"]
            .get("tensor_parallel")
            .map_or(1, |v| v.as_integer().unwrap_or(0));
        assert_eq!(got_tp, tp, "{file}");
    }
    // A deployment's own router and queue are listed at their lines, under
    // the entry they belong to.
    let line_of = |needle: &str| {
        text.lines()
            .position(|l| l.trim() == needle)
            .map(|i| i + 1)
            .unwrap_or_else(|| panic!("{needle}"))
    };
    let router = format!(
        "two-models.toml:{}: deployments[0].router:",
        line_of("[deployments.router]")
    );
    assert!(
        exported.not_exported.iter().any(|n| n.starts_with(&router)),
        "{router} not in {:?}",
        exported.not_exported
    );
    // An autoscaler inside an entry that export cannot write is an error
    // at that entry's key.
    let wva =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/autoscaling/wva-variants.toml");
    let e = k8s::export(&ExportOptions {
        scenario: wva,
        kpa_as: Default::default(),
        stack: Default::default(),
    })
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("wva-variants.toml:")
            && e.contains(": deployments[0].scaling.kind: `llmd_wva`"),
        "{e}"
    );
}

#[test]
fn external_metrics_on_observed_signals_import_and_export() {
    let hpa = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: x\n\
               spec:\n  maxReplicas: 6\n  metrics:\n\
               \x20 - type: External\n    external:\n      metric:\n        name: ttft_p95_s\n\
               \x20     target:\n        type: Value\n        value: 500m\n\
               \x20 - type: External\n    external:\n      metric:\n        name: vllm:request_rate\n\
               \x20     target:\n        type: AverageValue\n        averageValue: \"4\"\n\
               \x20 - type: External\n    external:\n      metric:\n        name: queue_messages_ready\n\
               \x20     target:\n        type: AverageValue\n        averageValue: \"30\"\n\
               \x20 - type: Object\n    object:\n      metric:\n        name: requests-per-second\n\
               \x20     describedObject: { apiVersion: networking.k8s.io/v1, kind: Ingress, name: main }\n\
               \x20     target:\n        type: Value\n        value: 10k\n";
    let sources = vec![("ext-hpa.yaml".to_string(), hpa.to_string())];
    let imported = k8s::import_sources(&sources, &options(Some("llama-3.1-8b"), Some("h100-sxm")))
        .unwrap_or_else(|e| panic!("{e}"));
    let t = table(&imported.toml);
    let metrics = at(&t, "scaling.metrics")
        .as_array()
        .unwrap_or_else(|| panic!("{t}"));
    assert_eq!(metrics.len(), 3, "{metrics:?}");
    assert_eq!(metrics[0]["metric"].as_str(), Some("ttft_p95_s"));
    assert_eq!(metrics[0]["target_value"].as_float(), Some(0.5));
    assert_eq!(metrics[1]["metric"].as_str(), Some("request_rate"));
    assert_eq!(metrics[1]["target_average_value"].as_float(), Some(4.0));
    // The HPA walkthrough's Object metric: the Ingress's request rate.
    assert_eq!(metrics[2]["metric"].as_str(), Some("request_rate"));
    assert_eq!(metrics[2]["target_value"].as_float(), Some(10_000.0));
    // The unobserved External metric and the Object metric's described
    // object are listed at their lines, not dropped.
    let unmapped = unmapped_paths(&imported);
    assert!(
        unmapped.iter().any(|u| u.ends_with("spec.metrics[2]"))
            && unmapped
                .iter()
                .any(|u| u.contains("spec.metrics[3].object.describedObject")),
        "{unmapped:?}"
    );
    // Exported back, the three come out as External metrics and import to
    // the same scenario metrics.
    let (_, exported) = export(&imported.toml, "k8s-external");
    let (_, hpa_yaml) = exported
        .files
        .iter()
        .find(|(f, _)| f == "hpa.yaml")
        .unwrap_or_else(|| panic!("{:?}", exported.files));
    assert_eq!(hpa_yaml.matches("type: External").count(), 3, "{hpa_yaml}");
    let again = k8s::import_sources(
        &[("hpa.yaml".to_string(), hpa_yaml.clone())],
        &options(Some("llama-3.1-8b"), Some("h100-sxm")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        at(&table(&again.toml), "scaling.metrics"),
        at(&t, "scaling.metrics")
    );
    // A target the model cannot use is located.
    let bad = hpa.replace("value: 500m", "value: \"0\"");
    let e = k8s::import_sources(
        &[("ext-hpa.yaml".to_string(), bad)],
        &options(Some("llama-3.1-8b"), Some("h100-sxm")),
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("ext-hpa.yaml:14: "), "{e}");
}

/// A scenario exported for llm-d and for Dynamo: the degree, replicas,
/// engine flags and GPU type land in each stack's own fields, llm-d's
/// HPA aims at the chart's decode Deployment, and what a stack cannot
/// carry is located.
#[test]
fn export_writes_llm_d_values_and_a_dynamo_graph() {
    let scenario = "name = \"stacks\"\n[workload]\nkind = \"synthetic\"\nduration_s = 60\n\
                    arrival = { kind = \"poisson\", rate_per_s = 1.0 }\n\
                    input_tokens = { kind = \"fixed\", tokens = 100 }\n\
                    output_tokens = { kind = \"fixed\", tokens = 10 }\n\
                    [deployment]\nmodel = \"llama-3.1-70b\"\ngpu = \"h100-sxm\"\ntensor_parallel = 4\nreplicas = 3\n\
                    [deployment.engine]\nmax_num_seqs = 128\n\
                    [scaling]\nkind = \"hpa\"\nmax_replicas = 6\n";
    let dir = scratch_dir("k8s-stacks");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("stacks.toml");
    std::fs::write(&path, scenario).unwrap_or_else(|e| panic!("{e}"));
    let export_as = |stack, text: &str| {
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
        k8s::export(&ExportOptions {
            scenario: path.clone(),
            kpa_as: Default::default(),
            stack,
        })
    };
    let yaml = |text: &str| {
        yaml_rust2::YamlLoader::load_from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"))[0]
            .clone()
    };
    // llm-d: Helm values plus the HPA on `<name>-decode`.
    let llmd = export_as(k8s::Stack::LlmD, scenario).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = llmd.files.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(names, ["llm-d-values.yaml", "hpa.yaml"]);
    let values = yaml(&llmd.files[0].1);
    assert_eq!(values["fullnameOverride"].as_str(), Some("stacks"));
    assert_eq!(
        values["modelArtifacts"]["uri"].as_str(),
        Some("hf://meta-llama/Llama-3.1-70B-Instruct")
    );
    let decode = &values["decode"];
    assert_eq!(decode["replicas"].as_i64(), Some(3));
    assert_eq!(decode["parallelism"]["tensor"].as_i64(), Some(4));
    assert_eq!(
        decode["acceleratorTypes"]["labelValues"][0].as_str(),
        Some("NVIDIA-H100-80GB-HBM3")
    );
    // The chart's vllmServe adds the model and the degree; the container
    // carries the engine flags alone.
    let args: Vec<&str> = (decode["containers"][0]["args"].as_vec().unwrap().iter())
        .filter_map(|a| a.as_str())
        .collect();
    assert_eq!(args, ["--max-num-seqs", "128"]);
    assert_eq!(values["prefill"]["create"].as_bool(), Some(false));
    let hpa = yaml(&llmd.files[1].1);
    assert_eq!(
        hpa["spec"]["scaleTargetRef"]["name"].as_str(),
        Some("stacks-decode")
    );
    assert_eq!(hpa["spec"]["maxReplicas"].as_i64(), Some(6));
    // Dynamo: one graph; its planner is not a scenario kind, so the
    // autoscaler is listed, located.
    let dynamo = export_as(k8s::Stack::Dynamo, scenario).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dynamo.files.len(), 1);
    assert_eq!(dynamo.files[0].0, "dynamo-graph.yaml");
    let graph = yaml(&dynamo.files[0].1);
    assert_eq!(graph["kind"].as_str(), Some("DynamoGraphDeployment"));
    let worker = &graph["spec"]["services"]["VllmWorker"];
    assert_eq!(worker["replicas"].as_i64(), Some(3));
    assert_eq!(worker["resources"]["limits"]["gpu"].as_str(), Some("4"));
    let args: Vec<&str> = (worker["extraPodSpec"]["mainContainer"]["args"]
        .as_vec()
        .unwrap()
        .iter())
    .filter_map(|a| a.as_str())
    .collect();
    assert_eq!(
        args,
        [
            "--model",
            "meta-llama/Llama-3.1-70B-Instruct",
            "--tensor-parallel-size",
            "4",
            "--max-num-seqs",
            "128"
        ]
    );
    assert!(
        dynamo
            .not_exported
            .iter()
            .any(|n| n.starts_with("stacks.toml:16: scaling.kind: Dynamo")),
        "{:?}",
        dynamo.not_exported
    );
    // Knative's KPA has no llm-d equivalent: a located error.
    let kpa = scenario.replace("kind = \"hpa\"", "kind = \"kpa\"");
    let e = export_as(k8s::Stack::LlmD, &kpa).unwrap_err().to_string();
    assert!(e.starts_with("stacks.toml:16: scaling.kind: `kpa`"), "{e}");
}
