//! The raw command line: every flag `fleetsim` takes, as clap parses it.
//!
//! Nothing here runs anything. The command handlers turn these structs
//! into the library's option structs (`CompareOptions`, `CheckOptions`,
//! `PlotOptions`, the sweep's `SweepSpec` and `RunOptions`) with the
//! `options` methods below, so the library never sees clap. Tests include
//! this file to parse command lines the way the binary does.

use clap::{Args, Parser, Subcommand, ValueEnum};
use fleetsim::check::CheckOptions;
use fleetsim::compare::CompareOptions;
use fleetsim::plot::{ImageFormat, PlotOptions};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "fleetsim",
    version,
    about = "Simulate autoscaled LLM inference fleets"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run one scenario and report SLA, latency and GPU-hours.
    Run(RunArgs),
    /// Run a scenario over a grid or random sample of knob settings × seeds,
    /// in parallel; print the Pareto front and the cheapest configuration
    /// meeting the SLA.
    Sweep(SweepArgs),
    /// Combine the output directories of `sweep --shard i/n` runs.
    Merge(MergeArgs),
    /// What to run and what it costs: Little's-law estimates, the cheapest
    /// fixed fleet meeting the SLA per GPU type, the offline oracle, the
    /// break-even against an API, and the verdict as TOML to paste.
    Plan(PlanArgs),
    /// Check the autoscaler cores against a conformance vectors file;
    /// exits 1 if any case fails.
    VerifyPolicies {
        /// Vectors file (JSON, the shared conformance schema).
        file: PathBuf,
    },
    /// Compare two scenarios over several seeds with common random numbers.
    Compare(CompareArgs),
    /// Rerun scenarios and compare their headline metrics with a baseline;
    /// exits 1 on a regression.
    Check(CheckArgs),
    /// Chart a `run --out` directory: fleet against demand, latency CDFs,
    /// GPU-hours by state.
    Plot(PlotArgs),
    /// Write a scenario from Kubernetes manifests (HPA, KEDA ScaledObject,
    /// Knative / KServe annotations, the vLLM Deployment); see docs/kubernetes.md.
    Import(ImportArgs),
    /// Write Kubernetes manifests (Deployment with vLLM arguments, and its
    /// HPA, ScaledObject or Knative Service) from a scenario.
    Export(ExportArgs),
    /// Inspect trace files.
    Trace {
        #[command(subcommand)]
        command: TraceCommand,
    },
}

#[derive(Parser, Debug)]
pub struct RunArgs {
    /// Scenario file (TOML). Without one, the embedded quickstart runs.
    pub scenario: Option<PathBuf>,
    /// Replace the scenario's workload with this trace (format detected from its contents).
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// With --trace: sort the trace by arrival time first (reads it whole);
    /// without it, a timestamp going backwards is an error.
    #[arg(long, requires = "trace")]
    pub sort: bool,
    /// Override a scenario key, e.g. --set deployment.replicas=8 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Seed of every random stream (overrides the scenario's; at most
    /// 2^63 − 1, as a scenario's `seed`).
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=fleetsim::scenario::MAX_SEED))]
    pub seed: Option<u64>,
    /// Write summary.json, requests.csv, timeseries.csv and replicas.csv here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// With --out: write no requests.csv (a row per request, the largest
    /// file of a long run), as `[output] requests_csv = false` does.
    #[arg(long, requires = "out")]
    pub no_requests_csv: bool,
    /// Also write the run's charts (SVG, or PNG with --plot-format png)
    /// into the --out directory.
    #[arg(long, requires = "out")]
    pub plot: bool,
    /// Image format of --plot.
    #[arg(long, value_enum, default_value_t = ImageFormatArg::Svg, requires = "plot")]
    pub plot_format: ImageFormatArg,
    /// Progress on stderr: a spinner with the simulated time reached, on a
    /// terminal outside CI (auto: not when `CI` is set), always, a plain
    /// line every 10 s, or nothing. Runs under a second show none.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
    /// What to print.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Arguments of `fleetsim import`.
#[derive(Parser, Debug, Clone)]
pub struct ImportArgs {
    /// Manifest files (YAML, several documents per file allowed).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Catalogue model, when the manifests name none or one the catalogue lacks.
    #[arg(long)]
    pub model: Option<String>,
    /// Catalogue GPU, when the node selector names none.
    #[arg(long)]
    pub gpu: Option<String>,
    /// Trace file for the workload instead of the placeholder.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Write the scenario here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Arguments of `fleetsim export`.
#[derive(Parser, Debug, Clone)]
pub struct ExportArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Write one file per manifest into this directory instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// What a `kpa` scenario becomes: a Knative Service or a KServe
    /// InferenceService (Serverless mode).
    #[arg(long, value_enum, default_value_t = KpaAsArg::KnativeService)]
    pub kpa_as: KpaAsArg,
    /// What serves the model: plain Kubernetes objects (a Deployment and
    /// the autoscaler's object), llm-d's modelservice Helm values (plus
    /// the HPA or ScaledObject aimed at its decode Deployment), or an
    /// NVIDIA Dynamo graph.
    #[arg(long, value_enum, default_value_t = StackArg::Kubernetes)]
    pub stack: StackArg,
}

/// `--stack`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StackArg {
    /// Deployment + HPA / ScaledObject, or a Knative / KServe service.
    Kubernetes,
    /// `llm-d-modelservice` Helm values.
    LlmD,
    /// A `DynamoGraphDeployment`.
    Dynamo,
}

impl From<StackArg> for fleetsim::k8s::Stack {
    fn from(a: StackArg) -> Self {
        match a {
            StackArg::Kubernetes => fleetsim::k8s::Stack::Kubernetes,
            StackArg::LlmD => fleetsim::k8s::Stack::LlmD,
            StackArg::Dynamo => fleetsim::k8s::Stack::Dynamo,
        }
    }
}

/// `--kpa-as`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KpaAsArg {
    /// `serving.knative.dev/v1` Service.
    KnativeService,
    /// `serving.kserve.io/v1beta1` InferenceService.
    InferenceService,
}

impl From<KpaAsArg> for fleetsim::k8s::KpaManifest {
    fn from(a: KpaAsArg) -> Self {
        match a {
            KpaAsArg::KnativeService => fleetsim::k8s::KpaManifest::KnativeService,
            KpaAsArg::InferenceService => fleetsim::k8s::KpaManifest::InferenceService,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum TraceCommand {
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
pub enum Format {
    Table,
    Json,
}

/// Arguments of `fleetsim compare`.
#[derive(Parser, Debug, Clone)]
pub struct CompareArgs {
    /// Scenario A (TOML), the reference.
    pub a: PathBuf,
    /// Scenario B (TOML); differences are B − A.
    pub b: PathBuf,
    /// Number of seeds; both scenarios run once per seed.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub seeds: u64,
    /// First seed (default: scenario A's `seed`; at most 2^63 − 1).
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=fleetsim::scenario::MAX_SEED))]
    pub first_seed: Option<u64>,
    /// Override a key in both scenarios, e.g. --set workload.duration_s=60 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Override a key in scenario A only (after --set; repeatable).
    #[arg(long = "set-a", value_name = "KEY=VALUE")]
    pub sets_a: Vec<String>,
    /// Override a key in scenario B only (after --set; repeatable).
    #[arg(long = "set-b", value_name = "KEY=VALUE")]
    pub sets_b: Vec<String>,
    /// Runs at once (default: one per core). Results do not depend on it.
    #[arg(long, short = 'j', default_value_t = 0)]
    pub jobs: usize,
    /// What to print.
    #[arg(long, value_enum, default_value_t = CompareFormat::Table)]
    pub format: CompareFormat,
}

/// Output of `fleetsim compare`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CompareFormat {
    /// A table for people.
    Table,
    /// JSON (every per-seed value included).
    Json,
}

impl CompareArgs {
    /// The library's options.
    pub fn options(&self) -> CompareOptions {
        CompareOptions {
            a: self.a.clone(),
            b: self.b.clone(),
            seeds: self.seeds,
            first_seed: self.first_seed,
            sets: self.sets.clone(),
            sets_a: self.sets_a.clone(),
            sets_b: self.sets_b.clone(),
            jobs: self.jobs,
        }
    }
}

/// Arguments of `fleetsim check`.
#[derive(Parser, Debug, Clone)]
pub struct CheckArgs {
    /// Baseline file (TOML).
    #[arg(long)]
    pub baseline: PathBuf,
    /// Scenario files (TOML) to rerun and check.
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
    /// Accept the run's values: rewrite them into the baseline (creating
    /// the file or adding entries as needed), keeping tolerances.
    #[arg(long)]
    pub update: bool,
    /// Do not fail on metrics that got better beyond their tolerance.
    #[arg(long)]
    pub allow_better: bool,
    /// Print only the metrics whose verdict is not `ok` (one line for a
    /// scenario without any).
    #[arg(long)]
    pub changes_only: bool,
    /// Override a key in every scenario, e.g. --set deployment.replicas=2 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Runs at once (default: one per core). Results do not depend on it.
    #[arg(long, short = 'j', default_value_t = 0)]
    pub jobs: usize,
}

impl CheckArgs {
    /// The library's options (`--allow-better` and `--changes-only` are
    /// the handler's: they decide the verdict and what is printed).
    pub fn options(&self) -> CheckOptions {
        CheckOptions {
            baseline: self.baseline.clone(),
            scenarios: self.scenarios.clone(),
            update: self.update,
            sets: self.sets.clone(),
            jobs: self.jobs,
        }
    }
}

/// `fleetsim plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// A `fleetsim run --out` directory (summary.json, requests.csv,
    /// timeseries.csv), or a `fleetsim sweep --out` directory (its Pareto
    /// front).
    pub dir: PathBuf,
    /// Write the charts here instead of into DIR.
    #[arg(long)]
    pub plot_dir: Option<PathBuf>,
    /// Image format of the charts.
    #[arg(long, value_enum, default_value_t = ImageFormatArg::Svg)]
    pub format: ImageFormatArg,
    /// Start of every chart's title (default: DIR's name; `run --plot`
    /// uses the scenario's name, which the results do not record).
    #[arg(long)]
    pub title: Option<String>,
}

impl PlotArgs {
    /// The library's options.
    pub fn options(&self) -> PlotOptions {
        PlotOptions {
            dir: self.dir.clone(),
            plot_dir: self.plot_dir.clone(),
            format: self.format.into(),
            title: self.title.clone(),
        }
    }
}

/// The image formats a chart can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ImageFormatArg {
    /// Scalable vector graphics, text as text.
    Svg,
    /// A PNG bitmap.
    Png,
}

impl From<ImageFormatArg> for ImageFormat {
    fn from(format: ImageFormatArg) -> ImageFormat {
        match format {
            ImageFormatArg::Svg => ImageFormat::Svg,
            ImageFormatArg::Png => ImageFormat::Png,
        }
    }
}

/// `fleetsim sweep`.
#[derive(Parser, Debug)]
pub struct SweepArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Directory for sweep.json, results.jsonl and results.csv.
    #[arg(long)]
    pub out: PathBuf,
    /// A knob and its values, cartesian with the other grids, e.g.
    /// --grid deployment.replicas=2,4,8 (repeatable; any key --set takes).
    #[arg(long = "grid", value_name = "KEY=V1,V2,...")]
    pub grids: Vec<String>,
    /// Draw this many random configurations from the --range knobs.
    #[arg(long, value_name = "N")]
    pub random: Option<u32>,
    /// A knob drawn uniformly from lo..hi (inclusive; integer when both
    /// ends are), e.g. --range scaling.target=0.5..4 (repeatable).
    #[arg(long = "range", value_name = "KEY=LO..HI")]
    pub ranges: Vec<String>,
    /// Seed of the random draws.
    #[arg(long, default_value_t = 1)]
    pub sample_seed: u64,
    /// Run every configuration on K seeds: the scenario's seed, +1, ...
    #[arg(long, default_value_t = 1, value_name = "K")]
    pub seeds: u32,
    /// Override a scenario key in every configuration (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Run only configurations with index % N == I, e.g. --shard 0/8
    /// (a Kubernetes Indexed Job's completion index); combine the shards
    /// with `fleetsim merge`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Continue an interrupted sweep in --out, skipping finished runs.
    #[arg(long)]
    pub resume: bool,
    /// Worker threads (default: one per core). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Also draw the Pareto front to DIR/pareto.svg (or .png with
    /// --plot-format png).
    #[arg(long)]
    pub plot: bool,
    /// Image format of --plot.
    #[arg(long, value_enum, default_value_t = ImageFormatArg::Svg, requires = "plot")]
    pub plot_format: ImageFormatArg,
    /// Progress display: a bar on a terminal outside CI (auto), always a
    /// bar, plain lines every 10 %, or nothing.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
}

/// How to show progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    /// A bar when stderr is a terminal and `CI` is unset; else nothing.
    Auto,
    /// A bar with rate and ETA.
    Bar,
    /// A line at every 10 %.
    Plain,
    /// Nothing.
    None,
}

/// `fleetsim plan`.
#[derive(Parser, Debug)]
pub struct PlanArgs {
    /// Scenario file (TOML) with [sla] targets.
    pub scenario: PathBuf,
    /// Replace the scenario's workload with this trace (format detected from its contents).
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// With --trace: sort the trace by arrival time first.
    #[arg(long, requires = "trace")]
    pub sort: bool,
    /// GPU types to size for, comma-separated (default: the scenario's).
    #[arg(long, value_delimiter = ',', value_name = "GPU,...")]
    pub gpus: Vec<String>,
    /// Autoscaler kinds whose knobs to tune, comma-separated (e.g. hpa,kpa,predictive).
    #[arg(long, value_delimiter = ',', value_name = "KIND,...")]
    pub policies: Vec<String>,
    /// Run every candidate on K seeds: the scenario's seed, +1, ...
    #[arg(long, default_value_t = 1, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub seeds: u32,
    /// Wall-clock seconds the plan may spend simulating; steps that would
    /// start later are left out, and the plan says so.
    #[arg(long, default_value_t = fleetsim::plan::DEFAULT_BUDGET_S)]
    pub budget_s: f64,
    /// Width of the arrival-rate windows, seconds.
    #[arg(long, default_value_t = fleetsim::plan::DEFAULT_WINDOW_S)]
    pub window_s: f64,
    /// Also write the verdict as a whole scenario file (the scenario with
    /// the plan's tables and --set written in) that `fleetsim run` takes.
    #[arg(long, value_name = "FILE")]
    pub write_scenario: Option<PathBuf>,
    /// Also draw the layouts and the policies' costs into DIR (layouts.svg,
    /// costs.svg; PNG with --plot-format png).
    #[arg(long, value_name = "DIR")]
    pub plot: Option<PathBuf>,
    /// Image format of --plot.
    #[arg(long, value_enum, default_value_t = ImageFormatArg::Svg, requires = "plot")]
    pub plot_format: ImageFormatArg,
    /// Override a scenario key, e.g. --set workload.duration_s=300 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Runs at once (default: one per core). Results do not depend on it.
    #[arg(long, short = 'j', default_value_t = 0)]
    pub jobs: usize,
    /// What to print.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

impl PlanArgs {
    /// The library's options.
    pub fn options(&self) -> fleetsim::plan::PlanOptions {
        fleetsim::plan::PlanOptions {
            scenario: self.scenario.clone(),
            sets: self.sets.clone(),
            trace: self.trace.clone(),
            sort: self.sort,
            gpus: self.gpus.clone(),
            seeds: self.seeds,
            budget_s: self.budget_s,
            window_s: self.window_s,
            jobs: self.jobs,
            policies: self.policies.clone(),
        }
    }
}

/// `fleetsim merge`.
#[derive(Parser, Debug)]
pub struct MergeArgs {
    /// Directory for the merged sweep (must not hold one already).
    #[arg(long)]
    pub out: PathBuf,
    /// The shards' --out directories, every shard of the sweep once.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
}
