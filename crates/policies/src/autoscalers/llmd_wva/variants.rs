//! WVA over the variants of one model: every variant's ready pods go into
//! one [`analyze_model`] (each pod tagged with its variant's name and cost
//! per replica), and [`targets`] moves one variant per reconcile: +1 on the
//! cheapest, −1 on the most expensive above 1, nothing while any variant
//! is converging (its ready count or last target differs from its count).

use super::{
    analyze_model, invalid, peaks, targets, AutoscalerError, PodMetrics, VariantCost, VariantState,
    WvaAutoscaler, NAME,
};
use fleetsim_core::autoscale::Observation;
use serde::{Deserialize, Serialize};

/// One variant of the model: its deployment's name and its cost per
/// replica (upstream's `variantCost`, relative; here the replica's GPUs ×
/// its pool's price per GPU-hour unless the scenario gives one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WvaVariant {
    /// Deployment name (upstream breaks cost ties by it).
    pub name: String,
    /// Cost per replica, ≥ 0.
    pub cost: f64,
}

/// Costs are finite and ≥ 0 (upstream's pattern `^\d+(\.\d+)?$`), names
/// differ (they key the targets).
pub(super) fn validate(variants: &[WvaVariant]) -> Result<(), AutoscalerError> {
    for (i, v) in variants.iter().enumerate() {
        if !(v.cost.is_finite() && v.cost >= 0.0) {
            return Err(invalid(
                NAME,
                "variant_cost",
                format!(
                    "must be a finite number ≥ 0 (WVA: variantCost), got {} for {:?}",
                    v.cost, v.name
                ),
            ));
        }
        if variants[..i].iter().any(|w| w.name == v.name) {
            return Err(invalid(
                NAME,
                "variants",
                format!("variant {:?} is listed twice", v.name),
            ));
        }
    }
    Ok(())
}

impl WvaAutoscaler {
    /// One count per observation (this deployment's first, then its
    /// variants', as `self.variants`). Every count is kept while any
    /// variant's metrics are not readable (upstream skips the model's
    /// reconcile when its metrics query fails); a variant with no ready
    /// pod is not analysed and keeps its count.
    pub(super) fn decide_variants(&mut self, obs: &[Observation<'_>]) -> Vec<u32> {
        let mut out: Vec<u32> = obs.iter().map(|o| o.desired).collect();
        if obs.len() != self.variants.len() {
            // Built without its group: decide this deployment alone, as a
            // policy that knows no variants.
            if let (Some(first), Some(o)) = (out.first_mut(), obs.first()) {
                *first = fleetsim_core::Autoscaler::desired_replicas(self, o);
            }
            return out;
        }
        let mut pods = Vec::new();
        for (v, o) in self.variants.iter().zip(obs) {
            let Some(peaks) = peaks(o) else {
                return out;
            };
            pods.extend(peaks.into_iter().map(|(replica, m)| PodMetrics {
                pod: format!("{}-{replica}", v.name),
                variant: v.name.clone(),
                cost: v.cost,
                kv_cache_usage: m.kv_cache_usage,
                queue_length: m.queue_length,
            }));
        }
        let model = analyze_model(&self.config, &pods);
        let analysed: Vec<VariantCost> = (model.variants.iter())
            .map(|a| VariantCost {
                name: a.name.clone(),
                cost: a.cost,
                replica_count: a.replica_count as u32,
            })
            .collect();
        let states: Vec<VariantState> = (self.variants.iter().zip(obs))
            .zip(&self.last_targets)
            .map(|((v, o), &last)| VariantState {
                name: v.name.clone(),
                current: o.desired,
                desired: last,
                pending: 0,
            })
            .collect();
        let t = targets(
            model.should_scale_up,
            model.scale_down_safe,
            &analysed,
            &states,
        );
        for (i, v) in self.variants.iter().enumerate() {
            if let Some(&target) = t.get(&v.name) {
                out[i] = target.clamp(self.bounds.0, self.bounds.1);
            }
        }
        self.last_targets.clone_from(&out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::WvaAutoscalerConfig;
    use super::*;
    use crate::autoscalers::adapter::testing::*;
    use fleetsim_core::autoscale::{MetricsStore, PodSample};
    use fleetsim_core::{Autoscaler, SimDuration};

    fn config(costs: &[(&str, f64)]) -> WvaAutoscalerConfig {
        let mut c: WvaAutoscalerConfig = serde_json::from_str("{}").unwrap();
        c.variants = (costs.iter())
            .map(|&(name, cost)| WvaVariant {
                name: name.into(),
                cost,
            })
            .collect();
        c
    }

    /// An expensive `h100` variant (this deployment) and a cheap `l40s`.
    fn pair() -> Box<dyn Autoscaler> {
        config(&[("h100", 7.8), ("l40s", 1.95)]).build().unwrap()
    }

    /// Each variant's pods scraped at `t` s (as of `desired` replicas
    /// asked for); the decision at `t`.
    fn decide(a: &mut dyn Autoscaler, t: f64, variants: &[(Vec<PodSample>, u32)]) -> Vec<u32> {
        let stores: Vec<MetricsStore> = (variants.iter())
            .map(|(pods, _)| {
                let mut m = MetricsStore::default();
                record(&mut m, [scrape(t, pods.clone(), 0)]);
                m
            })
            .collect();
        let obs: Vec<_> = (stores.iter().zip(variants))
            .map(|(m, &(_, desired))| m.observe(at(t), SimDuration::ZERO, desired))
            .collect();
        a.desired_variant_replicas(&obs)
    }

    #[test]
    fn the_cheap_variant_scales_up_first_and_the_dear_one_down_first() {
        let mut a = pair();
        // Both near the KV threshold: spare 0.05 < 0.10 → +1 on l40s.
        let hot = |n| (fleet(n, 0, 0.75), n);
        assert_eq!(decide(&mut *a, 60.0, &[hot(1), hot(1)]), vec![1, 2]);
        // l40s's new replica is still starting: the whole model holds.
        let mut l40s = fleet(1, 0, 0.75);
        l40s.push(starting(1));
        assert_eq!(decide(&mut *a, 120.0, &[hot(1), (l40s, 2)]), vec![1, 2]);
        // Still hot once it is ready: l40s again, never the dear h100.
        assert_eq!(decide(&mut *a, 180.0, &[hot(1), hot(2)]), vec![1, 3]);
        // Load falls: with two of each, the dear h100 loses one first.
        let mut b = pair();
        let cold = |n| (fleet(n, 0, 0.1), n);
        assert_eq!(decide(&mut *b, 60.0, &[cold(2), cold(2)]), vec![1, 2]);
        // h100 is at 1 (not above): then l40s goes down.
        assert_eq!(decide(&mut *b, 120.0, &[cold(1), cold(2)]), vec![1, 1]);
    }

    #[test]
    fn unreadable_metrics_of_any_variant_keep_every_count() {
        let mut a = pair();
        let empty = MetricsStore::default();
        let mut h100 = MetricsStore::default();
        record(&mut h100, [scrape(60.0, fleet(2, 0, 0.75), 0)]);
        let obs = [
            h100.observe(at(60.0), SimDuration::ZERO, 2),
            empty.observe(at(60.0), SimDuration::ZERO, 3),
        ];
        assert_eq!(a.desired_variant_replicas(&obs), vec![2, 3]);
    }

    #[test]
    fn bad_variants_are_rejected() {
        for (costs, fragment) in [
            (vec![("a", -1.0), ("b", 1.0)], "variantCost"),
            (vec![("a", f64::NAN), ("b", 1.0)], "variantCost"),
            (vec![("a", 1.0), ("a", 2.0)], "listed twice"),
        ] {
            let e = config(&costs).build().expect_err(fragment).to_string();
            assert!(e.contains(fragment), "{e}");
        }
    }
}
