//! `fleetsim import` on broken manifests: the upstream fixtures with a
//! line deleted, duplicated, cut short or given a hostile value. Every
//! input ends with a scenario that loads or with an error; a bad value or
//! bad YAML is located (`file:line`), and nothing panics.
#![allow(clippy::unwrap_used)]

use fleetsim::k8s::{self, ImportOptions, K8sError};
use fleetsim::scenario;
use proptest::prelude::*;
use std::path::Path;

const FIXTURES: [&str; 6] = [
    "hpa-behavior.yaml",
    "keda-production-stack.yaml",
    "keda-scaledobject-spec.yaml",
    "knative-service.yaml",
    "kserve-huggingface.yaml",
    "vllm-deployment.yaml",
];

/// Values a field may be given: wrong types, out of range, unparsable,
/// YAML syntax of its own.
const HOSTILE: [&str; 14] = [
    "-1",
    "0",
    "1e400",
    "NaN",
    "18446744073709551616",
    "abc",
    "\"\"",
    "~",
    "[",
    "{a: 1}",
    "[1, 2]",
    "\"10%\"",
    "0.5s",
    "&anchor *anchor",
];

#[derive(Clone, Debug)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    Truncate(usize),
    /// The value after the line's first `:` becomes `HOSTILE[i]`.
    Hostile(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 0..HOSTILE.len()).prop_map(|(l, v)| Mutation::Hostile(l, v)),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let n = lines.len().max(1);
    match *m {
        Mutation::DeleteLine(i) => {
            lines.remove(i % n);
        }
        Mutation::DuplicateLine(i) => {
            let l = lines[i % n].clone();
            lines.insert(i % n, l);
        }
        Mutation::Truncate(i) => lines.truncate(i % n),
        Mutation::Hostile(i, v) => {
            let l = &mut lines[i % n];
            if let Some(colon) = l.find(':') {
                l.truncate(colon + 1);
                l.push(' ');
                l.push_str(HOSTILE[v]);
            }
        }
    }
    lines.join("\n") + "\n"
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 400,
        failure_persistence: None,
        .. ProptestConfig::default()
    })]

    #[test]
    fn broken_manifests_import_or_fail_with_a_located_error(
        which in 0..FIXTURES.len(),
        m in mutation(),
    ) {
        let name = FIXTURES[which];
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/k8s").join(name);
        let text = apply(&std::fs::read_to_string(&path).unwrap(), &m);
        let options = ImportOptions {
            model: Some("llama-3.1-8b".into()),
            gpu: Some("h100-sxm".into()),
            trace: None,
        };
        let sources = vec![(name.to_string(), text.clone())];
        let result = std::panic::catch_unwind(|| k8s::import_sources(&sources, &options));
        prop_assert!(result.is_ok(), "import panicked on\n{text}");
        match result.unwrap() {
            Ok(imported) => {
                // What the import writes loads as a scenario.
                let loaded = scenario::load_str(&imported.toml, "imported.toml", Path::new("."), &[]);
                prop_assert!(loaded.is_ok(), "{:?}\n{}", loaded.err(), imported.toml);
            }
            Err(e @ (K8sError::Field { .. } | K8sError::Yaml { .. })) => {
                let message = e.to_string();
                let located = message
                    .strip_prefix(&format!("{name}:"))
                    .and_then(|rest| rest.split(':').next())
                    .is_some_and(|line| line.parse::<usize>().is_ok_and(|l| l >= 1));
                prop_assert!(located, "not located: {message}\n{text}");
            }
            // Something absent from every manifest, or a scenario that
            // does not load (which names the fields its keys came from):
            // said in words, never empty.
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
