//! Least outstanding: the replica with the fewest requests waiting plus
//! running (not waiting only: a replica with a full batch and an empty queue
//! is busier than one with a short queue and nothing running).

use fleetsim_core::replica::ReplicaLoad;
use fleetsim_core::{Request, Router};

/// Picks the replica with the fewest outstanding requests. Ties rotate: the
/// first tied replica at or after the one after the last pick, so an idle
/// fleet shares work evenly instead of piling it on replica 0.
#[derive(Debug, Default)]
pub struct LeastOutstanding {
    next: usize,
}

impl Router for LeastOutstanding {
    fn route(&mut self, _request: &Request, loads: &[ReplicaLoad]) -> usize {
        let n = loads.len().max(1);
        let start = self.next % n;
        let chosen = (0..loads.len())
            .map(|k| (start + k) % n)
            .min_by_key(|&i| loads[i].outstanding())
            .unwrap_or(0);
        self.next = chosen + 1;
        chosen
    }
}

/// The knobs of `[router] kind = "least_outstanding"`: none: any other key in the table is an error.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeastOutstandingConfig {}

/// `[router] kind = "least_outstanding"`: this file's entry in the router registry
/// (`routers/mod.rs`).
#[derive(Debug)]
pub struct LeastOutstandingKind;

impl super::RouterKind for LeastOutstandingKind {
    const NAME: &'static str = "least_outstanding";
    type Config = LeastOutstandingConfig;

    fn build(
        _config: &LeastOutstandingConfig,
        _rng: fleetsim_core::rng::StreamRng,
    ) -> Box<dyn Router> {
        Box::new(LeastOutstanding::default())
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
            LeastOutstanding::default().route(&Request::new(SimTime(0), 1, 1), &loads),
            expect,
            "{loads:?}"
        );
    }

    #[test]
    fn picks_fewest_waiting_plus_running() {
        check(&[(0, 5), (2, 1)], 1);
        check(&[(3, 0), (0, 2)], 1);
        check(&[(1, 1), (0, 2)], 0); // tie, nothing picked before → lowest index
        check(&[(0, 0)], 0);
    }

    #[test]
    fn ties_rotate_over_an_idle_fleet() {
        let mut lo = LeastOutstanding::default();
        let loads = [ReplicaLoad::default(); 3];
        let req = Request::new(SimTime(0), 1, 1);
        let picks: Vec<usize> = (0..5).map(|_| lo.route(&req, &loads)).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1]);
    }
}
