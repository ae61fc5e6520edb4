//! The run's streaming state: everything the end of a run derives from the
//! records, counted as each record arrives, in either [`super::Records`]
//! mode, so what a run keeps is O(deployments + classes + pipelines +
//! replicas), not O(requests).

use super::config::SimConfig;
use super::error::SimError;
use crate::metrics::{RequestRecord, SlaConfig};
use crate::request::Outcome;
use crate::summary::attribution::ClassUsage;
use crate::summary::OutcomeStats;

/// Streaming summaries by scope and the end-of-run sums the records fed.
#[derive(Debug, Default)]
pub(super) struct RunStats {
    /// Every request, end to end, against the run's SLA.
    pub(super) run: OutcomeStats,
    /// Stage-level records (a request's own, or each stage visit of a
    /// pipeline request) by deployment, against the run's SLA; empty when
    /// the run is one deployment without pipelines (then it is `run`).
    pub(super) deployments: Vec<OutcomeStats>,
    /// The same records by deployment and priority class, each against its
    /// class's SLA.
    pub(super) classes: Vec<Vec<OutcomeStats>>,
    /// Pipeline requests end to end, by pipeline, against the run's SLA.
    pub(super) pipelines: Vec<OutcomeStats>,
    /// What each class used of each deployment (one entry for a deployment
    /// without classes), for cost attribution.
    pub(super) usage: Vec<Vec<ClassUsage>>,
    /// Prompt and output tokens of completed stage-level records, by
    /// deployment (the work they needed, for the recompute share).
    pub(super) needed_tokens: Vec<u64>,
    /// Completed requests by the replica that ended them.
    pub(super) completed_by_replica: Vec<u64>,
    /// The latest instant a request or stage visit ended, or a request
    /// arrived, ns.
    pub(super) end_ns: u64,
    /// Completed requests' service time (end to end minus queue), ns, and
    /// how many had both.
    pub(super) service_ns: u128,
    pub(super) service_n: u64,
    /// Requests ended, with the sum of their ids and of their squares: the
    /// conservation check without keeping the ids.
    pub(super) ended: u64,
    id_sum: u128,
    id_square_sum: u128,
}

impl RunStats {
    pub(super) fn new(config: &SimConfig) -> RunStats {
        let alone = config.deployments.len() == 1 && config.pipelines.is_empty();
        let n = config.deployments.len();
        RunStats {
            deployments: vec![OutcomeStats::default(); if alone { 0 } else { n }],
            classes: (config.deployments.iter())
                .map(|d| vec![OutcomeStats::default(); d.fleet.queue.classes.len()])
                .collect(),
            pipelines: vec![OutcomeStats::default(); config.pipelines.len()],
            usage: (config.deployments.iter())
                .map(|d| vec![ClassUsage::default(); d.fleet.queue.classes.len().max(1)])
                .collect(),
            needed_tokens: vec![0; n],
            ..RunStats::default()
        }
    }

    /// Counts a stage-level record: a request's own, or one stage visit of
    /// a pipeline request.
    pub(super) fn stage(&mut self, r: &RequestRecord, config: &SimConfig) {
        let d = usize::from(r.deployment);
        if let Some(s) = self.deployments.get_mut(d) {
            s.add(r, &config.sla);
        }
        let classes = &config.deployments[d].fleet.queue.classes;
        if let (Some(s), Some(c)) = (
            self.classes[d].get_mut(usize::from(r.class)),
            classes.get(usize::from(r.class)),
        ) {
            s.add(r, &c.sla);
        }
        if let Some(u) = (self.usage.get_mut(d)).and_then(|u| u.get_mut(usize::from(r.class))) {
            u.add(r);
        }
        if r.outcome == Outcome::Completed {
            self.needed_tokens[d] += u64::from(r.input_tokens) + u64::from(r.output_tokens);
        }
        self.note_end(r);
    }

    /// Counts a request's end-to-end record (its own, or a pipeline
    /// request's).
    /// (`sla` is the run's.)
    pub(super) fn ended(&mut self, r: &RequestRecord, sla: &SlaConfig) {
        self.run.add(r, sla);
        if let Some(s) = r
            .pipeline
            .and_then(|p| self.pipelines.get_mut(usize::from(p)))
        {
            s.add(r, sla);
        }
        if let (Outcome::Completed, Some(i)) = (r.outcome, r.replica) {
            let i = i as usize;
            if i >= self.completed_by_replica.len() {
                self.completed_by_replica.resize(i + 1, 0);
            }
            self.completed_by_replica[i] += 1;
        }
        if let (Outcome::Completed, Some(e2e), Some(q)) = (r.outcome, r.e2e_ns, r.queue_ns) {
            self.service_ns += u128::from(e2e.saturating_sub(q));
            self.service_n += 1;
        }
        self.end_ns = self.end_ns.max(r.arrival.0);
        self.note_end(r);
        self.ended += 1;
        self.id_sum += u128::from(r.id);
        self.id_square_sum += u128::from(r.id) * u128::from(r.id);
    }

    fn note_end(&mut self, r: &RequestRecord) {
        if let Some(e2e) = r.e2e_ns {
            self.end_ns = self.end_ns.max(r.arrival.0.saturating_add(e2e));
        }
    }

    /// Every request pulled (ids `0..pulled`) ended exactly once, as far as
    /// counts and the first two moments of the ids tell (a request ending
    /// twice and another never changes the sum of ids unless the ids are
    /// equal); the records themselves are checked when they are kept.
    pub(super) fn check_conservation(&self, pulled: u64) -> Result<(), SimError> {
        if self.ended != pulled {
            return Err(SimError::RequestAccounting(format!(
                "{} records for {pulled} requests pulled from the workload",
                self.ended
            )));
        }
        let n = u128::from(pulled);
        let sum = n * n.saturating_sub(1) / 2;
        // 0² + … + (n−1)² = (n−1)·n·(2n−1)/6.
        let squares = n.saturating_sub(1) * n * (2 * n).saturating_sub(1) / 6;
        if (self.id_sum, self.id_square_sum) != (sum, squares) {
            return Err(SimError::RequestAccounting(format!(
                "the ids of the {pulled} records are not 0 to {}: some request has no \
                 record or more than one",
                pulled.saturating_sub(1)
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SimTime;

    fn record(id: u64) -> RequestRecord {
        RequestRecord {
            id,
            arrival: SimTime(id),
            class: 0,
            deployment: 0,
            pipeline: None,
            kv_transfer_bytes: None,
            replica: None,
            outcome: Outcome::Rejected,
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

    fn stats_of(ids: &[u64]) -> RunStats {
        let mut s = RunStats::default();
        for &id in ids {
            s.ended(&record(id), &SlaConfig::default());
        }
        s
    }

    #[test]
    fn conservation_without_the_ids() {
        assert!(stats_of(&[2, 0, 3, 1]).check_conservation(4).is_ok());
        assert!(stats_of(&[]).check_conservation(0).is_ok());
        let msg = |s: RunStats, n| s.check_conservation(n).unwrap_err().to_string();
        assert_eq!(
            msg(stats_of(&[0, 1, 2]), 4),
            "internal error, requests do not add up: 3 records for 4 requests pulled from the workload"
        );
        // Request 1 twice and 2 never: same count, different sum.
        assert_eq!(
            msg(stats_of(&[0, 1, 1, 3]), 4),
            "internal error, requests do not add up: the ids of the 4 records are not 0 to 3: \
             some request has no record or more than one"
        );
        // 0 and 3 twice, 1 and 2 never: same count and sum, other squares.
        assert!(stats_of(&[0, 0, 3, 3]).check_conservation(4).is_err());
    }
}
