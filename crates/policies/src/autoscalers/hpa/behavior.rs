//! `spec.behavior` as a scenario writes it ([`BehaviorConfig`]), in either
//! of two spellings, one per behavior:
//!
//! | snake_case | Kubernetes (autoscaling/v2) |
//! |---|---|
//! | `scale_up`, `scale_down` | `scaleUp`, `scaleDown` |
//! | `stabilization_window_s` | `stabilizationWindowSeconds` |
//! | `select_policy` | `selectPolicy` |
//! | `policies = [{ type, value, period_s }]` | `policies = [{ type, value, periodSeconds }]` |
//!
//! A field left out takes the API default the way
//! `pkg/apis/autoscaling/v2/defaults.go` fills it
//! (`copyHPAScalingRules`: every field that is set is kept, the others come
//! from `GenerateHPAScale{Up,Down}Rules`): see
//! [`BehaviorConfig::defaulted`]. Range checks happen while reading, so an
//! error quotes the value and names the key as the user spelled it, with
//! its place in the behavior (`scaleDown.policies[0].periodSeconds`): a
//! value, a missing key or an empty list is found by that path even where
//! the same value is written twice.

use super::{
    Behavior, PolicyType, ScalingPolicy, ScalingRules, SelectPolicy, MAX_POLICY_PERIOD_S,
    MAX_STABILIZATION_WINDOW_S,
};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Unexpected, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// `spec.behavior` as written: a direction left out, or a field of one,
/// takes the API default ([`Self::defaulted`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BehaviorConfig {
    /// `scaleUp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_up: Option<RulesConfig>,
    /// `scaleDown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_down: Option<RulesConfig>,
}

/// `HPAScalingRules` as written: `None` is a field left out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RulesConfig {
    /// `stabilizationWindowSeconds` (0..=3600).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stabilization_window_s: Option<u32>,
    /// `selectPolicy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub select_policy: Option<SelectPolicy>,
    /// `policies` (at least one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<ScalingPolicy>>,
}

impl RulesConfig {
    /// `copyHPAScalingRules(self, defaults)`: the fields that are set,
    /// the rest from `defaults`.
    pub fn over(&self, defaults: ScalingRules) -> ScalingRules {
        ScalingRules {
            stabilization_window_s: (self.stabilization_window_s)
                .unwrap_or(defaults.stabilization_window_s),
            select_policy: self.select_policy.unwrap_or(defaults.select_policy),
            policies: self.policies.clone().unwrap_or(defaults.policies),
        }
    }
}

impl BehaviorConfig {
    /// The behavior after API defaulting: both directions filled in, the
    /// scale-down window from the controller flag
    /// `downscale_stabilization_s` when it is left out (upstream leaves it
    /// nil and the controller reads the flag).
    pub fn defaulted(&self, downscale_stabilization_s: u32) -> Behavior {
        let fill = |rules: &Option<RulesConfig>, defaults: ScalingRules| {
            Some(match rules {
                Some(r) => r.over(defaults),
                None => defaults,
            })
        };
        Behavior {
            scale_up: fill(&self.scale_up, ScalingRules::default_scale_up()),
            scale_down: fill(
                &self.scale_down,
                ScalingRules::default_scale_down(downscale_stabilization_s),
            ),
        }
    }
}

/// The API's range rules for a behavior's numbers and lists (validation
/// of `HPAScalingRules`), shared by the reader here and
/// [`ScalingRules::validate`]: `Err` holds what is allowed, with the
/// upstream message.
pub(crate) mod rules {
    use super::*;

    /// `stabilizationWindowSeconds`.
    pub fn window(s: u32) -> Result<(), &'static str> {
        match s <= MAX_STABILIZATION_WINDOW_S {
            true => Ok(()),
            false => Err(
                "in 0..=3600 (HPA: stabilizationWindowSeconds must be less than or equal to 3600)",
            ),
        }
    }

    /// A policy's `value`.
    pub fn value(v: u32) -> Result<(), &'static str> {
        match v > 0 {
            true => Ok(()),
            false => Err("> 0 (HPA: value must be greater than zero)"),
        }
    }

    /// A policy's `periodSeconds`.
    pub fn period(p: u32) -> Result<(), &'static str> {
        match (1..=MAX_POLICY_PERIOD_S).contains(&p) {
            true => Ok(()),
            false => Err("in 1..=1800 (HPA: periodSeconds must be greater than zero and less than or equal to 1800)"),
        }
    }

    /// The number of `policies` (even with `selectPolicy: Disabled`).
    pub fn policy_count(n: usize) -> Result<(), &'static str> {
        match n > 0 {
            true => Ok(()),
            false => Err("at least one policy (HPA: must specify at least one Policy)"),
        }
    }
}

/// How a behavior's keys are spelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Spelling {
    Snake,
    Kubernetes,
}

impl Spelling {
    fn name(self) -> &'static str {
        match self {
            Spelling::Snake => "snake_case",
            Spelling::Kubernetes => "Kubernetes spelling",
        }
    }

    fn key(self, (snake, k8s): (&'static str, &'static str)) -> &'static str {
        match self {
            Spelling::Snake => snake,
            Spelling::Kubernetes => k8s,
        }
    }
}

/// One table's keys as `(snake_case, Kubernetes)` pairs, in field order; a
/// key spelled the same both ways (`policies`, `type`) says nothing about
/// the spelling.
type Keys = &'static [(&'static str, &'static str)];

const BEHAVIOR_KEYS: Keys = &[("scale_up", "scaleUp"), ("scale_down", "scaleDown")];
const RULES_KEYS: Keys = &[
    ("stabilization_window_s", "stabilizationWindowSeconds"),
    ("select_policy", "selectPolicy"),
    ("policies", "policies"),
];
const POLICY_KEYS: Keys = &[
    ("type", "type"),
    ("value", "value"),
    ("period_s", "periodSeconds"),
];

/// "`a`, `b` or `c`".
fn listed(keys: impl Iterator<Item = &'static str>) -> String {
    let keys: Vec<String> = keys.map(|k| format!("`{k}`")).collect();
    match keys.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => keys.concat(),
    }
}

/// The spelling of the behavior being read, fixed by its first key that
/// is spelled differently in the two (kept to name it in errors).
#[derive(Default)]
struct SpellingSoFar(Option<(Spelling, String)>);

impl SpellingSoFar {
    /// The index of `key` in `keys`; an error if it is no key of the
    /// table, or spelled unlike the keys before it.
    fn index<E: de::Error>(&mut self, keys: Keys, key: &str) -> Result<usize, E> {
        let found = keys.iter().position(|&(s, k)| key == s || key == k);
        let spelled = found.and_then(|i| match keys[i] {
            (s, k) if s == k => None,
            (s, _) if key == s => Some(Spelling::Snake),
            _ => Some(Spelling::Kubernetes),
        });
        let allowed = |s: Spelling| listed(keys.iter().map(|&pair| s.key(pair)));
        let hint = match key {
            "tolerance" => " (a per-direction tolerance is `[scaling] tolerance = { scale_up, scale_down }` of kind `hpa`)",
            _ => "",
        };
        match (found, spelled, &self.0) {
            (None, _, Some((s, _))) => Err(E::custom(format!(
                "unknown field `{key}`, expected {}{hint}",
                allowed(*s)
            ))),
            (None, _, None) => Err(E::custom(format!(
                "unknown field `{key}`, expected {} (snake_case) or {} (Kubernetes spelling){hint}",
                allowed(Spelling::Snake),
                allowed(Spelling::Kubernetes)
            ))),
            (Some(_), Some(now), Some((s, first))) if now != *s => Err(E::custom(format!(
                "unknown field `{key}` in a behavior written in {} (it has `{first}`), expected {}: \
                 one behavior takes one spelling, snake_case or Kubernetes",
                s.name(),
                allowed(*s)
            ))),
            (Some(i), Some(now), None) => {
                self.0 = Some((now, key.to_string()));
                Ok(i)
            }
            (Some(i), _, _) => Ok(i),
        }
    }

    /// `keys[i]` as this behavior spells it (snake_case before any key
    /// has said).
    fn key(&self, keys: Keys, i: usize) -> &'static str {
        self.key_of(keys[i])
    }

    /// A key pair as this behavior spells it.
    fn key_of(&self, pair: (&'static str, &'static str)) -> &'static str {
        self.0
            .as_ref()
            .map_or(Spelling::Snake, |(s, _)| *s)
            .key(pair)
    }
}

/// Reads one table of a behavior: each key is checked against `keys` and
/// the spelling so far, then `read` takes its value (given the key's index
/// and the key as written). A key given twice is an error.
fn read_table<'de, A: MapAccess<'de>>(
    mut map: A,
    keys: Keys,
    spelling: &mut SpellingSoFar,
    mut read: impl FnMut(usize, &str, &mut A, &mut SpellingSoFar) -> Result<(), A::Error>,
) -> Result<(), A::Error> {
    let mut seen = vec![false; keys.len()];
    while let Some(key) = map.next_key::<String>()? {
        let i = spelling.index(keys, &key)?;
        if std::mem::replace(&mut seen[i], true) {
            return Err(de::Error::custom(format!("duplicate field `{key}`")));
        }
        read(i, &key, &mut map, spelling)?;
    }
    Ok(())
}

/// A whole number that `rule` accepts; otherwise an error quoting it and
/// naming `path`, its place in the behavior (so the scenario's error
/// locator finds it).
fn checked<'de, A: MapAccess<'de>>(
    map: &mut A,
    path: &str,
    rule: fn(u32) -> Result<(), &'static str>,
) -> Result<u32, A::Error> {
    let v: u32 = map.next_value()?;
    rule(v).map_err(|allowed| {
        de::Error::invalid_value(
            Unexpected::Unsigned(u64::from(v)),
            &format!("`{path}` {allowed}").as_str(),
        )
    })?;
    Ok(v)
}

impl<'de> Deserialize<'de> for BehaviorConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(BehaviorSeed(&mut SpellingSoFar::default()))
    }
}

struct BehaviorSeed<'s>(&'s mut SpellingSoFar);

impl<'de> Visitor<'de> for BehaviorSeed<'_> {
    type Value = BehaviorConfig;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a behavior table (`scale_up` / `scale_down`, or `scaleUp` / `scaleDown`)")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<BehaviorConfig, A::Error> {
        let mut b = BehaviorConfig::default();
        read_table(map, BEHAVIOR_KEYS, self.0, |i, key, map, s| {
            let rules = Some(map.next_value_seed(RulesSeed(s, key))?);
            match i {
                0 => b.scale_up = rules,
                _ => b.scale_down = rules,
            }
            Ok(())
        })?;
        Ok(b)
    }
}

/// One direction's rules; `.1` is the direction's key as written.
struct RulesSeed<'s, 'k>(&'s mut SpellingSoFar, &'k str);

impl<'de> DeserializeSeed<'de> for RulesSeed<'_, '_> {
    type Value = RulesConfig;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RulesConfig, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RulesSeed<'_, '_> {
    type Value = RulesConfig;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table of scaling rules")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RulesConfig, A::Error> {
        let mut r = RulesConfig::default();
        let dir = self.1;
        read_table(map, RULES_KEYS, self.0, |i, key, map, s| {
            let path = format!("{dir}.{key}");
            match i {
                0 => r.stabilization_window_s = Some(checked(map, &path, rules::window)?),
                1 => r.select_policy = Some(map.next_value()?),
                _ => r.policies = Some(map.next_value_seed(PoliciesSeed(s, path))?),
            }
            Ok(())
        })?;
        Ok(r)
    }
}

/// A direction's `policies`; `.1` is its path (`scaleUp.policies`).
struct PoliciesSeed<'s>(&'s mut SpellingSoFar, String);

impl<'de> DeserializeSeed<'de> for PoliciesSeed<'_> {
    type Value = Vec<ScalingPolicy>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<ScalingPolicy>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for PoliciesSeed<'_> {
    type Value = Vec<ScalingPolicy>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of policies")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<ScalingPolicy>, A::Error> {
        let mut policies = Vec::new();
        loop {
            let path = format!("{}[{}]", self.1, policies.len());
            match seq.next_element_seed(PolicySeed(&mut *self.0, path))? {
                Some(p) => policies.push(p),
                None => break,
            }
        }
        rules::policy_count(policies.len()).map_err(|allowed| {
            de::Error::invalid_length(0, &format!("`{}` with {allowed}", self.1).as_str())
        })?;
        Ok(policies)
    }
}

/// One policy; `.1` is its path (`scaleUp.policies[0]`).
struct PolicySeed<'s>(&'s mut SpellingSoFar, String);

impl<'de> DeserializeSeed<'de> for PolicySeed<'_> {
    type Value = ScalingPolicy;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<ScalingPolicy, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PolicySeed<'_> {
    type Value = ScalingPolicy;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a policy table (`type`, `value` and `period_s` or `periodSeconds`)")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ScalingPolicy, A::Error> {
        let (mut kind, mut value, mut period_s) = (None::<PolicyType>, None, None);
        let (spelling, at) = (self.0, self.1);
        read_table(map, POLICY_KEYS, &mut *spelling, |i, key, map, _| {
            let path = format!("{at}.{key}");
            match i {
                0 => kind = Some(map.next_value()?),
                1 => value = Some(checked(map, &path, rules::value)?),
                _ => period_s = Some(checked(map, &path, rules::period)?),
            }
            Ok(())
        })?;
        // Every field of a policy is required (`HPAScalingPolicy`).
        let missing = |i| {
            let keys = listed(POLICY_KEYS.iter().map(|&pair| spelling.key_of(pair)));
            de::Error::custom(format!(
                "missing field `{}` in `{at}` (a policy takes {})",
                spelling.key(POLICY_KEYS, i),
                keys.replacen(" or ", " and ", 1)
            ))
        };
        Ok(ScalingPolicy {
            kind: kind.ok_or_else(|| missing(0))?,
            value: value.ok_or_else(|| missing(1))?,
            period_s: period_s.ok_or_else(|| missing(2))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autoscalers::AutoscalerConfig;

    /// `[scaling]` of `kind` with `key = behavior` (TOML inline table).
    fn scaling(kind: &str, key: &str, behavior: &str) -> Result<AutoscalerConfig, String> {
        toml::from_str(&format!("kind = \"{kind}\"\n{key} = {behavior}\n"))
            .map_err(|e| e.message().to_string())
    }

    /// The behavior the HPA of a `[scaling]` table runs with.
    fn defaulted(config: &AutoscalerConfig) -> Option<Behavior> {
        match config {
            AutoscalerConfig::Hpa(c) => c.core().behavior,
            AutoscalerConfig::Keda(c) => c.core().hpa_config().behavior,
            other => panic!("{} has no HPA behavior", other.kind()),
        }
    }

    fn policy(kind: PolicyType, value: u32, period_s: u32) -> ScalingPolicy {
        ScalingPolicy {
            kind,
            value,
            period_s,
        }
    }

    fn rules(window_s: u32, select: SelectPolicy, policies: Vec<ScalingPolicy>) -> ScalingRules {
        ScalingRules {
            stabilization_window_s: window_s,
            select_policy: select,
            policies,
        }
    }

    /// The same behaviors in both spellings, fully written out or partly.
    const TWINS: &[(&str, &str)] = &[
        (
            r#"{ scale_up = { stabilization_window_s = 30, select_policy = "Min", policies = [{ type = "Pods", value = 2, period_s = 20 }, { type = "Percent", value = 50, period_s = 60 }] }, scale_down = { stabilization_window_s = 600, select_policy = "Max", policies = [{ type = "Pods", value = 1, period_s = 120 }] } }"#,
            r#"{ scaleUp = { stabilizationWindowSeconds = 30, selectPolicy = "Min", policies = [{ type = "Pods", value = 2, periodSeconds = 20 }, { type = "Percent", value = 50, periodSeconds = 60 }] }, scaleDown = { stabilizationWindowSeconds = 600, selectPolicy = "Max", policies = [{ type = "Pods", value = 1, periodSeconds = 120 }] } }"#,
        ),
        (
            "{ scale_down = { stabilization_window_s = 120 } }",
            "{ scaleDown = { stabilizationWindowSeconds = 120 } }",
        ),
        (
            r#"{ scale_up = { select_policy = "Disabled" } }"#,
            r#"{ scaleUp = { selectPolicy = "Disabled" } }"#,
        ),
        (
            r#"{ scale_down = { policies = [{ type = "Percent", value = 10, period_s = 60 }] } }"#,
            r#"{ scaleDown = { policies = [{ type = "Percent", value = 10, periodSeconds = 60 }] } }"#,
        ),
        ("{ scale_up = {} }", "{ scaleUp = {} }"),
    ];

    #[test]
    fn both_spellings_read_the_same() {
        for (kind, key) in [("hpa", "behavior"), ("keda", "hpa_behavior")] {
            let none = scaling(kind, "max_replicas", "4").unwrap();
            for (snake, k8s) in TWINS {
                let a = scaling(kind, key, snake).unwrap_or_else(|e| panic!("{snake}: {e}"));
                let b = scaling(kind, key, k8s).unwrap_or_else(|e| panic!("{k8s}: {e}"));
                assert_eq!(a, b, "{kind}: {snake} vs {k8s}");
                assert_eq!(defaulted(&a), defaulted(&b), "{kind}: {k8s}");
                // Not vacuous: the behavior was read (the legacy path has none).
                assert!(defaulted(&a).is_some() && defaulted(&none).is_none());
                assert!(a.build().is_ok(), "{kind}: {snake}");
                // Written back (snake_case), it reads the same again.
                let again: AutoscalerConfig =
                    serde_json::from_value(serde_json::to_value(&a).unwrap()).unwrap();
                assert_eq!(again, a, "{kind}: {snake}");
            }
        }
    }

    #[test]
    fn fully_written_twins_keep_every_value() {
        let c = scaling("hpa", "behavior", TWINS[0].1).unwrap();
        let b = defaulted(&c).unwrap();
        use PolicyType::{Percent, Pods};
        assert_eq!(
            b.scale_up,
            Some(rules(
                30,
                SelectPolicy::Min,
                vec![policy(Pods, 2, 20), policy(Percent, 50, 60)]
            ))
        );
        assert_eq!(
            b.scale_down,
            Some(rules(600, SelectPolicy::Max, vec![policy(Pods, 1, 120)]))
        );
    }

    /// `defaults.go`: scale-up window 0, Max of {Pods 4, Percent 100} per
    /// 15 s; scale-down window nil (the controller's flag), Max of Percent
    /// 100 per 15 s; a direction's fields that are set are kept one by one.
    #[test]
    fn left_out_fields_take_the_api_defaults() {
        use PolicyType::{Percent, Pods};
        use SelectPolicy::{Disabled, Max};
        let up = || rules(0, Max, vec![policy(Pods, 4, 15), policy(Percent, 100, 15)]);
        let down = |w| rules(w, Max, vec![policy(Percent, 100, 15)]);
        // (behavior, controller downscale flag s, scale-up, scale-down)
        let cases = [
            ("{}", 300, up(), down(300)),
            ("{}", 45, up(), down(45)),
            (
                "{ scaleUp = { stabilizationWindowSeconds = 60 } }",
                120,
                ScalingRules {
                    stabilization_window_s: 60,
                    ..up()
                },
                down(120),
            ),
            (
                r#"{ scaleDown = { policies = [{ type = "Pods", value = 2, periodSeconds = 30 }] } }"#,
                300,
                up(),
                rules(300, Max, vec![policy(Pods, 2, 30)]),
            ),
            (
                r#"{ scaleDown = { selectPolicy = "Disabled" } }"#,
                200,
                up(),
                ScalingRules {
                    select_policy: Disabled,
                    ..down(200)
                },
            ),
            (
                r#"{ scaleUp = { selectPolicy = "Disabled" }, scaleDown = { stabilizationWindowSeconds = 0 } }"#,
                300,
                ScalingRules {
                    select_policy: Disabled,
                    ..up()
                },
                down(0),
            ),
        ];
        for (text, flag_s, want_up, want_down) in cases {
            let config = scaling("hpa", "behavior", text).unwrap();
            let AutoscalerConfig::Hpa(mut hpa) = config else {
                panic!("{text}: not an hpa");
            };
            hpa.downscale_stabilization_s = flag_s;
            let b = hpa.core().behavior.expect("a behavior");
            assert_eq!(b.scale_up.as_ref(), Some(&want_up), "{text}");
            assert_eq!(b.scale_down.as_ref(), Some(&want_down), "{text}");
        }
        // KEDA's HPA runs with the controller's default flag, 300 s.
        let keda = scaling("keda", "hpa_behavior", "{ scaleUp = {} }").unwrap();
        assert_eq!(defaulted(&keda).and_then(|b| b.scale_down), Some(down(300)));
    }

    #[test]
    fn errors_name_the_key_as_written_and_what_is_allowed() {
        // (kind, key, behavior, fragments of the error)
        let cases: &[(&str, &str, &str, &[&str])] = &[
            (
                "hpa",
                "behavior",
                "{ scaleUp = { stabilization_window_s = 0 } }",
                &[
                    "unknown field `stabilization_window_s` in a behavior written in Kubernetes spelling (it has `scaleUp`)",
                    "expected `stabilizationWindowSeconds`, `selectPolicy` or `policies`",
                ],
            ),
            (
                "hpa",
                "behavior",
                r#"{ scale_up = { policies = [{ type = "Pods", value = 1, periodSeconds = 15 }] } }"#,
                &[
                    "unknown field `periodSeconds` in a behavior written in snake_case (it has `scale_up`)",
                    "expected `type`, `value` or `period_s`",
                ],
            ),
            (
                "hpa",
                "behavior",
                "{ scale_up = {}, scaleDown = {} }",
                &["one behavior takes one spelling"],
            ),
            (
                "hpa",
                "behavior",
                "{ scaleup = {} }",
                &["unknown field `scaleup`, expected `scale_up` or `scale_down` (snake_case) or `scaleUp` or `scaleDown` (Kubernetes spelling)"],
            ),
            (
                "hpa",
                "behavior",
                "{ scaleUp = { window = 3 } }",
                &["unknown field `window`, expected `stabilizationWindowSeconds`, `selectPolicy` or `policies`"],
            ),
            (
                "hpa",
                "behavior",
                "{ scaleUp = { tolerance = 0.05 } }",
                &["unknown field `tolerance`", "`[scaling] tolerance = { scale_up, scale_down }`"],
            ),
            (
                "hpa",
                "behavior",
                r#"{ scaleUp = { policies = [{ type = "Pod", value = 4, periodSeconds = 15 }] } }"#,
                &["unknown variant `Pod`, expected `Pods` or `Percent`"],
            ),
            (
                "keda",
                "hpa_behavior",
                r#"{ scaleDown = { policies = [{ type = "pods", value = 4, periodSeconds = 15 }] } }"#,
                &["unknown variant `pods`, expected `Pods` or `Percent`"],
            ),
            (
                "hpa",
                "behavior",
                r#"{ scaleUp = { selectPolicy = "max" } }"#,
                &["unknown variant `max`", "`Max`, `Min`, `Disabled`"],
            ),
            (
                "hpa",
                "behavior",
                "{ scaleDown = { stabilizationWindowSeconds = 4000 } }",
                &["invalid value: integer `4000`, expected `scaleDown.stabilizationWindowSeconds` in 0..=3600", "must be less than or equal to 3600"],
            ),
            (
                "keda",
                "hpa_behavior",
                "{ scale_down = { stabilization_window_s = 3601 } }",
                &["integer `3601`, expected `scale_down.stabilization_window_s` in 0..=3600"],
            ),
            (
                "hpa",
                "behavior",
                "{ scaleDown = { stabilizationWindowSeconds = -1 } }",
                &["integer `-1`, expected u32"],
            ),
            (
                "hpa",
                "behavior",
                r#"{ scaleUp = { policies = [{ type = "Pods", value = 4, periodSeconds = 1801 }] } }"#,
                &["integer `1801`, expected `scaleUp.policies[0].periodSeconds` in 1..=1800", "periodSeconds must be greater than zero"],
            ),
            (
                "hpa",
                "behavior",
                r#"{ scale_up = { policies = [{ type = "Percent", value = 0, period_s = 15 }] } }"#,
                &["integer `0`, expected `scale_up.policies[0].value` > 0 (HPA: value must be greater than zero)"],
            ),
            (
                "hpa",
                "behavior",
                r#"{ scaleUp = { selectPolicy = "Disabled", policies = [] } }"#,
                &["`scaleUp.policies` with at least one policy (HPA: must specify at least one Policy)"],
            ),
            (
                "hpa",
                "behavior",
                r#"{ scaleUp = { policies = [{ type = "Pods", value = 4 }] } }"#,
                &["missing field `periodSeconds` in `scaleUp.policies[0]` (a policy takes `type`, `value` and `periodSeconds`)"],
            ),
            (
                "hpa",
                "behavior",
                r#"{ scale_up = { policies = [{ type = "Pods", value = 4 }] } }"#,
                &["missing field `period_s` in `scale_up.policies[0]` (a policy takes `type`, `value` and `period_s`)"],
            ),
            (
                "keda",
                "hpa_behavior",
                r#"{ scaleDown = { policies = [{ type = "Pods", value = 1, periodSeconds = 60 }, { type = "Percent", periodSeconds = 60 }] } }"#,
                &["missing field `value` in `scaleDown.policies[1]`"],
            ),
            (
                "hpa",
                "behavior",
                r#"{ scaleUp = { policies = [{ value = 4, periodSeconds = 15 }] } }"#,
                &["missing field `type` in `scaleUp.policies[0]`"],
            ),
            (
                "hpa",
                "behavior",
                "{ scaleUp = 3 }",
                &["invalid type: integer `3`, expected a table of scaling rules"],
            ),
        ];
        for (kind, key, text, fragments) in cases {
            let e = scaling(kind, key, text).expect_err(text);
            for f in *fragments {
                assert!(e.contains(f), "{text}:\n  {e}\n  lacks {f}");
            }
        }
    }

    #[test]
    fn a_key_given_twice_is_an_error() {
        let e = serde_json::from_str::<BehaviorConfig>(r#"{"scaleUp": {}, "scaleUp": {}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("duplicate field `scaleUp`"), "{e}");
    }

    /// The core's own check says the same as the reader (one rule each).
    #[test]
    fn the_core_rejects_what_the_reader_rejects() {
        let bad = [
            rules(
                3601,
                SelectPolicy::Max,
                vec![policy(PolicyType::Pods, 1, 15)],
            ),
            rules(0, SelectPolicy::Disabled, vec![]),
            rules(0, SelectPolicy::Max, vec![policy(PolicyType::Pods, 0, 15)]),
            rules(0, SelectPolicy::Max, vec![policy(PolicyType::Pods, 1, 0)]),
        ];
        let frags = [
            "stabilization_window_s 3601 must be in 0..=3600",
            "must specify at least one Policy",
            "policy value 0 must be > 0",
            "policy period_s 0 must be in 1..=1800",
        ];
        for (r, f) in bad.iter().zip(frags) {
            let e = r.validate("behavior.scale_up").unwrap_err().to_string();
            assert!(e.contains(f) && e.contains("behavior.scale_up"), "{e}");
        }
    }
}
