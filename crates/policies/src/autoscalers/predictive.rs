//! The predictive autoscaler (new here, not an upstream port): it
//! forecasts the deployment's arrival rate from the history it has
//! observed and asks for the replicas that forecast needs one cold start
//! ahead, so capacity is ready when the traffic arrives instead of a cold
//! start after it.
//!
//! **History.** The arrival rate is measured per bucket of `bucket_s`
//! seconds (bucket `k` covers `[k·bucket_s, (k+1)·bucket_s)` of simulated
//! time) from the scrapes' cumulative arrival counter
//! ([`Scrape::arrivals_total`](fleetsim_core::autoscale::Scrape)): when the
//! newest visible scrape falls in a later bucket than the last checkpoint,
//! the rate between the two scrapes is the completed bucket's (every
//! bucket a gap skipped gets the same rate). Memory is one value per
//! bucket of a season, never per simulated second or request.
//!
//! **Forecast** (`method`):
//! - `holt_winters`: additive Holt-Winters with up to two seasons (Taylor's
//!   double seasonal form, 2003): level `ℓ`, trend `b`, a daily component
//!   `d` (`daily_season_s`) and a weekly one `w` (`weekly_season_s`), one
//!   value per bucket of the season. For each completed bucket `t` with
//!   rate `y`:
//!   `ℓ' = α(y − d[t] − w[t]) + (1 − α)(ℓ + b)`,
//!   `b' = β(ℓ' − ℓ) + (1 − β)b`,
//!   `d[t] ← γ_d(y − ℓ' − w[t]) + (1 − γ_d)d[t]`,
//!   `w[t] ← γ_w(y − ℓ' − d[t]) + (1 − γ_w)w[t]` (the old `d[t]`), and the
//!   forecast `m` buckets ahead is `ℓ + m·b + d[t+m] + w[t+m]`. The first
//!   season (the shorter one's buckets) initialises it: `ℓ` = their mean,
//!   `b = 0`, `d` = each bucket's rate minus the mean, `w = 0`. Until then
//!   the forecast is the last bucket's rate.
//! - `seasonal_naive`: the rate one season earlier (a week when a week has
//!   been observed, else a day); the last bucket's rate before that.
//!
//! **Decision**, every `sync_period_s`: replicas asked for now are ready
//! one cold start later, and replicas removed now cannot be back sooner,
//! so the count covers the highest forecast bucket from now to now +
//! lead + one bucket: `ceil(forecast rate / per-replica rate)`, and, with
//! `reactive_floor`, at least what the rate observed over the last bucket
//! needs (a forecast that misses a surge is corrected as a reactive policy
//! would); a lower count applies once it has been the recommendation for
//! `scale_down_delay_s`. The lead is `lead_s`, or when not given the longest cold start
//! (asked for → ready) seen among the deployment's pods so far. The
//! per-replica rate is `target_rate_per_replica_rps`, or
//! `target_concurrency_per_replica` ÷ the time a request spends in the
//! system (Little's law: mean concurrency ÷ arrival rate, measured over
//! the last completed bucket); give one of the two (default: concurrency
//! 100, Knative's default target). With `min_replicas = 0` a request
//! arriving at zero replicas activates one at once.

use super::adapter::{check_bounds, Settle};
use super::{finite, invalid, secs, secs_f64, AutoscalerError};
use fleetsim_core::autoscale::{MetricsSpec, Observation};
use fleetsim_core::{Autoscaler, SimDuration, SimTime};
use serde::{Deserialize, Serialize};

const NAME: &str = "predictive";

/// Most buckets a season may hold (a week of 30 s buckets): the bound on
/// the forecaster's memory.
pub const MAX_SEASON_BUCKETS: u64 = 20_160;

/// The forecasting method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Additive Holt-Winters with daily and weekly seasons.
    HoltWinters,
    /// The rate one season earlier.
    SeasonalNaive,
}

/// `[scaling] kind = "predictive"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictiveConfig {
    /// Lowest replica count (0 = scale to zero). Default 1.
    #[serde(default = "default_min")]
    pub min_replicas: u32,
    /// Highest replica count (required).
    pub max_replicas: u32,
    /// `holt_winters` (default) or `seasonal_naive`.
    #[serde(default = "default_method")]
    pub method: Method,
    /// Width of the rate buckets and the forecast step, seconds
    /// (10..=86400). Default 300.
    #[serde(default = "default_bucket_s")]
    pub bucket_s: u64,
    /// The daily season, seconds: a multiple of `bucket_s`, 0 = none.
    /// Default 86400.
    #[serde(default = "default_daily_s")]
    pub daily_season_s: u64,
    /// The weekly season, seconds: a multiple of `bucket_s`, 0 = none.
    /// Default 604800.
    #[serde(default = "default_weekly_s")]
    pub weekly_season_s: u64,
    /// Level smoothing α, [0, 1]. Default 0.3.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Trend smoothing β, [0, 1]. Default 0.01.
    #[serde(default = "default_beta")]
    pub beta: f64,
    /// Daily-season smoothing γ_d, [0, 1]. Default 0.3.
    #[serde(default = "default_gamma_daily")]
    pub gamma_daily: f64,
    /// Weekly-season smoothing γ_w, [0, 1]. Default 0.1.
    #[serde(default = "default_gamma_weekly")]
    pub gamma_weekly: f64,
    /// Requests per second one replica carries (> 0); excludes
    /// `target_concurrency_per_replica`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_rate_per_replica_rps: Option<f64>,
    /// Requests in the system one replica carries (> 0), turned into a
    /// rate by Little's law; default 100 when no rate target is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_concurrency_per_replica: Option<f64>,
    /// How far ahead to provision, seconds (0..=86400); default: the
    /// longest cold start observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_s: Option<f64>,
    /// Never ask for fewer replicas than the rate observed over the last
    /// bucket needs. Default true.
    #[serde(default = "default_true")]
    pub reactive_floor: bool,
    /// Seconds a lower count must be the recommendation before replicas
    /// go (0..=3600; the maximum over the delay, as Knative's scale-down
    /// delay). Default 300.
    #[serde(default = "default_scale_down_delay_s")]
    pub scale_down_delay_s: u64,
    /// Seconds between decisions (1..=3600). Default 30.
    #[serde(default = "default_sync_period_s")]
    pub sync_period_s: u64,
}

fn default_min() -> u32 {
    1
}
fn default_method() -> Method {
    Method::HoltWinters
}
fn default_bucket_s() -> u64 {
    300
}
fn default_daily_s() -> u64 {
    86_400
}
fn default_weekly_s() -> u64 {
    604_800
}
fn default_alpha() -> f64 {
    0.3
}
fn default_beta() -> f64 {
    0.01
}
fn default_gamma_daily() -> f64 {
    0.3
}
fn default_gamma_weekly() -> f64 {
    0.1
}
fn default_true() -> bool {
    true
}
fn default_sync_period_s() -> u64 {
    30
}
fn default_scale_down_delay_s() -> u64 {
    300
}

/// The concurrency target when neither target is given (Knative's
/// `container-concurrency-target-default`).
pub const DEFAULT_TARGET_CONCURRENCY: f64 = 100.0;

/// How long an activated replica is kept, seconds.
const ACTIVATION_HOLD_S: u64 = 60;

impl PredictiveConfig {
    /// The knobs with their defaults and `max_replicas`.
    pub fn with_max(max_replicas: u32) -> Self {
        PredictiveConfig {
            min_replicas: default_min(),
            max_replicas,
            method: default_method(),
            bucket_s: default_bucket_s(),
            daily_season_s: default_daily_s(),
            weekly_season_s: default_weekly_s(),
            alpha: default_alpha(),
            beta: default_beta(),
            gamma_daily: default_gamma_daily(),
            gamma_weekly: default_gamma_weekly(),
            target_rate_per_replica_rps: None,
            target_concurrency_per_replica: None,
            lead_s: None,
            reactive_floor: true,
            scale_down_delay_s: default_scale_down_delay_s(),
            sync_period_s: default_sync_period_s(),
        }
    }

    /// Reject knobs outside their ranges (errors name the scenario key).
    pub fn validate(&self) -> Result<(), AutoscalerError> {
        check_bounds(
            NAME,
            self.min_replicas,
            self.max_replicas,
            "max_replicas >= 1 and >= min_replicas",
        )?;
        if !(10..=86_400).contains(&self.bucket_s) {
            return Err(invalid(
                NAME,
                "bucket_s",
                format!("{} outside 10..=86400 s", self.bucket_s),
            ));
        }
        for (knob, season) in [
            ("daily_season_s", self.daily_season_s),
            ("weekly_season_s", self.weekly_season_s),
        ] {
            if season % self.bucket_s != 0 {
                return Err(invalid(
                    NAME,
                    knob,
                    format!(
                        "{season} s is not a multiple of bucket_s ({} s)",
                        self.bucket_s
                    ),
                ));
            }
            if season / self.bucket_s > MAX_SEASON_BUCKETS {
                return Err(invalid(
                    NAME,
                    knob,
                    format!(
                        "{season} s is {} buckets of {} s, more than {MAX_SEASON_BUCKETS}",
                        season / self.bucket_s,
                        self.bucket_s
                    ),
                ));
            }
        }
        if self.method == Method::SeasonalNaive
            && self.daily_season_s == 0
            && self.weekly_season_s == 0
        {
            return Err(invalid(
                NAME,
                "method",
                "seasonal_naive needs daily_season_s or weekly_season_s > 0",
            ));
        }
        for (knob, v) in [
            ("alpha", self.alpha),
            ("beta", self.beta),
            ("gamma_daily", self.gamma_daily),
            ("gamma_weekly", self.gamma_weekly),
        ] {
            finite(NAME, knob, v)?;
            if !(0.0..=1.0).contains(&v) {
                return Err(invalid(NAME, knob, format!("{v} outside [0, 1]")));
            }
        }
        if self.target_rate_per_replica_rps.is_some()
            && self.target_concurrency_per_replica.is_some()
        {
            return Err(invalid(
                NAME,
                "target_concurrency_per_replica",
                "give target_rate_per_replica_rps or target_concurrency_per_replica, not both",
            ));
        }
        for (knob, v) in [
            (
                "target_rate_per_replica_rps",
                self.target_rate_per_replica_rps,
            ),
            (
                "target_concurrency_per_replica",
                self.target_concurrency_per_replica,
            ),
        ] {
            if let Some(v) = v {
                finite(NAME, knob, v)?;
                if v <= 0.0 {
                    return Err(invalid(NAME, knob, format!("must be > 0, got {v}")));
                }
            }
        }
        if let Some(v) = self.lead_s {
            finite(NAME, "lead_s", v)?;
            if !(0.0..=86_400.0).contains(&v) {
                return Err(invalid(NAME, "lead_s", format!("{v} outside 0..=86400 s")));
            }
        }
        if self.scale_down_delay_s > 3600 {
            return Err(invalid(
                NAME,
                "scale_down_delay_s",
                format!("{} outside 0..=3600 s", self.scale_down_delay_s),
            ));
        }
        if !(1..=3600).contains(&self.sync_period_s) {
            return Err(invalid(
                NAME,
                "sync_period_s",
                format!("{} outside 1..=3600 s", self.sync_period_s),
            ));
        }
        Ok(())
    }

    /// The forecaster these knobs describe (after [`Self::validate`]).
    pub fn forecaster(&self) -> Forecaster {
        let buckets = |s: u64| (s / self.bucket_s.max(1)) as usize;
        let (daily, weekly) = (buckets(self.daily_season_s), buckets(self.weekly_season_s));
        match self.method {
            Method::HoltWinters => Forecaster::HoltWinters(HoltWinters::new(
                [self.alpha, self.beta, self.gamma_daily, self.gamma_weekly],
                daily,
                weekly,
            )),
            Method::SeasonalNaive => Forecaster::SeasonalNaive(SeasonalNaive::new(daily, weekly)),
        }
    }

    /// The autoscaler.
    pub fn build(&self) -> Result<Box<dyn Autoscaler>, AutoscalerError> {
        self.validate()?;
        Ok(Box::new(PredictiveAutoscaler::new(self)))
    }

    /// 15 s scrapes, no lag; ten minutes kept (the policy keeps its own
    /// history in buckets).
    pub fn default_metrics(&self) -> MetricsSpec {
        MetricsSpec {
            scrape_interval: SimDuration::from_secs(15),
            lag: SimDuration::ZERO,
            lookback: SimDuration::from_secs(600),
        }
    }
}

/// `a[i mod len]`, or 0 for an empty season.
fn phase(a: &[f64], i: u64) -> f64 {
    match a.len() as u64 {
        0 => 0.0,
        n => a[(i % n) as usize],
    }
}

fn phase_mut(a: &mut [f64], i: u64) -> Option<&mut f64> {
    match a.len() as u64 {
        0 => None,
        n => a.get_mut((i % n) as usize),
    }
}

/// Additive Holt-Winters with up to two seasons (see the module docs).
/// Bucket indices are absolute (bucket `k` of the run), so a season's
/// phase is `k mod` its length.
#[derive(Clone, Debug)]
pub struct HoltWinters {
    /// α, β, γ_d, γ_w.
    smoothing: [f64; 4],
    level: f64,
    trend: f64,
    daily: Vec<f64>,
    weekly: Vec<f64>,
    /// Buckets seen.
    seen: u64,
    /// The last bucket's index and rate.
    last: Option<(u64, f64)>,
}

impl HoltWinters {
    /// Seasons of `daily` and `weekly` buckets (0 = none); smoothing
    /// constants α, β, γ_d, γ_w in [0, 1].
    pub fn new(smoothing: [f64; 4], daily: usize, weekly: usize) -> Self {
        HoltWinters {
            smoothing,
            level: 0.0,
            trend: 0.0,
            daily: vec![0.0; daily],
            weekly: vec![0.0; weekly],
            seen: 0,
            last: None,
        }
    }

    /// Buckets the first season needs before the model forecasts.
    fn warmup(&self) -> u64 {
        match (self.daily.len(), self.weekly.len()) {
            (0, 0) => 1,
            (0, w) => w as u64,
            (d, 0) => d as u64,
            (d, w) => d.min(w) as u64,
        }
    }

    /// The season that initialises: daily unless there is none.
    fn first_season_is_daily(&self) -> bool {
        !self.daily.is_empty()
    }

    /// The model is initialised.
    pub fn ready(&self) -> bool {
        self.seen >= self.warmup()
    }

    /// (level, trend).
    pub fn state(&self) -> (f64, f64) {
        (self.level, self.trend)
    }

    /// The seasonal components of bucket `k`: (daily, weekly).
    pub fn seasonal(&self, k: u64) -> (f64, f64) {
        (phase(&self.daily, k), phase(&self.weekly, k))
    }

    /// Takes bucket `k`'s rate `y`.
    pub fn update(&mut self, k: u64, y: f64) {
        let [alpha, beta, gd, gw] = self.smoothing;
        self.last = Some((k, y));
        let warmup = self.warmup();
        if self.seen < warmup {
            // First season: store the rates; at its end, level = their mean.
            let daily_first = self.first_season_is_daily();
            let season = if daily_first {
                &mut self.daily
            } else {
                &mut self.weekly
            };
            if let Some(v) = phase_mut(season, k) {
                *v = y;
            }
            self.level += y;
            self.seen += 1;
            if self.seen == warmup {
                self.level /= warmup as f64;
                let mean = self.level;
                let season = if daily_first {
                    &mut self.daily
                } else {
                    &mut self.weekly
                };
                season.iter_mut().for_each(|v| *v -= mean);
            }
            return;
        }
        let (d, w) = self.seasonal(k);
        let level = alpha * (y - d - w) + (1.0 - alpha) * (self.level + self.trend);
        self.trend = beta * (level - self.level) + (1.0 - beta) * self.trend;
        self.level = level;
        if let Some(v) = phase_mut(&mut self.daily, k) {
            *v = gd * (y - level - w) + (1.0 - gd) * d;
        }
        if let Some(v) = phase_mut(&mut self.weekly, k) {
            *v = gw * (y - level - d) + (1.0 - gw) * w;
        }
        self.seen += 1;
    }

    /// The rate forecast for bucket `k` (after the last one taken);
    /// `None` before any bucket.
    pub fn forecast(&self, k: u64) -> Option<f64> {
        let (last, y) = self.last?;
        if !self.ready() {
            return Some(y);
        }
        let m = k.saturating_sub(last) as f64;
        let (d, w) = self.seasonal(k);
        Some(self.level + m * self.trend + d + w)
    }
}

/// The rate one season earlier: a ring of the last season's bucket rates
/// (the longer season's length).
#[derive(Clone, Debug)]
pub struct SeasonalNaive {
    daily: u64,
    weekly: u64,
    ring: Vec<f64>,
    /// The first bucket seen and the last (index, rate).
    first: Option<u64>,
    last: Option<(u64, f64)>,
}

impl SeasonalNaive {
    /// Seasons of `daily` and `weekly` buckets (0 = none; not both).
    pub fn new(daily: usize, weekly: usize) -> Self {
        SeasonalNaive {
            daily: daily as u64,
            weekly: weekly as u64,
            ring: vec![0.0; daily.max(weekly)],
            first: None,
            last: None,
        }
    }

    /// Takes bucket `k`'s rate `y`.
    pub fn update(&mut self, k: u64, y: f64) {
        self.first.get_or_insert(k);
        self.last = Some((k, y));
        if let Some(v) = phase_mut(&mut self.ring, k) {
            *v = y;
        }
    }

    /// The rate of bucket `k` one (or more) season(s) earlier, the
    /// longest season whose earlier bucket has been seen; the last rate
    /// when none has.
    pub fn forecast(&self, k: u64) -> Option<f64> {
        let ((last, y), first) = (self.last?, self.first?);
        for season in [self.weekly, self.daily] {
            if season == 0 {
                continue;
            }
            // The latest bucket of k's phase already seen.
            let back = k.saturating_sub(last).div_ceil(season).max(1) * season;
            if let Some(j) = k.checked_sub(back) {
                if j >= first && last - j < self.ring.len() as u64 {
                    return Some(phase(&self.ring, j));
                }
            }
        }
        Some(y)
    }
}

/// A forecaster of bucket rates.
#[derive(Clone, Debug)]
pub enum Forecaster {
    /// [`HoltWinters`].
    HoltWinters(HoltWinters),
    /// [`SeasonalNaive`].
    SeasonalNaive(SeasonalNaive),
}

impl Forecaster {
    /// Takes bucket `k`'s rate.
    pub fn update(&mut self, k: u64, y: f64) {
        match self {
            Forecaster::HoltWinters(f) => f.update(k, y),
            Forecaster::SeasonalNaive(f) => f.update(k, y),
        }
    }

    /// The forecast rate of bucket `k`, never negative.
    pub fn forecast(&self, k: u64) -> Option<f64> {
        match self {
            Forecaster::HoltWinters(f) => f.forecast(k),
            Forecaster::SeasonalNaive(f) => f.forecast(k),
        }
        .map(|r| r.max(0.0))
    }
}

/// The engine adapter (module docs).
#[derive(Clone, Debug)]
pub struct PredictiveAutoscaler {
    forecaster: Forecaster,
    bucket: SimDuration,
    season_buckets: u64,
    rate_target: Option<f64>,
    concurrency_target: f64,
    lead: Option<SimDuration>,
    longest_cold_start: SimDuration,
    reactive_floor: bool,
    sync: SimDuration,
    /// Activation hold, bounds and scale-down delay.
    settle: Settle,
    /// The checkpoint: bucket, instant and arrivals of a scrape.
    mark: Option<(u64, SimTime, u64)>,
    /// Concurrency summed over the scrapes since the checkpoint, and their
    /// count, with the newest one's instant (a scrape counts once).
    concurrency: (f64, u32, Option<SimTime>),
    /// Time in the system, seconds, over the last completed bucket.
    time_in_system_s: Option<f64>,
}

impl PredictiveAutoscaler {
    /// From validated knobs.
    pub fn new(c: &PredictiveConfig) -> Self {
        PredictiveAutoscaler {
            forecaster: c.forecaster(),
            bucket: secs(c.bucket_s),
            season_buckets: ((c.daily_season_s.max(c.weekly_season_s)) / c.bucket_s.max(1)).max(1),
            rate_target: c.target_rate_per_replica_rps,
            concurrency_target: c
                .target_concurrency_per_replica
                .unwrap_or(DEFAULT_TARGET_CONCURRENCY),
            lead: c.lead_s.map(secs_f64),
            longest_cold_start: SimDuration::ZERO,
            reactive_floor: c.reactive_floor,
            sync: secs(c.sync_period_s),
            settle: Settle::new(
                (c.min_replicas, c.max_replicas),
                secs(c.scale_down_delay_s),
                secs(ACTIVATION_HOLD_S),
            ),
            mark: None,
            concurrency: (0.0, 0, None),
            time_in_system_s: None,
        }
    }

    /// The forecaster's state.
    pub fn forecaster(&self) -> &Forecaster {
        &self.forecaster
    }

    /// The lead in use: `lead_s`, or the longest cold start seen.
    pub fn lead(&self) -> SimDuration {
        self.lead.unwrap_or(self.longest_cold_start)
    }

    fn bucket_of(&self, t: SimTime) -> u64 {
        t.as_nanos() / self.bucket.as_nanos().max(1)
    }

    /// Feeds the completed buckets the newest visible scrape closes.
    fn observe_history(&mut self, obs: &Observation<'_>) {
        let Some(s) = obs.latest() else { return };
        for p in &s.pods {
            if let Some(ready) = p.ready_since {
                let cold = ready.saturating_since(p.created);
                self.longest_cold_start = self.longest_cold_start.max(cold);
            }
        }
        if self.concurrency.2.is_none_or(|t| s.at > t) {
            self.concurrency.0 += f64::from(s.concurrency());
            self.concurrency.1 += 1;
            self.concurrency.2 = Some(s.at);
        }
        let k = self.bucket_of(s.at);
        let Some((mk, mat, marr)) = self.mark else {
            self.mark = Some((k, s.at, s.arrivals_total));
            self.concurrency = (0.0, 0, Some(s.at));
            return;
        };
        if k <= mk {
            return;
        }
        let span_s = s.at.saturating_since(mat).as_secs_f64();
        if span_s > 0.0 {
            let rate = s.arrivals_total.saturating_sub(marr) as f64 / span_s;
            // A gap longer than a season only repeats phases: feed the last.
            let from = mk.max(k.saturating_sub(self.season_buckets));
            for b in from..k {
                self.forecaster.update(b, rate);
            }
            let (sum, n, _) = self.concurrency;
            if rate > 0.0 && n > 0 {
                self.time_in_system_s = Some(sum / f64::from(n) / rate);
            }
        }
        self.mark = Some((k, s.at, s.arrivals_total));
        self.concurrency = (0.0, 0, Some(s.at));
    }

    /// Requests per second one replica carries, if known.
    fn per_replica_rps(&self) -> Option<f64> {
        match (self.rate_target, self.time_in_system_s) {
            (Some(r), _) => Some(r),
            (None, Some(w)) if w > 0.0 => Some(self.concurrency_target / w),
            (None, _) => None,
        }
    }

    /// The highest forecast rate from now to now + lead + one bucket.
    pub fn forecast_peak_rps(&self, now: SimTime) -> Option<f64> {
        let first = self.bucket_of(now);
        let last = self.bucket_of(now.saturating_add(self.lead() + self.bucket));
        let last = last.min(first + self.season_buckets);
        (first..=last)
            .filter_map(|k| self.forecaster.forecast(k))
            .reduce(f64::max)
    }
}

fn replicas_for(rate: f64, per_replica: f64) -> u32 {
    let raw = (rate / per_replica).ceil();
    if raw >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        raw.max(0.0) as u32
    }
}

impl Autoscaler for PredictiveAutoscaler {
    fn sync_period(&self) -> SimDuration {
        self.sync
    }

    fn replica_bounds(&self) -> (u32, u32) {
        self.settle.bounds()
    }

    fn desired_replicas(&mut self, obs: &Observation<'_>) -> u32 {
        self.observe_history(obs);
        let observed = obs.request_rate(self.bucket);
        let rec = match self.per_replica_rps() {
            Some(per) => {
                let forecast = self.forecast_peak_rps(obs.now);
                let floor = observed.filter(|_| self.reactive_floor);
                match (forecast, floor) {
                    (None, None) => match observed {
                        Some(r) => replicas_for(r, per),
                        None => return obs.desired,
                    },
                    (f, o) => replicas_for(f.unwrap_or(0.0).max(o.unwrap_or(0.0)), per),
                }
            }
            // No time in system measured yet: the concurrency target as a
            // reactive policy reads it.
            None => match obs.avg_concurrency(self.bucket) {
                Some(c) => replicas_for(c, self.concurrency_target),
                None => return obs.desired,
            },
        };
        self.settle.apply(obs.now, rec)
    }

    fn on_activation(&mut self, now: SimTime) -> Option<u32> {
        self.settle.on_activation(now)
    }
}

/// `[scaling] kind = "predictive"`: this file's entry in the autoscaler
/// registry (`autoscalers/mod.rs`).
#[derive(Debug)]
pub struct PredictiveKind;

impl super::AutoscalerKind for PredictiveKind {
    const NAME: &'static str = NAME;
    type Config = PredictiveConfig;

    fn validate(config: &PredictiveConfig) -> Result<(), AutoscalerError> {
        config.validate()
    }

    fn build(config: &PredictiveConfig) -> Result<Box<dyn Autoscaler>, AutoscalerError> {
        config.build()
    }

    fn default_metrics(config: &PredictiveConfig) -> MetricsSpec {
        config.default_metrics()
    }
}

#[cfg(test)]
#[path = "predictive_tests.rs"]
mod tests;
