//! A `scheduled` policy fitted from the trace's time-of-day profile
//! ("pre-scale before the business day"): the replicas each hour of the
//! day needs are the 95th percentile of that hour's window rates over
//! every day of the trace, divided by one replica's capacity (at least
//! one replica); by hour of the week instead when the trace spans two
//! weeks or more. Each hour's count is asked for one cold start before
//! the hour (the lead rounded up to a whole second) and released at its end, and the profile is laid over the
//! whole run. Unlike the oracle, it knows only the profile, not the day.

use super::oracle::Step;
use serde::Serialize;

/// An hour, seconds.
pub const SLOT_S: f64 = 3_600.0;
/// A trace at least this long is fitted by hour of the week.
pub const WEEKLY_FROM_S: f64 = 14.0 * 86_400.0;

/// The fitted profile and its schedule.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FittedSchedule {
    /// 24 (hour of the day) or 168 (hour of the week).
    pub slots: usize,
    /// Replicas each slot needs, from midnight (of day 0).
    pub replicas_per_slot: Vec<u32>,
    /// How early each hour's replicas are asked for, whole seconds.
    pub lead_s: f64,
    /// Replicas at time 0.
    #[serde(skip)]
    pub initial: u32,
    /// The schedule over the run.
    pub schedule: Vec<Step>,
}

/// The 95th percentile (nearest rank) of `v`, 0 when empty.
fn p95(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let rank = (0.95 * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

/// Fits the profile of `rates_per_s` (windows of `window_s` from time 0,
/// covering `span_s`) for replicas of `capacity_per_s` each, asked for
/// `lead_s` early.
pub fn fit(
    rates_per_s: &[f64],
    window_s: f64,
    span_s: f64,
    capacity_per_s: f64,
    lead_s: f64,
) -> FittedSchedule {
    let slots = if span_s >= WEEKLY_FROM_S { 168 } else { 24 };
    let slot_of = |t_s: f64| ((t_s / SLOT_S).floor().max(0.0) as usize) % slots;
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); slots];
    for (w, &r) in rates_per_s.iter().enumerate() {
        samples[slot_of(w as f64 * window_s)].push(r);
    }
    let replicas_per_slot: Vec<u32> = (samples.iter_mut())
        .map(|v| ((p95(v) / capacity_per_s) - 1e-9).ceil().max(1.0) as u32)
        .collect();
    let hours = (span_s / SLOT_S).ceil().max(1.0) as usize;
    // Whole seconds, earlier rather than later.
    let lead_s = lead_s.max(0.0).ceil();
    let need = |h: usize| replicas_per_slot[slot_of(h as f64 * SLOT_S)];
    // Wanted at t: the most any hour within [t, t + lead] needs.
    let wanted = |t: f64| {
        let first = (t / SLOT_S).floor() as usize;
        let last = (((t + lead_s) / SLOT_S).floor() as usize).min(hours - 1);
        (first..=last.max(first)).map(need).max().unwrap_or(1)
    };
    let mut events: Vec<f64> = (0..hours)
        .flat_map(|h| {
            let b = h as f64 * SLOT_S;
            [b, (b - lead_s).max(0.0)]
        })
        .collect();
    events.sort_by(f64::total_cmp);
    events.dedup();
    let mut schedule: Vec<Step> = Vec::new();
    for t in events {
        let n = wanted(t);
        if schedule.last().is_none_or(|s| s.replicas != n) {
            schedule.push(Step {
                at_s: t,
                replicas: n,
            });
        }
    }
    FittedSchedule {
        slots,
        initial: schedule.first().map_or(1, |s| s.replicas),
        replicas_per_slot,
        lead_s,
        schedule,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two days of 15-minute windows: 2 req/s at night, 10 req/s from
    /// 08:00 to 18:00, and one 40 req/s window at 12:00 on day 1 only.
    fn business_days() -> Vec<f64> {
        (0..2 * 96)
            .map(|w| {
                let hour = (w % 96) / 4;
                match hour {
                    12 if w == 48 => 40.0,
                    8..18 => 10.0,
                    _ => 2.0,
                }
            })
            .collect()
    }

    #[test]
    #[allow(clippy::float_cmp)] // whole seconds
    fn hours_take_their_p95_and_rise_one_cold_start_early() {
        let rates = business_days();
        let f = fit(&rates, 900.0, 2.0 * 86_400.0, 4.0, 1_800.0);
        assert_eq!(f.slots, 24);
        // Night: ⌈2 ÷ 4⌉ = 1; day: ⌈10 ÷ 4⌉ = 3; noon's 8 samples hold one
        // 40 req/s window: its p95 (rank 8 of 8) is 40 → 10 replicas.
        assert_eq!(f.replicas_per_slot[3], 1);
        assert_eq!(f.replicas_per_slot[9], 3);
        assert_eq!(f.replicas_per_slot[12], 10);
        // Each day: 3 at 07:30 (half an hour early), 10 at 11:30, back to
        // 3 at 13:00 and 1 at 18:00.
        let day = |d: f64, h: f64| d * 86_400.0 + h * 3_600.0;
        let mut want = vec![Step {
            at_s: 0.0,
            replicas: 1,
        }];
        for d in [0.0, 1.0] {
            for (h, n) in [(7.5, 3), (11.5, 10), (13.0, 3), (18.0, 1)] {
                want.push(Step {
                    at_s: day(d, h),
                    replicas: n,
                });
            }
        }
        assert_eq!(f.schedule, want);
        assert_eq!(f.initial, 1);
        // A lead of a fraction of a second more asks a whole second earlier.
        let g = fit(&rates, 900.0, 2.0 * 86_400.0, 4.0, 1_800.5);
        assert_eq!(g.schedule[1].at_s, 7.5 * 3_600.0 - 1.0);
        assert_eq!(
            (g.lead_s, g.schedule[2].at_s),
            (1_801.0, 11.5 * 3_600.0 - 1.0)
        );
    }

    #[test]
    fn two_weeks_are_fitted_by_hour_of_the_week() {
        // Hourly windows; weekdays 6 req/s, weekends 1 req/s.
        let rates: Vec<f64> = (0..14 * 24)
            .map(|h| if (h / 24) % 7 < 5 { 6.0 } else { 1.0 })
            .collect();
        let f = fit(&rates, 3_600.0, 14.0 * 86_400.0, 2.0, 0.0);
        assert_eq!(f.slots, 168);
        assert_eq!(f.replicas_per_slot[24], 3, "a weekday");
        assert_eq!(f.replicas_per_slot[5 * 24 + 1], 1, "a weekend day");
        // Without a lead the changes fall on the day boundaries: up on
        // Monday, down on Saturday, in both weeks.
        let at: Vec<f64> = f.schedule.iter().map(|s| s.at_s / 86_400.0).collect();
        assert_eq!(at, vec![0.0, 5.0, 7.0, 12.0]);
    }
}
