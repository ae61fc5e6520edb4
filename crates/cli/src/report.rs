//! Human-readable tables and the `--out` directory.

use crate::scenario::Scenario;
use fleetsim_core::model_router::{ModelRouterSpec, RouteTarget};
use fleetsim_core::summary::Summary;
use fleetsim_core::RunResult;
use std::io::{self, Write};
use std::path::Path;

/// The run summary as a terminal table: the scenario line
/// ([`render_header`]), then the summary as it displays itself
/// (`impl Display for Summary`), so a library user printing a summary sees
/// the same table.
pub fn render_table(scenario: &Scenario, summary: &Summary) -> String {
    format!("{}{summary}", render_header(scenario, summary))
}

/// The table's first line: the scenario's name, what each deployment runs
/// on, and the seed. A fixed fleet says `2 × h100-sxm`; one that changes
/// says its range and where it started (`h100-sxm, autoscaled 1–8 replicas
/// (started with 2)`), since its starting count is not its size.
pub fn render_header(scenario: &Scenario, summary: &Summary) -> String {
    let fleets: Vec<String> = (scenario.deployments.iter().enumerate())
        .map(|(d, info)| {
            let (model, gpu, tp) = (&info.model, &info.gpu, info.tensor_parallel);
            match fleet_range(scenario, d) {
                Some((how, lo, hi)) => format!(
                    "{model} on {gpu} (TP{tp}), {how} {lo}–{hi} replicas (started with {})",
                    info.replicas
                ),
                None => format!("{model} on {} × {gpu} (TP{tp})", info.replicas),
            }
        })
        .collect();
    let routers: Vec<String> = (scenario.sim.model_routers.iter())
        .map(|m| format!("; {}", describe_model_router(scenario, m)))
        .collect();
    format!(
        "scenario   {}: {}{}, seed {}\n",
        scenario.name,
        fleets.join("; "),
        routers.concat(),
        summary.sim.seed
    )
}

/// A model router's rule in one phrase: `model router auto: input ≥ 2048
/// tokens → llama-70b, else llama-8b`, so the table says where requests
/// went.
fn describe_model_router(scenario: &Scenario, m: &ModelRouterSpec) -> String {
    let name = |t: RouteTarget| match t {
        RouteTarget::Deployment(d) => scenario.sim.deployments[usize::from(d)].name.to_string(),
        RouteTarget::Pipeline(p) => scenario.sim.pipelines[usize::from(p)].name.to_string(),
    };
    let mut parts: Vec<String> = Vec::new();
    for r in &m.routes {
        let w = &r.when;
        let mut when: Vec<String> = Vec::new();
        if let Some(t) = w.min_input_tokens {
            when.push(format!("input ≥ {t} tokens"));
        }
        if !w.classes.is_empty() {
            when.push(format!("class {}", w.classes.join(" or ")));
        }
        if let Some(d) = w.min_difficulty {
            when.push(format!("difficulty ≥ {d}"));
        }
        if let Some(f) = w.fraction {
            when.push(format!("a {} % split", f * 100.0));
        }
        parts.push(format!("{} → {}", when.join(" and "), name(r.to)));
    }
    parts.push(format!("else {}", name(m.default)));
    format!("model router {}: {}", m.name, parts.join(", "))
}

/// How deployment `d`'s fleet changes, and between which counts:
/// `("autoscaled", min, max)` with an autoscaler, `("scheduled", fewest,
/// most)` with a schedule, `None` for a fixed fleet.
fn fleet_range(scenario: &Scenario, d: usize) -> Option<(&'static str, u32, u32)> {
    if let Some(Some((config, _, _))) = scenario.autoscalers.get(d) {
        // Validated when the scenario was loaded; a config that does not
        // build shows as its starting count.
        let (lo, hi) = config.build().ok()?.replica_bounds();
        return Some(("autoscaled", lo, hi));
    }
    let spec = scenario.sim.deployments.get(d)?;
    let schedule = &spec.fleet.lifecycle.schedule;
    if schedule.is_empty() {
        return None;
    }
    let counts = schedule
        .iter()
        .map(|&(_, n)| n)
        .chain([spec.fleet.replicas]);
    let lo = counts.clone().min().unwrap_or(0);
    let hi = counts.max().unwrap_or(0);
    Some(("scheduled", lo, hi))
}

/// The summary as pretty JSON with a trailing newline.
pub fn summary_json(summary: &Summary) -> String {
    let mut s =
        serde_json::to_string_pretty(summary).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// Writes `summary.json`, `requests.csv`, `timeseries.csv` and
/// `replicas.csv` into `dir` as a set: into a sibling directory renamed
/// into place, replacing an earlier run's set ([`crate::out_dir`]). The
/// binary prepares the directory before the run instead
/// ([`crate::out_dir::OutDir::prepare`]), so a path it cannot write fails
/// first.
pub fn write_out_dir(dir: &Path, result: &RunResult) -> Result<(), crate::out_dir::OutDirError> {
    let out = crate::out_dir::OutDir::prepare(dir)?;
    out.write_run(result)?;
    out.commit()
}

/// Writes a file via a temporary sibling and a rename.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut io::BufWriter<std::fs::File>) -> io::Result<()>,
) -> io::Result<()> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    let file = std::fs::File::create(&tmp)?;
    let mut w = io::BufWriter::new(file);
    write(&mut w)?;
    w.flush()?;
    w.get_ref().sync_all()?;
    drop(w);
    std::fs::rename(&tmp, path)
}
