//! The `fleetsim` command line.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use fleetsim::scenario::{self, Scenario, WorkloadSpec};
use fleetsim::{report, run, trace_stats};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "fleetsim",
    version,
    about = "Simulate autoscaled LLM inference fleets"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run one scenario and report SLA, latency and GPU-hours.
    Run(RunArgs),
    /// Run a scenario over a grid or random sample of knob settings × seeds,
    /// in parallel; print the Pareto front and the cheapest configuration
    /// meeting the SLA.
    Sweep(fleetsim::sweep::command::SweepArgs),
    /// Combine the output directories of `sweep --shard i/n` runs.
    Merge(fleetsim::sweep::command::MergeArgs),
    /// Check the autoscaler cores against a conformance vectors file;
    /// exits 1 if any case fails.
    VerifyPolicies {
        /// Vectors file (JSON, the shared conformance schema).
        file: PathBuf,
    },
    /// Compare two scenarios over several seeds with common random numbers.
    Compare(fleetsim::compare::CompareArgs),
    /// Rerun scenarios and compare their headline metrics with a baseline;
    /// exits 1 on a regression.
    Check(fleetsim::check::CheckArgs),
    /// Chart a `run --out` directory: fleet against demand, latency CDFs,
    /// GPU-hours by state.
    Plot(fleetsim::plot::PlotArgs),
    /// Inspect trace files.
    Trace {
        #[command(subcommand)]
        command: TraceCommand,
    },
}

#[derive(Parser, Debug)]
struct RunArgs {
    /// Scenario file (TOML). Without one, the embedded quickstart runs.
    scenario: Option<PathBuf>,
    /// Replace the scenario's workload with this trace (format detected from its contents).
    #[arg(long)]
    trace: Option<PathBuf>,
    /// With --trace: sort the trace by arrival time first (reads it whole);
    /// without it, a timestamp going backwards is an error.
    #[arg(long, requires = "trace")]
    sort: bool,
    /// Override a scenario key, e.g. --set deployment.replicas=8 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Seed of every random stream (overrides the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// Write summary.json, requests.csv, timeseries.csv and replicas.csv here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also write the run's charts (SVG) into the --out directory.
    #[arg(long, requires = "out")]
    plot: bool,
    /// What to print.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Subcommand, Debug)]
enum TraceCommand {
    /// Count, span, rates, inter-arrival CV and token percentiles of a trace.
    Stats {
        /// Trace file (format detected from its contents).
        file: PathBuf,
        /// What to print.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
}

fn main() -> ExitCode {
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => cmd_run(args),
        Command::Sweep(args) => fleetsim::sweep::command::cmd_sweep(args),
        Command::Merge(args) => fleetsim::sweep::command::cmd_merge(args),
        Command::Plot(args) => fleetsim::plot::cmd_plot(args),
        Command::Trace {
            command: TraceCommand::Stats { file, format },
        } => cmd_trace_stats(&file, format),
        Command::Compare(args) => Ok(fleetsim::compare::cmd(&args)?),
        Command::Check(args) => Ok(fleetsim::check::cmd(&args)?),
        Command::VerifyPolicies { file } => {
            let report = fleetsim::verify::verify_file(&file)?;
            print!("{}", report.render());
            match report.failed() {
                0 => Ok(()),
                n => anyhow::bail!("{}: {n} conformance case(s) failed", file.display()),
            }
        }
    }
}

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
        std::fs::File::open(trace)
            .with_context(|| format!("--trace {}: cannot open", trace.display()))?;
        s.workload = WorkloadSpec::Trace {
            path: trace.clone(),
            format: None,
            sort: args.sort,
            transforms: Vec::new(),
        };
    }
    Ok(s)
}

fn cmd_run(args: RunArgs) -> Result<()> {
    let scenario = load_scenario(&args)?;
    let result = run::run_timed(&scenario)?;
    for w in &result.warnings {
        eprintln!("warning: {w}");
    }
    if let Some(dir) = &args.out {
        report::write_out_dir(dir, &result)
            .with_context(|| format!("writing results to {}", dir.display()))?;
        if args.plot {
            let data = fleetsim::plot::RunData::from_result(&result);
            let svg = fleetsim::plot::ImageFormat::Svg;
            fleetsim::plot::write_run_charts(&data, &scenario.name, dir, svg)?;
        }
    }
    match args.format {
        Format::Table => print!("{}", report::render_table(&scenario, &result.summary)),
        Format::Json => print!("{}", report::summary_json(&result.summary)),
    }
    Ok(())
}

fn cmd_trace_stats(file: &Path, format: Format) -> Result<()> {
    let (detected, stats) = trace_stats::read(file)?;
    match format {
        Format::Table => print!("{}", trace_stats::render_report(file, detected, &stats)),
        Format::Json => print!("{}", trace_stats::to_json(&stats)),
    }
    Ok(())
}
