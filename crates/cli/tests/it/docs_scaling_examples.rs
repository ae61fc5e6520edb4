//! Every `[scaling]` example in docs/autoscalers.md ("Using them in a
//! scenario") loads as part of a scenario (parsed and validated as a run
//! would), every autoscaler kind the section documents has one, and each
//! HPA example in the Kubernetes spelling reads as a snake_case twin shown
//! next to it.

use crate::bad_input::SYNTHETIC_SCENARIO;
use fleetsim_policies::AutoscalerConfig;
use std::path::Path;

const DOC: &str = include_str!("../../../../docs/autoscalers.md");

/// The TOML blocks holding a `[scaling]` table, in document order.
fn scaling_examples() -> Vec<&'static str> {
    let section = DOC
        .split("## Using them in a scenario")
        .nth(1)
        .expect("docs/autoscalers.md has a \"Using them in a scenario\" section");
    (section.split("```toml\n").skip(1))
        .filter_map(|rest| rest.split("```").next())
        .filter(|block| block.lines().any(|l| l.trim() == "[scaling]"))
        .collect()
}

/// The example's autoscaler, as a scenario using it gets it.
fn load(example: &str) -> AutoscalerConfig {
    let text = format!("{SYNTHETIC_SCENARIO}{example}");
    let scenario = fleetsim::scenario::load_str(&text, "docs/autoscalers.md", Path::new("."), &[])
        .unwrap_or_else(|e| panic!("{e}\n{example}"));
    match scenario.autoscalers.into_iter().next() {
        Some(Some((config, _, _))) => config,
        _ => panic!("no autoscaler:\n{example}"),
    }
}

/// Written with a key only the Kubernetes spelling has.
fn kubernetes_spelled(example: &str) -> bool {
    [
        "scaleUp",
        "scaleDown",
        "stabilizationWindowSeconds",
        "periodSeconds",
    ]
    .iter()
    .any(|k| example.contains(k))
}

#[test]
fn every_scaling_example_in_the_docs_loads() {
    let examples = scaling_examples();
    let configs: Vec<AutoscalerConfig> = examples.iter().map(|e| load(e)).collect();
    let mut kinds: Vec<&str> = configs.iter().map(AutoscalerConfig::kind).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let wanted = [
        "aibrix_apa",
        "aibrix_kpa",
        "concurrency",
        "hpa",
        "keda",
        "kpa",
        "llmd_wva",
        "ray_serve",
    ];
    for kind in wanted {
        assert!(kinds.contains(&kind), "no `{kind}` example: {kinds:?}");
    }
    let mut twins = 0;
    for (example, config) in examples.iter().zip(&configs) {
        if config.kind() != "hpa" || !kubernetes_spelled(example) {
            continue;
        }
        let twin = (examples.iter().zip(&configs))
            .find(|(other, c)| !kubernetes_spelled(other) && *c == config);
        assert!(twin.is_some(), "no snake_case twin of:\n{example}");
        twins += 1;
    }
    assert!(twins >= 1, "no HPA example in the Kubernetes spelling");
}

#[test]
fn every_upstream_autoscaler_example_sits_beside_its_upstream_manifest() {
    // Each `### `kind`` subsection of "Using them in a scenario" for an
    // autoscaler that mirrors an upstream one shows the upstream manifest
    // (YAML) next to the `[scaling]` example; `concurrency` is fleetsim's
    // own and has none.
    let section = DOC.split("## Using them in a scenario").nth(1).unwrap();
    let section = section.split("\n## ").next().unwrap();
    let upstream = [
        "`hpa`",
        "`kpa`",
        "`keda`",
        "`ray_serve`",
        "`aibrix_apa`",
        "`llmd_wva`",
    ];
    for kind in upstream {
        let sub = (section.split("\n### ").skip(1))
            .find(|s| s.starts_with(kind))
            .unwrap_or_else(|| panic!("no subsection for {kind}"));
        let has = |fence: &str| sub.contains(&format!("```{fence}\n"));
        assert!(has("toml") && has("yaml"), "{kind}: example and manifest");
    }
}
