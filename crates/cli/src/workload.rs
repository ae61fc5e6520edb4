//! Opening workloads: the file-system side of the readers in
//! `fleetsim_core::workload` (which only take `impl Read`).

use crate::scenario::WorkloadSpec;
use fleetsim_core::workload::azure::AzureReader;
use fleetsim_core::workload::burstgpt::BurstGptReader;
use fleetsim_core::workload::detect::{detect, TraceFormat};
use fleetsim_core::workload::generic_csv::GenericCsvReader;
use fleetsim_core::workload::mooncake::MooncakeReader;
use fleetsim_core::workload::servegen::{ServeGenProfile, ServeGenWorkload};
use fleetsim_core::workload::synthetic::SyntheticWorkload;
use fleetsim_core::workload::trace_reader::{RecordParser, TraceReader};
use fleetsim_core::workload::transforms::{apply_transforms_with_factory, WorkloadFactory};
use fleetsim_core::workload::{BoxedWorkload, WorkloadError};
use fleetsim_core::SimTime;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    Ok(Box::new(all.into_iter().map(Ok)))
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

/// Builds the workload a scenario describes, with `seed` for generators; a
/// trace record naming a priority class or model outside `known` is an
/// error at its line.
pub fn build(
    spec: &WorkloadSpec,
    seed: u64,
    known: KnownNames,
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
            let path = path.clone();
            let sort = *sort;
            (
                Arc::new(move || {
                    if sort {
                        open_sorted_trace(&path, format, known.clone())
                    } else {
                        open_reader(&path, format, false, known.clone())
                    }
                }),
                transforms,
            )
        }
        WorkloadSpec::Servegen {
            path,
            config,
            transforms,
        } => {
            let config = config.clone();
            let profile = Arc::new(
                ServeGenProfile::from_reader(open(path).map_err(with_path)?).map_err(with_path)?,
            );
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
