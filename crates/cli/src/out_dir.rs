//! `fleetsim run --out DIR`: the files of one run, replaced as a set.
//!
//! [`OutDir::prepare`] runs before the simulation, so a directory that
//! cannot be written is an error at once, not after the whole run. It
//! creates a hidden sibling `.<name>.partial` where the run's files (and
//! charts) are written; [`OutDir::commit`] renames it to `DIR`. A run
//! interrupted before the rename leaves `DIR` as it was (an earlier run's
//! complete set, or nothing) and the next run removes the stale sibling; a
//! reader never finds a new `summary.json` beside an old `requests.csv`.
//!
//! An existing `DIR` is replaced only if it holds nothing but what a run
//! writes ([`RUN_FILES`] and the charts), so `--out` never deletes a file
//! a run did not write.
//!
//! A run that streams its records (`[output] records = "stream"`) writes
//! `requests.csv` into the sibling while it runs, a row as each request
//! ends ([`OutDir::requests_sink`]); the other files follow at its end.

use crate::plot::RUN_CHARTS;
use fleetsim_core::output::{
    write_replicas_csv, write_requests_csv, write_timeseries_csv, RecordNames, RequestsCsv,
};
use fleetsim_core::{RecordSink, RunResult};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The files a run writes into its `--out` directory.
pub const RUN_FILES: [&str; 4] = [
    "summary.json",
    "requests.csv",
    "timeseries.csv",
    "replicas.csv",
];

/// Why a run's `--out` directory could not be prepared or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutDirError {
    /// A file system operation failed (the OS cause is in the message, not
    /// repeated as a source).
    #[error("--out {}: cannot {action}: {error}", path.display())]
    Io {
        /// The path it failed on.
        path: PathBuf,
        /// What it tried (`create the directory`, `write`, …).
        action: &'static str,
        /// The OS error, as text.
        error: String,
    },
    /// `DIR`, or a directory on its path, exists and is not a directory.
    #[error("--out {}: {} is a file, not a directory", dir.display(), file.display())]
    NotADirectory {
        /// The `--out` path.
        dir: PathBuf,
        /// `DIR` itself or the directory on its path that is a file.
        file: PathBuf,
    },
    /// `DIR` holds files a run does not write, which replacing it would
    /// delete.
    #[error(
        "--out {}: holds {} that a run does not write; give --out a new directory or one an earlier run wrote",
        dir.display(),
        files.join(", ")
    )]
    Foreign {
        /// The `--out` path.
        dir: PathBuf,
        /// The first few names found that a run does not write.
        files: Vec<String>,
    },
    /// `DIR` has no name of its own (`.`, `..`, `/`), so it cannot be
    /// replaced by a rename.
    #[error("--out {}: name a directory of its own (such as results/), not the current, parent or root directory", dir.display())]
    Unnamed {
        /// The `--out` path.
        dir: PathBuf,
    },
}

fn io_err(path: &Path, action: &'static str) -> impl FnOnce(io::Error) -> OutDirError {
    let path = path.to_path_buf();
    move |e| OutDirError::Io {
        path,
        action,
        error: e.to_string(),
    }
}

/// Whether a run writes a file of this name (its files, its charts, and the
/// temporary names earlier versions wrote them under).
fn written_by_a_run(name: &str) -> bool {
    let name = name.strip_suffix(".tmp").unwrap_or(name);
    RUN_FILES.contains(&name)
        || (RUN_CHARTS.iter()).any(|c| {
            name.strip_prefix(c)
                .is_some_and(|ext| ext == ".svg" || ext == ".png")
        })
}

/// The names in `dir` a run does not write (at most five, sorted).
fn foreign_files(dir: &Path) -> Result<Vec<String>, OutDirError> {
    let mut foreign = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err(dir, "read the directory"))? {
        let entry = entry.map_err(io_err(dir, "read the directory"))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if !(is_file && written_by_a_run(&name)) {
            foreign.push(name);
        }
    }
    foreign.sort();
    foreign.truncate(5);
    Ok(foreign)
}

/// How `requests.csv` gets into a run's directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestsFile {
    /// Written after the run from `RunResult::records` (id order).
    FromRecords,
    /// Already written during the run through [`OutDir::requests_sink`]
    /// (completion order).
    Streamed,
    /// Not written (`[output] requests_csv = false`).
    Skipped,
}

/// A file written while the run goes on: errors name it, and flushing
/// (once, when the run ends) syncs it to disk like the other files.
struct SyncedFile {
    w: io::BufWriter<std::fs::File>,
    path: PathBuf,
}

impl SyncedFile {
    fn located(&self, e: io::Error) -> io::Error {
        io::Error::new(e.kind(), format!("{}: {e}", self.path.display()))
    }
}

impl Write for SyncedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.w.write(buf).map_err(|e| self.located(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        let synced = self.w.flush().and_then(|()| self.w.get_ref().sync_all());
        synced.map_err(|e| self.located(e))
    }
}

/// A run's `--out` directory being written: the files go to
/// [`OutDir::path`], and [`OutDir::commit`] puts them in place as a set.
/// Dropped without a commit, it removes what it wrote.
#[derive(Debug)]
pub struct OutDir {
    dir: PathBuf,
    staging: PathBuf,
    old: PathBuf,
    committed: bool,
}

impl OutDir {
    /// Checks that `dir` can take a run's files and creates the staging
    /// directory beside it (creating missing parents): call it before the
    /// run, so a path that cannot be written fails at once.
    pub fn prepare(dir: &Path) -> Result<OutDir, OutDirError> {
        let unnamed = || OutDirError::Unnamed {
            dir: dir.to_path_buf(),
        };
        let name = dir.file_name().ok_or_else(unnamed)?.to_string_lossy();
        if name == "." || name == ".." {
            return Err(unnamed());
        }
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if let Some(file) = dir.ancestors().find(|a| a.exists() && !a.is_dir()) {
            return Err(OutDirError::NotADirectory {
                dir: dir.to_path_buf(),
                file: file.to_path_buf(),
            });
        }
        std::fs::create_dir_all(&parent).map_err(io_err(&parent, "create the directory"))?;
        let out = OutDir {
            dir: dir.to_path_buf(),
            staging: parent.join(format!(".{name}.partial")),
            old: parent.join(format!(".{name}.old")),
            committed: false,
        };
        // An earlier run stopped between its two renames: its old set is
        // complete, so it goes back in place.
        if out.old.is_dir() && !dir.exists() {
            std::fs::rename(&out.old, dir).map_err(io_err(&out.old, "restore"))?;
        }
        out.check_target()?;
        for stale in [&out.staging, &out.old] {
            if stale.exists() {
                std::fs::remove_dir_all(stale).map_err(io_err(stale, "remove"))?;
            }
        }
        std::fs::create_dir(&out.staging).map_err(io_err(&out.staging, "create the directory"))?;
        Ok(out)
    }

    /// `DIR` is absent, or a directory holding only what a run writes.
    fn check_target(&self) -> Result<(), OutDirError> {
        if !self.dir.exists() {
            return Ok(());
        }
        if !self.dir.is_dir() {
            return Err(OutDirError::NotADirectory {
                dir: self.dir.clone(),
                file: self.dir.clone(),
            });
        }
        let files = foreign_files(&self.dir)?;
        match files.is_empty() {
            true => Ok(()),
            false => Err(OutDirError::Foreign {
                dir: self.dir.clone(),
                files,
            }),
        }
    }

    /// Where the run's files go until [`OutDir::commit`].
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Writes `summary.json`, `requests.csv`, `timeseries.csv` and
    /// `replicas.csv` of `result` (`requests.csv` from its records).
    pub fn write_run(&self, result: &RunResult) -> Result<(), OutDirError> {
        self.write_run_with(result, RequestsFile::FromRecords)
    }

    /// Writes the run's files, `requests.csv` as `requests` says.
    pub fn write_run_with(
        &self,
        result: &RunResult,
        requests: RequestsFile,
    ) -> Result<(), OutDirError> {
        let summary = crate::report::summary_json(&result.summary);
        self.write("summary.json", |w| w.write_all(summary.as_bytes()))?;
        if requests == RequestsFile::FromRecords {
            self.write("requests.csv", |w| {
                write_requests_csv(&result.records, &result.summary, w)
            })?;
        }
        self.write("timeseries.csv", |w| {
            write_timeseries_csv(&result.timeseries, w)
        })?;
        self.write("replicas.csv", |w| {
            write_replicas_csv(&result.replicas, &result.summary.deployments, w)
        })
    }

    /// Creates `requests.csv` with its header and returns the sink that
    /// writes a row as each request ends (completion order); the run then
    /// writes the other files with [`RequestsFile::Streamed`]. Nothing is
    /// held but a write buffer; the file is synced when the run ends.
    pub fn requests_sink(&self, names: RecordNames) -> Result<Box<dyn RecordSink>, OutDirError> {
        let path = self.staging.join("requests.csv");
        let file = std::fs::File::create(&path).map_err(io_err(&path, "create"))?;
        let out = SyncedFile {
            w: io::BufWriter::new(file),
            path: path.clone(),
        };
        let csv = RequestsCsv::new(names, out).map_err(io_err(&path, "write"))?;
        Ok(Box::new(csv))
    }

    fn write(
        &self,
        name: &str,
        write: impl FnOnce(&mut io::BufWriter<std::fs::File>) -> io::Result<()>,
    ) -> Result<(), OutDirError> {
        let path = self.staging.join(name);
        let file = std::fs::File::create(&path).map_err(io_err(&path, "create"))?;
        let mut w = io::BufWriter::new(file);
        write(&mut w).map_err(io_err(&path, "write"))?;
        w.flush().map_err(io_err(&path, "write"))?;
        w.get_ref().sync_all().map_err(io_err(&path, "write"))
    }

    /// Puts the files in place as `DIR`, replacing an earlier run's set.
    pub fn commit(mut self) -> Result<(), OutDirError> {
        self.check_target()?;
        if self.dir.exists() {
            std::fs::rename(&self.dir, &self.old).map_err(io_err(&self.dir, "replace"))?;
        }
        if let Err(e) = std::fs::rename(&self.staging, &self.dir) {
            // Put the earlier set back rather than leave no directory.
            let _ = std::fs::rename(&self.old, &self.dir);
            return Err(io_err(&self.dir, "replace")(e));
        }
        self.committed = true;
        if self.old.exists() {
            std::fs::remove_dir_all(&self.old).map_err(io_err(&self.old, "remove"))?;
        }
        Ok(())
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_runs_files_may_be_replaced() {
        for ours in [
            "summary.json",
            "replicas.csv",
            "summary.json.tmp",
            "fleet.svg",
            "latency-cdf.png",
            "gpu-hours.svg",
        ] {
            assert!(written_by_a_run(ours), "{ours}");
        }
        for theirs in [
            "notes.txt",
            "summary.json.bak",
            "fleet.pdf",
            "results.jsonl",
        ] {
            assert!(!written_by_a_run(theirs), "{theirs}");
        }
    }
}
