//! Cost attribution (chargeback): the run's billed dollars split among
//! each deployment's priority classes, so a cost per request can be
//! charged back to whoever sent the requests. `docs/cost.md` explains the
//! model; in short:
//!
//! - **Busy** GPU dollars (the `busy` line of the cost report) go to the
//!   deployments by their replicas' busy GPU time at their pool's price,
//!   then within a deployment to its classes by **served tokens**: the
//!   prompt tokens plus the output tokens of the class's completed
//!   requests (the same work the recompute share counts as needed).
//! - Every other billed dollar goes by [`ALLOCATION_RULE`]: what a
//!   deployment's own replicas held beyond their busy time (idle, cold
//!   starts, draining) is that deployment's; what no replica held (warm
//!   pool, unallocated GPUs, billing granularity) goes to every deployment
//!   in proportion to its busy dollars; within a deployment, its classes
//!   share its part in proportion to their busy dollars.
//!
//! The figures come from a [`ClassUsage`] per deployment and class, fed
//! one ended request at a time, so they are the same whether the run
//! keeps its records or streams them.

use crate::metrics::RequestRecord;
use crate::request::Outcome;
use serde::{Deserialize, Serialize};
use std::fmt::{self, Write as _};

/// How non-busy dollars are allocated: a deployment pays for what its own
/// replicas held (a model's idle and cold starts are that model's), the
/// rest of the fleet's overhead goes in proportion to busy dollars, and
/// within a deployment its classes share its overhead in proportion to
/// their busy dollars (it idles, starts and drains to serve the work it
/// serves, so whoever uses more of that work pays more of its overhead; a
/// count of requests would charge a short request as much as a long one).
pub const ALLOCATION_RULE: &str = "own_replicas_then_proportional_to_busy_usd";

/// Which tokens share busy GPU time.
pub const TOKEN_BASIS: &str = "prompt_plus_output_tokens_of_completed_requests";

/// The name of the one entry of a deployment that configures no priority
/// classes (its requests all have class index 0).
pub const UNCLASSIFIED: &str = "(unclassified)";

/// What one class's requests used of one deployment, counted as each
/// request (or pipeline stage visit) ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClassUsage {
    /// Requests that ended here, whatever their outcome.
    pub requests: u64,
    /// Requests that completed.
    pub completed: u64,
    /// Prompt tokens of completed requests.
    pub input_tokens: u64,
    /// Output tokens of completed requests.
    pub output_tokens: u64,
}

impl ClassUsage {
    /// Counts one ended request.
    pub fn add(&mut self, r: &RequestRecord) {
        self.requests += 1;
        if r.outcome == Outcome::Completed {
            self.completed += 1;
            self.input_tokens += u64::from(r.input_tokens);
            self.output_tokens += u64::from(r.output_tokens);
        }
    }

    /// The tokens busy GPU time is shared by ([`TOKEN_BASIS`]).
    pub fn served_tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }
}

/// One deployment's usage, the input of [`attribute`].
#[derive(Clone, Debug, PartialEq)]
pub struct DeploymentUsage {
    /// Deployment name.
    pub name: String,
    /// Its replicas' busy GPU-hours, each at its pool's price, USD: the
    /// weight its share of the busy dollars is taken by.
    pub busy_weight_usd: f64,
    /// Its replicas' held GPU-hours (busy, idle, starting, draining), each
    /// at its pool's price, USD: held minus busy is its own overhead.
    pub held_weight_usd: f64,
    /// Its classes, in priority order, with what they used.
    pub classes: Vec<(String, ClassUsage)>,
}

/// The `cost_attribution` section of the summary.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CostAttribution {
    /// How non-busy dollars are allocated ([`ALLOCATION_RULE`]).
    pub allocation_rule: String,
    /// Which tokens share busy dollars ([`TOKEN_BASIS`]).
    pub token_basis: String,
    /// Busy dollars attributed (the cost report's `by_state.busy.usd`).
    pub busy_usd: f64,
    /// Every other billed dollar, allocated by the rule.
    pub non_busy_usd: f64,
    /// `busy_usd + non_busy_usd`: the cost report's `total_usd`.
    pub total_usd: f64,
    /// One entry per deployment, in configuration order.
    pub deployments: Vec<DeploymentAttribution>,
}

/// One deployment's classes and their dollars.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeploymentAttribution {
    /// Deployment name.
    pub name: String,
    /// Busy dollars of the deployment.
    pub busy_usd: f64,
    /// Its dollars in all (busy and allocated).
    pub total_usd: f64,
    /// One entry per priority class, in priority order (one entry named
    /// [`UNCLASSIFIED`] when the deployment configures none).
    pub classes: Vec<ClassCost>,
}

/// What one class is charged on one deployment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClassCost {
    /// Class name.
    pub name: String,
    /// Requests that ended on the deployment, whatever their outcome.
    pub requests: u64,
    /// Requests that completed.
    pub completed: u64,
    /// Prompt plus output tokens of completed requests.
    pub served_tokens: u64,
    /// Output tokens of completed requests.
    pub output_tokens: u64,
    /// Its share of the deployment's busy dollars, by served tokens.
    pub busy_usd: f64,
    /// Its share of the non-busy dollars, by the allocation rule.
    pub allocated_non_busy_usd: f64,
    /// `busy_usd + allocated_non_busy_usd`.
    pub total_usd: f64,
    /// `total_usd` per completed request; `null` when none completed.
    pub usd_per_request: Option<f64>,
    /// `total_usd` per million output tokens of completed requests; `null`
    /// when there are none.
    pub usd_per_million_output_tokens: Option<f64>,
}

/// Shares of `weights` (summing to 1); `None` when they sum to nothing.
fn shares(weights: &[f64]) -> Option<Vec<f64>> {
    let sum: f64 = weights.iter().sum();
    (sum > 0.0 && sum.is_finite()).then(|| weights.iter().map(|w| w / sum).collect())
}

/// Shares by the first basis that is not all zero; equal shares when every
/// basis is.
fn shares_by(bases: &[Vec<f64>], n: usize) -> Vec<f64> {
    (bases.iter().find_map(|b| shares(b))).unwrap_or_else(|| vec![1.0 / n.max(1) as f64; n])
}

/// The run's billed dollars split among the classes of `deployments`:
/// `busy_usd` by busy weight, then served tokens (requests that ended,
/// when a deployment was busy but completed nothing); the rest of
/// `total_usd` by [`ALLOCATION_RULE`] (requests that ended, when nothing
/// was busy). `None` when there is nothing to split among (no class).
pub fn attribute(
    busy_usd: f64,
    total_usd: f64,
    deployments: &[DeploymentUsage],
) -> Option<CostAttribution> {
    let entries: usize = deployments.iter().map(|d| d.classes.len()).sum();
    if entries == 0 {
        return None;
    }
    let non_busy_usd = total_usd - busy_usd;
    let weights: Vec<f64> = deployments.iter().map(|d| d.busy_weight_usd).collect();
    let requests_of =
        |d: &DeploymentUsage| -> f64 { d.classes.iter().map(|(_, u)| u.requests as f64).sum() };
    let by_requests: Vec<f64> = deployments.iter().map(requests_of).collect();
    let dep_shares = shares_by(&[weights, by_requests], deployments.len());
    // Each deployment's own overhead (its replicas' held time beyond busy),
    // capped by what the run billed beyond busy; the rest was held by no
    // replica and goes by busy share.
    let own: Vec<f64> = (deployments.iter())
        .map(|d| (d.held_weight_usd - d.busy_weight_usd).max(0.0))
        .collect();
    let own_total: f64 = own.iter().sum();
    let replicas_usd = own_total.min(non_busy_usd.max(0.0));
    let own_usd: Vec<f64> = match shares(&own) {
        Some(sh) => sh.iter().map(|x| replicas_usd * x).collect(),
        None => vec![0.0; deployments.len()],
    };
    let unheld_usd = non_busy_usd - own_usd.iter().sum::<f64>();
    // Busy and non-busy dollars per (deployment, class), flattened in order.
    let mut busy: Vec<f64> = Vec::with_capacity(entries);
    let mut other: Vec<f64> = Vec::with_capacity(entries);
    for ((d, share), own) in deployments.iter().zip(&dep_shares).zip(&own_usd) {
        let tokens: Vec<f64> = (d.classes.iter())
            .map(|(_, u)| u.served_tokens() as f64)
            .collect();
        let requests: Vec<f64> = d.classes.iter().map(|(_, u)| u.requests as f64).collect();
        let within = shares_by(&[tokens, requests.clone()], d.classes.len());
        let class_busy: Vec<f64> = within.iter().map(|s| busy_usd * share * s).collect();
        let overhead = own + unheld_usd * share;
        let by_busy = shares_by(&[class_busy.clone(), requests], d.classes.len());
        other.extend(by_busy.iter().map(|s| overhead * s));
        busy.extend(class_busy);
    }
    let mut i = 0;
    let deployments = (deployments.iter())
        .map(|d| {
            let classes: Vec<ClassCost> = (d.classes.iter())
                .map(|(name, u)| {
                    let (b, a) = (busy[i], other[i]);
                    i += 1;
                    let total = b + a;
                    ClassCost {
                        name: name.clone(),
                        requests: u.requests,
                        completed: u.completed,
                        served_tokens: u.served_tokens(),
                        output_tokens: u.output_tokens,
                        busy_usd: b,
                        allocated_non_busy_usd: a,
                        total_usd: total,
                        usd_per_request: (u.completed > 0).then(|| total / u.completed as f64),
                        usd_per_million_output_tokens: (u.output_tokens > 0)
                            .then(|| total * 1e6 / u.output_tokens as f64),
                    }
                })
                .collect();
            DeploymentAttribution {
                name: d.name.clone(),
                busy_usd: classes.iter().map(|c| c.busy_usd).sum(),
                total_usd: classes.iter().map(|c| c.total_usd).sum(),
                classes,
            }
        })
        .collect();
    Some(CostAttribution {
        allocation_rule: ALLOCATION_RULE.to_string(),
        token_basis: TOKEN_BASIS.to_string(),
        busy_usd,
        non_busy_usd,
        total_usd,
        deployments,
    })
}

impl CostAttribution {
    /// The run table's lines: one per (deployment, class), after the cost
    /// line.
    pub fn write_lines(&self, out: &mut String) -> fmt::Result {
        use super::display::{usd, usd_line};
        let several = self.deployments.len() > 1;
        writeln!(
            out,
            "chargeback busy {} by served tokens, other {} to the deployment whose replicas held it, the rest in proportion to busy dollars",
            usd_line(self.busy_usd),
            usd_line(self.non_busy_usd)
        )?;
        for d in &self.deployments {
            for c in &d.classes {
                let name = match several {
                    true => format!("{} / {}", d.name, c.name),
                    false => c.name.clone(),
                };
                let per_request = (c.usd_per_request)
                    .map_or("no completed request".to_string(), |x| {
                        format!("{} a request", usd(x))
                    });
                let per_mtok = (c.usd_per_million_output_tokens).map_or(String::new(), |x| {
                    format!(", {} per million output tokens", usd(x))
                });
                writeln!(
                    out,
                    "           {name}: {} ({} busy + {} other) for {} request{}, {} tokens: {per_request}{per_mtok}",
                    usd_line(c.total_usd),
                    usd_line(c.busy_usd),
                    usd_line(c.allocated_non_busy_usd),
                    c.completed,
                    if c.completed == 1 { "" } else { "s" },
                    c.served_tokens,
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usage(requests: u64, input: u64, output: u64) -> ClassUsage {
        ClassUsage {
            requests,
            completed: requests,
            input_tokens: input,
            output_tokens: output,
        }
    }

    fn deployment(name: &str, weight: f64, classes: &[(&str, ClassUsage)]) -> DeploymentUsage {
        DeploymentUsage {
            name: name.to_string(),
            busy_weight_usd: weight,
            held_weight_usd: weight,
            classes: classes.iter().map(|(n, u)| (n.to_string(), *u)).collect(),
        }
    }

    /// What a deployment's own replicas held beyond busy is its own; only
    /// what no replica held is shared by busy dollars.
    #[test]
    fn a_deployment_pays_for_its_own_idle_replicas() {
        let c = [("all", usage(10, 1_000, 100))];
        // Prefill: $1 busy of $8 held; decode: $3 busy of $4 held. Billed
        // $14: $4 busy, $8 held beyond busy by replicas, $2 by none.
        let prefill = DeploymentUsage {
            held_weight_usd: 8.0,
            ..deployment("prefill", 1.0, &c)
        };
        let decode = DeploymentUsage {
            held_weight_usd: 4.0,
            ..deployment("decode", 3.0, &c)
        };
        let a = attribute(4.0, 14.0, &[prefill, decode]).expect("classes");
        let (p, d) = (&a.deployments[0], &a.deployments[1]);
        // Own overhead $7 and $1, the $2 nobody held by busy share 1 : 3.
        assert!((p.total_usd - (1.0 + 7.0 + 0.5)).abs() < 1e-12, "{p:?}");
        assert!((d.total_usd - (3.0 + 1.0 + 1.5)).abs() < 1e-12, "{d:?}");
        // Under the old rule (all overhead by busy share) prefill would pay
        // 1 + 10 / 4 = $3.50 for holding twice the GPUs.
        assert!(p.total_usd > d.total_usd);
    }

    #[test]
    fn twice_the_tokens_is_twice_the_busy_cost() {
        let d = deployment(
            "chat",
            1.0,
            &[
                ("paid", usage(10, 2_000, 400)),
                ("free", usage(30, 1_000, 200)),
            ],
        );
        let a = attribute(6.0, 10.0, &[d]).expect("classes and a cost");
        let c = &a.deployments[0].classes;
        assert!((c[0].busy_usd - 2.0 * c[1].busy_usd).abs() < 1e-12);
        assert!((c[0].busy_usd - 4.0).abs() < 1e-12, "{:?}", c[0]);
        // Non-busy dollars follow busy dollars: twice too.
        assert!((c[0].allocated_non_busy_usd - 2.0 * c[1].allocated_non_busy_usd).abs() < 1e-12);
        assert_eq!(a.allocation_rule, ALLOCATION_RULE);
        assert_eq!(c[0].usd_per_request, Some(c[0].total_usd / 10.0));
    }

    #[test]
    fn busy_dollars_follow_the_deployments_weights() {
        let a = attribute(
            9.0,
            12.0,
            &[
                deployment("big", 2.0, &[("a", usage(1, 10, 10))]),
                deployment("small", 1.0, &[("a", usage(5, 500, 500))]),
            ],
        )
        .expect("attribution");
        assert!((a.deployments[0].busy_usd - 6.0).abs() < 1e-12);
        assert!((a.deployments[1].busy_usd - 3.0).abs() < 1e-12);
    }

    #[test]
    fn nothing_served_is_split_by_requests_and_no_class_is_no_section() {
        let a = attribute(
            0.0,
            4.0,
            &[deployment(
                "d",
                0.0,
                &[
                    (
                        "x",
                        ClassUsage {
                            requests: 3,
                            ..ClassUsage::default()
                        },
                    ),
                    (
                        "y",
                        ClassUsage {
                            requests: 1,
                            ..ClassUsage::default()
                        },
                    ),
                ],
            )],
        )
        .expect("attribution");
        let c = &a.deployments[0].classes;
        assert!((c[0].total_usd - 3.0).abs() < 1e-12);
        assert_eq!(c[0].usd_per_request, None);
        assert_eq!(c[0].usd_per_million_output_tokens, None);
        assert_eq!(attribute(1.0, 2.0, &[deployment("d", 1.0, &[])]), None);
    }

    proptest! {
        #[test]
        fn classes_sum_to_the_billed_total(
            busy_usd in 0.0f64..1e6,
            extra_usd in 0.0f64..1e6,
            weights in proptest::collection::vec(0.0f64..10.0, 1..4),
            held_extra in 0.0f64..3.0,
            tokens in proptest::collection::vec((0u64..1_000, 0u64..1_000_000, 0u64..100_000), 1..5),
        ) {
            let deployments: Vec<DeploymentUsage> = (weights.iter().enumerate())
                .map(|(i, &w)| DeploymentUsage {
                    name: format!("d{i}"),
                    busy_weight_usd: w,
                    held_weight_usd: w * (1.0 + held_extra),
                    classes: (tokens.iter().enumerate())
                        .map(|(j, &(r, inp, out))| (format!("c{j}"), usage(r, inp, out)))
                        .collect(),
                })
                .collect();
            let total = busy_usd + extra_usd;
            let a = attribute(busy_usd, total, &deployments).expect("classes");
            let classes = || a.deployments.iter().flat_map(|d| &d.classes);
            let sum: f64 = classes().map(|c| c.total_usd).sum();
            let busy: f64 = classes().map(|c| c.busy_usd).sum();
            // Relative tolerance 1e-9 of the total (floating-point sums).
            let tol = 1e-9 * total.max(1.0);
            prop_assert!((sum - total).abs() <= tol, "sum {} total {}", sum, total);
            prop_assert!((busy - busy_usd).abs() <= tol, "busy {} of {}", busy, busy_usd);
            prop_assert!(classes().all(|c| c.total_usd >= 0.0));
        }
    }
}
