//! Time-slicing: several replicas share one GPU by turns, as the NVIDIA
//! Kubernetes device plugin's `sharing.timeSlicing` advertises each GPU as
//! N replicas. Unlike MIG there is no isolation: the processes take turns
//! on the whole GPU, each context switch costs time, and memory is shared
//! with no limit per process.
//!
//! The model takes the loaded case, every share busy: a share gets 1/N of
//! the GPU's tensor throughput and memory bandwidth, less an interference
//! penalty the scenario must give (context switches and cache thrashing;
//! NVIDIA publishes no figure, so there is no default), and 1/N of its
//! memory (the engines must be configured to fit together, e.g. vLLM's
//! `gpu_memory_utilization`). A share whose neighbours are idle runs
//! faster than this; the model does not credit it.

use super::GpuSpec;

/// The most replicas one GPU is time-sliced between.
pub const MAX_TIME_SLICES: u32 = 64;

impl GpuSpec {
    /// The GPU one of `slices` time-sliced replicas sees with every share
    /// busy: compute and bandwidth × (1 − `interference_penalty`) /
    /// `slices`, memory / `slices`.
    pub fn time_share(&self, slices: u32, interference_penalty: f64) -> GpuSpec {
        let share = 1.0 / f64::from(slices.max(1));
        let speed = share * (1.0 - interference_penalty);
        self.scaled(
            format!("{} 1/{slices} time slice", self.name),
            speed,
            share,
            speed,
        )
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // the share is the same arithmetic, exactly
mod tests {
    use super::super::gpu;

    #[test]
    fn a_share_is_its_fraction_less_the_penalty() {
        let h100 = gpu("h100-sxm").unwrap();
        let s = h100.time_share(4, 0.1);
        assert_eq!(s.bf16_flops_per_s, h100.bf16_flops_per_s * (0.25 * 0.9));
        assert_eq!(
            s.memory_bandwidth_bytes_per_s,
            h100.memory_bandwidth_bytes_per_s * (0.25 * 0.9)
        );
        assert_eq!(s.memory_bytes, 20e9);
        assert!(s.name.contains("1/4 time slice"));
        // Without a penalty, a share is exactly its fraction.
        let even = h100.time_share(2, 0.0);
        assert_eq!(even.bf16_flops_per_s, h100.bf16_flops_per_s * 0.5);
    }
}
