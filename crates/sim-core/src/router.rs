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

    /// Whether `route` reads [`ReplicaLoad::cached_prefix_blocks`]; the
    /// engine fills it (one prefix-cache lookup per replica) only if so.
    fn wants_prefix_match(&self) -> bool {
        false
    }

    /// Whether `route` reads [`ReplicaLoad::has_adapter`]; the engine fills
    /// it only if so.
    fn wants_adapters(&self) -> bool {
        false
    }

    /// Whether the router looks at the request's prefix hashes at all
    /// (for a prefix-aware or a session-affinity router); front ends use it
    /// to warn when a trace's hashes would be ignored.
    fn uses_prefix_hashes(&self) -> bool {
        self.wants_prefix_match()
    }
}
