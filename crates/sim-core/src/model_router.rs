//! Model routing: a stage in front of the deployments that picks, for each
//! request sent to it, the deployment (model) or pipeline that serves it by
//! a feature of the request — its prompt length, its priority class, a
//! difficulty score from the trace, or a seeded coin. Right-sized routing
//! sends easy requests to a small model and hard ones to a large one; a
//! route to a pipeline (small model, then large) is a cascade: the request
//! pays for both and its end-to-end latency spans both.
//!
//! A model router is a name in the deployment mix, next to the deployments
//! and pipelines: a request whose `model` names it, or drawn by its
//! `share`, goes through its routes in order; the first whose conditions
//! all hold decides, and a request no route takes goes to `default`. Each
//! deployment keeps its own router, queue and autoscaler.

use crate::request::Request;
use crate::rng::{self, StreamRng};

/// Where a model router sends a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteTarget {
    /// A deployment, by index.
    Deployment(u16),
    /// A pipeline, by index (say the small model, then the large one).
    Pipeline(u16),
}

/// What a request must have for a route to take it; every condition given
/// must hold, and a route gives at least one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RouteCondition {
    /// The prompt has at least this many tokens.
    pub min_input_tokens: Option<u32>,
    /// The request's class (the trace's `priority_class`) is one of these.
    /// Empty: any class.
    pub classes: Vec<Box<str>>,
    /// The request's trace difficulty is at least this.
    pub min_difficulty: Option<f64>,
    /// The route takes this fraction (in (0, 1]) of the requests that meet
    /// its other conditions, by a draw from the router's own stream.
    pub fraction: Option<f64>,
}

/// One route: requests meeting `when` go to `to`.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelRoute {
    /// The conditions.
    pub when: RouteCondition,
    /// The deployment or pipeline.
    pub to: RouteTarget,
}

/// A model router as configured.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelRouterSpec {
    /// Name, as a trace's model column writes it (next to the deployments'
    /// and pipelines').
    pub name: Box<str>,
    /// Weight in the mix for requests that name no model.
    pub share: f64,
    /// Routes, tried in order.
    pub routes: Vec<ModelRoute>,
    /// Where a request no route takes goes.
    pub default: RouteTarget,
}

/// Why a request could not be routed: a route needs a feature the request
/// lacks (no silent default: the trace or the router is wrong).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelRouteError {
    /// A route compares difficulty, and the request has none.
    NoDifficulty {
        /// The route's position in the router's routes.
        route: usize,
    },
    /// A route matches classes, and the request names none.
    NoClass {
        /// The route's position in the router's routes.
        route: usize,
    },
}

impl std::fmt::Display for ModelRouteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelRouteError::NoDifficulty { route } => write!(
                f,
                "routes[{route}] needs a difficulty (`min_difficulty`) and the request has none (the trace's `difficulty` column)"
            ),
            ModelRouteError::NoClass { route } => write!(
                f,
                "routes[{route}] matches `classes` and the request names no class (the trace's `priority_class` column)"
            ),
        }
    }
}

impl ModelRouterSpec {
    /// Checks what the engine relies on: targets that exist, routes with
    /// at least one condition, thresholds finite and fractions in (0, 1].
    pub fn check(&self, deployments: usize, pipelines: usize) -> Result<(), String> {
        let exists = |t: RouteTarget| match t {
            RouteTarget::Deployment(d) => usize::from(d) < deployments,
            RouteTarget::Pipeline(p) => usize::from(p) < pipelines,
        };
        let name = &self.name;
        if !exists(self.default) {
            return Err(format!(
                "model router {name:?} defaults to {:?}, which does not exist",
                self.default
            ));
        }
        for (i, r) in self.routes.iter().enumerate() {
            let w = &r.when;
            let why = if !exists(r.to) {
                "names a target that does not exist"
            } else if w.min_input_tokens.is_none()
                && w.classes.is_empty()
                && w.min_difficulty.is_none()
                && w.fraction.is_none()
            {
                "has no condition"
            } else if w.min_difficulty.is_some_and(|d| !d.is_finite()) {
                "has a difficulty threshold that is not finite"
            } else if w.fraction.is_some_and(|f| !(f > 0.0 && f <= 1.0)) {
                "has a fraction outside (0, 1]"
            } else {
                continue;
            };
            return Err(format!("route {i} of model router {name:?} {why}"));
        }
        Ok(())
    }
}

/// A model router during a run: its spec and its own random stream, so a
/// split draws nothing from any other stream.
#[derive(Debug)]
pub struct ModelRouter {
    spec: ModelRouterSpec,
    rng: StreamRng,
}

impl ModelRouter {
    /// Router `index` of a run of `seed`; its fractions draw from the
    /// stream `("model.model_router", index)`, one draw per request that
    /// meets a fractional route's other conditions.
    pub fn new(spec: ModelRouterSpec, seed: u64, index: u64) -> Self {
        ModelRouter {
            spec,
            rng: rng::stream(seed, "model.model_router", index),
        }
    }

    /// Where `request` goes: the first route whose conditions all hold,
    /// else the default.
    pub fn route(&mut self, request: &Request) -> Result<RouteTarget, ModelRouteError> {
        for (i, r) in self.spec.routes.iter().enumerate() {
            let w = &r.when;
            if w.min_input_tokens.is_some_and(|t| request.input_tokens < t) {
                continue;
            }
            if !w.classes.is_empty() {
                let class = (request.priority_class.as_deref())
                    .ok_or(ModelRouteError::NoClass { route: i })?;
                if !w.classes.iter().any(|c| &**c == class) {
                    continue;
                }
            }
            if let Some(min) = w.min_difficulty {
                let d = request
                    .difficulty
                    .ok_or(ModelRouteError::NoDifficulty { route: i })?;
                if d < min {
                    continue;
                }
            }
            if let Some(f) = w.fraction {
                if rng::open_unit(&mut self.rng) >= f {
                    continue;
                }
            }
            return Ok(r.to);
        }
        Ok(self.spec.default)
    }

    /// Its spec.
    pub fn spec(&self) -> &ModelRouterSpec {
        &self.spec
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SimTime;

    const SMALL: RouteTarget = RouteTarget::Deployment(0);
    const LARGE: RouteTarget = RouteTarget::Deployment(1);
    const CASCADE: RouteTarget = RouteTarget::Pipeline(0);

    fn router(routes: Vec<(RouteCondition, RouteTarget)>) -> ModelRouter {
        let spec = ModelRouterSpec {
            name: "auto".into(),
            share: 1.0,
            routes: (routes.into_iter())
                .map(|(when, to)| ModelRoute { when, to })
                .collect(),
            default: SMALL,
        };
        spec.check(2, 1).unwrap();
        ModelRouter::new(spec, 7, 0)
    }

    fn request(input: u32, class: Option<&str>, difficulty: Option<f64>) -> Request {
        Request {
            priority_class: class.map(Into::into),
            difficulty,
            ..Request::new(SimTime::ZERO, input, 1)
        }
    }

    #[test]
    fn the_first_route_whose_conditions_all_hold_decides() {
        let mut r = router(vec![
            (
                RouteCondition {
                    min_input_tokens: Some(1000),
                    classes: vec!["premium".into()],
                    ..Default::default()
                },
                LARGE,
            ),
            (
                RouteCondition {
                    min_difficulty: Some(0.5),
                    ..Default::default()
                },
                CASCADE,
            ),
        ]);
        // (input, class, difficulty) -> target
        for (input, class, difficulty, expect) in [
            (1000, Some("premium"), Some(0.9), LARGE),
            (999, Some("premium"), Some(0.9), CASCADE),
            (5000, Some("free"), Some(0.5), CASCADE),
            (5000, Some("free"), Some(0.49), SMALL),
            (10, Some("premium"), Some(0.0), SMALL),
        ] {
            let got = r.route(&request(input, class, difficulty));
            assert_eq!(got, Ok(expect), "{input} {class:?} {difficulty:?}");
        }
        // A feature a route reads and the request lacks is an error; a
        // route skipped before it reads the feature needs nothing.
        assert_eq!(
            r.route(&request(5000, None, Some(0.9))),
            Err(ModelRouteError::NoClass { route: 0 })
        );
        assert_eq!(
            r.route(&request(10, Some("free"), None)),
            Err(ModelRouteError::NoDifficulty { route: 1 })
        );
        assert_eq!(r.route(&request(10, None, None)).ok(), None);
    }

    #[test]
    fn a_fraction_splits_by_its_own_seeded_stream() {
        let split = || {
            router(vec![(
                RouteCondition {
                    fraction: Some(0.3),
                    ..Default::default()
                },
                LARGE,
            )])
        };
        let (mut a, mut b) = (split(), split());
        let picks: Vec<_> = (0..20_000)
            .map(|_| a.route(&request(1, None, None)).unwrap())
            .collect();
        let again: Vec<_> = (0..20_000)
            .map(|_| b.route(&request(1, None, None)).unwrap())
            .collect();
        assert_eq!(picks, again, "same seed, same split");
        let large = picks.iter().filter(|&&t| t == LARGE).count() as f64 / 20_000.0;
        // Binomial sd at p = 0.3, n = 20 000 is 0.0032; 5 sd.
        assert!((large - 0.3).abs() < 0.017, "{large}");
    }

    #[test]
    fn what_the_engine_relies_on_is_checked() {
        let spec = |when: RouteCondition, to| ModelRouterSpec {
            name: "auto".into(),
            share: 0.0,
            routes: vec![ModelRoute { when, to }],
            default: SMALL,
        };
        let some = RouteCondition {
            min_input_tokens: Some(1),
            ..Default::default()
        };
        for (s, expect) in [
            (spec(some.clone(), LARGE), Ok(())),
            (
                spec(some.clone(), RouteTarget::Deployment(2)),
                Err("route 0 of model router \"auto\" names a target that does not exist"),
            ),
            (
                spec(some.clone(), RouteTarget::Pipeline(1)),
                Err("route 0 of model router \"auto\" names a target that does not exist"),
            ),
            (
                spec(RouteCondition::default(), LARGE),
                Err("route 0 of model router \"auto\" has no condition"),
            ),
            (
                spec(
                    RouteCondition {
                        fraction: Some(0.0),
                        ..Default::default()
                    },
                    LARGE,
                ),
                Err("route 0 of model router \"auto\" has a fraction outside (0, 1]"),
            ),
            (
                spec(
                    RouteCondition {
                        min_difficulty: Some(f64::NAN),
                        ..Default::default()
                    },
                    LARGE,
                ),
                Err("route 0 of model router \"auto\" has a difficulty threshold that is not finite"),
            ),
        ] {
            assert_eq!(s.check(2, 1), expect.map_err(String::from));
        }
    }
}
