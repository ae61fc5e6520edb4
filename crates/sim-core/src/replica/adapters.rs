//! LoRA adapter slots: the bounded set of adapters a replica holds on its
//! GPU, least recently used first out.
//!
//! vLLM serves at most `max_loras` distinct adapters in one batch (1 by
//! default) and its scheduler skips a waiting request whose adapter would exceed
//! that; an adapter not on the GPU is loaded (from host memory or disk) by
//! the worker before the forward pass that first uses it, so the whole
//! iteration waits. Here a replica holds at most `max_loras` adapters; an
//! adapter is *in use* while a running sequence needs it and is never
//! evicted then; a sequence whose adapter is not held gets a slot by
//! evicting the least recently used adapter not in use, and the iteration
//! that first schedules it is longer by the load time. The list is a `Vec`
//! searched linearly: `max_loras` is small (validated ≤ 256).

use std::sync::Arc;

/// LoRA settings of a replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoraConfig {
    /// Adapters held at once (vLLM `max_loras`, default 1).
    pub max_loras: u32,
    /// Time to load an adapter that is not held, ns.
    pub adapter_load_ns: u64,
}

#[derive(Clone, Debug)]
struct Slot {
    name: Arc<str>,
    /// Running sequences using it.
    in_use: u32,
}

/// The adapters a replica holds, most recently used first.
#[derive(Clone, Debug, Default)]
pub struct AdapterSlots {
    max_loras: u32,
    slots: Vec<Slot>,
    loads: u64,
    evictions: u64,
}

impl AdapterSlots {
    /// No adapter held yet.
    pub fn new(max_loras: u32) -> Self {
        AdapterSlots {
            max_loras,
            slots: Vec::new(),
            loads: 0,
            evictions: 0,
        }
    }

    /// Whether `name` is held.
    pub fn holds(&self, name: &str) -> bool {
        self.slots.iter().any(|s| &*s.name == name)
    }

    /// Whether `name` could be used now: held, or a slot is free or held by
    /// an adapter no running sequence uses.
    pub fn can_acquire(&self, name: &str) -> bool {
        self.holds(name)
            || (self.slots.len() as u32) < self.max_loras
            || self.slots.iter().any(|s| s.in_use == 0)
    }

    /// Takes `name` for one running sequence: marks it most recently used,
    /// loading it (evicting the least recently used idle adapter if the
    /// slots are full) when it is not held. Returns whether it was loaded,
    /// or `None` when every slot is busy with another adapter.
    pub fn acquire(&mut self, name: &Arc<str>) -> Option<bool> {
        if let Some(i) = self.slots.iter().position(|s| s.name == *name) {
            let mut slot = self.slots.remove(i);
            slot.in_use += 1;
            self.slots.insert(0, slot);
            return Some(false);
        }
        if self.slots.len() as u32 >= self.max_loras {
            let victim = self.slots.iter().rposition(|s| s.in_use == 0)?;
            self.slots.remove(victim);
            self.evictions += 1;
        }
        self.slots.insert(
            0,
            Slot {
                name: Arc::clone(name),
                in_use: 1,
            },
        );
        self.loads += 1;
        Some(true)
    }

    /// One running sequence using `name` left the batch.
    pub fn release(&mut self, name: &str) {
        if let Some(s) = self.slots.iter_mut().find(|s| &*s.name == name) {
            s.in_use = s.in_use.saturating_sub(1);
        }
    }

    /// Every sequence left (the replica stopped); adapters stay held.
    pub fn release_all(&mut self) {
        for s in &mut self.slots {
            s.in_use = 0;
        }
    }

    /// Adapters loaded so far.
    pub fn loads(&self) -> u64 {
        self.loads
    }

    /// Adapters evicted so far.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Held adapters, most recently used first (for tests).
    pub fn held(&self) -> Vec<&str> {
        self.slots.iter().map(|s| &*s.name).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `+a` acquires `a` (expect loaded / hit / blocked), `-a` releases it.
    fn check(max_loras: u32, ops: &[&str], expect: &[Option<bool>], held: &[&str], evictions: u64) {
        let mut s = AdapterSlots::new(max_loras);
        let mut got = Vec::new();
        for op in ops {
            let (sign, name) = op.split_at(1);
            if sign == "+" {
                got.push(s.acquire(&Arc::from(name)));
            } else {
                s.release(name);
            }
        }
        assert_eq!(got, expect, "{ops:?}");
        assert_eq!(s.held(), held, "{ops:?}");
        assert_eq!(s.evictions(), evictions, "{ops:?}");
        assert_eq!(
            s.loads(),
            expect.iter().filter(|e| **e == Some(true)).count() as u64
        );
    }

    #[test]
    fn lru_slots_with_in_use_pinning() {
        check(1, &["+a", "+a"], &[Some(true), Some(false)], &["a"], 0);
        // One slot busy with a: b must wait.
        check(1, &["+a", "+b"], &[Some(true), None], &["a"], 0);
        check(1, &["+a", "-a", "+b"], &[Some(true), Some(true)], &["b"], 1);
        // Two slots: the least recently used idle one goes.
        check(
            2,
            &["+a", "+b", "-a", "-b", "+a", "-a", "+c"],
            &[Some(true), Some(true), Some(false), Some(true)],
            &["c", "a"],
            1,
        );
        // The LRU adapter is in use: the other idle one goes.
        check(
            2,
            &["+a", "+b", "-b", "+c"],
            &[Some(true), Some(true), Some(true)],
            &["c", "a"],
            1,
        );
    }

    #[test]
    fn can_acquire_agrees_with_acquire() {
        let mut s = AdapterSlots::new(1);
        assert!(s.can_acquire("a"));
        s.acquire(&Arc::from("a"));
        assert!(s.can_acquire("a"));
        assert!(!s.can_acquire("b"));
        s.release("a");
        assert!(s.can_acquire("b"));
    }
}
