//! Least outstanding: the replica with the fewest requests waiting plus
//! running (not waiting only: a replica with a full batch and an empty queue
//! is busier than one with a short queue and nothing running).

use fleetsim_core::replica::ReplicaLoad;
use fleetsim_core::{Request, Router};

/// Picks the replica with the fewest outstanding requests; ties go to the
/// lowest index, so the choice is deterministic.
#[derive(Debug, Default)]
pub struct LeastOutstanding;

impl Router for LeastOutstanding {
    fn route(&mut self, _request: &Request, loads: &[ReplicaLoad]) -> usize {
        (0..loads.len())
            .min_by_key(|&i| (loads[i].outstanding(), i))
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetsim_core::SimTime;

    fn check(loads: &[(u32, u32)], expect: usize) {
        let loads: Vec<ReplicaLoad> = loads
            .iter()
            .map(|&(waiting, running)| ReplicaLoad { waiting, running })
            .collect();
        assert_eq!(
            LeastOutstanding.route(&Request::new(SimTime(0), 1, 1), &loads),
            expect,
            "{loads:?}"
        );
    }

    #[test]
    fn picks_fewest_waiting_plus_running() {
        check(&[(0, 5), (2, 1)], 1);
        check(&[(3, 0), (0, 2)], 1);
        check(&[(1, 1), (0, 2)], 0); // tie → lowest index
        check(&[(0, 0)], 0);
    }
}
