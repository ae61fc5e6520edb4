//! LoRA-aware routing: send a request to a replica that already holds its
//! adapter, so it does not pay the adapter load (and does not evict an
//! adapter other requests are using), unless that replica is too busy.
//!
//! The rule: among the replicas holding the request's adapter
//! ([`ReplicaLoad::has_adapter`]) whose outstanding requests are at most
//! `max_outstanding_imbalance` above the least loaded replica's, the least
//! outstanding wins; if there is none (or the request has no adapter), the
//! least outstanding replica overall. Ties rotate, as in least outstanding.

use fleetsim_core::replica::ReplicaLoad;
use fleetsim_core::{Request, Router};

/// See the module docs.
#[derive(Debug)]
pub struct LoraAware {
    max_outstanding_imbalance: u32,
    next: usize,
}

impl LoraAware {
    /// A router that prefers a replica holding the adapter while it has at
    /// most `max_outstanding_imbalance` more outstanding requests than the
    /// least loaded one.
    pub fn new(max_outstanding_imbalance: u32) -> Self {
        LoraAware {
            max_outstanding_imbalance,
            next: 0,
        }
    }

    /// The least outstanding replica among those `eligible`, rotating ties.
    fn least(
        &self,
        loads: &[ReplicaLoad],
        eligible: impl Fn(&ReplicaLoad) -> bool,
    ) -> Option<usize> {
        let n = loads.len().max(1);
        let start = self.next % n;
        (0..loads.len())
            .map(|k| (start + k) % n)
            .filter(|&i| eligible(&loads[i]))
            .min_by_key(|&i| loads[i].outstanding())
    }
}

impl Router for LoraAware {
    fn route(&mut self, request: &Request, loads: &[ReplicaLoad]) -> usize {
        let min = loads
            .iter()
            .map(ReplicaLoad::outstanding)
            .min()
            .unwrap_or(0);
        let bound = min.saturating_add(self.max_outstanding_imbalance);
        let holding = if request.adapter.is_some() {
            self.least(loads, |l| l.has_adapter && l.outstanding() <= bound)
        } else {
            None
        };
        let chosen = holding.or_else(|| self.least(loads, |_| true)).unwrap_or(0);
        self.next = chosen + 1;
        chosen
    }

    fn wants_adapters(&self) -> bool {
        true
    }
}

/// The knobs of `[router] kind = "lora_aware"`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoraAwareConfig {
    /// Extra outstanding requests a held adapter may outweigh
    /// (default 8).
    #[serde(default = "default_imbalance")]
    pub max_outstanding_imbalance: u32,
}

fn default_imbalance() -> u32 {
    super::DEFAULT_LORA_IMBALANCE
}

impl Default for LoraAwareConfig {
    fn default() -> Self {
        LoraAwareConfig {
            max_outstanding_imbalance: default_imbalance(),
        }
    }
}

/// `[router] kind = "lora_aware"`: this file's entry in the router registry
/// (`routers/mod.rs`).
#[derive(Debug)]
pub struct LoraAwareKind;

impl super::RouterKind for LoraAwareKind {
    const NAME: &'static str = "lora_aware";
    type Config = LoraAwareConfig;

    fn build(config: &LoraAwareConfig, _rng: fleetsim_core::rng::StreamRng) -> Box<dyn Router> {
        Box::new(LoraAware::new(config.max_outstanding_imbalance))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetsim_core::SimTime;

    /// `loads`: (outstanding, holds the adapter) per replica.
    fn check(bound: u32, adapter: bool, loads: &[(u32, bool)], expect: usize) {
        let loads: Vec<ReplicaLoad> = loads
            .iter()
            .map(|&(running, has_adapter)| ReplicaLoad {
                running,
                has_adapter,
                ..ReplicaLoad::default()
            })
            .collect();
        let mut req = Request::new(SimTime(0), 1, 1);
        if adapter {
            req.adapter = Some("a".into());
        }
        let got = LoraAware::new(bound).route(&req, &loads);
        assert_eq!(got, expect, "bound {bound}, adapter {adapter}, {loads:?}");
    }

    #[test]
    fn prefers_holders_within_the_load_bound() {
        check(4, true, &[(0, false), (3, true), (2, true)], 2);
        check(4, true, &[(0, false), (5, true)], 0); // holder too busy
        check(4, true, &[(1, false), (1, false)], 0); // no holder: least outstanding
        check(4, false, &[(3, true), (1, false)], 1); // no adapter: ignore holders
        check(0, true, &[(2, true), (2, false), (1, false)], 2);
    }

    #[test]
    fn ties_rotate() {
        let mut r = LoraAware::new(4);
        let loads = [ReplicaLoad::default(); 3];
        let req = Request::new(SimTime(0), 1, 1);
        let picks: Vec<usize> = (0..4).map(|_| r.route(&req, &loads)).collect();
        assert_eq!(picks, [0, 1, 2, 0]);
        assert!(r.wants_adapters() && !r.wants_prefix_match());
    }
}
