//! Opening workloads: the file-system side of the readers in
//! `fleetsim_core::workload` (which only take `impl Read`).

use crate::scenario::WorkloadSpec;
use fleetsim_core::workload::azure::AzureReader;
use fleetsim_core::workload::burstgpt::BurstGptReader;
use fleetsim_core::workload::detect::{detect, TraceFormat};
use fleetsim_core::workload::generic_csv::GenericCsvReader;
use fleetsim_core::workload::mooncake::MooncakeReader;
use fleetsim_core::workload::servegen::{ServeGenConfig, ServeGenProfile, ServeGenWorkload};
use fleetsim_core::workload::synthetic::SyntheticWorkload;
use fleetsim_core::workload::transforms::{apply_transforms_with_factory, WorkloadFactory};
use fleetsim_core::workload::{BoxedWorkload, WorkloadError};
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
        match &self.path {
            Some(p) => write!(f, "{}: {}", p.display(), self.error),
            None => write!(f, "workload: {}", self.error),
        }
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

/// Opens a request-level trace as a streaming reader.
pub fn open_trace(path: &Path, format: TraceFormat) -> Result<BoxedWorkload, WorkloadError> {
    let file = open(path)?;
    Ok(match format {
        TraceFormat::Azure => Box::new(AzureReader::new(file)),
        TraceFormat::Mooncake => Box::new(MooncakeReader::new(file)),
        TraceFormat::BurstGpt => Box::new(BurstGptReader::new(file)),
        TraceFormat::GenericCsv => Box::new(GenericCsvReader::new(file)),
        TraceFormat::ServeGenWindows => {
            return Err(WorkloadError::invalid(
                "workload.kind",
                "this file holds ServeGen rate windows, not requests: use `kind = \"servegen\"` with token length distributions",
            ))
        }
    })
}

/// Builds the workload a scenario describes, with `seed` for generators.
pub fn build(spec: &WorkloadSpec, seed: u64) -> Result<BoxedWorkload, OpenError> {
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
                    let reader = open_trace(&path, format)?;
                    if sort {
                        sorted(reader)
                    } else {
                        Ok(reader)
                    }
                }),
                transforms,
            )
        }
        WorkloadSpec::Servegen {
            path,
            input_tokens,
            output_tokens,
            transforms,
        } => {
            let mut config = ServeGenConfig::new(input_tokens.clone(), output_tokens.clone());
            // Zero-rate windows are collection gaps in the published data, not idle time.
            config.skip_zero_windows = true;
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

/// Reads a whole trace and replays it in arrival order (stable: equal
/// timestamps keep file order). Memory grows with the trace, which is why
/// sorting must be asked for.
fn sorted(reader: BoxedWorkload) -> Result<BoxedWorkload, WorkloadError> {
    let mut all = reader.collect::<Result<Vec<_>, _>>()?;
    all.sort_by_key(|r| r.arrival);
    Ok(Box::new(all.into_iter().map(Ok)))
}
