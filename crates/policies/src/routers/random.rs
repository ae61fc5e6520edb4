//! Random: each request to a replica drawn uniformly, ignoring load.

use fleetsim_core::replica::ReplicaLoad;
use fleetsim_core::rng::StreamRng;
use fleetsim_core::{Request, Router};
use rand::Rng;

/// Sends each request to a uniformly random replica (stream `model.router`).
#[derive(Debug)]
pub struct RandomRouter {
    rng: StreamRng,
}

impl RandomRouter {
    /// A router drawing from `rng`.
    pub fn new(rng: StreamRng) -> Self {
        RandomRouter { rng }
    }
}

impl Router for RandomRouter {
    fn route(&mut self, _request: &Request, loads: &[ReplicaLoad]) -> usize {
        self.rng.random_range(0..loads.len().max(1))
    }
}

/// The knobs of `[router] kind = "random"`: none: any other key in the table is an error.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomConfig {}

/// `[router] kind = "random"`: this file's entry in the router registry
/// (`routers/mod.rs`).
#[derive(Debug)]
pub struct RandomKind;

impl super::RouterKind for RandomKind {
    const NAME: &'static str = "random";
    type Config = RandomConfig;

    fn build(_config: &RandomConfig, rng: fleetsim_core::rng::StreamRng) -> Box<dyn Router> {
        Box::new(RandomRouter::new(rng))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetsim_core::SimTime;

    #[test]
    fn spreads_evenly_over_many_requests() {
        let mut r = RandomRouter::new(fleetsim_core::rng::stream(1, "model.router", 0));
        let loads = [ReplicaLoad::default(); 4];
        let req = Request::new(SimTime(0), 1, 1);
        let mut counts = [0u32; 4];
        for _ in 0..40_000 {
            counts[r.route(&req, &loads)] += 1;
        }
        assert!(
            counts.iter().all(|&c| (9_500..=10_500).contains(&c)),
            "{counts:?}"
        );
    }
}
