//! Prefix-cache aware routing: send a request where its prompt's prefix is
//! already cached, unless that replica is too busy.
//!
//! The rule, like SGLang's cache-aware router and llm-d's prefix-cache
//! scorer, trades cache hits against load:
//! 1. the *eligible* replicas are those with at most
//!    `max_outstanding_imbalance` more outstanding requests (waiting plus
//!    running) than the least loaded one;
//! 2. among them, the one holding the longest leading run of the request's
//!    prefix blocks ([`ReplicaLoad::cached_prefix_blocks`]) wins;
//! 3. ties go to the fewest outstanding, then rotate (the first tied replica
//!    at or after the one after the last pick), so a request with no cached
//!    prefix anywhere is routed exactly as by least outstanding.
//!
//! The router sees each replica's actual cache, as llm-d does from vLLM's
//! KV-cache events (SGLang's router instead keeps an approximate tree of
//! what it sent where).

use fleetsim_core::replica::ReplicaLoad;
use fleetsim_core::{Request, Router};
use std::cmp::Reverse;

/// See the module docs.
#[derive(Debug)]
pub struct PrefixAware {
    max_outstanding_imbalance: u32,
    next: usize,
}

impl PrefixAware {
    /// A router that lets a cached prefix outweigh up to
    /// `max_outstanding_imbalance` requests of extra load.
    pub fn new(max_outstanding_imbalance: u32) -> Self {
        PrefixAware {
            max_outstanding_imbalance,
            next: 0,
        }
    }
}

impl Router for PrefixAware {
    fn route(&mut self, _request: &Request, loads: &[ReplicaLoad]) -> usize {
        let n = loads.len().max(1);
        let min = loads
            .iter()
            .map(ReplicaLoad::outstanding)
            .min()
            .unwrap_or(0);
        let bound = min.saturating_add(self.max_outstanding_imbalance);
        let start = self.next % n;
        let mut best: Option<(usize, (u32, Reverse<u32>))> = None;
        for i in (0..loads.len()).map(|k| (start + k) % n) {
            let l = &loads[i];
            if l.outstanding() > bound {
                continue;
            }
            let key = (l.cached_prefix_blocks, Reverse(l.outstanding()));
            if best.is_none_or(|(_, b)| key > b) {
                best = Some((i, key));
            }
        }
        let chosen = best.map_or(0, |(i, _)| i);
        self.next = chosen + 1;
        chosen
    }

    fn wants_prefix_match(&self) -> bool {
        true
    }
}

/// The knobs of `[router] kind = "prefix_aware"`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixAwareConfig {
    /// Extra outstanding requests a cached prefix may outweigh
    /// (default 8).
    #[serde(default = "default_imbalance")]
    pub max_outstanding_imbalance: u32,
}

fn default_imbalance() -> u32 {
    super::DEFAULT_PREFIX_IMBALANCE
}

impl Default for PrefixAwareConfig {
    fn default() -> Self {
        PrefixAwareConfig {
            max_outstanding_imbalance: default_imbalance(),
        }
    }
}

/// `[router] kind = "prefix_aware"`: this file's entry in the router registry
/// (`routers/mod.rs`).
#[derive(Debug)]
pub struct PrefixAwareKind;

impl super::RouterKind for PrefixAwareKind {
    const NAME: &'static str = "prefix_aware";
    type Config = PrefixAwareConfig;

    fn build(config: &PrefixAwareConfig, _rng: fleetsim_core::rng::StreamRng) -> Box<dyn Router> {
        Box::new(PrefixAware::new(config.max_outstanding_imbalance))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetsim_core::SimTime;

    /// `loads`: (outstanding, cached blocks) per replica.
    fn check(bound: u32, loads: &[(u32, u32)], expect: usize) {
        let loads: Vec<ReplicaLoad> = loads
            .iter()
            .map(|&(running, cached)| ReplicaLoad {
                running,
                cached_prefix_blocks: cached,
                ..ReplicaLoad::default()
            })
            .collect();
        let got = PrefixAware::new(bound).route(&Request::new(SimTime(0), 1, 1), &loads);
        assert_eq!(got, expect, "bound {bound}, {loads:?}");
    }

    #[test]
    fn longest_cached_prefix_within_the_load_bound() {
        check(4, &[(0, 0), (3, 5), (2, 2)], 1);
        check(4, &[(0, 0), (5, 5), (2, 2)], 2); // 5 > 0 + 4: not eligible
        check(0, &[(1, 0), (1, 9), (2, 9)], 1);
        check(0, &[(3, 0), (1, 0), (2, 9)], 1); // bound 0: least outstanding
                                                // Equal prefixes: the less loaded.
        check(8, &[(4, 3), (2, 3), (3, 3)], 1);
        // Nothing cached anywhere: least outstanding.
        check(8, &[(4, 0), (2, 0), (3, 0)], 1);
        check(u32::MAX, &[(1000, 1), (0, 0)], 0);
    }

    #[test]
    fn ties_rotate_like_least_outstanding() {
        let mut r = PrefixAware::new(4);
        let loads = [ReplicaLoad::default(); 3];
        let req = Request::new(SimTime(0), 1, 1);
        let picks: Vec<usize> = (0..5).map(|_| r.route(&req, &loads)).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1]);
        assert!(r.wants_prefix_match() && r.uses_prefix_hashes());
    }
}
