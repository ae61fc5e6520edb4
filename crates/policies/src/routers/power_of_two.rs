//! Power of two choices: sample two distinct replicas at random and send
//! the request to the one with fewer outstanding requests.

use fleetsim_core::replica::ReplicaLoad;
use fleetsim_core::rng::StreamRng;
use fleetsim_core::{Request, Router};
use rand::Rng;

/// Two random candidates (stream `model.router`), the less loaded wins;
/// on a tie the first drawn.
#[derive(Debug)]
pub struct PowerOfTwoChoices {
    rng: StreamRng,
}

impl PowerOfTwoChoices {
    /// A router drawing from `rng`.
    pub fn new(rng: StreamRng) -> Self {
        PowerOfTwoChoices { rng }
    }
}

impl Router for PowerOfTwoChoices {
    fn route(&mut self, _request: &Request, loads: &[ReplicaLoad]) -> usize {
        let n = loads.len();
        if n < 2 {
            return 0;
        }
        let a = self.rng.random_range(0..n);
        // A second, distinct candidate: draw from the other n − 1.
        let mut b = self.rng.random_range(0..n - 1);
        if b >= a {
            b += 1;
        }
        if loads[b].outstanding() < loads[a].outstanding() {
            b
        } else {
            a
        }
    }
}

/// The knobs of `[router] kind = "power_of_two_choices"`: none: any other key in the table is an error.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerOfTwoChoicesConfig {}

/// `[router] kind = "power_of_two_choices"`: this file's entry in the router registry
/// (`routers/mod.rs`).
#[derive(Debug)]
pub struct PowerOfTwoChoicesKind;

impl super::RouterKind for PowerOfTwoChoicesKind {
    const NAME: &'static str = "power_of_two_choices";
    type Config = PowerOfTwoChoicesConfig;

    fn build(
        _config: &PowerOfTwoChoicesConfig,
        rng: fleetsim_core::rng::StreamRng,
    ) -> Box<dyn Router> {
        Box::new(PowerOfTwoChoices::new(rng))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetsim_core::SimTime;

    #[test]
    fn never_picks_the_single_busiest_of_two() {
        let mut r = PowerOfTwoChoices::new(fleetsim_core::rng::stream(3, "model.router", 0));
        let loads = [
            ReplicaLoad {
                waiting: 9,
                running: 9,
                ..ReplicaLoad::default()
            },
            ReplicaLoad::default(),
        ];
        let req = Request::new(SimTime(0), 1, 1);
        assert!((0..100).all(|_| r.route(&req, &loads) == 1));
    }

    #[test]
    fn avoids_the_most_loaded_of_many() {
        let mut r = PowerOfTwoChoices::new(fleetsim_core::rng::stream(3, "model.router", 0));
        let mut loads = [ReplicaLoad::default(); 5];
        loads[2] = ReplicaLoad {
            waiting: 50,
            running: 50,
            ..ReplicaLoad::default()
        };
        let req = Request::new(SimTime(0), 1, 1);
        // Replica 2 loses every comparison, so it is never chosen.
        assert!((0..1_000).all(|_| r.route(&req, &loads) != 2));
    }
}
