//! `fleetsim verify-policies FILE`: run a conformance vectors file against
//! the autoscaler cores of `fleetsim-policies` and report per case and per
//! autoscaler.

use fleetsim_policies::autoscalers::conformance::{self, CaseResult, VectorsError};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Why a vectors file could not be verified at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The file could not be read.
    #[error("{}: cannot read: {cause}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        cause: std::io::Error,
    },
    /// The file is not a valid vectors file.
    #[error("{}: {cause}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Where and what.
        cause: VectorsError,
    },
}

/// The results of one file.
#[derive(Clone, Debug)]
pub struct VerifyReport {
    /// Every case, in file order.
    pub results: Vec<CaseResult>,
}

impl VerifyReport {
    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.passed).count()
    }

    /// Cases that failed.
    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }

    /// Failing cases with expected and actual values, then passed/failed
    /// per autoscaler, then `N passed, M failed`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for r in self.results.iter().filter(|r| !r.passed) {
            let _ = writeln!(out, "{r}");
        }
        let mut keys: Vec<&str> = conformance::AUTOSCALERS
            .iter()
            .copied()
            .filter(|k| self.results.iter().any(|r| r.autoscaler == *k))
            .collect();
        for r in &self.results {
            if !keys.contains(&r.autoscaler.as_str()) {
                keys.push(&r.autoscaler);
            }
        }
        for k in keys {
            let (p, f) =
                self.results
                    .iter()
                    .filter(|r| r.autoscaler == k)
                    .fold(
                        (0, 0),
                        |(p, f), r| if r.passed { (p + 1, f) } else { (p, f + 1) },
                    );
            let _ = writeln!(out, "{k}: {p} passed, {f} failed");
        }
        let _ = writeln!(out, "{} passed, {} failed", self.passed(), self.failed());
        out
    }
}

/// Read and run a vectors file.
pub fn verify_file(path: &Path) -> Result<VerifyReport, VerifyError> {
    let text = std::fs::read_to_string(path).map_err(|cause| VerifyError::Read {
        path: path.to_path_buf(),
        cause,
    })?;
    let results = conformance::run_str(&text).map_err(|cause| VerifyError::Malformed {
        path: path.to_path_buf(),
        cause,
    })?;
    Ok(VerifyReport { results })
}
