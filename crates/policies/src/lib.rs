//! fleetsim-policies: the decisions a fleet makes, each in its own file,
//! built from serde-tagged configuration enums. Today: routers, and the
//! decision cores of the production autoscalers (`autoscalers`: Kubernetes
//! HPA, Knative KPA, KEDA, Ray Serve, AIBrix, llm-d WVA, Baseten) with a
//! conformance runner over the shared vectors file. The engine-facing
//! `Autoscaler` trait will live in `fleetsim-core`; thin adapters will wrap
//! these cores.

pub mod autoscalers;
pub mod routers;

pub use routers::RouterConfig;
