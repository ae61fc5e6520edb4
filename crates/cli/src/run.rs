//! Running a scenario: workload + router + engine, with the wall clock
//! measured here (the engine never reads it).

use crate::scenario::Scenario;
use crate::workload::{self, OpenError};
use fleetsim_core::{RunResult, SimError, Simulation};
use std::time::Instant;

/// Why a scenario could not run to the end.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunError {
    /// The workload could not be opened or a record could not be read.
    Workload(OpenError),
    /// The engine stopped.
    Sim(SimError),
    /// A request of the workload at `path` cannot be served as configured
    /// (e.g. it names a priority class the scenario does not configure).
    Request {
        /// The workload's file, if it has one.
        path: Option<std::path::PathBuf>,
        /// What the engine found.
        error: SimError,
    },
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Workload(e) => write!(f, "{e}"),
            RunError::Sim(e) => write!(f, "{e}"),
            RunError::Request {
                path: Some(path),
                error,
            } => write!(f, "{}: {error}", path.display()),
            RunError::Request { path: None, error } => write!(f, "workload: {error}"),
        }
    }
}

impl std::error::Error for RunError {}

/// Runs a scenario. `sim.wall_s` is left `None`, so the summary is a pure
/// function of the scenario; see [`run_timed`].
pub fn run(scenario: &Scenario) -> Result<RunResult, RunError> {
    let classes: workload::KnownClasses = (scenario.sim.fleet.queue.classes.iter())
        .map(|c| c.name.clone())
        .collect();
    let workload = workload::build(&scenario.workload, scenario.sim.seed, classes)
        .map_err(RunError::Workload)?;
    let sim = Simulation::new(
        scenario.sim.clone(),
        workload,
        scenario.router.build(scenario.sim.seed),
    )
    .map_err(RunError::Sim)?;
    sim.run().map_err(|e| match e {
        SimError::Workload(error) => RunError::Workload(OpenError {
            path: workload::source_path(&scenario.workload).map(|p| p.to_path_buf()),
            error,
        }),
        error @ SimError::Class { .. } => RunError::Request {
            path: workload::source_path(&scenario.workload).map(|p| p.to_path_buf()),
            error,
        },
        other => RunError::Sim(other),
    })
}

/// Runs a scenario and records the wall-clock time in `sim.wall_s`.
pub fn run_timed(scenario: &Scenario) -> Result<RunResult, RunError> {
    let start = Instant::now();
    let mut result = run(scenario)?;
    result.summary.sim.wall_s = Some(start.elapsed().as_secs_f64());
    Ok(result)
}
