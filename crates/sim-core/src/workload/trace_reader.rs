//! The mechanism every trace reader shares: a [`RecordParser`] turns a file
//! format into requests one record at a time, and [`TraceReader`] streams
//! them, checking arrival order and stopping at the first error.

use super::{ArrivalOrder, WorkloadError};
use crate::request::Request;
use std::fmt;
use std::sync::Arc;

/// The per-format part of a trace reader: reads and parses one record.
pub trait RecordParser {
    /// The column (or key) holding the arrival time, named in
    /// [`WorkloadError::OutOfOrder`] errors.
    const TIMESTAMP_FIELD: &'static str;

    /// The next record with its 1-based line number, or `None` at the end
    /// of the input. Arrival order is not this method's business: the
    /// [`TraceReader`] checks it.
    fn next_record(&mut self) -> Result<Option<(u64, Request)>, WorkloadError>;

    /// Called by [`TraceReader::any_order`], for a format whose arrivals
    /// depend on whether the records come sorted. Does nothing by default.
    fn any_order(&mut self) {}
}

/// Streams the requests of a trace, parsed by `P`.
///
/// Yields requests in file order; a record earlier than its predecessor is a
/// [`WorkloadError::OutOfOrder`] unless [`TraceReader::any_order`] was
/// called. After the first error the reader is finished and yields `None`.
pub struct TraceReader<P> {
    parser: P,
    order: ArrivalOrder,
    finished: bool,
    /// Priority classes a record may name (`None`: any).
    classes: Option<Arc<[Box<str>]>>,
    /// Models (deployments) a record may name (`None`: any).
    models: Option<Arc<[Box<str>]>>,
}

impl<P: fmt::Debug> fmt::Debug for TraceReader<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceReader")
            .field("parser", &self.parser)
            .field("order", &self.order)
            .field("finished", &self.finished)
            .field("classes", &self.classes)
            .field("models", &self.models)
            .finish()
    }
}

impl<P: RecordParser> TraceReader<P> {
    /// A reader that checks arrival order over the records of `parser`.
    pub fn from_parser(parser: P) -> Self {
        TraceReader {
            parser,
            order: ArrivalOrder::default(),
            finished: false,
            classes: None,
            models: None,
        }
    }

    /// Makes a record that names a priority class outside `classes` an
    /// error at its line. An empty list checks nothing: a scenario without
    /// classes serves every request as one class, whatever the trace says.
    pub fn known_classes(mut self, classes: Arc<[Box<str>]>) -> Self {
        self.classes = (!classes.is_empty()).then_some(classes);
        self
    }

    /// Makes a record that names a model outside `models` (the
    /// deployments) an error at its line. An empty list checks nothing: a
    /// single deployment serves every request, whatever model it names.
    pub fn known_models(mut self, models: Arc<[Box<str>]>) -> Self {
        self.models = (!models.is_empty()).then_some(models);
        self
    }

    /// Accepts records in any order instead of failing with
    /// [`WorkloadError::OutOfOrder`]; the caller sorts them (a scenario's
    /// `sort = true`). Calls the parser's [`RecordParser::any_order`].
    pub fn any_order(mut self) -> Self {
        self.order = ArrivalOrder::any();
        self.parser.any_order();
        self
    }

    fn read_next(&mut self) -> Result<Option<Request>, WorkloadError> {
        let Some((line, request)) = self.parser.next_record()? else {
            return Ok(None);
        };
        self.order
            .check(line, P::TIMESTAMP_FIELD, request.arrival)?;
        for (known, value, field, what, whats) in [
            (
                &self.classes,
                request.priority_class.as_deref(),
                "priority_class",
                "class",
                "classes",
            ),
            (
                &self.models,
                request.model.as_deref(),
                "model",
                "model",
                "models",
            ),
        ] {
            if let (Some(known), Some(value)) = (known, value) {
                if !known.iter().any(|k| &**k == value) {
                    let names: Vec<&str> = known.iter().map(|k| &**k).collect();
                    return Err(WorkloadError::parse(
                        line,
                        field,
                        format!(
                            "{what} {value:?} is not configured; the configured {whats} are: {}",
                            names.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(Some(request))
    }
}

impl<P: RecordParser> Iterator for TraceReader<P> {
    type Item = Result<Request, WorkloadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let item = self.read_next().transpose();
        // Stop at the end and at the first error: a persistent I/O error
        // would otherwise repeat forever.
        self.finished = !matches!(item, Some(Ok(_)));
        item
    }
}

/// Checks shared by the readers' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// Every item of `reader`, errors as their messages.
    pub(crate) fn read<W: Iterator<Item = Result<Request, WorkloadError>>>(
        reader: W,
    ) -> Vec<Result<Request, String>> {
        reader.map(|r| r.map_err(|e| e.to_string())).collect()
    }

    /// `reader` (over `input`) yields exactly `expect`, without errors.
    pub(crate) fn check_ok<W: Iterator<Item = Result<Request, WorkloadError>>>(
        reader: W,
        input: &str,
        expect: &[Request],
    ) {
        let got: Result<Vec<_>, _> = read(reader).into_iter().collect();
        assert_eq!(got.as_deref(), Ok(expect), "{input:?}");
    }

    /// The last item of `reader` (over `input`) is the error `expect`.
    pub(crate) fn check_err<W: Iterator<Item = Result<Request, WorkloadError>>>(
        reader: W,
        input: &[u8],
        expect: &str,
    ) {
        match read(reader).last() {
            Some(Err(e)) => assert_eq!(e, expect, "{:?}", String::from_utf8_lossy(input)),
            other => panic!("{input:?}: expected error {expect:?}, got {other:?}"),
        }
    }
}
