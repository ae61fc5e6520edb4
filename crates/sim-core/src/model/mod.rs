//! What one replica is made of: hardware and model specifications, and the
//! performance models that turn a batch into an iteration time.

pub mod calibration;
pub mod collective;
pub mod hardware;
pub mod perf;
pub mod roofline;
pub mod table;

pub use calibration::EngineKind;
pub use hardware::{Attention, Generation, GpuSpec, LinkKind, ModelSpec};
pub use perf::{DecodeCurve, PerfModel, PrefillChunk};
pub use roofline::{Roofline, RooflineFactors};
pub use table::{MeasuredTable, MixedSteps, TableError, TableWithFallback};
