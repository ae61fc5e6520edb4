//! The catalogue's entries against hand-computed values, their
//! consistency, and `docs/catalogue.md` against the code.

use super::*;

fn check_kv(model_name: &str, expect_bytes: f64) {
    let m = model(model_name).unwrap();
    assert!(
        (m.kv_bytes_per_token(2.0) - expect_bytes).abs() < 0.5,
        "{model_name}"
    );
}

#[test]
fn kv_bytes_per_token_match_the_reference_table() {
    check_kv("llama-3.1-8b", 131_072.0);
    check_kv("llama-3.1-70b", 327_680.0);
    check_kv("qwen2.5-7b", 57_344.0);
    check_kv("qwen2.5-32b", 262_144.0);
    check_kv("mixtral-8x7b", 131_072.0);
}

#[test]
fn kv_bytes_per_token_of_the_added_models() {
    // Grouped-query attention at BF16: 2 (K and V) × layers × KV heads
    // × head_dim × 2 bytes.
    check_kv("llama-3.3-70b", 327_680.0); // 2 × 80 × 8 × 128 × 2
    check_kv("llama-2-70b", 327_680.0);
    check_kv("llama-3.1-405b", 516_096.0); // 2 × 126 × 8 × 128 × 2
    check_kv("mistral-7b", 131_072.0); // 2 × 32 × 8 × 128 × 2
    check_kv("mixtral-8x22b", 229_376.0); // 2 × 56 × 8 × 128 × 2
    check_kv("qwen3-14b", 163_840.0); // 2 × 40 × 8 × 128 × 2
    check_kv("qwen3-30b-a3b", 98_304.0); // 2 × 48 × 4 × 128 × 2
    check_kv("qwen3-235b-a22b", 192_512.0); // 2 × 94 × 4 × 128 × 2
    check_kv("codellama-34b", 196_608.0); // 2 × 48 × 8 × 128 × 2
    check_kv("llama-4-scout", 196_608.0); // 2 × 48 × 8 × 128 × 2
                                          // Multi-head latent attention: layers × (kv_lora_rank 512 +
                                          // qk_rope_head_dim 64) × 2 bytes, the 70,272 B of the reference
                                          // table; not 2 × 61 × 128 heads × 192 × 2 = 5,996,544 B.
    check_kv("deepseek-v3", 70_272.0);
    check_kv("deepseek-r1", 70_272.0);
    let fp8 = model("deepseek-v3").unwrap().kv_bytes_per_token(1.0);
    assert!((fp8 - 35_136.0).abs() < 0.5, "FP8 latent: {fp8}");
}

#[test]
fn active_parameters_are_at_most_the_total() {
    for m in MODELS {
        assert!(
            m.params_active > 0.0 && m.params_active <= m.params_total,
            "{}: {} active of {}",
            m.name,
            m.params_active,
            m.params_total
        );
    }
    // The mixtures of experts touch under a third of their weights.
    for name in [
        "mixtral-8x7b",
        "mixtral-8x22b",
        "qwen3-30b-a3b",
        "qwen3-235b-a22b",
        "llama-4-scout",
        "llama-4-maverick",
        "deepseek-v3",
        "deepseek-r1",
    ] {
        let m = model(name).unwrap();
        assert!(m.params_active < m.params_total / 3.0, "{name}");
    }
}

#[test]
fn every_catalogue_model_has_consistent_heads() {
    for m in MODELS {
        let name = &m.name;
        assert!(m.layers > 0 && m.hidden_size > 0, "{name}");
        assert!(
            m.query_heads > 0 && m.kv_heads > 0 && m.head_dim > 0,
            "{name}"
        );
        assert_eq!(
            m.query_heads % m.kv_heads,
            0,
            "{name}: query heads per KV head"
        );
        assert!(m.max_context_tokens > 0, "{name}");
        if let Attention::Latent { latent_dim } = m.attention {
            assert!(latent_dim > 0, "{name}");
            assert_eq!(m.kv_heads, 1, "{name}: one latent shared by every head");
        }
    }
}

#[test]
fn every_catalogue_gpu_is_consistent() {
    for g in GPUS {
        let name = &g.name;
        assert!(g.bf16_flops_per_s > 0.0 && g.memory_bytes > 0.0, "{name}");
        assert!(g.memory_bandwidth_bytes_per_s > 0.0, "{name}");
        assert!(g.interconnect_bytes_per_s > 0.0, "{name}");
        if let Some(fp8) = g.fp8_flops_per_s {
            assert!(fp8 >= g.bf16_flops_per_s, "{name}: FP8 below BF16");
        }
        if let Some(fp4) = g.fp4_flops_per_s {
            let fp8 = g
                .fp8_flops_per_s
                .expect("FP4 tensor cores come with FP8 ones");
            assert!(fp4 >= fp8, "{name}: FP4 below FP8");
        }
    }
}

#[test]
fn catalogue_names_are_unique_lower_case() {
    let gpus = gpu_names();
    let models = model_names();
    for names in [&gpus, &models] {
        for (i, n) in names.iter().enumerate() {
            assert_eq!(*n, n.to_ascii_lowercase(), "lookups fold case");
            assert!(!names[..i].contains(n), "{n} twice");
        }
    }
}

/// The rows of the table under `heading` in docs/catalogue.md whose
/// first cell is a backquoted name, split into trimmed cells.
fn doc_rows(heading: &str) -> Vec<Vec<String>> {
    let doc = include_str!("../../../../../docs/catalogue.md");
    let section = doc
        .split("\n## ")
        .find(|s| s.starts_with(heading))
        .expect("docs/catalogue.md has the section");
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// A table cell as a number: thousands separators dropped, anything
/// after the first space (`[D]`, `(MLA)`) ignored, `—` for none.
fn number(cell: &str) -> Option<f64> {
    let figure = cell.split(' ').next().unwrap().replace(',', "");
    (figure != "—").then(|| figure.parse().expect(cell))
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * b.abs(),
        (a, b) => a == b,
    }
}

#[test]
fn catalogue_tables_match_the_code() {
    let gpus = doc_rows("GPUs");
    let names: Vec<String> = gpus.iter().map(|r| r[0].replace('`', "")).collect();
    assert_eq!(names, gpu_names(), "GPU rows of docs/catalogue.md");
    for (row, g) in gpus.iter().zip(GPUS) {
        let name = &g.name;
        let serde_name = |v: serde_json::Value| v.as_str().unwrap().to_string();
        assert_eq!(
            row[1],
            serde_name(serde_json::json!(g.generation)),
            "{name}"
        );
        assert_eq!(row[2], serde_name(serde_json::json!(g.link)), "{name}");
        let figures = [
            (3, Some(g.bf16_flops_per_s), TFLOPS),
            (4, g.fp8_flops_per_s, TFLOPS),
            (5, g.fp4_flops_per_s, TFLOPS),
            (6, Some(g.memory_bytes), GB),
            (7, Some(g.memory_bandwidth_bytes_per_s), TB),
            (8, Some(g.interconnect_bytes_per_s), GB),
        ];
        for (col, value, unit) in figures {
            let doc = number(&row[col]).map(|v| v * unit);
            assert!(
                close(doc, value),
                "{name} column {col}: {doc:?} vs {value:?}"
            );
        }
    }
    let models = doc_rows("Models");
    let names: Vec<String> = models.iter().map(|r| r[0].replace('`', "")).collect();
    assert_eq!(names, model_names(), "model rows of docs/catalogue.md");
    for (row, m) in models.iter().zip(MODELS) {
        let name = &m.name;
        let figures = [
            (1, m.params_total / 1e9),
            (2, m.params_active / 1e9),
            (3, f64::from(m.layers)),
            (4, f64::from(m.hidden_size)),
            (5, f64::from(m.query_heads)),
            (6, f64::from(m.kv_heads)),
            (7, f64::from(m.head_dim)),
            (8, f64::from(m.max_context_tokens)),
            (9, m.kv_bytes_per_token(2.0)),
        ];
        for (col, value) in figures {
            let doc = number(&row[col]);
            assert!(
                close(doc, Some(value)),
                "{name} column {col}: {doc:?} vs {value}"
            );
        }
        let latent = matches!(m.attention, Attention::Latent { .. });
        assert_eq!(row[6].contains("MLA"), latent, "{name}: MLA marked");
    }
}

#[test]
fn lookups_are_case_insensitive() {
    assert_eq!(gpu("H100-SXM").map(|g| &*g.name), Some("h100-sxm"));
    assert!(gpu("h101").is_none());
    assert_eq!(
        model("Llama-3.1-8B").map(|m| &*m.name),
        Some("llama-3.1-8b")
    );
}

#[test]
fn mig_table_matches_the_code() {
    let rows = doc_rows("MIG profiles");
    let both = |g: &str| super::mig::profiles_of(g).unwrap();
    assert_eq!(rows.len(), both("h100-sxm").len());
    for (i, row) in rows.iter().enumerate() {
        for g in ["a100-80gb", "h100-sxm"] {
            assert_eq!(row[0], format!("`{}`", both(g)[i].name), "{g}");
        }
        let p = &both("h200")[i];
        assert_eq!(row[1], format!("`{}`", p.name));
        assert_eq!(row[2], p.compute_slices.to_string(), "{}", p.name);
        assert_eq!(row[3], p.memory_slices.to_string(), "{}", p.name);
        let starts: Vec<String> = p.starts.iter().map(u32::to_string).collect();
        assert_eq!(row[4], starts.join(", "), "{}", p.name);
        for g in ["a100-80gb", "h100-sxm"] {
            let q = &both(g)[i];
            assert_eq!(
                (q.compute_slices, q.memory_slices, q.starts),
                (p.compute_slices, p.memory_slices, p.starts)
            );
        }
    }
}
