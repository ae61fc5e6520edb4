//! Standard output, the one way the binary writes it.
//!
//! Every command prints through [`print`]: the text goes to a locked stdout
//! in one `write_all` and is flushed at once, so an error shows where it
//! happens, not at exit. When the reader has gone (`fleetsim … | head -1`),
//! the write fails with [`io::ErrorKind::BrokenPipe`] (Rust ignores
//! SIGPIPE); [`print`] turns that into [`StdoutClosed`], which `main` treats
//! as a quiet, successful exit. `print!` would panic there instead.
//!
//! Commands write stdout last, after their files: a closed stdout never
//! keeps a baseline, a sweep or a chart from being written. A command whose
//! exit status is its answer (`check`, `verify-policies`) reports a failing
//! verdict even when its stdout is closed.

use std::io::{self, Write};

/// Standard output's reader has gone: nothing more can be shown, and
/// nothing is wrong.
#[derive(Debug)]
pub struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("standard output is closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// Writes `text` to standard output and flushes it.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| match e.kind() {
            io::ErrorKind::BrokenPipe => anyhow::Error::new(StdoutClosed),
            _ => anyhow::Error::new(e).context("writing to standard output"),
        })
}

/// Whether `error` is (or was caused by) a closed standard output.
pub fn is_closed(error: &anyhow::Error) -> bool {
    error.chain().any(|e| e.is::<StdoutClosed>())
}
