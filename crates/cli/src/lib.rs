//! fleetsim: scenario files, reports and the command line, over fleetsim-core and fleetsim-policies.
pub use fleetsim_core as core;
pub use fleetsim_policies as policies;
