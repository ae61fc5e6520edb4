//! Cold-start caches and transfers: how a stage used a node's cache, the
//! transfers replicas on one node share, what a replica needs (its
//! artifacts) and what a node holds (image, weights by LRU, engines).

use super::*;

/// How a cold-start stage used the node's cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheUse {
    /// The node held the artifact.
    Hit,
    /// It did not: this replica fetches or builds it.
    Miss,
    /// Another replica on the node was fetching it: this one waits for
    /// that transfer.
    Shared,
}

/// A transfer in progress on a node that a replica waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InFlight {
    /// An image pull, by image name.
    Image(String),
    /// A weight download, by weights key.
    Weights(String),
}

/// How a stage began: how long it takes, how it used the cache, and the
/// transfer the replica waits for meanwhile, if any (tell the node's
/// caches with [`NodeCaches::stop_waiting`] when the replica no longer
/// does, finished or cancelled).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageStart {
    /// The stage's duration from its start.
    pub duration: SimDuration,
    /// Hit, miss or shared.
    pub cache: CacheUse,
    /// The transfer it started or joined.
    pub waits_for: Option<InFlight>,
}

impl StageStart {
    pub(super) fn hit(duration: SimDuration) -> Self {
        StageStart {
            duration,
            cache: CacheUse::Hit,
            waits_for: None,
        }
    }
    pub(super) fn miss(duration: SimDuration, waits_for: Option<InFlight>) -> Self {
        StageStart {
            duration,
            cache: CacheUse::Miss,
            waits_for,
        }
    }
    pub(super) fn shared(duration: SimDuration, waits_for: InFlight) -> Self {
        StageStart {
            duration,
            cache: CacheUse::Shared,
            waits_for: Some(waits_for),
        }
    }
}

/// A pull or download in progress on a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Transfer {
    /// When it completes.
    pub(super) done_at: SimTime,
    /// Its size.
    pub(super) bytes: u64,
    /// Replicas waiting for it (the one that started it included).
    pub(super) waiting: u32,
}

impl Transfer {
    pub(super) fn new(done_at: SimTime, bytes: u64) -> Self {
        Transfer {
            done_at,
            bytes,
            waiting: 1,
        }
    }
}

// ---------------------------------------------------------------------------
// What a replica needs, and what a node holds
// ---------------------------------------------------------------------------

/// The engine-cache key: a compiled engine only fits the exact model
/// (including its dtype), GPU type and tensor parallel degree it was built for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineKey {
    /// Model and dtype, e.g. `llama-3.1-8b@2B/param`.
    pub model: String,
    /// GPU catalogue name.
    pub gpu: String,
    /// Tensor parallel degree.
    pub tensor_parallel: u32,
}

/// What a replica needs on its node besides the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifacts {
    /// Weight-cache key: model and dtype.
    pub weights_key: String,
    /// Bytes of weights to load.
    pub weights_bytes: u64,
    /// The compiled engine it needs.
    pub engine: EngineKey,
}

impl Artifacts {
    /// The artifacts of `model` stored at `bytes_per_param` (2 for BF16, 1
    /// for FP8), served on `gpu` with tensor parallel degree
    /// `tensor_parallel`. `None` if the weight size is not a finite,
    /// non-negative byte count.
    pub fn new(
        model: &ModelSpec,
        bytes_per_param: f64,
        gpu: &GpuSpec,
        tensor_parallel: u32,
    ) -> Option<Self> {
        let weights_bytes = bytes_from_f64(model.weights_bytes(bytes_per_param))?;
        let weights_key = format!("{}@{}B/param", model.name, bytes_per_param);
        Some(Artifacts {
            engine: EngineKey {
                model: weights_key.clone(),
                gpu: gpu.name.to_string(),
                tensor_parallel,
            },
            weights_key,
            weights_bytes,
        })
    }
}

/// Rounds a byte count to an integer; `None` for NaN, negative, infinite or
/// ≥ 2⁶⁴ values.
pub fn bytes_from_f64(bytes: f64) -> Option<u64> {
    if !(bytes.is_finite() && bytes >= 0.0) {
        return None;
    }
    let rounded = bytes.round();
    if rounded >= u64::MAX as f64 {
        return None;
    }
    Some(rounded as u64)
}

/// A byte-capacity cache with least-recently-used eviction (a node's weight
/// disk). Keys are kept in use order, least recent first; node caches hold
/// a handful of models, so operations are linear scans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LruBytes {
    pub(super) capacity_bytes: u64,
    pub(super) used_bytes: u64,
    /// Least recently used first.
    pub(super) entries: Vec<(String, u64)>,
}

/// What [`LruBytes::insert`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inserted {
    /// Whether the entry is now cached (false: larger than the capacity).
    pub cached: bool,
    /// Keys evicted to make room, least recently used first.
    pub evicted: Vec<String>,
}

impl LruBytes {
    /// An empty cache of `capacity_bytes`.
    pub fn new(capacity_bytes: u64) -> Self {
        LruBytes {
            capacity_bytes,
            used_bytes: 0,
            entries: Vec::new(),
        }
    }

    /// Capacity, bytes.
    pub fn capacity_bytes(&self) -> u64 {
        self.capacity_bytes
    }

    /// Bytes held.
    pub fn used_bytes(&self) -> u64 {
        self.used_bytes
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `key` is cached (does not count as a use).
    pub fn contains(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k == key)
    }

    /// Keys from least to most recently used.
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// A lookup: if `key` is cached, marks it most recently used and
    /// returns true.
    pub fn touch(&mut self, key: &str) -> bool {
        match self.entries.iter().position(|(k, _)| k == key) {
            Some(i) => {
                let entry = self.entries.remove(i);
                self.entries.push(entry);
                true
            }
            None => false,
        }
    }

    /// Caches `key` of `bytes` as the most recently used entry, evicting
    /// least recently used entries until it fits. An entry larger than the
    /// whole capacity is not cached and evicts nothing (a stale entry under
    /// the same key is dropped). Re-inserting a key replaces its size.
    pub fn insert(&mut self, key: &str, bytes: u64) -> Inserted {
        if let Some(i) = self.entries.iter().position(|(k, _)| k == key) {
            let (_, old) = self.entries.remove(i);
            self.used_bytes -= old;
        }
        if bytes > self.capacity_bytes {
            return Inserted {
                cached: false,
                evicted: Vec::new(),
            };
        }
        let mut evicted = Vec::new();
        while self.capacity_bytes - self.used_bytes < bytes && !self.entries.is_empty() {
            let (k, b) = self.entries.remove(0);
            self.used_bytes -= b;
            evicted.push(k);
        }
        self.entries.push((key.to_string(), bytes));
        self.used_bytes += bytes;
        Inserted {
            cached: true,
            evicted,
        }
    }
}

/// What one node has cached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeCaches {
    /// Image names present (a node may run several deployments' images; the
    /// image store is not capacity-limited here).
    pub images: BTreeSet<String>,
    /// Weights on the node's disk.
    pub weights: LruBytes,
    /// Compiled engines present.
    pub engines: BTreeSet<EngineKey>,
    /// Image pulls in progress, by image name: only a completed pull
    /// enters `images`.
    pub(super) pulls: BTreeMap<String, Transfer>,
    /// Weight downloads in progress, by weights key: only a completed one
    /// enters `weights`.
    pub(super) downloads: BTreeMap<String, Transfer>,
}

impl NodeCaches {
    /// A freshly provisioned node: nothing cached, `weight_capacity_bytes`
    /// of disk for weights.
    pub fn new(weight_capacity_bytes: u64) -> Self {
        NodeCaches {
            images: BTreeSet::new(),
            weights: LruBytes::new(weight_capacity_bytes),
            engines: BTreeSet::new(),
            pulls: BTreeMap::new(),
            downloads: BTreeMap::new(),
        }
    }

    /// Completes the transfers done by `now`: their images and weights
    /// enter the caches, weights in the order their downloads completed
    /// (least recently used first).
    pub fn settle(&mut self, now: SimTime) {
        let images = &mut self.images;
        self.pulls.retain(|name, t| {
            let done = t.done_at <= now;
            if done {
                images.insert(name.clone());
            }
            !done
        });
        let mut done: Vec<(SimTime, String, u64)> = (self.downloads.iter())
            .filter(|(_, t)| t.done_at <= now)
            .map(|(k, t)| (t.done_at, k.clone(), t.bytes))
            .collect();
        done.sort();
        for (_, key, bytes) in done {
            self.downloads.remove(&key);
            self.weights.insert(&key, bytes);
        }
    }

    /// A replica no longer waits for `transfer` (its stage ended, or it was
    /// cancelled) at `now`. A transfer nobody waits for any more that has
    /// not completed stops, and leaves nothing in the caches.
    pub fn stop_waiting(&mut self, transfer: &InFlight, now: SimTime) {
        self.settle(now);
        let (map, key) = match transfer {
            InFlight::Image(k) => (&mut self.pulls, k),
            InFlight::Weights(k) => (&mut self.downloads, k),
        };
        if let Some(t) = map.get_mut(key) {
            t.waiting = t.waiting.saturating_sub(1);
            if t.waiting == 0 {
                map.remove(key);
            }
        }
    }

    /// A replica's engine build for `artifacts` completed: later replicas
    /// on the node start from it.
    pub fn engine_built(&mut self, artifacts: &Artifacts) {
        self.engines.insert(artifacts.engine.clone());
    }

    /// Transfers in progress (pulls, downloads).
    pub fn in_flight(&self) -> (usize, usize) {
        (self.pulls.len(), self.downloads.len())
    }

    /// A primed node (warm pool): `config`'s image and `artifacts`' weights
    /// already cached (the weights only if they fit); no compiled engine.
    pub fn primed(
        weight_capacity_bytes: u64,
        config: &ColdStartConfig,
        artifacts: &Artifacts,
    ) -> Self {
        let mut caches = NodeCaches::new(weight_capacity_bytes);
        caches.images.insert(config.image.clone());
        caches
            .weights
            .insert(&artifacts.weights_key, artifacts.weights_bytes);
        caches
    }
}
