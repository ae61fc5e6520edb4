//! Helpers shared by the integration tests.
#![allow(clippy::unwrap_used)]
#![allow(dead_code)]

use std::path::PathBuf;

/// The workspace root (two levels above this crate's manifest).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `../shared` next to the workspace, where the real traces and reference
/// data live. Returns `None` (and says the test was skipped) when it is
/// absent, as on a user's fresh clone; under `CI=true` its absence is a
/// failure so CI always runs the tests that need it.
pub fn shared_dir(test: &str) -> Option<PathBuf> {
    let dir = workspace_root().join("../shared");
    if dir.join("traces").is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
        panic!("{test}: ../shared is missing next to the workspace, and CI=true requires it");
    }
    eprintln!("{test}: skipped, ../shared not found next to the workspace");
    None
}
