//! Break-even against a pay-per-token API. The API bills tokens, so its
//! monthly cost grows in proportion to traffic; a dedicated fleet bills
//! replicas, each carrying at most the capacity the fixed-fleet search
//! measured. Scaling the traffic by `m` (its shape kept), the API costs
//! `m × api` and the fleet `⌈m × peak ÷ capacity⌉ × replica`; the fleet is
//! cheaper from the traffic at which the API bill reaches one replica's,
//! if one replica carries that traffic's peak, and at no traffic otherwise
//! (then every replica costs more than the tokens it serves).

use crate::scenario::raw::ApiPrice;
use fleetsim_core::cost::HOURS_PER_MONTH;
use serde::Serialize;

/// The comparison with the API.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BreakEven {
    /// The scenario's `[api]` prices.
    pub usd_per_million_input_tokens: f64,
    /// See `usd_per_million_input_tokens`.
    pub usd_per_million_output_tokens: f64,
    /// The workload's tokens through the API for a 730-hour month, USD.
    pub api_monthly_usd: f64,
    /// The verdict's monthly cost, USD.
    pub dedicated_monthly_usd: f64,
    /// `dedicated_monthly_usd < api_monthly_usd`.
    pub dedicated_is_cheaper: bool,
    /// Mean requests per second from which a fixed fleet is cheaper than
    /// the API (`null`: at none).
    pub break_even_mean_rate_per_s: Option<f64>,
    /// That rate over the workload's mean rate.
    pub break_even_traffic_multiple: Option<f64>,
    /// Monthly cost of one replica of the fixed fleet the rate is
    /// computed for, USD.
    pub replica_monthly_usd: f64,
    /// Peak requests per second one replica carries within the SLA.
    pub replica_capacity_per_s: f64,
}

/// What the comparison is computed from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Inputs {
    /// Mean requests per second of the workload.
    pub mean_rate_per_s: f64,
    /// Peak requests per second of the workload.
    pub peak_rate_per_s: f64,
    /// Mean prompt, tokens.
    pub mean_input_tokens: f64,
    /// Mean answer, tokens.
    pub mean_output_tokens: f64,
    /// Peak requests per second one replica carries within the SLA.
    pub replica_capacity_per_s: f64,
    /// One replica for a month, USD.
    pub replica_monthly_usd: f64,
    /// The plan's chosen dedicated cost, USD per month.
    pub dedicated_monthly_usd: f64,
}

/// Compares the API at `price` with dedicated replicas.
pub fn break_even(price: &ApiPrice, x: &Inputs) -> BreakEven {
    // USD per month for one request per second of mean traffic.
    let per_rate_month = (x.mean_input_tokens * price.usd_per_million_input_tokens
        + x.mean_output_tokens * price.usd_per_million_output_tokens)
        / 1e6
        * 3_600.0
        * HOURS_PER_MONTH;
    let api_monthly_usd = per_rate_month * x.mean_rate_per_s;
    let peak_per_mean = match x.mean_rate_per_s > 0.0 {
        true => x.peak_rate_per_s / x.mean_rate_per_s,
        false => 1.0,
    };
    let rate = (per_rate_month > 0.0)
        .then(|| x.replica_monthly_usd / per_rate_month)
        .filter(|r| r * peak_per_mean <= x.replica_capacity_per_s);
    BreakEven {
        usd_per_million_input_tokens: price.usd_per_million_input_tokens,
        usd_per_million_output_tokens: price.usd_per_million_output_tokens,
        api_monthly_usd,
        dedicated_monthly_usd: x.dedicated_monthly_usd,
        dedicated_is_cheaper: x.dedicated_monthly_usd < api_monthly_usd,
        break_even_mean_rate_per_s: rate,
        break_even_traffic_multiple: rate
            .filter(|_| x.mean_rate_per_s > 0.0)
            .map(|r| r / x.mean_rate_per_s),
        replica_monthly_usd: x.replica_monthly_usd,
        replica_capacity_per_s: x.replica_capacity_per_s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1,000,000 input and 0 output tokens per request at $1 and $2 per
    /// million: $1 per request, so one request per second of mean traffic
    /// costs 3600 × 730 = $2,628,000 a month.
    const PER_RATE: f64 = 2_628_000.0;

    fn inputs(mean: f64, peak: f64, capacity: f64, replica: f64) -> Inputs {
        Inputs {
            mean_rate_per_s: mean,
            peak_rate_per_s: peak,
            mean_input_tokens: 1e6,
            mean_output_tokens: 0.0,
            replica_capacity_per_s: capacity,
            replica_monthly_usd: replica,
            dedicated_monthly_usd: 2.0 * replica,
        }
    }

    /// `(inputs)` → `(api monthly, break-even rate, multiple)`.
    fn check(x: Inputs, expect: (f64, Option<f64>, Option<f64>)) {
        let price = ApiPrice {
            usd_per_million_input_tokens: 1.0,
            usd_per_million_output_tokens: 2.0,
        };
        let b = break_even(&price, &x);
        let got = (
            b.api_monthly_usd,
            b.break_even_mean_rate_per_s,
            b.break_even_traffic_multiple,
        );
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
        let same = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => close(a, b),
            (a, b) => a == b,
        };
        assert!(
            close(got.0, expect.0) && same(got.1, expect.1) && same(got.2, expect.2),
            "{x:?}: got {got:?}, expected {expect:?}"
        );
        assert_eq!(
            b.dedicated_is_cheaper,
            x.dedicated_monthly_usd < b.api_monthly_usd
        );
    }

    #[test]
    fn dedicated_is_cheaper_from_one_replicas_bill() {
        // One replica costs what 0.5 req/s cost through the API; its peak
        // (twice the mean) is 1 req/s, within the 4 req/s it carries.
        check(
            inputs(2.0, 4.0, 4.0, PER_RATE / 2.0),
            (2.0 * PER_RATE, Some(0.5), Some(0.25)),
        );
        // The same replica carrying only 0.5 req/s at peak: at 0.5 req/s
        // mean the peak is 1 req/s, so no traffic makes it cheaper.
        check(
            inputs(2.0, 4.0, 0.5, PER_RATE / 2.0),
            (2.0 * PER_RATE, None, None),
        );
        // Flat traffic at the capacity exactly still breaks even.
        check(
            inputs(1.0, 1.0, 0.5, PER_RATE / 2.0),
            (PER_RATE, Some(0.5), Some(0.5)),
        );
        // No traffic: the API costs nothing; the rate is still defined.
        check(inputs(0.0, 0.0, 4.0, PER_RATE), (0.0, Some(1.0), None));
    }

    #[test]
    fn a_free_api_is_never_beaten() {
        let free = ApiPrice {
            usd_per_million_input_tokens: 0.0,
            usd_per_million_output_tokens: 0.0,
        };
        let b = break_even(&free, &inputs(2.0, 4.0, 4.0, 100.0));
        assert_eq!(
            (b.api_monthly_usd, b.break_even_mean_rate_per_s),
            (0.0, None)
        );
        assert!(!b.dedicated_is_cheaper);
    }
}
