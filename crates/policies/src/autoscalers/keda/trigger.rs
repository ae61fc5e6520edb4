//! A ScaledObject trigger: a vLLM gauge summed over the deployment
//! (`trigger_metric`) or a `prometheus` trigger's `query` over the observed
//! signals ([`crate::autoscalers::promql`]).

use crate::autoscalers::adapter::Signal;
use crate::autoscalers::promql::Query;
use crate::autoscalers::{invalid, AutoscalerError};
use fleetsim_core::autoscale::Observation;
use fleetsim_core::SimDuration;

/// What the trigger reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Trigger {
    /// A gauge of the newest visible scrape, summed over the deployment.
    Gauge(Signal),
    /// A `prometheus` trigger's query.
    Query(Query),
}

impl Trigger {
    /// The query when one is given, else the gauge (default
    /// `num_requests_waiting`); both is an error.
    pub(super) fn resolve(
        query: Option<&str>,
        metric: Option<Signal>,
    ) -> Result<Trigger, AutoscalerError> {
        match (query, metric) {
            (Some(_), Some(_)) => Err(invalid(
                super::NAME,
                "query",
                "set either trigger_metric or query, not both (one metric per trigger)",
            )),
            (Some(q), None) => Query::parse(q)
                .map(Trigger::Query)
                .map_err(|e| invalid(super::NAME, "query", format!("{e} in `{q}`"))),
            (None, m) => Ok(Trigger::Gauge(m.unwrap_or(Signal::NumRequestsWaiting))),
        }
    }

    /// The trigger's value, `None` being a scaler error: no visible scrape
    /// (Prometheus unreachable), or a query without a value unless
    /// `ignore_null_values` (the prometheus scaler's `ignoreNullValues`,
    /// which reads an empty or NaN result as 0).
    pub(super) fn value(&self, obs: &Observation<'_>, ignore_null_values: bool) -> Option<f64> {
        let latest = obs.latest()?;
        match self {
            Trigger::Gauge(g) => Some(g.total(latest)),
            Trigger::Query(q) => q.eval(obs).or(ignore_null_values.then_some(0.0)),
        }
    }

    /// The range a query reads (`None` for a gauge).
    pub(super) fn range(&self) -> Option<SimDuration> {
        match self {
            Trigger::Gauge(_) => None,
            Trigger::Query(q) => q.window(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::KedaAutoscalerConfig;
    use crate::autoscalers::adapter::testing::*;
    use fleetsim_core::autoscale::MetricsStore;
    use fleetsim_core::{Autoscaler, SimDuration};

    fn base() -> KedaAutoscalerConfig {
        serde_json::from_str("{}").unwrap()
    }

    /// Syncs every 15 s for `end_s` seconds with `rps` arrivals per second
    /// and nothing waiting; the desired count after each sync.
    fn run_rate(a: &mut dyn Autoscaler, start: u32, end_s: u32, rps: u64) -> Vec<u32> {
        let mut store = MetricsStore::default();
        let mut d = start;
        (0..=end_s)
            .step_by(15)
            .map(|t| {
                let mut s = scrape(
                    f64::from(t),
                    (0..d).map(|i| ready(i, 1, 0, 0.5)).collect(),
                    0,
                );
                s.arrivals_total = rps * u64::from(t);
                record(&mut store, [s]);
                d = a.desired_replicas(&store.observe(at(f64::from(t)), SimDuration::ZERO, d));
                d
            })
            .collect()
    }

    #[test]
    fn a_query_trigger_scales_on_the_request_rate() {
        let c = KedaAutoscalerConfig {
            query: Some("sum(rate(http_requests_total[1m]))".into()),
            threshold: 10.0,
            ..base()
        };
        let mut a = c.build().unwrap();
        // 42 req/s, 10 per replica: at t = 0 one scrape is no rate (0 under
        // ignoreNullValues: inactive, stays at 0); the poll at 30 s
        // activates, the HPA at 45 s asks ceil(4.2) = 5, limited to 4 from
        // 1 (legacy scale-up limit max(2 · 1, 4)), then 5.
        let out = run_rate(a.as_mut(), 0, 60, 42);
        assert_eq!(out, vec![0, 0, 1, 4, 5]);
        // The gauge trigger on the same scrapes (nothing waiting) never
        // activates.
        let mut g = base().build().unwrap();
        assert_eq!(run_rate(g.as_mut(), 0, 60, 42), vec![0; 5]);
        // Without ignoreNullValues the first poll is a scaler error: no
        // activation either, and no decision at all for the HPA.
        let strict = KedaAutoscalerConfig {
            ignore_null_values: false,
            ..c
        };
        let mut s = strict.build().unwrap();
        assert_eq!(run_rate(s.as_mut(), 2, 0, 42), vec![2]);
    }

    #[test]
    fn a_bad_query_is_a_located_error() {
        let c = KedaAutoscalerConfig {
            query: Some("sum(rate(http_requests_total[1m])".into()),
            ..base()
        };
        let e = c.build().expect_err("unclosed").to_string();
        assert!(
            e.contains("invalid query: column 34: expected `)` to close `sum(`"),
            "{e}"
        );
        let both = KedaAutoscalerConfig {
            query: Some("concurrency".into()),
            trigger_metric: Some(crate::autoscalers::adapter::Signal::Concurrency),
            ..base()
        };
        let e = both.build().expect_err("both").to_string();
        assert!(e.contains("either trigger_metric or query"), "{e}");
        // A range longer than 10 minutes is kept.
        let long = KedaAutoscalerConfig {
            query: Some("rate(requests_total[15m])".into()),
            ..base()
        };
        assert_eq!(long.default_metrics().lookback, SimDuration::from_secs(900));
    }
}
