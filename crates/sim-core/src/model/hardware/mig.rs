//! Multi-Instance GPU (MIG): the GPU instance profiles NVIDIA documents
//! for the catalogue's MIG-capable GPUs, the rule that says which profiles
//! fit on one GPU together, and the GPU a slice looks like to its replica.
//!
//! Source: NVIDIA's MIG user guide, "Supported MIG Profiles"
//! (<https://docs.nvidia.com/datacenter/tesla/mig-user-guide/supported-mig-profiles.html>),
//! cited with every figure in `docs/catalogue.md`. A100, H100 and H200
//! share one geometry: 7 compute slices and 8 memory slices per GPU; a
//! profile `Ng.Mgb` takes N compute slices (N/7 of the SMs) and a run of
//! memory slices (their share of memory, memory controllers and L2) that
//! starts at one of the positions the profile allows.

use super::GpuSpec;

/// Compute slices of a MIG-capable GPU of the catalogue.
pub const COMPUTE_SLICES: u32 = 7;
/// Memory slices of a MIG-capable GPU of the catalogue.
pub const MEMORY_SLICES: u32 = 8;

/// One GPU instance profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MigProfile {
    /// As `nvidia-smi` names it, e.g. `1g.10gb`.
    pub name: &'static str,
    /// Compute slices (of [`COMPUTE_SLICES`]).
    pub compute_slices: u32,
    /// Memory slices (of [`MEMORY_SLICES`]), a contiguous run.
    pub memory_slices: u32,
    /// Memory slices the run may start at.
    pub starts: &'static [u32],
}

/// The shapes every MIG-capable GPU of the catalogue offers, smallest
/// first, with the memory figure of its name per GPU: (compute slices,
/// memory slices, allowed starts).
const SHAPES: [(u32, u32, &[u32]); 6] = [
    (1, 1, &[0, 1, 2, 3, 4, 5, 6]),
    (1, 2, &[0, 2, 4, 6]),
    (2, 2, &[0, 2, 4]),
    (3, 4, &[0, 4]),
    (4, 4, &[0]),
    (7, 8, &[0]),
];

const fn profiles(names: [&'static str; 6]) -> [MigProfile; 6] {
    let mut out = [MigProfile {
        name: "",
        compute_slices: 0,
        memory_slices: 0,
        starts: &[],
    }; 6];
    let mut i = 0;
    while i < 6 {
        out[i] = MigProfile {
            name: names[i],
            compute_slices: SHAPES[i].0,
            memory_slices: SHAPES[i].1,
            starts: SHAPES[i].2,
        };
        i += 1;
    }
    out
}

const A100_80GB: [MigProfile; 6] = profiles([
    "1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb",
]);
const H100_80GB: [MigProfile; 6] = A100_80GB;
const H200: [MigProfile; 6] = profiles([
    "1g.18gb", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb",
]);

/// The MIG profiles of a catalogue GPU (`None`: no MIG, or none known).
pub fn profiles_of(gpu: &str) -> Option<&'static [MigProfile]> {
    match gpu.to_ascii_lowercase().as_str() {
        "a100-80gb" => Some(&A100_80GB),
        "h100-sxm" => Some(&H100_80GB),
        "h200" => Some(&H200),
        _ => None,
    }
}

/// The catalogue GPUs with a MIG profile table, for error messages.
pub const MIG_GPUS: [&str; 3] = ["a100-80gb", "h100-sxm", "h200"];

/// Looks up `profile` (case-insensitive) on `gpu`; the error says what
/// is allowed.
pub fn profile(gpu: &str, profile: &str) -> Result<&'static MigProfile, String> {
    let Some(table) = profiles_of(gpu) else {
        return Err(format!(
            "{gpu} has no MIG profile table; MIG slices are known for {}",
            MIG_GPUS.join(", ")
        ));
    };
    table
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(profile))
        .ok_or_else(|| {
            let names: Vec<&str> = table.iter().map(|p| p.name).collect();
            format!(
                "unknown MIG profile {profile:?} on {gpu}; its profiles are {}",
                names.join(", ")
            )
        })
}

/// Places `layout`, the profiles one GPU is partitioned into, at valid
/// starts: their memory runs may not overlap and their compute slices add
/// up to at most 7. Returns each profile's start memory slice, in the
/// order given, or why the layout cannot be made.
pub fn place(layout: &[&MigProfile]) -> Result<Vec<u32>, String> {
    let compute: u32 = layout.iter().map(|p| p.compute_slices).sum();
    if compute > COMPUTE_SLICES {
        return Err(format!(
            "takes {compute} compute slices; a GPU has {COMPUTE_SLICES}"
        ));
    }
    // Largest first: fewer dead ends; at most 7 profiles, so the search is
    // small.
    let mut order: Vec<usize> = (0..layout.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(layout[i].memory_slices));
    let mut starts = vec![0u32; layout.len()];
    if search(layout, &order, 0, &mut starts) {
        Ok(starts)
    } else {
        Err(format!(
            "has no valid placement: each profile's memory slices must be a run at one of its \
             allowed starts ({}), and no two runs may overlap",
            allowed(layout)
        ))
    }
}

fn allowed(layout: &[&MigProfile]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for p in layout {
        if !seen.contains(&p.name) {
            seen.push(p.name);
            let s: Vec<String> = p.starts.iter().map(u32::to_string).collect();
            out.push(format!(
                "{} at {{{}}}, {} wide",
                p.name,
                s.join(","),
                p.memory_slices
            ));
        }
    }
    out.join("; ")
}

/// Depth-first search for starts of `order[k..]` given the runs of
/// `order[..k]`, a memory-slice bitmask at a time.
fn search(layout: &[&MigProfile], order: &[usize], k: usize, starts: &mut [u32]) -> bool {
    let Some(&i) = order.get(k) else {
        return true;
    };
    let used: u32 = order[..k]
        .iter()
        .map(|&j| run_mask(starts[j], layout[j].memory_slices))
        .fold(0, |a, b| a | b);
    for &s in layout[i].starts {
        let mask = run_mask(s, layout[i].memory_slices);
        if used & mask == 0 {
            starts[i] = s;
            if search(layout, order, k + 1, starts) {
                return true;
            }
        }
    }
    false
}

fn run_mask(start: u32, width: u32) -> u32 {
    ((1u32 << width) - 1) << start
}

impl GpuSpec {
    /// The GPU a MIG slice looks like: `compute_slices / 7` of the tensor
    /// throughput, `memory_slices / 8` of the memory and of its bandwidth
    /// (a memory slice brings its memory controllers), and no GPU-to-GPU
    /// link (a MIG instance has no peer-to-peer).
    pub fn mig_slice(&self, p: &MigProfile) -> GpuSpec {
        let compute = f64::from(p.compute_slices) / f64::from(COMPUTE_SLICES);
        let memory = f64::from(p.memory_slices) / f64::from(MEMORY_SLICES);
        self.scaled(format!("{} {}", self.name, p.name), compute, memory, memory)
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // the slice is the same arithmetic, exactly
mod tests {
    use super::*;

    fn h100(names: &[&str]) -> Vec<&'static MigProfile> {
        names
            .iter()
            .map(|n| profile("h100-sxm", n).unwrap())
            .collect()
    }

    #[test]
    fn documented_layouts_place() {
        // Seven 1g slices take starts 0..6; 4g+3g and 3g+2g+1g+1g (a
        // balanced layout) fill the compute slices.
        assert_eq!(
            place(&h100(&["1g.10gb"; 7])).unwrap(),
            vec![0, 1, 2, 3, 4, 5, 6]
        );
        assert_eq!(place(&h100(&["3g.40gb", "4g.40gb"])).unwrap(), vec![4, 0]);
        // 3g at 0 would leave 2g and two 1g runs only slices 4-6.
        let s = place(&h100(&["1g.10gb", "1g.10gb", "2g.20gb", "3g.40gb"])).unwrap();
        assert_eq!(s, vec![2, 3, 0, 4]);
        assert_eq!(place(&h100(&["7g.80gb"])).unwrap(), vec![0]);
    }

    #[test]
    fn invalid_layouts_are_refused_with_the_reason() {
        // Eight compute slices.
        let e = place(&h100(&["1g.10gb"; 8])).unwrap_err();
        assert!(e.contains("8 compute slices"), "{e}");
        // 7 compute slices, but 9 memory slices.
        let e = place(&h100(&["3g.40gb", "3g.40gb", "1g.10gb"])).unwrap_err();
        assert!(e.contains("3g.40gb at {0,4}, 4 wide"), "{e}");
        // 6 compute slices, but three 1g.20gb (2 memory slices each) and a
        // 3g (4 memory slices) need 10 of 8 memory slices.
        assert!(place(&h100(&["1g.20gb", "1g.20gb", "1g.20gb", "3g.40gb"])).is_err());
        // 4g at 0 and 2g.20gb at 4 leave slices 6-7: a 1g.20gb fits there.
        assert!(place(&h100(&["4g.40gb", "2g.20gb", "1g.20gb"])).is_ok());
    }

    #[test]
    fn lookups_name_what_is_allowed() {
        let e = profile("l40s", "1g.10gb").unwrap_err();
        assert!(
            e.contains("l40s has no MIG") && e.contains("h100-sxm"),
            "{e}"
        );
        let e = profile("h200", "1g.10gb").unwrap_err();
        assert!(e.contains("1g.18gb") && e.contains("7g.141gb"), "{e}");
        assert_eq!(profile("H100-SXM", "3G.40GB").unwrap().compute_slices, 3);
    }

    #[test]
    fn a_slice_has_its_share_of_compute_memory_and_bandwidth() {
        let gpu = super::super::gpu("h100-sxm").unwrap();
        let s = gpu.mig_slice(profile("h100-sxm", "3g.40gb").unwrap());
        assert_eq!(s.bf16_flops_per_s, gpu.bf16_flops_per_s * (3.0 / 7.0));
        assert_eq!(s.memory_bytes, 40e9);
        assert_eq!(
            s.memory_bandwidth_bytes_per_s,
            gpu.memory_bandwidth_bytes_per_s / 2.0
        );
        assert_eq!(s.generation, gpu.generation);
        // The profile names' memory is the GPU's memory over 8 per slice,
        // to the GB the name rounds to.
        for g in MIG_GPUS {
            let spec = super::super::gpu(g).unwrap();
            for p in profiles_of(g).unwrap() {
                let gb: f64 = p
                    .name
                    .split('.')
                    .nth(1)
                    .unwrap()
                    .trim_end_matches("gb")
                    .parse()
                    .unwrap();
                let share = spec.memory_bytes / 1e9 * f64::from(p.memory_slices) / 8.0;
                assert!(
                    (share - gb).abs() <= 0.5 + 1e-9,
                    "{g} {}: {share} GB",
                    p.name
                );
            }
        }
    }
}
