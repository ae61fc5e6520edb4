//! Routers, one file each, built from the serde-tagged [`RouterConfig`].

mod join_shortest_queue;
mod least_outstanding;
mod power_of_two;
mod random;
mod round_robin;
mod session_affinity;

pub use join_shortest_queue::JoinShortestQueue;
pub use least_outstanding::LeastOutstanding;
pub use power_of_two::PowerOfTwoChoices;
pub use random::RandomRouter;
pub use round_robin::RoundRobin;
pub use session_affinity::{session_key, SessionAffinity};

use fleetsim_core::Router;
use serde::{Deserialize, Serialize};

/// Which router a deployment uses, as written in a scenario file
/// (`[router] kind = "least_outstanding"`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum RouterConfig {
    /// Each request to the next replica in turn.
    RoundRobin,
    /// The replica with the fewest waiting plus running requests.
    #[default]
    LeastOutstanding,
    /// A uniformly random replica.
    Random,
    /// The replica with the fewest waiting requests.
    JoinShortestQueue,
    /// The less loaded of two random replicas.
    PowerOfTwoChoices,
    /// Consistent hashing on the session key (first prefix block, adapter,
    /// or model).
    SessionAffinity,
}

impl RouterConfig {
    /// Builds the router; random ones draw from the stream
    /// `("model.router", 0)` of `seed`.
    pub fn build(&self, seed: u64) -> Box<dyn Router> {
        let rng = || fleetsim_core::rng::stream(seed, "model.router", 0);
        match self {
            RouterConfig::RoundRobin => Box::new(RoundRobin::default()),
            RouterConfig::LeastOutstanding => Box::new(LeastOutstanding::default()),
            RouterConfig::Random => Box::new(RandomRouter::new(rng())),
            RouterConfig::JoinShortestQueue => Box::new(JoinShortestQueue),
            RouterConfig::PowerOfTwoChoices => Box::new(PowerOfTwoChoices::new(rng())),
            RouterConfig::SessionAffinity => Box::new(SessionAffinity),
        }
    }
}
