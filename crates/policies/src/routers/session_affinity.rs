//! Session affinity by consistent hashing: requests with the same session
//! key go to the same replica while the set of replicas is unchanged, and a
//! change of replica count moves only about 1/n of the keys (rendezvous,
//! highest-random-weight hashing). The key is the request's first prefix
//! block hash (a conversation's shared prefix, e.g. Mooncake `hash_ids`),
//! else its adapter, else its model, else its id (no affinity).

use fleetsim_core::replica::ReplicaLoad;
use fleetsim_core::{Request, Router};

/// Rendezvous hashing over replica positions.
#[derive(Debug, Default)]
pub struct SessionAffinity;

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

/// The session key of a request.
pub fn session_key(request: &Request) -> u64 {
    if let Some(&first) = request.prefix_hashes.first() {
        return mix(first);
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
        let key = session_key(request);
        (0..loads.len())
            .max_by_key(|&i| (mix(key ^ mix(i as u64)), std::cmp::Reverse(i)))
            .unwrap_or(0)
    }

    fn uses_prefix_hashes(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetsim_core::SimTime;

    fn with_prefix(first: u64) -> Request {
        let mut r = Request::new(SimTime(0), 1, 1);
        r.prefix_hashes = vec![first, 99].into_boxed_slice();
        r
    }

    #[test]
    fn same_session_same_replica() {
        let loads = [ReplicaLoad::default(); 8];
        let a = SessionAffinity.route(&with_prefix(7), &loads);
        assert!((0..10).all(|_| SessionAffinity.route(&with_prefix(7), &loads) == a));
    }

    #[test]
    fn adding_a_replica_moves_few_sessions() {
        let (five, six) = ([ReplicaLoad::default(); 5], [ReplicaLoad::default(); 6]);
        let moved = (0..10_000u64)
            .filter(|&k| {
                SessionAffinity.route(&with_prefix(k), &five)
                    != SessionAffinity.route(&with_prefix(k), &six)
            })
            .count();
        // Rendezvous hashing moves only the keys the new replica wins: ≈ 1/6.
        assert!((1_400..=1_950).contains(&moved), "{moved}");
    }
}
