//! fleetsim-policies: the decisions a fleet makes, each in its own file,
//! built from serde-tagged configuration enums. Today: routers. The
//! autoscaling policies (fixed, scheduled, HPA, KPA, KEDA, Ray Serve, …)
//! will live beside them, implementing traits defined in `fleetsim-core`.

pub mod routers;

pub use routers::RouterConfig;
