//! An LRU set of prefix-block hashes: what a replica's automatic prefix
//! cache holds (vLLM V1 `enable_prefix_caching`).
//!
//! A prompt is a list of block hashes (Mooncake `hash_ids`: block `i` hashes
//! the whole prompt up to the end of block `i`, so equal hashes mean equal
//! prefixes). A lookup counts the *leading run* of hashes the cache holds: a
//! block counts only if every block before it hit, as in vLLM's
//! `find_longest_cache_hit`.
//!
//! Every operation is O(1) per block: a `HashMap` finds a block's slot and an
//! intrusive doubly linked list over a slab keeps recency. The map is only
//! ever looked up, never iterated, so nothing depends on its order; eviction
//! takes the list's tail, which depends only on the sequence of calls.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

const NIL: u32 = u32::MAX;

/// The map's hasher: one multiply and xor-shift of the key. The keys are
/// already hashes (or block ids) from the trace, and the map is never
/// iterated, so SipHash's protection against chosen keys buys nothing and
/// cost a fifth of a prefix-heavy run.
#[derive(Clone, Copy, Debug, Default)]
struct BlockHasher(u64);

impl Hasher for BlockHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(self.0 ^ u64::from(b));
        }
    }

    fn write_u64(&mut self, key: u64) {
        // Fibonacci hashing spreads sequential ids over the high bits the
        // table's control bytes use; the shift brings them to the low bits
        // that pick a bucket.
        let x = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = x ^ (x >> 33);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Automatic prefix caching settings of a replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrefixCacheConfig {
    /// Tokens per prefix block: the block size of the trace's hashes
    /// (Mooncake `hash_ids`: 512).
    pub block_tokens: u32,
}

impl PrefixCacheConfig {
    /// Prefix blocks a replica with `kv_tokens` of KV cache can hold:
    /// `floor(kv_tokens / block_tokens)`. Cached blocks are counted against
    /// the whole KV cache, not against the blocks free at the moment (vLLM
    /// keeps freed blocks cached until it needs them for new tokens; the
    /// simulator keeps the bound and ignores the interplay).
    pub fn capacity_blocks(&self, kv_tokens: u64) -> u32 {
        (kv_tokens / u64::from(self.block_tokens.max(1))).min(u64::from(u32::MAX)) as u32
    }
}

#[derive(Clone, Copy, Debug)]
struct Node {
    hash: u64,
    prev: u32,
    next: u32,
}

/// A bounded LRU set of block hashes. Capacity 0 holds nothing.
#[derive(Clone, Debug, Default)]
pub struct PrefixCache {
    capacity_blocks: u32,
    slots: HashMap<u64, u32, BuildHasherDefault<BlockHasher>>,
    nodes: Vec<Node>,
    /// Most recently used.
    head: u32,
    /// Least recently used: the next to go.
    tail: u32,
    evictions: u64,
}

impl PrefixCache {
    /// An empty cache holding at most `capacity_blocks` blocks.
    pub fn new(capacity_blocks: u32) -> Self {
        PrefixCache {
            capacity_blocks,
            slots: HashMap::default(),
            nodes: Vec::new(),
            head: NIL,
            tail: NIL,
            evictions: 0,
        }
    }

    /// Most blocks held at once.
    pub fn capacity_blocks(&self) -> u32 {
        self.capacity_blocks
    }

    /// Blocks held now.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Blocks evicted so far.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Whether `hash` is held (recency unchanged).
    pub fn contains(&self, hash: u64) -> bool {
        self.slots.contains_key(&hash)
    }

    /// Length of the leading run of `hashes` the cache holds, without
    /// changing recency (what a router may peek at).
    pub fn match_len(&self, hashes: &[u64]) -> u32 {
        hashes.iter().take_while(|h| self.contains(**h)).count() as u32
    }

    /// Marks `hashes` as just used, inserting those not held and evicting
    /// least recently used blocks to make room. Blocks are touched from the
    /// last to the first, so a prompt's first blocks end up the most recent
    /// and its deepest blocks are evicted first (vLLM frees a request's
    /// blocks in reverse order for the same reason): a leading run survives
    /// longer than its tail.
    pub fn touch_all(&mut self, hashes: &[u64]) {
        if self.capacity_blocks == 0 {
            return;
        }
        for &h in hashes.iter().rev() {
            self.touch(h);
        }
    }

    /// Marks one block as just used, inserting it if needed.
    pub fn touch(&mut self, hash: u64) {
        if self.capacity_blocks == 0 {
            return;
        }
        if let Some(&i) = self.slots.get(&hash) {
            self.unlink(i);
            self.push_front(i);
            return;
        }
        let i = if self.slots.len() as u64 >= u64::from(self.capacity_blocks) {
            // Reuse the least recently used node.
            let i = self.tail;
            self.unlink(i);
            self.slots.remove(&self.nodes[i as usize].hash);
            self.evictions += 1;
            self.nodes[i as usize].hash = hash;
            i
        } else {
            self.nodes.push(Node {
                hash,
                prev: NIL,
                next: NIL,
            });
            (self.nodes.len() - 1) as u32
        };
        self.slots.insert(hash, i);
        self.push_front(i);
    }

    fn unlink(&mut self, i: u32) {
        let Node { prev, next, .. } = self.nodes[i as usize];
        if prev == NIL {
            self.head = next;
        } else {
            self.nodes[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.nodes[next as usize].prev = prev;
        }
    }

    fn push_front(&mut self, i: u32) {
        let old = self.head;
        self.nodes[i as usize].prev = NIL;
        self.nodes[i as usize].next = old;
        if old == NIL {
            self.tail = i;
        } else {
            self.nodes[old as usize].prev = i;
        }
        self.head = i;
    }

    /// Held blocks from most to least recently used (for tests and debugging).
    pub fn recency_order(&self) -> Vec<u64> {
        let mut out = Vec::with_capacity(self.slots.len());
        let mut i = self.head;
        while i != NIL {
            out.push(self.nodes[i as usize].hash);
            i = self.nodes[i as usize].next;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Op: `t` = touch_all(list), then check the recency order.
    fn check(capacity: u32, touches: &[&[u64]], expect_order: &[u64], expect_evictions: u64) {
        let mut c = PrefixCache::new(capacity);
        for t in touches {
            c.touch_all(t);
        }
        assert_eq!(c.recency_order(), expect_order, "{capacity} {touches:?}");
        assert_eq!(c.evictions(), expect_evictions, "{capacity} {touches:?}");
        assert_eq!(c.len(), expect_order.len());
    }

    #[test]
    fn lru_order_and_eviction() {
        check(4, &[&[1, 2, 3]], &[1, 2, 3], 0);
        // Re-touching moves to the front; first blocks are the most recent.
        check(4, &[&[1, 2, 3], &[3]], &[3, 1, 2], 0);
        check(4, &[&[1, 2, 3], &[4, 5]], &[4, 5, 1, 2], 1);
        // A prompt longer than the cache keeps its leading blocks.
        check(2, &[&[1, 2, 3, 4]], &[1, 2], 2);
        check(0, &[&[1, 2, 3]], &[], 0);
        check(3, &[&[1], &[2], &[3], &[1], &[4]], &[4, 1, 3], 1);
    }

    fn check_match(held: &[u64], query: &[u64], expect: u32) {
        let mut c = PrefixCache::new(16);
        c.touch_all(held);
        let before = c.recency_order();
        assert_eq!(c.match_len(query), expect, "{held:?} {query:?}");
        assert_eq!(c.recency_order(), before, "match_len must not touch");
    }

    #[test]
    fn match_counts_the_leading_run_only() {
        check_match(&[1, 2, 3], &[1, 2, 3, 4], 3);
        check_match(&[1, 2, 3], &[1, 9, 3], 1); // 3 hits but follows a miss
        check_match(&[2, 3], &[1, 2, 3], 0);
        check_match(&[], &[1], 0);
        check_match(&[1], &[], 0);
    }

    #[test]
    fn evicting_reuses_slots_in_bounded_memory() {
        let mut c = PrefixCache::new(8);
        for h in 0..10_000u64 {
            c.touch(h);
        }
        assert_eq!(c.len(), 8);
        assert_eq!(c.nodes.len(), 8);
        assert_eq!(c.evictions(), 10_000 - 8);
        assert_eq!(c.recency_order(), (9_992..10_000).rev().collect::<Vec<_>>());
    }

    /// Sequential block ids (Mooncake's `hash_ids`) spread evenly over both
    /// the top 7 bits (the table's control bytes) and the low bits (its
    /// bucket index): a hasher that passed the key through would put every
    /// id under 2^57 on one control byte.
    #[test]
    fn sequential_ids_spread_over_high_and_low_bits() {
        let hash = |k: u64| {
            let mut h = BlockHasher::default();
            h.write_u64(k);
            h.finish()
        };
        let n = 1u64 << 16;
        let mut high = [0u32; 128];
        let mut low = [0u32; 128];
        for k in 0..n {
            high[(hash(k) >> 57) as usize] += 1;
            low[(hash(k) & 127) as usize] += 1;
        }
        let mean = (n / 128) as u32;
        for counts in [high, low] {
            for c in counts {
                assert!(c > mean * 8 / 10 && c < mean * 12 / 10, "{c} vs {mean}");
            }
        }
    }
}
