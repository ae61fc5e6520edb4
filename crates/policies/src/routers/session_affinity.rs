//! Session affinity by consistent hashing: requests with the same session
//! key go to the same replica while the set of replicas is unchanged, and a
//! change of replica count moves only about 1/n of the keys (rendezvous,
//! highest-random-weight hashing). The key is the request's first few
//! prefix block hashes (a conversation's shared prefix, e.g. Mooncake
//! `hash_ids`), else its adapter, else its model, else its id (no
//! affinity). One block is not enough on real traces: every Mooncake
//! conversation request starts with block 0, a shared system prompt, so a
//! one-block key sends the whole trace to one replica; two blocks give
//! 7,373 keys over its 12,031 requests.

use fleetsim_core::replica::ReplicaLoad;
use fleetsim_core::{Request, Router};

/// Rendezvous hashing over replica positions.
#[derive(Debug)]
pub struct SessionAffinity {
    prefix_blocks: usize,
}

impl SessionAffinity {
    /// Keys sessions on their first `prefix_blocks` prefix blocks (at
    /// least 1).
    pub fn new(prefix_blocks: u32) -> Self {
        SessionAffinity {
            prefix_blocks: prefix_blocks.max(1) as usize,
        }
    }
}

/// FNV-1a over bytes: stable across Rust versions (unlike `Hash`).
fn fnv(bytes: impl IntoIterator<Item = u8>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// SplitMix64 finaliser, to spread `key ^ replica` over 64 bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The session key of a request: its first `prefix_blocks` prefix hashes
/// (fewer if it has fewer), else its adapter, model or id.
pub fn session_key(request: &Request, prefix_blocks: usize) -> u64 {
    if !request.prefix_hashes.is_empty() {
        let blocks = &request.prefix_hashes[..prefix_blocks.min(request.prefix_hashes.len())];
        return blocks.iter().fold(0, |key, &h| mix(key ^ h));
    }
    if let Some(adapter) = &request.adapter {
        return fnv(adapter.bytes());
    }
    if let Some(model) = &request.model {
        return fnv(model.bytes());
    }
    mix(request.id)
}

impl Router for SessionAffinity {
    fn route(&mut self, request: &Request, loads: &[ReplicaLoad]) -> usize {
        let key = session_key(request, self.prefix_blocks);
        (0..loads.len())
            .max_by_key(|&i| (mix(key ^ mix(i as u64)), std::cmp::Reverse(i)))
            .unwrap_or(0)
    }

    fn uses_prefix_hashes(&self) -> bool {
        true
    }
}

/// The knobs of `[router] kind = "session_affinity"`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionAffinityConfig {
    /// Leading prefix blocks that identify a session (default 2: the
    /// first block is often a system prompt every session shares).
    #[serde(default = "default_session_prefix_blocks")]
    pub session_prefix_blocks: u32,
}

fn default_session_prefix_blocks() -> u32 {
    2
}

impl Default for SessionAffinityConfig {
    fn default() -> Self {
        SessionAffinityConfig {
            session_prefix_blocks: default_session_prefix_blocks(),
        }
    }
}

/// `[router] kind = "session_affinity"`: this file's entry in the router registry
/// (`routers/mod.rs`).
#[derive(Debug)]
pub struct SessionAffinityKind;

impl super::RouterKind for SessionAffinityKind {
    const NAME: &'static str = "session_affinity";
    type Config = SessionAffinityConfig;

    fn build(
        config: &SessionAffinityConfig,
        _rng: fleetsim_core::rng::StreamRng,
    ) -> Box<dyn Router> {
        Box::new(SessionAffinity::new(config.session_prefix_blocks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetsim_core::SimTime;

    fn with_prefix(first: u64) -> Request {
        with_hashes(&[first, 99])
    }

    fn with_hashes(hashes: &[u64]) -> Request {
        let mut r = Request::new(SimTime(0), 1, 1);
        r.prefix_hashes = hashes.into();
        r
    }

    #[test]
    fn same_session_same_replica() {
        let loads = [ReplicaLoad::default(); 8];
        let mut router = SessionAffinity::new(2);
        let a = router.route(&with_prefix(7), &loads);
        assert!((0..10).all(|_| router.route(&with_prefix(7), &loads) == a));
        // A later turn (a longer prompt with the same first two blocks)
        // stays; another session sharing only the first block may not.
        assert_eq!(router.route(&with_hashes(&[7, 99, 5, 6]), &loads), a);
    }

    #[test]
    fn a_shared_first_block_does_not_pin_every_session() {
        // Sessions all start with block 0 (a system prompt), as in Mooncake.
        let loads = [ReplicaLoad::default(); 8];
        let mut count = [0u32; 8];
        let mut router = SessionAffinity::new(2);
        for s in 0..8_000u64 {
            count[router.route(&with_hashes(&[0, 1_000 + s]), &loads)] += 1;
        }
        // Each replica gets about 1,000 (binomial sd ≈ 30); one block would
        // send all 8,000 to one.
        assert!(
            count.iter().all(|&c| (850..=1_150).contains(&c)),
            "{count:?}"
        );
        let mut one = SessionAffinity::new(1);
        let first = one.route(&with_hashes(&[0, 1]), &loads);
        assert!((0..100).all(|s| one.route(&with_hashes(&[0, s]), &loads) == first));
    }

    #[test]
    fn adding_a_replica_moves_few_sessions() {
        let (five, six) = ([ReplicaLoad::default(); 5], [ReplicaLoad::default(); 6]);
        let moved = (0..10_000u64)
            .filter(|&k| {
                SessionAffinity::new(2).route(&with_prefix(k), &five)
                    != SessionAffinity::new(2).route(&with_prefix(k), &six)
            })
            .count();
        // Rendezvous hashing moves only the keys the new replica wins: ≈ 1/6.
        assert!((1_400..=1_950).contains(&moved), "{moved}");
    }
}
