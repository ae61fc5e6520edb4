//! Opening workloads: the file-system side of the readers in
//! `fleetsim_core::workload` (which only take `impl Read`).

use crate::scenario::WorkloadSpec;
use fleetsim_core::request::Request;
use fleetsim_core::workload::azure::AzureReader;
use fleetsim_core::workload::burstgpt::BurstGptReader;
use fleetsim_core::workload::detect::{detect, TraceFormat};
use fleetsim_core::workload::generic_csv::GenericCsvReader;
use fleetsim_core::workload::mooncake::MooncakeReader;
use fleetsim_core::workload::servegen::{ServeGenConfig, ServeGenProfile, ServeGenWorkload};
use fleetsim_core::workload::synthetic::SyntheticWorkload;
use fleetsim_core::workload::trace_reader::{RecordParser, TraceReader};
use fleetsim_core::workload::transforms::{apply_transforms_with_factory, WorkloadFactory};
use fleetsim_core::workload::{BoxedWorkload, WorkloadError};
use fleetsim_core::SimTime;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// A workload that could not be opened or read, with the file it came from.
#[derive(Debug)]
pub struct OpenError {
    /// The file, if the workload reads one.
    pub path: Option<PathBuf>,
    /// What went wrong.
    pub error: WorkloadError,
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let error = Explained(&self.error);
        match &self.path {
            Some(p) => write!(f, "{}: {error}", p.display()),
            None => write!(f, "workload: {error}"),
        }
    }
}

/// What the front end adds to a [`WorkloadError::OutOfOrder`]: how to ask
/// for sorting, in a scenario and on the command line.
pub const SORT_HINT: &str =
    "sort the trace, or set `sort = true` on the workload (`--sort` with `--trace`)";

/// A [`WorkloadError`] as the front end words it: the engine's message,
/// and for an out-of-order timestamp, `; ` and [`SORT_HINT`].
#[derive(Debug, Clone, Copy)]
pub struct Explained<'a>(pub &'a WorkloadError);

impl std::fmt::Display for Explained<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        if matches!(self.0, WorkloadError::OutOfOrder { .. }) {
            write!(f, "; {SORT_HINT}")?;
        }
        Ok(())
    }
}

impl std::error::Error for OpenError {}

/// The file a workload reads, if any (to name it in errors).
pub fn source_path(spec: &WorkloadSpec) -> Option<&Path> {
    match spec {
        WorkloadSpec::Synthetic { .. } => None,
        WorkloadSpec::Trace { path, .. } | WorkloadSpec::Servegen { path, .. } => Some(path),
    }
}

fn open(path: &Path) -> Result<BufReader<File>, WorkloadError> {
    File::open(path)
        .map(|f| BufReader::with_capacity(1 << 16, f))
        .map_err(|source| WorkloadError::Io { line: None, source })
}

/// Detects a trace file's format from its first bytes.
pub fn detect_file(path: &Path) -> Result<TraceFormat, WorkloadError> {
    let mut head = Vec::with_capacity(4096);
    open(path)?
        .take(4096)
        .read_to_end(&mut head)
        .map_err(|source| WorkloadError::Io { line: None, source })?;
    detect(&head)
}

/// Names a trace's records may carry, checked at their line (an empty list
/// checks nothing).
#[derive(Clone, Debug)]
pub struct KnownNames {
    /// Priority classes (empty: the scenario has none, and any name is
    /// served as the one class).
    pub classes: Arc<[Box<str>]>,
    /// Models (empty: one deployment serves every model).
    pub models: Arc<[Box<str>]>,
}

impl KnownNames {
    /// Checks nothing.
    pub fn any() -> Self {
        KnownNames {
            classes: Arc::from([]),
            models: Arc::from([]),
        }
    }
}

/// Opens a request-level trace as a streaming reader.
pub fn open_trace(path: &Path, format: TraceFormat) -> Result<BoxedWorkload, WorkloadError> {
    open_reader(path, format, false, KnownNames::any())
}

/// Opens a trace and replays it in arrival order: the whole trace is read
/// into memory and sorted (stably: equal timestamps keep file order), which
/// is why sorting must be asked for.
pub fn open_sorted_trace(
    path: &Path,
    format: TraceFormat,
    known: KnownNames,
) -> Result<BoxedWorkload, WorkloadError> {
    Ok(Box::new(
        read_sorted(path, format, known)?.into_iter().map(Ok),
    ))
}

/// The whole trace, sorted as [`open_sorted_trace`] replays it.
fn read_sorted(
    path: &Path,
    format: TraceFormat,
    known: KnownNames,
) -> Result<Vec<Request>, WorkloadError> {
    let reader = open_reader(path, format, true, known)?;
    let mut all = reader.collect::<Result<Vec<_>, _>>()?;
    all.sort_by_key(|r| r.arrival);
    if format == TraceFormat::Azure {
        // In any order, Azure arrivals count from the Unix epoch; the
        // format's convention is that the earliest request arrives at 0.
        let origin = all.first().map_or(0, |r| r.arrival.as_nanos());
        for r in &mut all {
            r.arrival = SimTime(r.arrival.as_nanos() - origin);
        }
    }
    Ok(all)
}

fn open_reader(
    path: &Path,
    format: TraceFormat,
    any_order: bool,
    known: KnownNames,
) -> Result<BoxedWorkload, WorkloadError> {
    fn boxed<P: RecordParser + Send + 'static>(
        reader: TraceReader<P>,
        any_order: bool,
        known: KnownNames,
    ) -> BoxedWorkload {
        let reader = reader
            .known_classes(known.classes)
            .known_models(known.models);
        if any_order {
            Box::new(reader.any_order())
        } else {
            Box::new(reader)
        }
    }
    let file = open(path)?;
    Ok(match format {
        TraceFormat::Azure => boxed(AzureReader::new(file), any_order, known),
        TraceFormat::Mooncake => boxed(MooncakeReader::new(file), any_order, known),
        TraceFormat::BurstGpt => boxed(BurstGptReader::new(file), any_order, known),
        TraceFormat::GenericCsv => boxed(GenericCsvReader::new(file), any_order, known),
        TraceFormat::ServeGenWindows => {
            return Err(WorkloadError::invalid(
                "workload.kind",
                "this file holds ServeGen rate windows, not requests: use `kind = \"servegen\"` with token length distributions",
            ))
        }
    })
}

/// Parsed inputs shared by many runs (a sweep's configurations and seeds,
/// on any number of threads): each distinct trace (file, format, sorting,
/// names checked) is read once into one immutable list of requests, and
/// each distinct ServeGen file and window span into one profile. A run
/// then replays the shared list, so it sees exactly the requests it would
/// have read itself. A file that does not read cleanly to its end is not
/// shared: every run reads it as [`build`] does, and meets its error where
/// it always did. Memory: one copy of each distinct trace, held as long as
/// this value lives.
#[derive(Debug, Default)]
pub struct SharedInputs {
    traces: Cells<Arc<Vec<Request>>>,
    profiles: Cells<Arc<ServeGenProfile>>,
}

/// One cell per key, filled once: `None` when reading failed.
type Cells<T> = Mutex<HashMap<String, Arc<OnceLock<Option<T>>>>>;

/// The cell of `key`, created empty on first use; filled by the caller
/// (other threads asking for the same key wait for it).
fn cell<T>(map: &Mutex<HashMap<String, Arc<OnceLock<T>>>>, key: String) -> Arc<OnceLock<T>> {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    Arc::clone(map.entry(key).or_default())
}

impl SharedInputs {
    /// An empty cache.
    pub fn new() -> Self {
        SharedInputs::default()
    }

    /// The whole trace as `read` reads it, read once per key; `None` if
    /// reading it fails anywhere.
    fn trace(
        &self,
        key: String,
        read: impl FnOnce() -> Result<Vec<Request>, WorkloadError>,
    ) -> Option<Arc<Vec<Request>>> {
        let cell = cell(&self.traces, key);
        cell.get_or_init(|| {
            let mut all = read().ok()?;
            all.shrink_to_fit();
            Some(Arc::new(all))
        })
        .clone()
    }

    /// The ServeGen profile of `path` for `config`'s span, read once per
    /// (file, span); `None` if reading it fails.
    fn profile(&self, path: &Path, config: &ServeGenConfig) -> Option<Arc<ServeGenProfile>> {
        let key = format!("{}|{:?}", path.display(), config.span());
        let cell = cell(&self.profiles, key);
        cell.get_or_init(|| read_profile(path, config).ok().map(Arc::new))
            .clone()
    }
}

/// Replays a shared list of requests.
struct Replay {
    all: Arc<Vec<Request>>,
    next: usize,
}

impl Iterator for Replay {
    type Item = Result<Request, WorkloadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let r = self.all.get(self.next)?.clone();
        self.next += 1;
        Some(Ok(r))
    }
}

/// Reads a ServeGen file: only the windows `config` plays when it is
/// valid (see [`ServeGenProfile::from_reader_in`]), else all of it (and
/// the configuration's error comes next, as it always did).
fn read_profile(path: &Path, config: &ServeGenConfig) -> Result<ServeGenProfile, WorkloadError> {
    let file = open(path)?;
    if config.validate("").is_ok() {
        ServeGenProfile::from_reader_in(file, &config.span())
    } else {
        ServeGenProfile::from_reader(file)
    }
}

/// Builds the workload a scenario describes, with `seed` for generators; a
/// trace record naming a priority class or model outside `known` is an
/// error at its line.
pub fn build(
    spec: &WorkloadSpec,
    seed: u64,
    known: KnownNames,
) -> Result<BoxedWorkload, OpenError> {
    build_shared(spec, seed, known, None)
}

/// [`build`], taking traces and profiles from `shared` when given.
pub fn build_shared(
    spec: &WorkloadSpec,
    seed: u64,
    known: KnownNames,
    shared: Option<&SharedInputs>,
) -> Result<BoxedWorkload, OpenError> {
    let with_path = |error| OpenError {
        path: source_path(spec).map(Path::to_path_buf),
        error,
    };
    let (factory, transforms): (WorkloadFactory, _) = match spec {
        WorkloadSpec::Synthetic { config, transforms } => {
            let config = config.clone();
            (
                Arc::new(move || {
                    Ok(Box::new(SyntheticWorkload::new(&config, seed)?) as BoxedWorkload)
                }),
                transforms,
            )
        }
        WorkloadSpec::Trace {
            path,
            format,
            sort,
            transforms,
        } => {
            let format = match format {
                Some(f) => *f,
                None => detect_file(path).map_err(with_path)?,
            };
            let key = format!(
                "{}|{format:?}|{sort}|{:?}|{:?}",
                path.display(),
                known.classes,
                known.models
            );
            let path = path.clone();
            let sort = *sort;
            let all = shared.and_then(|shared| {
                // Read straight into the one list (no second copy).
                shared.trace(key, || {
                    if sort {
                        read_sorted(&path, format, known.clone())
                    } else {
                        open_reader(&path, format, false, known.clone())?.collect()
                    }
                })
            });
            let open_it = move || {
                if sort {
                    open_sorted_trace(&path, format, known.clone())
                } else {
                    open_reader(&path, format, false, known.clone())
                }
            };
            let factory: WorkloadFactory = match all {
                Some(all) => Arc::new(move || {
                    Ok(Box::new(Replay {
                        all: Arc::clone(&all),
                        next: 0,
                    }) as BoxedWorkload)
                }),
                None => Arc::new(open_it),
            };
            (factory, transforms)
        }
        WorkloadSpec::Servegen {
            path,
            config,
            transforms,
        } => {
            let config = config.clone();
            let profile = match shared.and_then(|s| s.profile(path, &config)) {
                Some(p) => p,
                None => Arc::new(read_profile(path, &config).map_err(with_path)?),
            };
            (
                Arc::new(move || {
                    Ok(
                        Box::new(ServeGenWorkload::new(Arc::clone(&profile), &config, seed)?)
                            as BoxedWorkload,
                    )
                }),
                transforms,
            )
        }
    };
    apply_transforms_with_factory(factory, transforms, "workload.transforms").map_err(with_path)
}
