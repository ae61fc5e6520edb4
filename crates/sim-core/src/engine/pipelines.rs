//! Pipelines: a request that passes through several deployments in turn.
//! Between stages it is kept as a [`Flight`]; each stage's record is a
//! stage visit (counted by its deployment), and the request ends once, end to end.

use super::error::SimError;
use super::kernel::EventKind;
use super::Simulation;
use crate::metrics::RequestRecord;
use crate::request::Outcome;
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
    /// The request as it arrived (each stage is sent
    /// `PipelineSpec::stage_request` of it).
    pub(super) request: Request,
    /// Disaggregated: when the prefill stage produced the first token.
    pub(super) first_token: Option<SimTime>,
    /// Disaggregated: the KV bytes sent to the decode stage.
    pub(super) kv_bytes: Option<u64>,
}

impl Simulation {
    /// A pipeline request reaches its next stage.
    /// Prompt tokens whose KV request `id` arrives with at its current
    /// stage (0 unless it is a disaggregated request at its decode stage).
    pub(super) fn kv_arrived(&self, id: u64) -> u32 {
        let Some(flight) = self.in_flight.get(&id) else {
            return 0;
        };
        let pipeline = &self.config.pipelines[usize::from(flight.pipeline)];
        pipeline.kv_arrived(flight.stage, &flight.request)
    }

    pub(super) fn on_stage_arrival(&mut self, id: u64) -> Result<(), SimError> {
        let Some(flight) = self.in_flight.get(&id) else {
            return Ok(());
        };
        let pipeline = &self.config.pipelines[usize::from(flight.pipeline)];
        let d = usize::from(pipeline.stages[usize::from(flight.stage)]);
        let mut request = pipeline.stage_request(flight.stage, &flight.request);
        request.arrival = self.now;
        self.reach_deployment(d, request)
    }

    /// A stage of pipeline request `rec.id` ended with `rec`, which goes to
    /// the stage records. Completed with stages left, the request travels
    /// on: its next stage gets it after this stage's response and the hop
    /// (`None`). Otherwise it ends here: its end-to-end record, measured
    /// from its first arrival.
    pub(super) fn pipeline_stage_ended(&mut self, rec: RequestRecord) -> Option<RequestRecord> {
        let flight = self.in_flight.get_mut(&rec.id)?;
        let pipeline = &self.config.pipelines[usize::from(flight.pipeline)];
        let next = usize::from(flight.stage) + 1;
        let stage_queue = rec.queue_ns.unwrap_or(0);
        if rec.outcome == Outcome::Completed && pipeline.has_next(flight.stage, &flight.request) {
            // Its response leaves this stage at arrival + end-to-end; a
            // disaggregated request's KV then crosses the link.
            let left = rec.arrival.0.saturating_add(rec.e2e_ns.unwrap_or(0));
            let mut at = SimTime(left) + pipeline.hops[next];
            if let Some((bytes, took)) = pipeline.transfer(&flight.request) {
                at = at.saturating_add(took);
                flight.kv_bytes = Some(bytes);
                flight.first_token = super::disagg::first_token_at(&rec);
            }
            flight.stage = next as u16;
            flight.queue_ns = flight.queue_ns.saturating_add(stage_queue);
            flight.preemptions += rec.preemptions;
            let request = rec.id;
            self.outcomes.stage_visit(rec, &self.config);
            self.push(at, EventKind::StageArrival { request });
            return None;
        }
        let flight = self.in_flight.remove(&rec.id)?;
        let offset = rec.arrival.saturating_since(flight.origin).0;
        let end = RequestRecord {
            arrival: flight.origin,
            pipeline: Some(flight.pipeline),
            queue_ns: rec
                .queue_ns
                .map(|q| q.saturating_add(flight.queue_ns))
                .or((flight.queue_ns > 0).then_some(flight.queue_ns)),
            ttft_ns: rec.ttft_ns.map(|t| t.saturating_add(offset)),
            e2e_ns: rec.e2e_ns.map(|t| t.saturating_add(offset)),
            preemptions: rec.preemptions + flight.preemptions,
            ..rec.clone()
        };
        let end = match self.config.pipelines[usize::from(flight.pipeline)].kv_transfer {
            Some(_) => super::disagg::end_record(end, &rec, &flight),
            None => end,
        };
        self.outcomes.stage_visit(rec, &self.config);
        Some(end)
    }
}
