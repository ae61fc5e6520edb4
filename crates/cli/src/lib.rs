//! fleetsim: simulate autoscaled LLM inference fleets.
//!
//! This crate is the front end: scenario files ([`scenario`]), opening
//! workloads from files ([`workload`]), running ([`run`]) and reports
//! ([`report`]); charts ([`plot`]); knob sweeps ([`sweep`]); the headline metrics
//! ([`headline`]) with paired comparisons ([`compare`]) and baseline
//! checks ([`check`]). It re-exports the engine ([`core`], `fleetsim-core`) and
//! the policies ([`policies`], `fleetsim-policies`), so a notebook needs a
//! single dependency.
//!
//! ```
//! use fleetsim::scenario;
//! // The embedded quickstart: a synthetic workload on a small H100 fleet.
//! let s = scenario::load_str(scenario::QUICKSTART_TOML, "quickstart", std::path::Path::new("."),
//!     &["workload.duration_s=30".to_string()]).unwrap();
//! let result = fleetsim::run::run(&s).unwrap();
//! let r = &result.summary.requests;
//! assert_eq!(r.arrived, r.completed + r.rejected + r.timed_out + r.failed);
//! assert!(result.summary.latency.ttft_ms.p50 > 0.0);
//! ```

pub use fleetsim_core as core;
pub use fleetsim_policies as policies;

pub mod check;
pub mod compare;
pub mod headline;
pub mod plot;
pub mod report;
pub mod run;
pub mod scenario;
pub mod sweep;
pub mod trace_stats;
pub mod verify;
pub mod workload;
