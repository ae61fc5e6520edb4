use super::*;

fn metric(name: &str) -> &'static Headline {
    Headline::by_name(name).unwrap()
}

#[test]
fn verdicts() {
    let t = Tolerance { abs: 1.0, rel: 0.0 };
    let ttft = metric("ttft_p95_ms");
    let sla = metric("sla_attainment");
    let v = |h, b, n| judge(h, b, n, t).verdict;
    for (h, b, n, expect) in [
        (ttft, Recorded::Value(100.0), Some(100.5), Verdict::Ok),
        (
            ttft,
            Recorded::Value(100.0),
            Some(102.0),
            Verdict::Regression,
        ),
        (ttft, Recorded::Value(100.0), Some(98.0), Verdict::Better),
        (sla, Recorded::Value(0.5), Some(2.0), Verdict::Better),
        (sla, Recorded::Value(2.0), Some(0.5), Verdict::Regression),
        (ttft, Recorded::Value(100.0), None, Verdict::Changed),
        (ttft, Recorded::Absent, Some(1.0), Verdict::Changed),
        (ttft, Recorded::Absent, None, Verdict::Ok),
        (ttft, Recorded::Missing, Some(1.0), Verdict::New),
    ] {
        assert_eq!(v(h, b, n), expect, "{} {b:?} {n:?}", h.name);
    }
    assert!(Verdict::Better.fails(false));
    assert!(!Verdict::Better.fails(true));
    assert!(Verdict::Regression.fails(true));
    assert!(!Verdict::New.fails(false));
}

#[test]
fn tolerance_layers_override_field_by_field() {
    let text = r#"version = 1
[tolerance]
all = { rel = 0.5 }
ttft_p95_ms = { abs = 7.0 }
[[scenario]]
path = "./a/../q.toml"
name = "q"
values = { ttft_p95_ms = 1.0 }
[scenario.tolerance]
ttft_p95_ms = { rel = 0.25 }
"#;
    let b = Baseline::parse(text, "b.toml").unwrap();
    let e = b.entry(Path::new("q.toml"));
    assert!(e.is_some());
    let ttft = metric("ttft_p95_ms");
    assert_eq!(
        b.tolerance(ttft, e),
        Tolerance {
            abs: 7.0,
            rel: 0.25
        }
    );
    assert_eq!(b.tolerance(ttft, None), Tolerance { abs: 7.0, rel: 0.5 });
    let cost = metric("cost_usd");
    assert_eq!(
        b.tolerance(cost, e),
        Tolerance {
            abs: cost.tolerance.abs,
            rel: 0.5
        }
    );
}

#[test]
fn normalise_folds_dots() {
    assert_eq!(normalise(Path::new("./a/./b/../c.toml")), "a/c.toml");
    assert_eq!(normalise(Path::new("../x.toml")), "../x.toml");
    assert_eq!(normalise(Path::new("/abs/x.toml")), "/abs/x.toml");
}
