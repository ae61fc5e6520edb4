use super::*;

const HEADER: &str = "client_id,window_start_s,rate_rps,iat_cv,iat_dist,dist_shape,dist_scale\n";

fn profile(rows: &str) -> ServeGenProfile {
    ServeGenProfile::from_reader(format!("{HEADER}{rows}").as_bytes()).unwrap()
}

fn fixed() -> ServeGenConfig {
    ServeGenConfig::new(
        TokenLengths::Fixed { tokens: 8 },
        TokenLengths::Fixed { tokens: 4 },
    )
}

fn arrivals(rows: &str, config: &ServeGenConfig, seed: u64) -> Vec<u64> {
    ServeGenWorkload::new(Arc::new(profile(rows)), config, seed)
        .unwrap()
        .map(|r| r.unwrap().arrival.as_nanos())
        .collect()
}

/// Counts per 600 s output window.
fn per_window(times: &[u64], window_ns: u64, windows: usize) -> Vec<usize> {
    let mut counts = vec![0; windows];
    for t in times {
        counts[(t / window_ns) as usize] += 1;
    }
    counts
}

const TWO_CLIENTS: &str = "\
0,0,0.5,1.0,Gamma,1.0,2.0
0,600,0,0,,0,0
0,1200,2.0,4.0,Weibull,0.4,0.1
1,0,0.25,0.5,Gamma,4.0,1.0
1,600,1.0,1.2,,0,0
1,1200,0,0,,0,0
";

#[test]
fn counts_per_window_match_the_rates() {
    let t = arrivals(TWO_CLIENTS, &fixed(), 1);
    // (0.5 + 0.25) × 600, 1.0 × 600, 2.0 × 600: exact by construction.
    assert_eq!(per_window(&t, WINDOW_NS, 3), [450, 600, 1200]);
    assert!(t.windows(2).all(|w| w[0] <= w[1]), "merged in time order");
}

#[test]
fn fractional_counts_are_right_on_average() {
    // 0.1234 × 600 = 74.04 requests per window, over 200 windows.
    let rows: String = (0..200)
        .map(|w| format!("7,{},0.1234,1,Gamma,1,1\n", w * 600))
        .collect();
    let t = arrivals(&rows, &fixed(), 3);
    let mean = t.len() as f64 / 200.0;
    assert!((mean - 74.04).abs() < 0.1, "{mean}");
    let counts = per_window(&t, WINDOW_NS, 200);
    assert!(counts.iter().all(|&c| c == 74 || c == 75), "{counts:?}");
}

#[test]
fn burstiness_follows_the_fitted_shape() {
    // One long run of windows per shape; gamma shape 1/cv² sets the CV.
    for (shape, expect_cv) in [(1.0, 1.0), (0.25, 2.0), (4.0, 0.5)] {
        let rows: String = (0..20)
            .map(|w| format!("3,{},10,0,Gamma,{shape},5\n", w * 600))
            .collect();
        let t = arrivals(&rows, &fixed(), 4);
        let gaps: Vec<f64> = t.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
        let cv = var.sqrt() / mean;
        assert!(
            (cv / expect_cv - 1.0).abs() < 0.08,
            "shape {shape}: cv {cv}"
        );
    }
}

#[test]
fn options_select_shift_skip_and_scale() {
    let rows = "\
0,0,0.1,1,Gamma,1,1
0,600,0,0,,0,0
0,1200,0.2,1,Gamma,1,1
0,1800,0.3,1,Gamma,1,1
1,600,0,0,,0,0
";
    let mut c = fixed();
    c.start_s = 600.0;
    c.end_s = Some(1800.0);
    // Window 600 is empty, 1200 holds 120 requests at [600, 1200) s.
    assert_eq!(per_window(&arrivals(rows, &c, 1), WINDOW_NS, 2), [0, 120]);
    c.skip_zero_windows = true;
    assert_eq!(per_window(&arrivals(rows, &c, 1), WINDOW_NS, 1), [120]);

    let mut c = fixed();
    c.skip_zero_windows = true;
    c.time_scale = 2.0;
    c.rate_multiplier = 10.0;
    let t = arrivals(rows, &c, 1);
    assert_eq!(per_window(&t, 2 * WINDOW_NS, 3), [600, 1200, 1800]);

    c.max_requests = Some(5);
    assert_eq!(arrivals(rows, &c, 1).len(), 5);
}

#[test]
fn streams_are_per_client_and_seeded() {
    let a = arrivals(TWO_CLIENTS, &fixed(), 1);
    assert_eq!(a, arrivals(TWO_CLIENTS, &fixed(), 1));
    assert_ne!(a, arrivals(TWO_CLIENTS, &fixed(), 2));
    // Dropping client 1 leaves client 0's arrivals where they were.
    let only_0: String = TWO_CLIENTS
        .lines()
        .filter(|l| l.starts_with("0,"))
        .map(|l| format!("{l}\n"))
        .collect();
    let b = arrivals(&only_0, &fixed(), 1);
    let b_set: std::collections::BTreeSet<u64> = b.iter().copied().collect();
    assert_eq!(b.len(), 300 + 1200);
    assert_eq!(a.iter().filter(|t| b_set.contains(t)).count(), b.len());
    // Lengths have their own streams: changing them moves no arrival.
    let mut c = fixed();
    c.output_tokens = TokenLengths::Uniform {
        min_tokens: 1,
        max_tokens: 50,
    };
    assert_eq!(a, arrivals(TWO_CLIENTS, &c, 1));
}

#[test]
fn client_order_in_the_file_does_not_matter() {
    let reordered: String = TWO_CLIENTS
        .lines()
        .filter(|l| l.starts_with("1,"))
        .chain(TWO_CLIENTS.lines().filter(|l| l.starts_with("0,")))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(profile(&reordered), profile(TWO_CLIENTS));
    let p = profile(TWO_CLIENTS);
    assert_eq!(p.clients().len(), 2);
    assert_eq!(p.clients()[0].windows.len(), 2);
    let totals: Vec<(u64, f64)> = p
        .total_rates()
        .iter()
        .map(|(t, r)| (t.as_nanos() / NANOS_PER_SEC, *r))
        .collect();
    assert_eq!(totals, [(0, 0.75), (600, 1.0), (1200, 2.0)]);
}

fn check_error(rows: &str, expect: &str) {
    let got = ServeGenProfile::from_reader(format!("{HEADER}{rows}").as_bytes())
        .map(|_| ())
        .map_err(|e| e.to_string());
    match got {
        Err(msg) => assert!(
            msg.starts_with(expect),
            "{msg:?} should start with {expect:?}"
        ),
        Ok(()) => panic!("{rows:?} parsed, expected {expect:?}"),
    }
}

#[test]
fn malformed_rows_give_line_and_field() {
    check_error(
        "0,0,1,1,Gamma,1,1\nx,600,1,1,Gamma,1,1\n",
        "line 3, field `client_id`",
    );
    check_error(
        "0,0,abc,1,Gamma,1,1\n",
        "line 2, field `rate_rps`: expected a finite number",
    );
    check_error(
        "0,0,-1,1,Gamma,1,1\n",
        "line 2, field `rate_rps`: must be between 0",
    );
    check_error("0,0,NaN,1,Gamma,1,1\n", "line 2, field `rate_rps`");
    check_error("0,-600,1,1,Gamma,1,1\n", "line 2, field `window_start_s`");
    check_error(
        "0,0,1,1,Lognormal,1,1\n",
        "line 2, field `iat_dist`: unknown distribution",
    );
    check_error(
        "0,0,1,1,Gamma,0,1\n",
        "line 2, field `dist_shape`: must be greater than 0",
    );
    check_error("0,0,1,1,Weibull,1,-2\n", "line 2, field `dist_scale`");
    check_error("0,0,1,1,,zz,0\n", "line 2, field `dist_shape`");
    check_error("0,0,1,-1,Gamma,1,1\n", "line 2, field `iat_cv`");
    check_error(
        "0,600,1,1,Gamma,1,1\n0,600,1,1,Gamma,1,1\n",
        "line 3, field `window_start_s`: client 0's windows",
    );
    check_error(
        "0,600,1,1,Gamma,1,1\n0,0,1,1,Gamma,1,1\n",
        "line 3, field `window_start_s`",
    );
    check_error("0,0,1,1,Gamma,1\n", "line 2, field `record`");
    let missing = ServeGenProfile::from_reader("client_id,rate_rps\n0,1\n".as_bytes()).unwrap_err();
    assert_eq!(
        missing.to_string(),
        "line 1, field `window_start_s`: missing column in the header"
    );
    let empty = ServeGenProfile::from_reader("".as_bytes()).unwrap_err();
    assert!(
        empty.to_string().starts_with("line 1, field `client_id`"),
        "{empty}"
    );
}

#[test]
fn idle_rows_and_case_are_accepted() {
    let p = profile("5,0,0,0,,0,0\n5,600,1,1,gamma,2,1\n6,0,2,1,,,\n");
    assert_eq!(p.clients().len(), 2);
    assert_eq!(
        p.clients()[0].windows[0].dist,
        IatDist::Gamma {
            shape: 2.0,
            scale: 1.0
        }
    );
    assert_eq!(p.clients()[1].windows[0].dist, IatDist::Exponential);
}

#[test]
fn extreme_shapes_never_panic_and_keep_counts() {
    let rows =
        "0,0,1,50,Weibull,0.001,1\n0,600,1,50,Gamma,0.0001,1e-9\n0,1200,1,0,Weibull,1e6,1e6\n";
    let t = arrivals(rows, &fixed(), 1);
    assert_eq!(per_window(&t, WINDOW_NS, 3), [600, 600, 600]);
}

#[test]
fn bad_options_name_the_field() {
    let p = Arc::new(profile(TWO_CLIENTS));
    let field = |c: ServeGenConfig| match ServeGenWorkload::new(p.clone(), &c, 0) {
        Err(WorkloadError::InvalidParameter { field, .. }) => field,
        other => panic!("{other:?}"),
    };
    let mut c = fixed();
    c.time_scale = 0.0;
    assert_eq!(field(c), "time_scale");
    for m in [f64::NAN, 0.0, -1.0, 1e4] {
        let mut c = fixed();
        c.rate_multiplier = m;
        assert_eq!(field(c), "rate_multiplier");
    }
    let mut c = fixed();
    c.start_s = 100.0;
    c.end_s = Some(50.0);
    assert_eq!(field(c), "end_s");
    let mut c = fixed();
    c.input_tokens = TokenLengths::Uniform {
        min_tokens: 0,
        max_tokens: 1,
    };
    assert_eq!(field(c), "input_tokens.min_tokens");
    let parsed: ServeGenConfig = serde_json::from_str(
            r#"{"input_tokens":{"kind":"fixed","tokens":1},"output_tokens":{"kind":"fixed","tokens":1},"skip_zero_windows":true}"#,
        )
        .unwrap();
    assert!(
        parsed.skip_zero_windows && is_one(&parsed.time_scale) && is_one(&parsed.rate_multiplier)
    );
    assert!(serde_json::from_str::<ServeGenConfig>(r#"{"input_tokens":{"kind":"fixed","tokens":1},"output_tokens":{"kind":"fixed","tokens":1},"rate":2}"#).is_err());
}

/// `rows` read for a run over `[start_s, end_s)`.
fn profile_in(rows: &str, start_s: u64, end_s: Option<u64>) -> Result<ServeGenProfile, String> {
    let span = WindowSpan {
        start_ns: start_s * 1_000_000_000,
        end_ns: end_s.map(|e| e * 1_000_000_000),
    };
    ServeGenProfile::from_reader_in(format!("{HEADER}{rows}").as_bytes(), &span)
        .map_err(|e| e.to_string())
}

fn full(rows: &str) -> Result<ServeGenProfile, String> {
    ServeGenProfile::from_reader(format!("{HEADER}{rows}").as_bytes()).map_err(|e| e.to_string())
}

const THREE_WINDOWS: &str = "\
0,0,0.5,1.0,Gamma,1.0,2.0
0,600,1.5,1.0,Weibull,0.5,2.0
0,1200,2.0,4.0,Weibull,0.4,0.1
1,0,0.25,0.5,Gamma,4.0,1.0
1,600,0,0,,0,0
1,1200,1.0,1.2,,0,0
2,1200,3.0,1.2,Gamma,0.3,1.0
";

#[test]
fn a_span_keeps_every_client_and_only_its_windows() {
    let p = profile_in(THREE_WINDOWS, 600, Some(1200)).unwrap();
    let ids: Vec<u64> = p.clients().iter().map(|c| c.client_id).collect();
    assert_eq!(ids, [0, 1, 2], "clients outside the span are still listed");
    let starts: Vec<Vec<u64>> = (p.clients().iter())
        .map(|c| {
            c.windows
                .iter()
                .map(|w| w.start.as_nanos() / 1_000_000_000)
                .collect()
        })
        .collect();
    assert_eq!(starts, [vec![600], vec![], vec![]]);
    assert_eq!(
        p.total_rates(),
        [(SimTime(600 * 1_000_000_000), 1.5)],
        "totals of the span only"
    );
    assert_eq!(
        profile_in(THREE_WINDOWS, 0, None).unwrap(),
        full(THREE_WINDOWS).unwrap()
    );
    // Spaces around fields (ASCII and not) are trimmed, in and out of span.
    let spaced = THREE_WINDOWS.replace(',', " ,\u{a0}").replace('\n', " \n");
    assert_eq!(profile_in(&spaced, 600, Some(1200)).unwrap(), p);
    assert_eq!(full(&spaced).unwrap(), full(THREE_WINDOWS).unwrap());
}

#[test]
fn a_span_gives_the_requests_the_whole_file_gives() {
    let whole = Arc::new(full(THREE_WINDOWS).unwrap());
    let mut nonempty = 0;
    for (start, end) in [
        (0, None),
        (0, Some(600)),
        (600, Some(1200)),
        (600, None),
        (1200, Some(1800)),
        (300, Some(900)),
    ] {
        for skip in [false, true] {
            let mut c = fixed();
            c.start_s = start as f64;
            c.end_s = end.map(|e| e as f64);
            c.skip_zero_windows = skip;
            c.rate_multiplier = 3.3;
            let part = ServeGenProfile::from_reader_in(
                format!("{HEADER}{THREE_WINDOWS}").as_bytes(),
                &c.span(),
            )
            .unwrap();
            let a: Vec<Request> = ServeGenWorkload::new(Arc::clone(&whole), &c, 5)
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let b: Vec<Request> = ServeGenWorkload::new(Arc::new(part), &c, 5)
                .unwrap()
                .map(Result::unwrap)
                .collect();
            nonempty += usize::from(!a.is_empty());
            assert_eq!(a, b, "span [{start}, {end:?}), skip {skip}");
        }
    }
    assert!(nonempty >= 8, "{nonempty}");
}

#[test]
fn malformed_rows_in_the_span_fail_at_their_line_as_when_reading_everything() {
    let good = "0,0,1,1,Gamma,1,1\n1,0,1,1,,0,0\n";
    for bad in [
        "0,600,x,1,Gamma,1,1",
        "0,600,-1,1,Gamma,1,1",
        "0,600,1,-2,Gamma,1,1",
        "0,600,1,1,Lognormal,1,1",
        "0,600,1,1,Weibull,0,1",
        "0,600,1,1,,abc,0",
        "0,600,1,1,Gamma,1",
    ] {
        let rows = format!("{good}{bad}\n");
        let whole = full(&rows).unwrap_err();
        assert!(whole.starts_with("line 4,"), "{whole}");
        assert_eq!(
            profile_in(&rows, 600, Some(1200)).unwrap_err(),
            whole,
            "{bad}"
        );
    }
}

#[test]
fn key_columns_and_time_order_are_checked_on_every_row() {
    // Outside the span [1200, 1800) too: a bad client id or window start,
    // or a client going back in time, is an error wherever it is.
    for bad in [
        "0,0,1,1,Gamma,1,1\nx,600,1,1,Gamma,1,1\n",
        "0,0,1,1,Gamma,1,1\n0,-600,1,1,Gamma,1,1\n",
        "0,0,1,1,Gamma,1,1\n0,abc,1,1,Gamma,1,1\n",
        "0,600,1,1,Gamma,1,1\n0,0,1,1,Gamma,1,1\n",
        "0,0,1,1,Gamma,1,1\n0,300,1,1,Gamma,1,1\n",
        "0,600,1,1,Gamma,1,1\n0,1200,1,1,Gamma,1,1\n0,900,1,1,Gamma,1,1\n",
    ] {
        let whole = full(bad).unwrap_err();
        assert_eq!(
            profile_in(bad, 1200, Some(1800)).unwrap_err(),
            whole,
            "{bad}"
        );
    }
}

#[test]
fn other_columns_outside_the_span_are_not_validated() {
    // The documented trade: a run over [600, 1200) does not read the rate
    // or distribution of the rows at 0 and 1200; reading the whole file
    // (or a run over its whole span) reports them.
    let rows = "0,0,x,1,Gamma,1,1\n0,600,1,1,Gamma,1,1\n0,1200,1,1,Lognormal,1,1\n";
    let part = profile_in(rows, 600, Some(1200)).unwrap();
    assert_eq!(part.clients()[0].windows.len(), 1);
    assert!(full(rows)
        .unwrap_err()
        .starts_with("line 2, field `rate_rps`"));
    assert!(profile_in(rows, 0, Some(600)).is_err());
    assert!(profile_in(rows, 1200, None)
        .unwrap_err()
        .starts_with("line 4, field `iat_dist`"));
}

#[test]
fn invalid_utf8_in_the_span_gives_the_csv_readers_error() {
    let mut text = HEADER.as_bytes().to_vec();
    text.extend_from_slice(b"0,0,1,1,Gamma,1,1\n0,600,1,1,  Gamma\xff,1,1\n");
    // What reading the row as text (the reader before spans) reports.
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(&text[..]);
    let mut record = csv::StringRecord::new();
    assert!(csv.read_record(&mut record).unwrap());
    let expected = csv.read_record(&mut record).unwrap_err().to_string();
    let err = ServeGenProfile::from_reader(&text[..])
        .unwrap_err()
        .to_string();
    assert_eq!(err, format!("line 3, field `record`: {expected}"));
    let span = WindowSpan {
        start_ns: 600_000_000_000,
        end_ns: None,
    };
    let in_span = ServeGenProfile::from_reader_in(&text[..], &span).unwrap_err();
    assert_eq!(in_span.to_string(), err);
    // In a key column, anywhere: the same error.
    let mut text = HEADER.as_bytes().to_vec();
    text.extend_from_slice(b"0\xff,0,1,1,Gamma,1,1\n");
    let whole = ServeGenProfile::from_reader(&text[..])
        .unwrap_err()
        .to_string();
    assert!(whole.contains("invalid utf-8"), "{whole}");
    let part = ServeGenProfile::from_reader_in(&text[..], &span).unwrap_err();
    assert_eq!(part.to_string(), whole);
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    fn field(choices: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
        proptest::sample::select(choices)
    }

    fn row() -> impl Strategy<Value = String> {
        let numbers: &'static [&'static str] = &[
            "0", "1", "-1", "abc", "", "NaN", "inf", "1e-300", "1e300", "0.0001", "2.5",
        ];
        (
            field(&["0", "1", "2", "-1", "x"]),
            field(&["0", "600", "1200", "1800", "-600", "1e300", "?"]),
            field(&["0", "0.5", "1", "3", "-1", "1e300", "NaN", "", "0.001"]),
            field(numbers),
            field(&["", "Gamma", "Weibull", "weibull", "Lognormal"]),
            field(numbers),
            field(numbers),
        )
            .prop_map(|(a, b, c, d, e, f, g)| format!("{a},{b},{c},{d},{e},{f},{g}\n"))
    }

    proptest! {
        #[test]
        fn any_rows_give_an_error_or_sorted_arrivals(
            rows in proptest::collection::vec(row(), 0..12),
            seed in any::<u64>(),
            skip in any::<bool>(),
        ) {
            let text = format!("{HEADER}{}", rows.concat());
            if let Ok(p) = ServeGenProfile::from_reader(text.as_bytes()) {
                let mut c = fixed();
                c.skip_zero_windows = skip;
                c.max_requests = Some(500);
                let w = ServeGenWorkload::new(Arc::new(p), &c, seed).unwrap();
                let t: Vec<u64> = w.map(|r| r.unwrap().arrival.as_nanos()).collect();
                prop_assert!(t.windows(2).all(|w| w[0] <= w[1]));
            }
        }

        #[test]
        fn a_span_reads_what_the_whole_file_gives_in_it(
            rows in proptest::collection::vec(row(), 0..12),
            start in 0u64..4,
            len in 1u64..4,
            seed in any::<u64>(),
        ) {
            let text = format!("{HEADER}{}", rows.concat());
            let mut c = fixed();
            c.start_s = (start * 600) as f64;
            c.end_s = Some(((start + len) * 600) as f64);
            c.max_requests = Some(300);
            let part = ServeGenProfile::from_reader_in(text.as_bytes(), &c.span());
            match ServeGenProfile::from_reader(text.as_bytes()) {
                // Whatever the whole file holds, the span gives the same
                // requests.
                Ok(whole) => {
                    let part = part.unwrap();
                    let a: Vec<_> = ServeGenWorkload::new(Arc::new(whole), &c, seed).unwrap().map(Result::unwrap).collect();
                    let b: Vec<_> = ServeGenWorkload::new(Arc::new(part), &c, seed).unwrap().map(Result::unwrap).collect();
                    prop_assert_eq!(a, b);
                }
                // The first error of the whole file is the span's too if
                // it is in a key column or in a row in the span; else the
                // span reads past it (and may fail later, or on the same
                // row's time order).
                Err(e) => {
                    let WorkloadError::Parse { line, field, .. } = &e else {
                        panic!("{e}")
                    };
                    let row = &rows[*line as usize - 2];
                    let window = row.split(',').nth(1).unwrap().parse::<f64>().ok();
                    let in_span = window.is_some_and(|w| w >= c.start_s && Some(w) < c.end_s);
                    if in_span || ["client_id", "window_start_s", "record"].contains(&field.as_str()) {
                        prop_assert_eq!(part.unwrap_err().to_string(), e.to_string());
                    } else if let Err(WorkloadError::Parse { line: later, .. }) = part {
                        prop_assert!(later >= *line);
                    }
                }
            }
        }
    }
}
