//! What a run does with each request's record once the request has ended:
//! keep it to the end of the run ([`Records::Keep`], what tests and plots
//! that read records need; memory grows with the requests), or only count
//! it into the streaming summary and hand it to a [`RecordSink`]
//! ([`Records::Stream`]; memory grows with the requests in flight).

use crate::metrics::RequestRecord;
use serde::{Deserialize, Serialize};
use std::io;

/// Whether a run keeps every request's record (`[output] records`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Records {
    /// Keep every record to the end: `RunResult::records` holds them in id
    /// order and the summary's percentiles are exact. The run takes at most
    /// [`super::MAX_REQUESTS`] requests.
    #[default]
    Keep,
    /// Count each record into the streaming summary (percentiles from a
    /// sketch within [`crate::summary::sketch::RELATIVE_ERROR`]; counts,
    /// sums and SLA attainment exact), pass it to the sink, drop it:
    /// `RunResult::records` is empty and the run takes any number of
    /// requests.
    Stream,
}

impl Records {
    /// The name in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Records::Keep => "keep",
            Records::Stream => "stream",
        }
    }
}

/// Where each request's end-to-end record goes as the request ends (in
/// completion order: the order requests end, ties in event order), in
/// either [`Records`] mode. Pipeline stage visits are not passed on (the
/// deployments' sections count them).
pub trait RecordSink: Send {
    /// Takes one record. An error stops the run with
    /// [`super::SimError::RecordSink`].
    fn record(&mut self, record: &RequestRecord) -> io::Result<()>;

    /// Called once after the last record, before the run returns.
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}
