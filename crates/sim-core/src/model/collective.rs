//! The time of one ring all-reduce among the GPUs of a tensor-parallel
//! replica, after NCCL's own cost model (NVIDIA/nccl `src/graph/tuning.cc`
//! and `src/graph/topo.h`): each protocol has a base latency, a latency
//! per ring step that depends on the link, and a share of the link's
//! bandwidth it can use; NCCL picks the fastest protocol for the message,
//! and so does this model.

use super::hardware::LinkKind;

/// One NCCL protocol: its latencies, µs, and the share of the bus
/// bandwidth its wire format leaves for data.
struct Protocol {
    base_latency_us: f64,
    /// Per ring step, over NVLink and over PCIe; `None`: not used there.
    step_latency_us: (Option<f64>, Option<f64>),
    data_share: f64,
}

/// NCCL's ring protocols. Base and step latencies are `baseLat` and
/// `hwLat` of NCCL's tuning model; LL sends 8-byte lines carrying 4 data
/// bytes, LL128 128-byte lines carrying 120 (and runs over NVLink only),
/// Simple sends data as is.
const PROTOCOLS: [Protocol; 3] = [
    // LL
    Protocol {
        base_latency_us: 3.6,
        step_latency_us: (Some(0.4), Some(1.0)),
        data_share: 0.5,
    },
    // LL128
    Protocol {
        base_latency_us: 3.6,
        step_latency_us: (Some(2.5), None),
        data_share: 120.0 / 128.0,
    },
    // Simple
    Protocol {
        base_latency_us: 8.4,
        step_latency_us: (Some(5.7), Some(5.7)),
        data_share: 1.0,
    },
];

impl LinkKind {
    /// The share of a link's datasheet bandwidth NCCL's topology model
    /// expects to reach: 20.6 of NVLink 4's 25 GB/s per link
    /// (`SM90_NVLINK_BW`), and 3/4 of PCIe's (`width × speed / 80`).
    pub fn achievable_share(self) -> f64 {
        match self {
            LinkKind::NvLink => 20.6 / 25.0,
            LinkKind::Pcie => 0.75,
        }
    }
}

/// Seconds for one ring all-reduce of `bytes` among `gpus` GPUs joined by
/// `link` at `link_bytes_per_s` per direction (datasheet): the fastest
/// protocol's base latency, `2(gpus − 1)` step latencies, and
/// `2(gpus − 1)/gpus` of the message over the bandwidth the protocol gets.
pub fn ring_allreduce_s(link: LinkKind, link_bytes_per_s: f64, gpus: u32, bytes: f64) -> f64 {
    if gpus <= 1 {
        return 0.0;
    }
    let n = f64::from(gpus);
    let steps = 2.0 * (n - 1.0);
    let bus = link_bytes_per_s * link.achievable_share();
    PROTOCOLS
        .iter()
        .filter_map(|p| {
            let step_us = match link {
                LinkKind::NvLink => p.step_latency_us.0,
                LinkKind::Pcie => p.step_latency_us.1,
            }?;
            let latency_s = (p.base_latency_us + steps * step_us) * 1e-6;
            Some(latency_s + steps / n * bytes / (bus * p.data_share))
        })
        .fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_messages_take_ll_and_large_ones_simple() {
        // 16 KiB among 4 NVLink GPUs: LL, 3.6 + 6 × 0.4 µs plus 1.5 × 16 KiB
        // at half of 450 × 0.824 GB/s.
        let bus = 450e9 * 0.824;
        let small = ring_allreduce_s(LinkKind::NvLink, 450e9, 4, 16_384.0);
        let ll = 6.0e-6 + 1.5 * 16_384.0 / (bus * 0.5);
        assert!((small - ll).abs() < 1e-12, "{small} vs {ll}");
        // 128 MiB: Simple wins, bandwidth-bound.
        let big_bytes = 128.0 * 1024.0 * 1024.0;
        let big = ring_allreduce_s(LinkKind::NvLink, 450e9, 4, big_bytes);
        let simple = (8.4 + 6.0 * 5.7) * 1e-6 + 1.5 * big_bytes / bus;
        assert!((big - simple).abs() < 1e-12, "{big} vs {simple}");
        // PCIe has no LL128: a mid-size message takes LL or Simple there.
        let mid = ring_allreduce_s(LinkKind::Pcie, 32e9, 4, 1e6);
        let pcie_bus = 32e9 * 0.75;
        let pcie_ll: f64 = (3.6 + 6.0) * 1e-6 + 1.5e6 / (pcie_bus * 0.5);
        let pcie_simple = (8.4 + 6.0 * 5.7) * 1e-6 + 1.5e6 / pcie_bus;
        assert!((mid - pcie_ll.min(pcie_simple)).abs() < 1e-12);
        assert!(ring_allreduce_s(LinkKind::Pcie, 32e9, 1, 1e6).abs() < f64::MIN_POSITIVE);
    }

    #[test]
    fn more_gpus_cost_more_steps() {
        let t = |gpus| ring_allreduce_s(LinkKind::NvLink, 450e9, gpus, 16_384.0);
        assert!(t(2) < t(4) && t(4) < t(8));
    }
}
