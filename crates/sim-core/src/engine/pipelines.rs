//! Pipelines: a request that passes through several deployments in turn.
//! Between stages it is kept as a [`Flight`]; each stage's record goes to
//! the stage records, and the request ends once, end to end.

use super::error::SimError;
use super::Simulation;
use crate::request::Request;
use crate::time::SimTime;

/// A pipeline request on its way through the stages.
#[derive(Clone, Debug)]
pub(super) struct Flight {
    pub(super) pipeline: u16,
    /// Index in the pipeline's stages of the stage it is at (or heading to).
    pub(super) stage: u16,
    /// Its arrival at the first stage.
    pub(super) origin: SimTime,
    /// Queue waits of the stages it has left, ns.
    pub(super) queue_ns: u64,
    /// Preemptions in the stages it has left.
    pub(super) preemptions: u32,
    /// The request, for the next stage.
    pub(super) request: Request,
}

impl Simulation {
    /// A pipeline request reaches its next stage.
    pub(super) fn on_stage_arrival(&mut self, id: u64) -> Result<(), SimError> {
        let Some(flight) = self.in_flight.get(&id) else {
            return Ok(());
        };
        let d = usize::from(
            self.config.pipelines[usize::from(flight.pipeline)].stages[usize::from(flight.stage)],
        );
        let mut request = flight.request.clone();
        request.arrival = self.now;
        self.reach_deployment(d, request)
    }
}
