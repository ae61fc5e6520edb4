//! Named random streams.
//!
//! Every random draw in a run comes from a stream derived from
//! `(scenario seed, stream name, index)`. Streams are independent of each
//! other and of the order in which they are created, so adding a draw to one
//! part of the model never shifts the numbers another part sees. In
//! particular the workload draws only from `workload.*` streams: two policies
//! run on one seed see exactly the same requests (common random numbers).
//!
//! The generator is PCG-64 (MCG variant) from `rand_pcg`, whose output is
//! specified and portable across platforms; `StdRng` and `thread_rng` are
//! never used because their algorithms may change between releases.

use rand_pcg::Pcg64Mcg;

/// The generator every stream uses.
pub type StreamRng = Pcg64Mcg;

/// Stream name prefix for everything that shapes the request sequence.
pub const WORKLOAD_PREFIX: &str = "workload.";

/// Derives the generator for one named stream.
///
/// `name` should start with [`WORKLOAD_PREFIX`] for workload randomness and
/// with `model.` for everything the simulated fleet draws (service times,
/// cold starts, routing ties). `index` separates instances of the same kind
/// (e.g. one stream per replica or per client).
pub fn stream(seed: u64, name: &str, index: u64) -> StreamRng {
    let name_hash = fnv1a64(name.as_bytes());
    let hi = splitmix64(seed ^ splitmix64(name_hash));
    let lo = splitmix64(hi ^ splitmix64(index.wrapping_add(0x9e37_79b9_7f4a_7c15)));
    // The MCG state must be odd; `Pcg64Mcg::new` forces the low bit.
    Pcg64Mcg::new((u128::from(hi) << 64) | u128::from(lo))
}

/// A uniform number in the open interval (0, 1) from one `u64`: the top 53
/// bits, centred in their cell, so neither 0 nor 1 can occur.
pub fn open_unit<R: rand::RngCore + ?Sized>(rng: &mut R) -> f64 {
    ((rng.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// FNV-1a, 64 bits: a hash that is stable across Rust versions and
/// machines, unlike `std::hash::Hash`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64 finaliser: a bijective 64-bit mixer.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    #[test]
    fn same_inputs_same_numbers() {
        let a: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(stream(7, "workload.arrivals", 0), |r, _| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(stream(7, "workload.arrivals", 0), |r, _| Some(r.next_u64()))
            .collect();
        assert_eq!(a, b);
    }

    #[test]
    fn seed_name_and_index_each_change_the_stream() {
        let base = stream(7, "workload.arrivals", 0).next_u64();
        assert_ne!(base, stream(8, "workload.arrivals", 0).next_u64());
        assert_ne!(base, stream(7, "workload.tokens", 0).next_u64());
        assert_ne!(base, stream(7, "workload.arrivals", 1).next_u64());
    }

    #[test]
    fn output_is_pinned() {
        // Guards the portability promise: a change of generator or derivation
        // changes every result, so it must be deliberate.
        assert_eq!(
            stream(42, "workload.arrivals", 0).next_u64(),
            stream(42, "workload.arrivals", 0).next_u64()
        );
        let first = stream(1, "model.service", 3).next_u64();
        assert_eq!(first, PINNED_MODEL_SERVICE_1_3);
    }

    const PINNED_MODEL_SERVICE_1_3: u64 = 15_372_608_505_613_893_211;
}
