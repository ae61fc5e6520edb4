//! fleetsim-core: the deterministic discrete-event engine of fleetsim.
//!
//! It simulates a fleet of LLM replicas serving a stream of requests and
//! reports latency, SLA attainment and GPU time. It has no file system, no
//! clock and no threads: workloads come in as iterators, results go out as
//! values and `impl Write` writers. The `fleetsim` crate wraps it with
//! scenario files and a command line.
//!
//! # A first simulation
//!
//! Two replicas of Llama-3.1-8B on H100s, vLLM-like continuous batching,
//! three requests:
//!
//! ```
//! use std::sync::Arc;
//! use fleetsim_core::model::{hardware, Roofline, RooflineFactors};
//! use fleetsim_core::replica::batching::{BatchForming, BatchingConfig, CapacityScheduler, PrefillScheduling, Stepping};
//! use fleetsim_core::replica::ReplicaLoad;
//! use fleetsim_core::metrics::SlaConfig;
//! use fleetsim_core::{DeploymentSpec, FleetSpec, ReplicaSpec, Request, Router, SimConfig, SimDuration, SimTime, Simulation};
//!
//! // Routers decide where requests go; fleetsim-policies ships real ones.
//! #[derive(Debug)]
//! struct First;
//! impl Router for First {
//!     fn route(&mut self, _: &Request, _: &[ReplicaLoad]) -> usize { 0 }
//! }
//!
//! let gpu = hardware::gpu("h100-sxm").unwrap();
//! let model = hardware::model("llama-3.1-8b").unwrap();
//! let perf = Arc::new(Roofline::new(gpu, model, 1, 2.0, 2.0, RooflineFactors::default()));
//! let batching = Arc::new(BatchingConfig {
//!     max_num_seqs: 256,
//!     max_num_batched_tokens: 8192,
//!     block_size_tokens: 16,
//!     kv_cache_blocks: 25_000,
//!     max_model_len_tokens: 131_072,
//!     stepping: Stepping::Jump,
//!     capacity_scheduler: CapacityScheduler::MaxUtilization,
//!     prefill: PrefillScheduling::Chunked,
//!     async_scheduling: false,
//!     prefix_cache: None,
//!     lora: None,
//!     forming: BatchForming::Continuous,
//! });
//! let config = SimConfig {
//!     seed: 7,
//!     deployments: vec![DeploymentSpec::new(
//!         "default",
//!         FleetSpec {
//!             replicas: 2,
//!             gpus_per_replica: 1,
//!             replica: ReplicaSpec::Batching { config: batching, perf },
//!             frontend_latency: SimDuration::ZERO,
//!             lifecycle: Default::default(),
//!             placement: None,
//!             queue: Default::default(),
//!         },
//!     )],
//!     pipelines: Vec::new(),
//!     model_routers: Vec::new(),
//!     sla: SlaConfig { ttft_ms: Some(200.0), ..SlaConfig::default() },
//!     timeseries_resolution: SimDuration::from_secs(1),
//! };
//! // Any iterator of `Result<Request, WorkloadError>` in arrival order.
//! let requests = vec![
//!     Request::new(SimTime(0), 1_000, 100),
//!     Request::new(SimTime(1_000_000), 500, 20),
//!     Request::new(SimTime(2_000_000), 2_000, 300),
//! ];
//! let workload = Box::new(requests.into_iter().map(Ok));
//! let result = Simulation::new(config, workload, vec![Box::new(First)]).unwrap().run().unwrap();
//!
//! assert_eq!(result.summary.requests.completed, 3);
//! assert!(result.summary.latency.ttft_ms.max < 200.0);
//! assert_eq!(result.summary.sla.attainment, 1.0);
//! ```
//!
//! # Ordering and determinism contract
//!
//! - Time is integer nanoseconds ([`SimTime`]). Events are ordered by
//!   `(time, class, sequence)`: at one instant, arrivals run before replica
//!   wake-ups, which run before metric ticks; events of one class run in the
//!   order they were scheduled. Nothing else affects the order.
//! - Every random draw comes from [`rng::stream`]`(seed, name, index)`;
//!   workload streams are separate from fleet streams, so two fleets compared
//!   on one seed see the same requests.
//! - The same inputs therefore give the same [`RunResult`], byte for byte
//!   once serialised (the summary's `sim.wall_s` is filled only by front ends).
//! - Event count grows with requests, not tokens: steady decode is jumped
//!   over in closed form ([`model::DecodeCurve`]), and
//!   [`replica::batching::Stepping::EveryIteration`] gives identical results.
//!
//! # Map
//!
//! - [`workload`]: trace readers, generators, transforms, statistics.
//! - [`model`]: GPU and model catalogue, performance models.
//! - [`replica`]: continuous batching and the M/M/c slot server.
//! - [`coldstart`]: cold-start stages, their distributions and node caches.
//! - [`engine`]: the event loop; [`lifecycle`]: replicas coming and going.
//!   [`router`]: the routing trait.
//! - [`metrics`], [`summary`], [`output`]: what a run reports.
//! - [`cost`]: billing, GPU time by state, dollars, the monthly cost equation.
//! - [`field`]: the error of a configuration validator, naming the field.

pub mod autoscale;
pub mod coldstart;
pub mod cost;
pub mod engine;
pub mod field;
pub mod lifecycle;
pub mod metrics;
pub mod model;
pub mod model_router;
pub mod names;
pub mod nodes;
pub mod output;
pub mod queue;
pub mod replica;
pub mod request;
pub mod rng;
pub mod router;
pub mod special;
pub mod summary;
pub mod time;
pub mod workload;

pub use autoscale::Autoscaler;
pub use engine::{
    DeploymentSpec, FleetSpec, KvTransferSpec, PipelineSpec, RecordSink, Records, ReplicaSpec,
    RunResult, SimConfig, SimError, Simulation,
};
pub use field::FieldError;
pub use request::{Outcome, Request, RequestId};
pub use router::Router;
pub use time::{SimDuration, SimTime};
