//! Round robin: replica 0, 1, …, n−1, 0, … regardless of load.

use fleetsim_core::replica::ReplicaLoad;
use fleetsim_core::{Request, Router};

/// Sends each request to the next replica in turn.
#[derive(Debug, Default)]
pub struct RoundRobin {
    next: usize,
}

impl Router for RoundRobin {
    fn route(&mut self, _request: &Request, loads: &[ReplicaLoad]) -> usize {
        let chosen = self.next % loads.len().max(1);
        self.next = chosen + 1;
        chosen
    }
}

/// The knobs of `[router] kind = "round_robin"`: none: any other key in the table is an error.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundRobinConfig {}

/// `[router] kind = "round_robin"`: this file's entry in the router registry
/// (`routers/mod.rs`).
#[derive(Debug)]
pub struct RoundRobinKind;

impl super::RouterKind for RoundRobinKind {
    const NAME: &'static str = "round_robin";
    type Config = RoundRobinConfig;

    fn build(_config: &RoundRobinConfig, _rng: fleetsim_core::rng::StreamRng) -> Box<dyn Router> {
        Box::new(RoundRobin::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetsim_core::SimTime;

    #[test]
    fn cycles_through_replicas_ignoring_load() {
        let mut rr = RoundRobin::default();
        let req = Request::new(SimTime(0), 1, 1);
        let loads = [
            ReplicaLoad {
                waiting: 9,
                running: 9,
                ..ReplicaLoad::default()
            },
            ReplicaLoad::default(),
            ReplicaLoad::default(),
        ];
        let picks: Vec<usize> = (0..5).map(|_| rr.route(&req, &loads)).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1]);
    }
}
