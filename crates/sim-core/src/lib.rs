//! fleetsim-core: the deterministic discrete-event engine of fleetsim.
#![doc = "(crate tutorial below is being written)"]

pub mod request;
pub mod rng;
pub mod time;
pub mod workload;

pub use request::{Outcome, Request, RequestId};
pub use time::{SimDuration, SimTime};
