//! The `Router` trait: which replica a request goes to.
//!
//! Implementations live in `fleetsim-policies` (one file each); the engine
//! only knows this trait. A router sees the request and each replica's load
//! as the gateway would, never the replicas' internals.

use crate::replica::ReplicaLoad;
use crate::request::Request;
use std::fmt::Debug;

/// Chooses a replica for each arriving request.
pub trait Router: Debug + Send {
    /// Returns the index of the chosen replica in `loads` (`loads` is never
    /// empty). Ties must be broken deterministically (e.g. lowest index or a
    /// named random stream), never by `HashMap` order.
    fn route(&mut self, request: &Request, loads: &[ReplicaLoad]) -> usize;
}
