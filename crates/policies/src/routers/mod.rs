//! Routers, one file each, built from the serde-tagged [`RouterConfig`].

mod least_outstanding;
mod round_robin;

pub use least_outstanding::LeastOutstanding;
pub use round_robin::RoundRobin;

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
}

impl RouterConfig {
    /// Builds the router.
    pub fn build(&self) -> Box<dyn Router> {
        match self {
            RouterConfig::RoundRobin => Box::new(RoundRobin::default()),
            RouterConfig::LeastOutstanding => Box::new(LeastOutstanding),
        }
    }
}
