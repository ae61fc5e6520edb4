//! fleetsim-core: the deterministic discrete-event engine of fleetsim.
#![doc = "(crate tutorial below is being written)"]

pub mod engine;
pub mod metrics;
pub mod model;
pub mod output;
pub mod replica;
pub mod request;
pub mod rng;
pub mod router;
pub mod summary;
pub mod time;
pub mod workload;

pub use engine::{FleetSpec, ReplicaSpec, RunResult, SimConfig, SimError, Simulation};
pub use request::{Outcome, Request, RequestId};
pub use router::Router;
pub use time::{SimDuration, SimTime};
