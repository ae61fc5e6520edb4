//! The `fleetsim` command line: parse the flags ([`args`]), call the
//! library with resolved options ([`commands`], [`sweep`]), print
//! ([`output`]) and choose the exit status. Only this binary uses clap,
//! anyhow and indicatif (the `cli` feature).

mod args;
mod commands;
mod output;
mod progress;
mod sweep;

use args::{Cli, Command, TraceCommand};
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of stdout has gone (`fleetsim … | head`): stop quietly.
        Err(e) if output::is_closed(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => commands::run(&args),
        Command::Sweep(args) => sweep::sweep(&args),
        Command::Merge(args) => sweep::merge(&args),
        Command::Plan(args) => commands::plan(&args),
        Command::Plot(args) => commands::plot(&args),
        Command::Trace {
            command: TraceCommand::Stats { file, format },
        } => commands::trace_stats(&file, format),
        Command::Compare(args) => commands::compare(&args),
        Command::Check(args) => commands::check(&args),
        Command::Import(args) => commands::import(&args),
        Command::Export(args) => commands::export(&args),
        Command::VerifyPolicies { file } => commands::verify_policies(&file),
    }
}
