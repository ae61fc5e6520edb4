//! `fleetsim sweep` and `fleetsim merge`: the flags turned into the
//! library's `SweepSpec` and `RunOptions`, the progress display
//! (`indicatif`) behind the library's progress callback, and the selection
//! printed at the end.

use crate::args::{MergeArgs, ProgressMode, SweepArgs};
use crate::output;
use anyhow::{Context, Result};
use fleetsim::sweep::{select, Knob, Progress, RunOptions, Shard, Sweep, SweepSpec};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// `fleetsim sweep`.
pub fn sweep(args: &SweepArgs) -> Result<()> {
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
    if options.shard.is_some() {
        if args.plot {
            eprintln!(
                "sweep: --plot skipped for a shard; plot the merged sweep (fleetsim plot DIR)"
            );
        }
        return Ok(());
    }
    let printed = output::print(&select::render(&select::candidates(&rows)));
    if args.plot {
        // Drawn even when stdout is closed.
        let path =
            fleetsim::plot::write_pareto(&args.out, &args.out, None, args.plot_format.into())?;
        eprintln!("sweep: Pareto front drawn in {}", path.display());
    }
    printed
}

/// `fleetsim merge`.
pub fn merge(args: &MergeArgs) -> Result<()> {
    let rows = fleetsim::sweep::merge(&args.out, &args.shards)?;
    eprintln!(
        "merge: {} rows from {} shard(s) into {}",
        rows.len(),
        args.shards.len(),
        args.out.display()
    );
    output::print(&select::render(&select::candidates(&rows)))
}

/// Progress on stderr: what the library's progress callback drives.
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
