//! fleetsim-policies: the decisions a fleet makes, each in its own file,
//! built from serde-tagged configuration enums. Today: routers, and the
//! decision cores of the production autoscalers (`autoscalers`: Kubernetes
//! HPA, Knative KPA, KEDA, Ray Serve, AIBrix, llm-d WVA, Baseten) with a
//! conformance runner over the shared vectors file, each with a thin adapter
//! implementing `fleetsim_core::Autoscaler`, plus a concurrency autoscaler
//! and single-signal baselines, all built from `AutoscalerConfig`.

pub mod autoscalers;
pub mod routers;

pub use autoscalers::AutoscalerConfig;
pub use routers::RouterConfig;
