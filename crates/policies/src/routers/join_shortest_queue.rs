//! Join the shortest queue: the replica with the fewest requests waiting
//! (running ones not counted — the classic JSQ, blind to batch occupancy).

use fleetsim_core::replica::ReplicaLoad;
use fleetsim_core::{Request, Router};

/// Picks the replica with the shortest waiting queue; ties go to the
/// fewest running, then the lowest index.
#[derive(Debug, Default)]
pub struct JoinShortestQueue;

impl Router for JoinShortestQueue {
    fn route(&mut self, _request: &Request, loads: &[ReplicaLoad]) -> usize {
        (0..loads.len())
            .min_by_key(|&i| (loads[i].waiting, loads[i].running, i))
            .unwrap_or(0)
    }
}

/// The knobs of `[router] kind = "join_shortest_queue"`: none: any other key in the table is an error.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinShortestQueueConfig {}

/// `[router] kind = "join_shortest_queue"`: this file's entry in the router registry
/// (`routers/mod.rs`).
#[derive(Debug)]
pub struct JoinShortestQueueKind;

impl super::RouterKind for JoinShortestQueueKind {
    const NAME: &'static str = "join_shortest_queue";
    type Config = JoinShortestQueueConfig;

    fn build(
        _config: &JoinShortestQueueConfig,
        _rng: fleetsim_core::rng::StreamRng,
    ) -> Box<dyn Router> {
        Box::new(JoinShortestQueue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetsim_core::SimTime;

    fn check(loads: &[(u32, u32)], expect: usize) {
        let loads: Vec<ReplicaLoad> = loads
            .iter()
            .map(|&(waiting, running)| ReplicaLoad {
                waiting,
                running,
                ..ReplicaLoad::default()
            })
            .collect();
        assert_eq!(
            JoinShortestQueue.route(&Request::new(SimTime(0), 1, 1), &loads),
            expect,
            "{loads:?}"
        );
    }

    #[test]
    fn shortest_waiting_queue_wins() {
        check(&[(2, 0), (1, 50)], 1); // running is not what JSQ looks at
        check(&[(1, 5), (1, 2)], 1); // ties on waiting: fewer running
        check(&[(0, 3), (0, 3)], 0);
    }
}
