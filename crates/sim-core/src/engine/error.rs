//! Why a run stops early.

use crate::names::NameError;
use crate::workload::WorkloadError;
use std::fmt;

/// Why a run stopped early.
#[derive(Debug)]
#[non_exhaustive]
pub enum SimError {
    /// The workload could not produce its next request.
    Workload(WorkloadError),
    /// The workload produced a request earlier than one before it.
    ArrivalInThePast {
        /// Arrival of the offending request, seconds.
        arrival_s: f64,
        /// Simulated time already reached, seconds.
        now_s: f64,
    },
    /// A deployment has no replica and no way to get one.
    EmptyFleet {
        /// The deployment's name.
        deployment: String,
    },
    /// The configuration is inconsistent (no deployment, a router count
    /// that differs from the deployment count, deployments on different
    /// node pools).
    Config(String),
    /// A request's deployment could not be decided.
    Deployment {
        /// The request's arrival-order id.
        request: u64,
        /// Its arrival, seconds.
        arrival_s: f64,
        /// What was wrong.
        error: NameError,
    },
    /// A model router could not route a request: a route reads a feature
    /// the request lacks.
    ModelRoute {
        /// The request's arrival-order id.
        request: u64,
        /// Its arrival, seconds.
        arrival_s: f64,
        /// The model router's name.
        router: Box<str>,
        /// What was missing.
        error: crate::model_router::ModelRouteError,
    },
    /// GPU time did not add up (an engine bug; please report it).
    Accounting(String),
    /// A request pulled from the workload ended with no outcome or with
    /// more than one (an engine bug; please report it).
    RequestAccounting(String),
    /// The record sink failed to take a record (`Simulation::with_record_sink`).
    RecordSink(String),
    /// The workload yields more requests than one run holds
    /// ([`crate::engine::MAX_REQUESTS`]).
    TooManyRequests {
        /// The limit.
        limit: u64,
        /// Arrival of the first request beyond it, seconds.
        arrival_s: f64,
    },
    /// The fleet started more replicas than one run holds
    /// ([`crate::engine::MAX_REPLICAS_STARTED`]).
    FleetChurn {
        /// The deployment whose start went over the limit.
        deployment: String,
        /// The limit.
        started: u32,
        /// When, seconds.
        at_s: f64,
    },
    /// The deployments' control loops (scrapes and autoscaler decisions)
    /// ran more often than one run allows
    /// ([`crate::engine::MAX_CONTROL_EVALUATIONS`]).
    ControlLoop {
        /// The deployment whose scrape or decision went over the limit.
        deployment: String,
        /// The limit.
        evaluations: u64,
        /// When, seconds.
        at_s: f64,
        /// Its scrape interval, seconds.
        scrape_interval_s: f64,
    },
    /// A deployment stepping every iteration (`stepping =
    /// "every_iteration"`, a mode for checking the jump) ran more
    /// iterations than one run takes ([`crate::engine::MAX_STEPPED_ITERATIONS`]).
    SteppedIterations {
        /// The limit.
        iterations: u64,
        /// When, seconds.
        at_s: f64,
    },
    /// The time series would hold more rows than one run keeps
    /// ([`crate::engine::MAX_TIMESERIES_ROWS`]).
    TimeSeries {
        /// The limit.
        rows: usize,
        /// When, seconds.
        at_s: f64,
        /// The resolution, seconds.
        resolution_s: f64,
    },
    /// The run's summary failed its consistency check
    /// ([`crate::summary::Summary::check_consistency`]; an engine bug,
    /// please report it).
    Inconsistent(Vec<crate::summary::Inconsistency>),
    /// A request's priority class could not be decided.
    Class {
        /// The request's arrival-order id.
        request: u64,
        /// Its arrival, seconds.
        arrival_s: f64,
        /// What was wrong.
        error: NameError,
    },
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Workload(e) => write!(f, "workload: {e}"),
            SimError::ArrivalInThePast { arrival_s, now_s } => {
                write!(f, "workload produced a request at {arrival_s:.6} s after the simulation reached {now_s:.6} s")
            }
            SimError::EmptyFleet { deployment } => write!(
                f,
                "deployment {deployment:?} has no replica and no scaling that would start one"
            ),
            SimError::Config(m) => write!(f, "invalid configuration: {m}"),
            SimError::Deployment {
                request,
                arrival_s,
                error: NameError::Unknown { name, configured },
            } => write!(
                f,
                "request {request} (arrival {arrival_s:.6} s) names model {name:?}, which is not one of the deployments: {}",
                configured.join(", ")
            ),
            SimError::Deployment {
                request,
                arrival_s,
                error: NameError::Missing,
            } => write!(
                f,
                "request {request} (arrival {arrival_s:.6} s) names no model and no deployment has a positive `share` to draw one from"
            ),
            SimError::ModelRoute {
                request,
                arrival_s,
                router,
                error,
            } => write!(
                f,
                "request {request} (arrival {arrival_s:.6} s) at model router {router:?}: {error}"
            ),
            SimError::Accounting(m) => write!(f, "internal error, GPU time does not add up: {m}"),
            SimError::RequestAccounting(m) => {
                write!(f, "internal error, requests do not add up: {m}")
            }
            SimError::RecordSink(m) => write!(f, "cannot write a request's record: {m}"),
            SimError::TooManyRequests { limit, arrival_s } => write!(
                f,
                "the workload yields more than {limit} requests (the next arrives at {arrival_s:.3} s), the most one run holds: a run keeps a record of every request; shorten it (a `slice` transform, fewer `repeat` plays, a shorter `duration_s`) or stream the records (`[output] records = \"stream\"`)"
            ),
            SimError::FleetChurn {
                deployment,
                started,
                at_s,
            } => write!(
                f,
                "deployment {deployment:?} would start replica {} after {started} started by {at_s:.3} s, more than one run holds: replicas are lost about as fast as they start (spot reclaims within a cold start, `[pool] spot.interruptions_per_node_hour`) or the scaling oscillates",
                u64::from(*started) + 1
            ),
            SimError::ControlLoop {
                deployment,
                evaluations,
                at_s,
                scrape_interval_s,
            } => write!(
                f,
                "deployment {deployment:?}: the autoscalers scraped and decided {evaluations} times by {at_s:.3} s (a scrape every {scrape_interval_s} s), more than one run holds: the workload spans more simulated time than the control loop can cover; cut idle stretches (a `slice` or `time_scale` transform, a shorter `repeat` `gap_s`, a higher rate) or lengthen `[scaling.scrape] interval_s`"
            ),
            SimError::SteppedIterations { iterations, at_s } => write!(
                f,
                "stepping every iteration took {iterations} iterations by {at_s:.3} s, more than one run takes: use `[deployment.engine] stepping = \"jump\"` (the default, which gives the same results) or shorten the workload"
            ),
            SimError::TimeSeries {
                rows,
                at_s,
                resolution_s,
            } => write!(
                f,
                "the time series reached {rows} rows of {resolution_s} s by {at_s:.3} s, more than one run keeps: raise `[output] timeseries_resolution_s` or shorten the workload"
            ),
            SimError::Inconsistent(found) => {
                let list: Vec<String> = found.iter().map(|i| i.to_string()).collect();
                write!(
                    f,
                    "internal error, the summary contradicts itself (please report it): {}",
                    list.join("; ")
                )
            }
            SimError::Class {
                request,
                arrival_s,
                error: NameError::Unknown { name, configured },
            } => {
                write!(
                    f,
                    "request {request} (arrival {arrival_s:.6} s) names priority class {name:?}, which is not one of the configured classes: {}",
                    configured.join(", ")
                )
            }
            SimError::Class {
                request,
                arrival_s,
                error: NameError::Missing,
            } => write!(
                f,
                "request {request} (arrival {arrival_s:.6} s) names no priority class and no configured priority class has a positive `share` to draw one from"
            ),
        }
    }
}

impl std::error::Error for SimError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SimError::Workload(e) => Some(e),
            _ => None,
        }
    }
}
