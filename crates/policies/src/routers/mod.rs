//! Routers, one file each, built from the serde-tagged [`RouterConfig`].

pub mod join_shortest_queue;
pub mod least_outstanding;
pub mod lora_aware;
pub mod power_of_two;
pub mod prefix_aware;
pub mod random;
pub mod round_robin;
pub mod session_affinity;

pub use join_shortest_queue::JoinShortestQueue;
pub use least_outstanding::LeastOutstanding;
pub use lora_aware::LoraAware;
pub use power_of_two::PowerOfTwoChoices;
pub use prefix_aware::PrefixAware;
pub use random::RandomRouter;
pub use round_robin::RoundRobin;
pub use session_affinity::{session_key, SessionAffinity};

use fleetsim_core::rng::StreamRng;
use fleetsim_core::Router;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// One router a scenario can name in `[router] kind = "..."`. Each
/// router's file implements it on a unit type (`random::RandomKind`, …),
/// and one line in `router_registry!` makes it a variant of
/// [`RouterConfig`]: the enum, [`RouterConfig::KINDS`],
/// [`RouterConfig::kind`] and [`RouterConfig::build`] all come from that
/// list.
pub trait RouterKind {
    /// The `kind` a scenario writes (`"random"`). It must be the
    /// snake_case of the variant's name in the registry, which is the serde
    /// tag; the registry's tests check that every name parses back to its
    /// kind.
    const NAME: &'static str;
    /// The knobs: the `[router]` table without `kind`.
    type Config: Clone + std::fmt::Debug + PartialEq + Eq + Serialize + DeserializeOwned;
    /// Makes the router; one that draws at random draws from `rng`, the
    /// deployment's own stream (see [`RouterConfig::build`]).
    fn build(config: &Self::Config, rng: StreamRng) -> Box<dyn Router>;
}

/// Makes [`RouterConfig`] from the list of kinds: one line
/// `Variant => module::Kind,` per router, where `Kind: RouterKind` and
/// `Variant` is `Kind::NAME` in CamelCase.
macro_rules! router_registry {
    ($($variant:ident => $module:ident :: $kind:ident,)*) => {
        /// Which router a deployment uses, as written in a scenario file
        /// (`[router] kind = "least_outstanding"`). One variant per
        /// [`RouterKind`] in the registry.
        #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
        #[non_exhaustive]
        pub enum RouterConfig {
            $(
                #[doc = concat!("The knobs of [`", stringify!($module), "::", stringify!($kind),
                    "`] (`", stringify!($module), ".rs`).")]
                $variant(<$module::$kind as RouterKind>::Config),
            )*
        }

        impl RouterConfig {
            /// Every kind a scenario may name, as [`Self::kind`] spells them,
            /// in registry order.
            pub const KINDS: &'static [&'static str] = &[$(<$module::$kind as RouterKind>::NAME),*];

            /// Builds the router of the scenario's deployment number
            /// `deployment` (0 for the first or only one); random ones draw
            /// from the stream `("model.router", deployment)` of `seed`, so
            /// two deployments' routers draw independently.
            pub fn build(&self, seed: u64, deployment: usize) -> Box<dyn Router> {
                let rng = fleetsim_core::rng::stream(seed, "model.router", deployment as u64);
                match self {
                    $(RouterConfig::$variant(c) => <$module::$kind as RouterKind>::build(c, rng),)*
                }
            }

            /// The name written in scenario files (`kind`).
            pub fn kind(&self) -> &'static str {
                match self {
                    $(RouterConfig::$variant(_) => <$module::$kind as RouterKind>::NAME,)*
                }
            }
        }
    };
}

// The registry: adding a router kind is its file (the module above and its
// `RouterKind` impl) plus one line here.
router_registry! {
    RoundRobin => round_robin::RoundRobinKind,
    LeastOutstanding => least_outstanding::LeastOutstandingKind,
    Random => random::RandomKind,
    JoinShortestQueue => join_shortest_queue::JoinShortestQueueKind,
    PowerOfTwoChoices => power_of_two::PowerOfTwoChoicesKind,
    SessionAffinity => session_affinity::SessionAffinityKind,
    PrefixAware => prefix_aware::PrefixAwareKind,
    LoraAware => lora_aware::LoraAwareKind,
}

impl Default for RouterConfig {
    /// `least_outstanding`.
    fn default() -> Self {
        RouterConfig::LeastOutstanding(Default::default())
    }
}

/// Default `max_outstanding_imbalance` of `prefix_aware`.
pub const DEFAULT_PREFIX_IMBALANCE: u32 = 8;
/// Default `max_outstanding_imbalance` of `lora_aware`.
pub const DEFAULT_LORA_IMBALANCE: u32 = 8;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::RouterConfig;

    /// The backquoted words of `text`, in order.
    fn backquoted(text: &str) -> Vec<&str> {
        text.split('`').skip(1).step_by(2).collect()
    }

    fn sorted(mut v: Vec<&str>) -> Vec<&str> {
        v.sort_unstable();
        v
    }

    /// The first column of the `| `kind` | rule |` table in docs/routing.md.
    fn kinds_in_routing_md() -> Vec<&'static str> {
        let doc = include_str!("../../../../docs/routing.md");
        let mut lines = doc
            .lines()
            .skip_while(|l| !l.starts_with("| `kind` | rule |"));
        assert!(lines.next().is_some(), "no `| `kind` | rule |` table");
        (lines.skip(1))
            .take_while(|l| l.starts_with('|'))
            .filter_map(|l| {
                backquoted(l.split('|').nth(1).unwrap_or(""))
                    .first()
                    .copied()
            })
            .collect()
    }

    /// The kinds the `[router]` `kind` row of docs/scenario-reference.md
    /// describes: each backquoted word followed by a colon.
    fn kinds_in_scenario_reference() -> Vec<&'static str> {
        let doc = include_str!("../../../../docs/scenario-reference.md");
        let row = doc
            .lines()
            .find(|l| l.starts_with("| `kind` |") && l.contains("`least_outstanding`:"))
            .expect("docs/scenario-reference.md has the [router] kind row");
        let parts: Vec<&str> = row.split('`').collect();
        (1..parts.len())
            .step_by(2)
            .filter(|&i| parts.get(i + 1).is_some_and(|after| after.starts_with(':')))
            .map(|i| parts[i])
            .collect()
    }

    #[test]
    fn the_registry_names_the_kinds_the_docs_document() {
        let registry = sorted(RouterConfig::KINDS.to_vec());
        assert_eq!(sorted(kinds_in_routing_md()), registry, "docs/routing.md");
        assert_eq!(
            sorted(kinds_in_scenario_reference()),
            registry,
            "docs/scenario-reference.md"
        );
    }

    #[test]
    fn every_listed_kind_parses_with_its_defaults_and_names_itself() {
        for &kind in RouterConfig::KINDS {
            let config: RouterConfig = toml::from_str(&format!("kind = \"{kind}\"\n"))
                .unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(config.kind(), kind);
            let _ = config.build(1, 0);
        }
        assert_eq!(RouterConfig::default().kind(), "least_outstanding");
    }

    #[test]
    fn every_kind_rejects_a_key_it_does_not_have() {
        // Kinds without knobs once ignored any key, so a typo was silent.
        for &kind in RouterConfig::KINDS {
            let err = toml::from_str::<RouterConfig>(&format!("kind = \"{kind}\"\ntypo = 3\n"))
                .expect_err(kind)
                .to_string();
            assert!(err.contains("unknown field `typo`"), "{kind}: {err}");
        }
    }
}
