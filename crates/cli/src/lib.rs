//! fleetsim: simulate autoscaled LLM inference fleets.
//!
//! This crate is the front end: scenario files ([`scenario`]), opening
//! workloads from files ([`workload`]), running ([`run`]) and reports
//! ([`report`]); charts ([`plot`]); knob sweeps ([`sweep`]); the capacity
//! planner ([`plan`]); notebooks' rich display ([`notebook`], over
//! [`table`]); trace
//! statistics ([`trace_stats`]); the headline metrics ([`headline`]) with
//! paired comparisons ([`compare`]) and baseline checks ([`check`]);
//! Kubernetes manifests in and out ([`k8s`]). It
//! re-exports the engine ([`core`], `fleetsim-core`) and the policies
//! ([`policies`], `fleetsim-policies`), so a notebook needs a single
//! dependency.
//!
//! The library and the `fleetsim` binary are split: every command is a
//! function of a plain options struct ([`compare::CompareOptions`],
//! [`check::CheckOptions`], [`plot::PlotOptions`], [`plan::PlanOptions`],
//! a sweep's [`sweep::SweepSpec`] and [`sweep::RunOptions`]) that returns
//! a value or a typed error and prints nothing; a sweep and a plan report
//! progress through a callback. Argument parsing (clap), error reports (anyhow) and the
//! progress bar (indicatif) belong to the binary, behind the default
//! feature `cli`. A notebook or another crate that only calls the library
//! can leave them out:
//!
//! ```toml
//! [dependencies]
//! fleetsim = { path = "crates/cli", default-features = false }
//! ```
//!
//! Two more features come with `cli` and can be added alone: `parallel`
//! (sweeps, comparisons, checks and plans on every core, through rayon;
//! without it they run one after another with the same results) and `png`
//! (PNG charts; SVG needs nothing).
//!
//! A scenario is a value to work with ([`scenario::Scenario`]): load it,
//! change keys with typed values, run it, sweep it in memory, compare it
//! (docs/notebooks.md):
//!
//! ```
//! use fleetsim::scenario::Scenario;
//! use fleetsim::sweep::Knob;
//! let mut s = Scenario::from_toml_str(fleetsim::scenario::QUICKSTART_TOML).unwrap();
//! s.set("workload.duration_s", 20).unwrap();
//! let table = s.sweep(&[Knob::grid("deployment.replicas", [1, 2])], 1).unwrap();
//! assert_eq!(table.candidates.len(), 2);
//! let bigger = s.with("deployment.replicas", 3).unwrap();
//! let comparison = s.compare(&bigger, &[1, 2]).unwrap();
//! assert_eq!(comparison.b.sets, ["workload.duration_s=20", "deployment.replicas=3"]);
//! ```
//!
//! ```
//! use fleetsim::scenario;
//! // The embedded quickstart: a synthetic workload on a small H100 fleet.
//! let s = scenario::load_str(scenario::QUICKSTART_TOML, "quickstart", std::path::Path::new("."),
//!     &["workload.duration_s=30".to_string()]).unwrap();
//! let result = fleetsim::run::run(&s).unwrap();
//! let r = &result.summary.requests;
//! assert_eq!(r.arrived, r.completed + r.rejected + r.timed_out + r.failed);
//! assert!(result.summary.latency.ttft_ms.p50 > 0.0);
//! // What `fleetsim run` prints, as a string.
//! let table = fleetsim::report::render_table(&s, &result.summary);
//! assert!(table.starts_with("scenario   quickstart"));
//! // Under its scenario line, the table is the summary's own `Display`.
//! assert!(table.ends_with(&result.summary.to_string()));
//! ```

pub use fleetsim_core as core;
pub use fleetsim_policies as policies;

pub mod check;
pub mod compare;
pub mod headline;
pub mod k8s;
pub mod notebook;
pub mod out_dir;
pub mod plan;
pub mod plot;
pub mod report;
pub mod run;
pub mod scenario;
pub mod sweep;
pub mod table;
pub mod trace_stats;
pub mod verify;
pub mod workload;

#[cfg(test)]
mod tests {
    //! The library/binary split: clap, anyhow and indicatif belong to the
    //! `fleetsim` binary alone, and the library never prints.
    #![allow(clippy::unwrap_used)]

    use std::path::Path;

    const BINARY_ONLY: [&str; 3] = ["clap", "anyhow", "indicatif"];

    #[test]
    fn binary_only_dependencies_are_optional_and_enabled_by_cli_alone() {
        let manifest: toml::Table = include_str!("../Cargo.toml").parse().unwrap();
        let deps = manifest["dependencies"].as_table().unwrap();
        for name in BINARY_ONLY {
            let optional = deps.get(name).and_then(|d| d.get("optional"));
            assert_eq!(
                optional.and_then(toml::Value::as_bool),
                Some(true),
                "[dependencies] {name} must be `optional = true`"
            );
        }
        let features = manifest["features"].as_table().unwrap();
        let list = |feature: &str| -> Vec<&str> {
            (features[feature].as_array().unwrap().iter())
                .map(|v| v.as_str().unwrap())
                .collect()
        };
        assert_eq!(list("default"), ["cli"]);
        let cli = list("cli");
        for (feature, _) in features {
            for enabled in list(feature) {
                let dep = enabled.trim_start_matches("dep:");
                let dep = dep.split(['/', '?']).next().unwrap_or(dep);
                if BINARY_ONLY.contains(&dep) {
                    assert_eq!(feature, "cli", "feature `{feature}` enables {enabled}");
                }
            }
        }
        for name in BINARY_ONLY {
            assert!(cli.contains(&format!("dep:{name}").as_str()), "{cli:?}");
        }
        let bins = manifest["bin"].as_array().unwrap();
        let fleetsim = (bins.iter())
            .find(|b| b["name"].as_str() == Some("fleetsim"))
            .unwrap();
        assert_eq!(
            fleetsim["required-features"].as_array().unwrap(),
            &vec![toml::Value::from("cli")]
        );
    }

    /// Every `.rs` file under `dir`, skipping `skip`.
    fn sources(dir: &Path, skip: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path == skip {
                continue;
            }
            if path.is_dir() {
                sources(&path, skip, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn the_library_neither_prints_nor_uses_binary_only_crates() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &src.join("bin"), &mut files);
        // evcxr's display protocol is printing: its one implementation.
        files.retain(|f| !f.ends_with("notebook.rs"));
        assert!(files.len() > 10, "{files:?}");
        let forbidden = [
            "print!(",
            "println!(",
            "io::stdout",
            "io::stderr",
            "clap::",
            "anyhow",
            "indicatif",
        ];
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            // Unit tests (the rest of a file from `#[cfg(test)]`) may print.
            let lines = text.lines().take_while(|l| l.trim() != "#[cfg(test)]");
            for (i, line) in lines.enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") {
                    continue;
                }
                for f in forbidden {
                    assert!(
                        !code.contains(f),
                        "{}:{}: `{f}` belongs in the binary (src/bin/fleetsim)",
                        file.display(),
                        i + 1
                    );
                }
            }
        }
    }
}
