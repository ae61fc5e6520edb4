//! `fleetsim sweep` and `fleetsim merge`: flags, progress display and the
//! selection printed at the end.

use super::{select, Knob, Progress, RunOptions, Shard, Sweep, SweepSpec};
use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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
    #[arg(long, value_enum, default_value_t = crate::plot::ImageFormat::Svg, requires = "plot")]
    pub plot_format: crate::plot::ImageFormat,
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

/// Runs `fleetsim sweep`.
pub fn cmd_sweep(args: SweepArgs) -> Result<()> {
    let mut knobs = Vec::new();
    for g in &args.grids {
        knobs.push(Knob::parse_grid(g)?);
    }
    for r in &args.ranges {
        knobs.push(Knob::parse_range(r)?);
    }
    let spec = SweepSpec {
        knobs,
        random: args.random,
        sample_seed: args.sample_seed,
        seeds: args.seeds,
    };
    let options = RunOptions {
        shard: args.shard.as_deref().map(Shard::parse).transpose()?,
        resume: args.resume,
        threads: args.threads,
    };
    let sweep = Sweep::from_file(&args.scenario, &args.sets, spec)?;
    let start = Instant::now();
    let mut show = ProgressDisplay::new(args.progress);
    let rows = sweep
        .run(&args.out, &options, &mut |p| show.update(p))
        .with_context(|| format!("sweep into {}", args.out.display()))?;
    show.finish();
    let shard = options.shard.map_or(String::new(), |s| {
        format!(" (shard {}/{})", s.index, s.count)
    });
    eprintln!(
        "sweep: {} runs{shard} of {} configuration(s) × {} seed(s) in {:.1} s; results in {}",
        rows.len(),
        sweep.configurations().len(),
        args.seeds,
        start.elapsed().as_secs_f64(),
        args.out.display()
    );
    if options.shard.is_none() {
        let candidates = select::candidates(&rows);
        print!("{}", select::render(&candidates));
        if args.plot {
            let path = write_pareto(&args.out, &args.out, None, args.plot_format)?;
            eprintln!("sweep: Pareto front drawn in {}", path.display());
        }
    } else if args.plot {
        eprintln!("sweep: --plot skipped for a shard; plot the merged sweep (fleetsim plot DIR)");
    }
    Ok(())
}

/// Runs `fleetsim merge`.
pub fn cmd_merge(args: MergeArgs) -> Result<()> {
    let rows = super::merge(&args.out, &args.shards)?;
    eprintln!(
        "merge: {} rows from {} shard(s) into {}",
        rows.len(),
        args.shards.len(),
        args.out.display()
    );
    print!("{}", select::render(&select::candidates(&rows)));
    Ok(())
}

/// Draws the Pareto front of the finished sweep in `sweep_dir` to
/// `out_dir/pareto.<ext>`, titled with `title` or the scenario's name.
pub fn write_pareto(
    sweep_dir: &Path,
    out_dir: &Path,
    title: Option<&str>,
    format: crate::plot::ImageFormat,
) -> Result<PathBuf> {
    let manifest = super::read_manifest(&sweep_dir.join(super::results::MANIFEST))?;
    let rows = super::results::read_rows(&sweep_dir.join(super::results::RESULTS_JSONL), false)?;
    let candidates = select::candidates(&rows);
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("{}: cannot create the directory", out_dir.display()))?;
    let path = out_dir.join(format!("pareto.{}", format.extension()));
    let unit = candidates.first().map_or("USD", |c| c.cost_unit);
    let title = title.unwrap_or(&manifest.scenario);
    crate::plot::pareto_chart(
        &select::pareto_points(&candidates),
        unit,
        &format!("{title}: cost against SLA attainment"),
        &path,
    )?;
    Ok(path)
}

/// Progress on stderr.
struct ProgressDisplay {
    bar: Option<indicatif::ProgressBar>,
    plain: bool,
    next_tenth: usize,
    start: Instant,
}

impl ProgressDisplay {
    fn new(mode: ProgressMode) -> ProgressDisplay {
        let terminal = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        let bar = match mode {
            ProgressMode::Bar => true,
            ProgressMode::Auto => terminal,
            ProgressMode::Plain | ProgressMode::None => false,
        };
        let bar = bar.then(|| {
            let bar = indicatif::ProgressBar::new(0);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} runs  {per_sec}  ETA {eta}",
            ) {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        ProgressDisplay {
            bar,
            plain: mode == ProgressMode::Plain,
            next_tenth: 1,
            start: Instant::now(),
        }
    }

    fn update(&mut self, p: Progress) {
        if let Some(bar) = &self.bar {
            bar.set_length(p.total as u64);
            bar.set_position(p.done as u64);
        } else if self.plain && p.total > 0 {
            while self.next_tenth <= 10 && p.done * 10 >= self.next_tenth * p.total {
                let elapsed_s = self.start.elapsed().as_secs_f64();
                eprintln!(
                    "sweep: {}/{} runs ({} %), {:.1} s",
                    p.done,
                    p.total,
                    self.next_tenth * 10,
                    elapsed_s
                );
                self.next_tenth += 1;
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
