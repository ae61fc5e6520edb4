//! Outcomes: every request ends with exactly one record (completed,
//! rejected, timed out or failed). Each record is counted into the run's
//! streaming state ([`RunStats`]), handed to the record sink, and kept to
//! the end of the run only in [`Records::Keep`] mode; at the end the count
//! of records (and, when kept, the records themselves) is checked against
//! the requests pulled from the workload.

use super::error::SimError;
use super::records::{RecordSink, Records};
use super::stats::RunStats;
use super::Simulation;
use crate::metrics::RequestRecord;
use crate::replica::Aborted;
use crate::request::{Outcome, Request};
use crate::time::SimTime;
use std::collections::BTreeMap;

/// The outcomes room's state: one record per request.
#[derive(Default)]
pub(super) struct Outcomes {
    /// Keep every record to the end, or only count it.
    pub(super) mode: Records,
    /// With [`Records::Keep`], one end-to-end record per request that has
    /// ended, in the order they ended (empty otherwise).
    pub(super) records: Vec<RequestRecord>,
    /// With [`Records::Keep`], one record per stage visit of pipeline
    /// requests (their deployments' sections count these; `records` holds
    /// the end-to-end record).
    pub(super) stage_records: Vec<RequestRecord>,
    /// Every record counted, by scope, in either mode.
    pub(super) stats: RunStats,
    /// Where each end-to-end record goes as the request ends.
    pub(super) sink: Option<Box<dyn RecordSink>>,
    /// Class of each request between reaching a deployment and its record
    /// there (empty when no deployment configures classes: every request
    /// is in class 0): O(requests in flight).
    pub(super) class_in_flight: BTreeMap<u64, u8>,
    /// Some deployment configures priority classes: `class_in_flight` is kept.
    pub(super) records_classes: bool,
    /// Warm-up penalties of requests served by a freshly started replica,
    /// ns, by request id (few: the first requests of each new replica).
    pub(super) warmup_penalty: BTreeMap<u64, u64>,
}

impl Outcomes {
    /// The class index of request `id` at the deployment whose record is
    /// being made (0 when no classes are configured); forgets it, since the
    /// request leaves the deployment with its record.
    pub(super) fn take_class(&mut self, id: u64) -> u8 {
        self.class_in_flight.remove(&id).unwrap_or(0)
    }

    /// Counts one stage visit of a pipeline request (kept with
    /// [`Records::Keep`]).
    pub(super) fn stage_visit(&mut self, rec: RequestRecord, config: &super::SimConfig) {
        self.stats.stage(&rec, config);
        if self.mode == Records::Keep {
            self.stage_records.push(rec);
        }
    }
}

impl Simulation {
    /// Records a request lost while on `replica` (or, with `None`, still
    /// at deployment `d`'s gateway when the run ended).
    pub(super) fn record_failed(&mut self, a: Aborted, d: usize, replica: Option<u32>) {
        let frontend = self.spec(d).frontend_latency.0;
        let since_arrival = |t: Option<SimTime>| {
            t.map(|t| t.0.saturating_sub(a.seq.arrival.0).saturating_add(frontend))
        };
        let class = self.outcomes.take_class(a.seq.id);
        self.keep_record(RequestRecord {
            id: a.seq.id,
            arrival: a.seq.arrival,
            class,
            deployment: d as u16,
            replica,
            outcome: Outcome::Failed,
            input_tokens: a.seq.input_tokens,
            output_tokens: a.seq.output_tokens,
            queue_ns: since_arrival(a.first_scheduled),
            ttft_ns: since_arrival(a.first_token),
            tpot_ns: None,
            itl_max_ns: None,
            e2e_ns: None,
            preemptions: a.preemptions,
            pipeline: None,
            kv_transfer_bytes: None,
        });
    }

    pub(super) fn record_finished(&mut self, replica: u32) {
        let d = self.dep(replica);
        let frontend = self.spec(d).frontend_latency.0;
        let mut finished = std::mem::take(&mut self.fleet.finished);
        for f in finished.drain(..) {
            let warmup = self.outcomes.warmup_penalty.remove(&f.id).unwrap_or(0);
            let ttft = (f.first_token.0 - f.arrival.0).saturating_add(frontend + warmup);
            let class = self.outcomes.take_class(f.id);
            self.keep_record(RequestRecord {
                id: f.id,
                arrival: f.arrival,
                class,
                deployment: d as u16,
                replica: Some(replica),
                outcome: Outcome::Completed,
                input_tokens: f.input_tokens,
                output_tokens: f.output_tokens,
                queue_ns: Some((f.first_scheduled.0 - f.arrival.0).saturating_add(frontend)),
                ttft_ns: Some(ttft),
                tpot_ns: (f.output_tokens > 1)
                    .then(|| (f.finished.0 - f.first_token.0) / u64::from(f.output_tokens - 1)),
                itl_max_ns: f.itl_max_ns,
                e2e_ns: Some((f.finished.0 - f.arrival.0).saturating_add(frontend + warmup)),
                preemptions: f.preemptions,
                pipeline: None,
                kv_transfer_bytes: None,
            });
        }
        self.fleet.finished = finished;
    }

    /// Records a request that never reached a replica: rejected, or timed
    /// out after waiting `waited_ns` at the gateway.
    pub(super) fn record_unserved(
        &mut self,
        d: usize,
        request: &Request,
        outcome: Outcome,
        waited_ns: Option<u64>,
    ) {
        let frontend = self.spec(d).frontend_latency.0;
        let class = self.outcomes.take_class(request.id);
        self.keep_record(RequestRecord {
            id: request.id,
            arrival: request.arrival,
            class,
            deployment: d as u16,
            replica: None,
            outcome,
            input_tokens: request.input_tokens,
            output_tokens: request.output_tokens,
            queue_ns: waited_ns.map(|w| w.saturating_add(frontend)),
            ttft_ns: None,
            tpot_ns: None,
            itl_max_ns: None,
            e2e_ns: None,
            preemptions: 0,
            pipeline: None,
            kv_transfer_bytes: None,
        });
    }

    /// Keeps a stage's record: the request's own, unless it is a pipeline
    /// request. Then the stage record is a stage visit, and the request
    /// either travels on (completed, more stages: its next stage gets it
    /// after this stage's response and the hop) or ends with an end-to-end
    /// record measured from its first arrival. A request's own record is
    /// counted (its window's SLA miss too), passed to the sink and, with
    /// [`Records::Keep`], kept.
    pub(super) fn keep_record(&mut self, rec: RequestRecord) {
        let dep = &mut self.deployments[usize::from(rec.deployment)];
        if let (true, Outcome::Completed, Some(ttft)) = (dep.scraped, rec.outcome, rec.ttft_ns) {
            dep.metrics
                .note_completion(rec.input_tokens, rec.output_tokens, ttft, rec.tpot_ns);
        }
        let rec = if self.in_flight.contains_key(&rec.id) {
            match self.pipeline_stage_ended(rec) {
                Some(end) => end,
                None => return, // on to its next stage
            }
        } else {
            self.outcomes.stats.stage(&rec, &self.config);
            rec
        };
        if rec.outcome == Outcome::Completed {
            self.windows.open.completed += 1;
            self.windows.open.ttft_ns.extend(rec.ttft_ns);
        }
        if !self.config.sla.request_meets(&rec) {
            self.windows.note_miss(rec.arrival);
        }
        self.outcomes.stats.ended(&rec, &self.config.sla);
        if let Some(sink) = &mut self.outcomes.sink {
            if let Err(e) = sink.record(&rec) {
                self.halted
                    .get_or_insert(SimError::RecordSink(e.to_string()));
            }
        }
        if self.outcomes.mode == Records::Keep {
            self.outcomes.records.push(rec);
        }
    }
}

/// Puts the records in id order. Every arrival gets exactly one record and
/// ids are assigned 0, 1, 2, … in arrival order, so the record with id `i`
/// belongs at index `i`: cycle placement does it in at most `n` swaps, where
/// a comparison sort of the (nearly sorted) completion order took a third
/// of a short run's time. Falls back to sorting if the ids are not exactly
/// `0..n`, so the result is the same either way.
pub(super) fn order_by_id(records: &mut [RequestRecord]) {
    let n = records.len();
    for i in 0..n {
        loop {
            let j = records[i].id;
            if j == i as u64 {
                break;
            }
            let Ok(j) = usize::try_from(j) else { break };
            if j >= n || records[j].id == j as u64 {
                break; // not a permutation of 0..n
            }
            records.swap(i, j);
        }
    }
    if records.iter().enumerate().any(|(i, r)| r.id != i as u64) {
        records.sort_unstable_by_key(|r| r.id);
    }
}

/// Every request pulled from the workload (ids `0..pulled`) ends with
/// exactly one record, and no pipeline request is still on its way: checked
/// against the count of requests pulled, never against the records alone.
/// `records` must be in id order.
pub(super) fn check_conservation(
    records: &[RequestRecord],
    pulled: u64,
    in_flight: usize,
) -> Result<(), SimError> {
    if in_flight > 0 {
        return Err(SimError::RequestAccounting(format!(
            "{in_flight} pipeline request(s) never ended"
        )));
    }
    if let Some(i) = (0..records.len()).find(|&i| records[i].id != i as u64) {
        return Err(SimError::RequestAccounting(format!(
            "request {i} has no record or more than one (record {i} is request {})",
            records[i].id
        )));
    }
    if records.len() as u64 != pulled {
        return Err(SimError::RequestAccounting(format!(
            "{} records for {pulled} requests pulled from the workload",
            records.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conservation_is_checked_against_the_requests_pulled() {
        let ok: Vec<_> = (0..4).map(record).collect();
        assert!(check_conservation(&ok, 4, 0).is_ok());
        let msg = |r: Result<(), SimError>| r.map_err(|e| e.to_string()).unwrap_err();
        assert_eq!(
            msg(check_conservation(&ok, 5, 0)),
            "internal error, requests do not add up: 4 records for 5 requests pulled from the workload"
        );
        let twice: Vec<_> = [0, 1, 1, 2].into_iter().map(record).collect();
        assert_eq!(
            msg(check_conservation(&twice, 4, 0)),
            "internal error, requests do not add up: request 2 has no record or more than one (record 2 is request 1)"
        );
        assert_eq!(
            msg(check_conservation(&ok, 4, 1)),
            "internal error, requests do not add up: 1 pipeline request(s) never ended"
        );
    }

    fn record(id: u64) -> RequestRecord {
        RequestRecord {
            id,
            class: 0,
            deployment: 0,
            pipeline: None,
            kv_transfer_bytes: None,
            arrival: SimTime(id),
            replica: None,
            outcome: Outcome::Completed,
            input_tokens: 1,
            output_tokens: 1,
            queue_ns: None,
            ttft_ns: None,
            tpot_ns: None,
            itl_max_ns: None,
            e2e_ns: None,
            preemptions: 0,
        }
    }

    fn ids(records: &[RequestRecord]) -> Vec<u64> {
        records.iter().map(|r| r.id).collect()
    }

    #[test]
    fn order_by_id_places_a_permutation() {
        let mut records: Vec<_> = [3, 0, 4, 1, 2, 6, 5].into_iter().map(record).collect();
        order_by_id(&mut records);
        assert_eq!(ids(&records), vec![0, 1, 2, 3, 4, 5, 6]);
        assert!(records.iter().all(|r| r.arrival == SimTime(r.id)));
    }

    #[test]
    fn order_by_id_sorts_ids_that_are_not_0_to_n() {
        let mut records: Vec<_> = [7, 1, 1, 0, 42].into_iter().map(record).collect();
        order_by_id(&mut records);
        assert_eq!(ids(&records), vec![0, 1, 1, 7, 42]);
        let mut empty: Vec<RequestRecord> = Vec::new();
        order_by_id(&mut empty);
        assert!(empty.is_empty());
    }
}
