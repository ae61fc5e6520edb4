//! The command handlers other than `sweep` and `merge`: each turns its
//! arguments into library options, calls the library, prints the result
//! through [`output::print`] and returns what decides the exit status.

use crate::args::{
    CheckArgs, CompareArgs, CompareFormat, ExportArgs, Format, ImportArgs, PlanArgs, PlotArgs,
    RunArgs,
};
use crate::output;
use anyhow::{Context, Result};
use fleetsim::out_dir::{OutDir, RequestsFile};
use fleetsim::scenario::{self, Scenario};
use fleetsim::{report, run, trace_stats};
use fleetsim_core::engine::Records;
use fleetsim_core::output::RecordNames;
use std::path::Path;

/// `fleetsim run`.
pub fn run(args: &RunArgs) -> Result<()> {
    let scenario = load_scenario(args)?;
    let streaming = scenario.output.records == Records::Stream;
    // Before the run, so a directory that cannot be written fails at once.
    let out = args.out.as_deref().map(OutDir::prepare).transpose()?;
    // Streaming, requests.csv is written row by row as requests end.
    let wanted = scenario.output.requests_csv && !args.no_requests_csv;
    let requests = match (&out, wanted, streaming) {
        (_, false, _) => RequestsFile::Skipped,
        (Some(_), true, true) => RequestsFile::Streamed,
        _ => RequestsFile::FromRecords,
    };
    let sink = match (&out, requests) {
        (Some(out), RequestsFile::Streamed) => {
            Some(out.requests_sink(RecordNames::of_config(&scenario.sim))?)
        }
        _ => None,
    };
    // A run can stop on what the scenario asks for (more requests or
    // replicas than a run holds, a time beyond the clock): name the file.
    let (display, progress) = crate::progress::RunProgressDisplay::new(args.progress);
    let result = run::run_timed_observed(&scenario, sink, progress);
    display.finish();
    let result = result.with_context(|| match &args.scenario {
        Some(path) => path.display().to_string(),
        None => "<embedded quickstart>".to_string(),
    })?;
    for w in &result.warnings {
        eprintln!("warning: {w}");
    }
    if let Some(out) = out {
        out.write_run_with(&result, requests)?;
        if args.plot {
            let data = fleetsim::plot::RunData::from_result(&result);
            let format = args.plot_format.into();
            fleetsim::plot::write_run_charts(&data, &scenario.name, out.path(), format)?;
        }
        out.commit()?;
    }
    output::print(&match args.format {
        Format::Table => report::render_table(&scenario, &result.summary),
        Format::Json => report::summary_json(&result.summary),
    })
}

/// The scenario of `fleetsim run`: the file (or the embedded quickstart)
/// with `--set` and `--seed`, its workload replaced by `--trace`.
fn load_scenario(args: &RunArgs) -> Result<Scenario> {
    let mut sets = args.sets.clone();
    if let Some(seed) = args.seed {
        sets.push(format!("seed={seed}"));
    }
    let mut s = match &args.scenario {
        Some(path) => scenario::load_file(path, &sets)?,
        None => scenario::load_str(
            scenario::QUICKSTART_TOML,
            "<embedded quickstart>",
            Path::new("."),
            &sets,
        )?,
    };
    if let Some(trace) = &args.trace {
        s.replace_workload_with_trace(trace, args.sort)?;
    }
    Ok(s)
}

/// `fleetsim plan`: the steps shown on stderr when it is a terminal,
/// then the plan.
pub fn plan(args: &PlanArgs) -> Result<()> {
    use std::io::IsTerminal;
    let terminal = std::io::stderr().is_terminal();
    let mut progress = |step: &str| {
        if terminal {
            eprintln!("plan: {step}");
        }
    };
    let options = args.options();
    let plan = fleetsim::plan::plan(&options, &mut progress)?;
    if let Some(path) = &args.write_scenario {
        let Some(verdict) = &plan.verdict else {
            anyhow::bail!(
                "--write-scenario {}: no plan met every SLA target, so there is no verdict to write",
                path.display()
            );
        };
        fleetsim::plan::verdict::write_scenario(verdict, &options, path)?;
        eprintln!("plan: the verdict's scenario is in {}", path.display());
    }
    if let Some(dir) = &args.plot {
        for path in fleetsim::plot::write_plan_charts(&plan, dir, args.plot_format.into())? {
            eprintln!("plan: chart {}", path.display());
        }
    }
    output::print(&match args.format {
        Format::Table => fleetsim::plan::render::render(&plan),
        Format::Json => fleetsim::plan::render::to_json(&plan),
    })
}

/// `fleetsim trace stats`.
pub fn trace_stats(file: &Path, format: Format) -> Result<()> {
    let (detected, stats) = trace_stats::read(file)?;
    output::print(&match format {
        Format::Table => trace_stats::render_report(file, detected, &stats),
        Format::Json => trace_stats::to_json(&stats),
    })
}

/// `fleetsim compare`.
pub fn compare(args: &CompareArgs) -> Result<()> {
    let comparison = fleetsim::compare::compare_files(&args.options())?;
    for w in &comparison.warnings {
        eprintln!("warning: {w}");
    }
    output::print(&match args.format {
        CompareFormat::Table => comparison.render_table(),
        CompareFormat::Json => comparison.to_json(),
    })
}

/// `fleetsim check`: the diff tables, then (with `--update`) the new
/// baseline, else the verdict. A failed write or a failing verdict wins
/// over a closed stdout.
pub fn check(args: &CheckArgs) -> Result<()> {
    let check = fleetsim::check::run_check(&args.options())?;
    for w in &check.warnings {
        eprintln!("warning: {w}");
    }
    let printed = output::print(&check.render(args.changes_only));
    if args.update {
        check.write_baseline(&args.baseline)?;
        printed?;
        return output::print(&format!("check: wrote {}\n", check.file));
    }
    check.verdict(args.allow_better)?;
    printed
}

/// `fleetsim plot`: the charts' paths, one a line.
pub fn plot(args: &PlotArgs) -> Result<()> {
    let paths = fleetsim::plot::plot(&args.options())?;
    let lines: String = (paths.iter())
        .map(|p| format!("{}\n", p.display()))
        .collect();
    output::print(&lines)
}

/// `fleetsim verify-policies`: the report, then exit 1 if a case failed.
pub fn verify_policies(file: &Path) -> Result<()> {
    let report = fleetsim::verify::verify_file(file)?;
    let printed = output::print(&report.render());
    match report.failed() {
        0 => printed,
        n => anyhow::bail!("{}: {n} conformance case(s) failed", file.display()),
    }
}

/// `fleetsim import`: the scenario on stdout (or `--out`), the fields not
/// mapped on stderr.
pub fn import(args: &ImportArgs) -> Result<()> {
    let trace = match &args.trace {
        // Absolute, so the scenario finds it wherever it is written.
        Some(t) => Some(std::path::absolute(t)?.display().to_string()),
        None => None,
    };
    let options = fleetsim::k8s::ImportOptions {
        model: args.model.clone(),
        gpu: args.gpu.clone(),
        trace,
    };
    let imported = fleetsim::k8s::import(&args.files, &options)?;
    for u in &imported.unmapped {
        eprintln!("not mapped: {u}");
    }
    match &args.out {
        Some(path) => std::fs::write(path, &imported.toml)
            .with_context(|| format!("writing {}", path.display())),
        None => output::print(&imported.toml),
    }
}

/// `fleetsim export`: the manifests on stdout (or one file each under
/// `--out`), the keys not exported on stderr.
pub fn export(args: &ExportArgs) -> Result<()> {
    let options = fleetsim::k8s::ExportOptions {
        scenario: args.scenario.clone(),
        kpa_as: args.kpa_as.into(),
        stack: args.stack.into(),
    };
    let exported = fleetsim::k8s::export(&options)?;
    for n in &exported.not_exported {
        eprintln!("not exported: {n}");
    }
    match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let mut written = String::new();
            for (name, text) in &exported.files {
                let path = dir.join(name);
                std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?;
                written.push_str(&format!("{}\n", path.display()));
            }
            output::print(&written)
        }
        None => output::print(
            &(exported.files.iter())
                .map(|(_, t)| t.as_str())
                .collect::<Vec<_>>()
                .join(""),
        ),
    }
}
