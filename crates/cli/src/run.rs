//! Running a scenario: workload + router + engine, with the wall clock
//! measured here (the engine never reads it).

use crate::scenario::Scenario;
use crate::workload::{self, OpenError};
use fleetsim_core::engine::ReplicaSpec;
use fleetsim_core::replica::batching::BatchingConfig;
use fleetsim_core::workload::{BoxedWorkload, WorkloadError};
use fleetsim_core::{RecordSink, Request, RunResult, SimError, Simulation};
use std::sync::{Arc, Mutex};
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
    run_shared(scenario, None)
}

/// [`run`], reading the workload's trace or ServeGen profile through
/// `shared` (parsed once for many runs) when given; the result is the
/// same.
pub fn run_shared(
    scenario: &Scenario,
    shared: Option<&workload::SharedInputs>,
) -> Result<RunResult, RunError> {
    run_with_sink(scenario, shared, None)
}

/// [`run_shared`], handing each request's record to `sink` as the request
/// ends (completion order). Whether the run also keeps the records is the
/// scenario's `[output] records`.
pub fn run_with_sink(
    scenario: &Scenario,
    shared: Option<&workload::SharedInputs>,
    sink: Option<Box<dyn RecordSink>>,
) -> Result<RunResult, RunError> {
    run_observed(scenario, shared, sink, None)
}

/// How far a run has got: the requests the engine has taken from the
/// workload and the arrival time of the last, which the simulated clock
/// has reached (the engine reads arrivals as it gets to them).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RunProgress {
    /// Requests read from the workload so far.
    pub requests: u64,
    /// Arrival of the last of them, simulated seconds.
    pub simulated_s: f64,
}

/// Called with the run's progress every [`PROGRESS_EVERY`] requests.
pub type ProgressFn = Box<dyn FnMut(RunProgress) + Send>;

/// Requests between two calls of a [`ProgressFn`].
pub const PROGRESS_EVERY: u64 = 4_096;

/// [`run_with_sink`], calling `progress` as the run reads its workload
/// ([`RunProgress`]); the result does not depend on it.
pub fn run_observed(
    scenario: &Scenario,
    shared: Option<&workload::SharedInputs>,
    sink: Option<Box<dyn RecordSink>>,
    progress: Option<ProgressFn>,
) -> Result<RunResult, RunError> {
    let deployments = &scenario.sim.deployments;
    // Every class any deployment configures (each deployment checks its own).
    let mut classes: Vec<Box<str>> = Vec::new();
    for c in deployments.iter().flat_map(|d| &d.fleet.queue.classes) {
        if !classes.contains(&c.name) {
            classes.push(c.name.clone());
        }
    }
    let known = workload::KnownNames {
        classes: classes.into(),
        models: if deployments.len()
            + scenario.sim.pipelines.len()
            + scenario.sim.model_routers.len()
            > 1
        {
            (deployments.iter().map(|d| d.name.clone()))
                .chain(scenario.sim.pipelines.iter().map(|p| p.name.clone()))
                .chain(scenario.sim.model_routers.iter().map(|m| m.name.clone()))
                .collect()
        } else {
            Arc::from([])
        },
    };
    let workload = workload::build_shared(&scenario.workload, scenario.sim.seed, known, shared)
        .map_err(RunError::Workload)?;
    let routers: Vec<_> = (scenario.routers.iter().enumerate())
        .map(|(d, r)| r.build(scenario.sim.seed, d))
        .collect();
    let any_router_uses_hashes = routers.iter().any(|r| r.uses_prefix_hashes());
    let warnings = Arc::new(Mutex::new(Vec::new()));
    let workload = WarnIgnored::wrap(
        workload,
        ignored_fields(scenario, any_router_uses_hashes),
        Arc::clone(&warnings),
    );
    let workload = match progress {
        Some(report) => Box::new(Observed {
            inner: workload,
            report,
            at: RunProgress::default(),
        }),
        None => workload,
    };
    let mut sim = Simulation::new(scenario.sim.clone(), workload, routers)
        .map_err(RunError::Sim)?
        .with_records(scenario.output.records);
    if let Some(sink) = sink {
        sim = sim.with_record_sink(sink);
    }
    for (d, autoscaler) in scenario.autoscalers.iter().enumerate() {
        if let Some((config, metrics, outages)) = autoscaler {
            // Validated when the scenario was loaded.
            let built = config
                .build()
                .map_err(|e| RunError::Sim(SimError::Config(e.to_string())))?;
            sim = sim
                .with_autoscaler(d, built, *metrics)
                .and_then(|s| s.with_metrics_outages(d, outages.clone()))
                .map_err(RunError::Sim)?;
        }
    }
    let mut result = sim.run().map_err(|e| match e {
        SimError::Workload(error) => RunError::Workload(OpenError {
            path: workload::source_path(&scenario.workload).map(|p| p.to_path_buf()),
            error,
        }),
        error @ (SimError::Class { .. }
        | SimError::Deployment { .. }
        | SimError::ModelRoute { .. }
        | SimError::TooManyRequests { .. }) => RunError::Request {
            path: workload::source_path(&scenario.workload).map(|p| p.to_path_buf()),
            error,
        },
        other => RunError::Sim(other),
    })?;
    result.warnings = std::mem::take(&mut *warnings.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(result)
}

/// Runs a scenario and records the wall-clock time in `sim.wall_s`.
pub fn run_timed(scenario: &Scenario) -> Result<RunResult, RunError> {
    run_timed_with_sink(scenario, None)
}

/// [`run_timed`] with a record sink ([`run_with_sink`]).
pub fn run_timed_with_sink(
    scenario: &Scenario,
    sink: Option<Box<dyn RecordSink>>,
) -> Result<RunResult, RunError> {
    run_timed_observed(scenario, sink, None)
}

/// [`run_timed_with_sink`] with progress reports ([`run_observed`]).
pub fn run_timed_observed(
    scenario: &Scenario,
    sink: Option<Box<dyn RecordSink>>,
    progress: Option<ProgressFn>,
) -> Result<RunResult, RunError> {
    let start = Instant::now();
    let mut result = run_observed(scenario, None, sink, progress)?;
    result.summary.sim.wall_s = Some(start.elapsed().as_secs_f64());
    Ok(result)
}

/// Request fields the scenario will not use, and what to say the first time
/// a request carries one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IgnoredFields {
    /// Said at the first request with prefix-block hashes.
    pub prefix_hashes: Option<String>,
    /// Said at the first request naming a LoRA adapter.
    pub adapter: Option<String>,
    /// Said at the first request naming a priority class.
    pub priority_class: Option<String>,
}

/// The rule for warnings about ignored request fields:
/// - prefix hashes: warned about when the router does not use them
///   (`prefix_aware` and `session_affinity` do); the message says whether
///   the replicas' prefix caches still use them;
/// - adapters: warned about when the deployment has no `[deployment.lora]`;
/// - priority classes: warned about when the scenario configures no
///   `[[queue.classes]]` (every request is then served as one class).
pub fn ignored_fields(scenario: &Scenario, router_uses_prefix_hashes: bool) -> IgnoredFields {
    let deployments = &scenario.sim.deployments;
    let batching = |f: fn(&BatchingConfig) -> bool| {
        deployments.iter().any(|d| match &d.fleet.replica {
            ReplicaSpec::Batching { config, .. } => f(config),
            ReplicaSpec::Slots { .. } => false,
        })
    };
    let caching = batching(|c| c.prefix_cache.is_some());
    let lora = batching(|c| c.lora.is_some());
    let kind = scenario
        .routers
        .first()
        .map_or("least_outstanding", |r| r.kind());
    let prefix_hashes = (!router_uses_prefix_hashes).then(|| {
        if caching {
            format!(
                "the workload has prefix-block hashes, which router `{kind}` ignores \
                 (replicas still cache prefixes); [router] kind = \"prefix_aware\" routes by them"
            )
        } else {
            format!(
                "the workload has prefix-block hashes, but neither prefix caching nor \
                 router `{kind}` uses them; set deployment.engine.prefix_caching = true or \
                 [router] kind = \"prefix_aware\""
            )
        }
    });
    let adapter = (!lora).then(|| {
        "the workload names LoRA adapters, which are ignored without [deployment.lora]".to_string()
    });
    let priority_class = (deployments.iter())
        .all(|d| d.fleet.queue.classes.is_empty())
        .then(|| {
            "the workload names priority classes, but the scenario configures no \
         [[queue.classes]]: every request is served as one class"
                .to_string()
        });
    IgnoredFields {
        prefix_hashes,
        adapter,
        priority_class,
    }
}

/// Passes requests through, recording each warning of [`IgnoredFields`]
/// the first time a request carries the field (once per run, not per
/// request); [`run`] returns them in `RunResult::warnings`.
struct WarnIgnored {
    inner: BoxedWorkload,
    fields: IgnoredFields,
    /// Where the messages go; `run` moves them into `RunResult::warnings`.
    sink: Arc<Mutex<Vec<String>>>,
}

impl WarnIgnored {
    fn wrap(
        inner: BoxedWorkload,
        fields: IgnoredFields,
        sink: Arc<Mutex<Vec<String>>>,
    ) -> BoxedWorkload {
        if fields == IgnoredFields::default() {
            inner
        } else {
            Box::new(WarnIgnored {
                inner,
                fields,
                sink,
            })
        }
    }

    fn note(&mut self, r: &Request) {
        let f = &mut self.fields;
        for (present, message) in [
            (!r.prefix_hashes.is_empty(), &mut f.prefix_hashes),
            (r.adapter.is_some(), &mut f.adapter),
            (r.priority_class.is_some(), &mut f.priority_class),
        ] {
            // Only a request that carries the field may use up its message.
            if let Some(m) = message.take_if(|_| present) {
                self.sink.lock().unwrap_or_else(|e| e.into_inner()).push(m);
            }
        }
    }
}

impl Iterator for WarnIgnored {
    type Item = Result<Request, WorkloadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.inner.next();
        if let Some(Ok(r)) = &item {
            self.note(r);
        }
        item
    }
}

/// Passes requests through, reporting [`RunProgress`] every
/// [`PROGRESS_EVERY`] of them.
struct Observed {
    inner: BoxedWorkload,
    report: ProgressFn,
    at: RunProgress,
}

impl Iterator for Observed {
    type Item = Result<Request, WorkloadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.inner.next();
        if let Some(Ok(r)) = &item {
            self.at.requests += 1;
            self.at.simulated_s = r.arrival.as_secs_f64();
            if self.at.requests % PROGRESS_EVERY == 0 {
                (self.report)(self.at);
            }
        }
        item
    }
}

/// Applies `f` to every item on up to `jobs` threads (a rayon pool, as
/// sweeps use) and returns the results in item order. Which thread ran an
/// item never shows in the result, so the answer does not depend on `jobs`
/// (runs are pure functions of their scenario). `jobs = 0` means one thread
/// per available core. Without the `parallel` feature, items run in order
/// on this thread.
pub fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        if let Ok(pool) = rayon::ThreadPoolBuilder::new().num_threads(jobs).build() {
            return pool.install(|| items.par_iter().map(&f).collect());
        }
        // No threads to be had: run in order on this one.
    }
    let _ = jobs;
    items.iter().map(f).collect()
}

/// Calls `f` on every item on up to `jobs` threads (0: one per core), in
/// no particular order; in order on this thread without the `parallel`
/// feature.
pub fn parallel_for_each<T: Sync>(items: &[T], jobs: usize, f: impl Fn(&T) + Sync) {
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        if let Ok(pool) = rayon::ThreadPoolBuilder::new().num_threads(jobs).build() {
            return pool.install(|| items.par_iter().for_each(&f));
        }
    }
    let _ = jobs;
    items.iter().for_each(f);
}
