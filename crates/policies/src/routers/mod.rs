//! Routers, one file each, built from the serde-tagged [`RouterConfig`].

mod join_shortest_queue;
mod least_outstanding;
mod lora_aware;
mod power_of_two;
mod prefix_aware;
mod random;
mod round_robin;
mod session_affinity;

pub use join_shortest_queue::JoinShortestQueue;
pub use least_outstanding::LeastOutstanding;
pub use lora_aware::LoraAware;
pub use power_of_two::PowerOfTwoChoices;
pub use prefix_aware::PrefixAware;
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
    /// Consistent hashing on the session key (the first
    /// `session_prefix_blocks` prefix blocks, else adapter, else model).
    SessionAffinity {
        /// Leading prefix blocks that identify a session (default 2: the
        /// first block is often a system prompt every session shares).
        #[serde(default = "default_session_prefix_blocks")]
        session_prefix_blocks: u32,
    },
    /// The replica with the longest cached prefix of the request's prompt
    /// among those at most `max_outstanding_imbalance` requests busier than
    /// the least loaded; see `docs/routing.md`.
    PrefixAware {
        /// Extra outstanding requests a cached prefix may outweigh
        /// (default 8).
        #[serde(default = "default_prefix_imbalance")]
        max_outstanding_imbalance: u32,
    },
    /// The least loaded replica holding the request's LoRA adapter, unless
    /// it has more than `max_outstanding_imbalance` requests above the
    /// least loaded; else the least loaded.
    LoraAware {
        /// Extra outstanding requests a held adapter may outweigh
        /// (default 8).
        #[serde(default = "default_lora_imbalance")]
        max_outstanding_imbalance: u32,
    },
}

/// Default `max_outstanding_imbalance` of `prefix_aware`.
pub const DEFAULT_PREFIX_IMBALANCE: u32 = 8;
/// Default `max_outstanding_imbalance` of `lora_aware`.
pub const DEFAULT_LORA_IMBALANCE: u32 = 8;

fn default_session_prefix_blocks() -> u32 {
    2
}

fn default_prefix_imbalance() -> u32 {
    DEFAULT_PREFIX_IMBALANCE
}

fn default_lora_imbalance() -> u32 {
    DEFAULT_LORA_IMBALANCE
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
            RouterConfig::SessionAffinity {
                session_prefix_blocks,
            } => Box::new(SessionAffinity::new(*session_prefix_blocks)),
            RouterConfig::PrefixAware {
                max_outstanding_imbalance,
            } => Box::new(PrefixAware::new(*max_outstanding_imbalance)),
            RouterConfig::LoraAware {
                max_outstanding_imbalance,
            } => Box::new(LoraAware::new(*max_outstanding_imbalance)),
        }
    }

    /// The name written in scenario files (`kind`).
    pub fn kind(&self) -> &'static str {
        match self {
            RouterConfig::RoundRobin => "round_robin",
            RouterConfig::LeastOutstanding => "least_outstanding",
            RouterConfig::Random => "random",
            RouterConfig::JoinShortestQueue => "join_shortest_queue",
            RouterConfig::PowerOfTwoChoices => "power_of_two_choices",
            RouterConfig::SessionAffinity { .. } => "session_affinity",
            RouterConfig::PrefixAware { .. } => "prefix_aware",
            RouterConfig::LoraAware { .. } => "lora_aware",
        }
    }
}
