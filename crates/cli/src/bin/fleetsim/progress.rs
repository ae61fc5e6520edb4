//! `fleetsim run`'s progress on stderr: a spinner with the simulated time
//! reached and the requests read, shown once a run has taken a second, on
//! a terminal outside CI (or as plain lines, or not at all, by
//! `--progress`). Nothing goes to stdout, and the run's result does not
//! depend on it.

use crate::args::ProgressMode;
use fleetsim::run::{ProgressFn, RunProgress};
use fleetsim_core::summary::display::{span, thousands};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Wall time before a run shows progress: short runs show none.
const QUIET_FOR: Duration = Duration::from_secs(1);

/// Wall time between two plain progress lines.
const PLAIN_EVERY: Duration = Duration::from_secs(10);

/// The progress display of one run.
pub struct RunProgressDisplay {
    bar: Option<ProgressBar>,
}

impl RunProgressDisplay {
    /// The display `mode` asks for, and the callback to hand the run
    /// (`None`: nothing to show).
    pub fn new(mode: ProgressMode) -> (RunProgressDisplay, Option<ProgressFn>) {
        let terminal = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        let start = Instant::now();
        let message = |p: RunProgress| {
            format!(
                "simulated {}, {} requests",
                span(p.simulated_s),
                thousands(p.requests as f64, 0)
            )
        };
        let spinner = match mode {
            ProgressMode::Bar => true,
            ProgressMode::Auto => terminal,
            ProgressMode::Plain | ProgressMode::None => false,
        };
        match mode {
            _ if spinner => {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
                if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed} {msg}") {
                    bar.set_style(style);
                }
                let shown = bar.clone();
                let mut visible = false;
                let report: ProgressFn = Box::new(move |p| {
                    if !visible && start.elapsed() >= QUIET_FOR {
                        shown.set_draw_target(ProgressDrawTarget::stderr());
                        shown.enable_steady_tick(Duration::from_millis(200));
                        visible = true;
                    }
                    shown.set_message(message(p));
                });
                (RunProgressDisplay { bar: Some(bar) }, Some(report))
            }
            ProgressMode::Plain => {
                let mut next = start + PLAIN_EVERY;
                let report: ProgressFn = Box::new(move |p| {
                    if Instant::now() >= next {
                        eprintln!(
                            "run: {}, {:.0} s",
                            message(p),
                            start.elapsed().as_secs_f64()
                        );
                        next += PLAIN_EVERY;
                    }
                });
                (RunProgressDisplay { bar: None }, Some(report))
            }
            _ => (RunProgressDisplay { bar: None }, None),
        }
    }

    /// Clears the spinner, if one was shown.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
