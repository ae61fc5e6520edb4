//! fleetsim-policies: routers and (later) autoscaling policies.
