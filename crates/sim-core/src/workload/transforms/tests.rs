use super::*;

/// An input item: an arrival in ns, or an error.
#[derive(Clone, Copy, Debug)]
enum In {
    T(u64),
    Err,
}
use In::{Err as E, T};

fn source(items: &[In]) -> std::vec::IntoIter<Result<Request, WorkloadError>> {
    items
        .iter()
        .map(|i| match i {
            In::T(t) => Ok(Request::new(SimTime(*t), 1, 1)),
            In::Err => Err(WorkloadError::parse(9, "ts", "bad")),
        })
        .collect::<Vec<_>>()
        .into_iter()
}

/// Arrivals in ns; errors as `u64::MAX` so one list shows order.
fn collect(w: impl Workload) -> Vec<u64> {
    w.map(|r| r.map_or(u64::MAX, |r| r.arrival.as_nanos()))
        .collect()
}

const X: u64 = u64::MAX;
const S: u64 = 1_000_000_000;

fn check(got: impl Workload, expect: &[u64]) {
    assert_eq!(collect(got), expect);
}

#[test]
fn time_scale_multiplies_and_rounds() {
    check(
        time_scale(source(&[T(0), T(10), T(25)]), 2.0).unwrap(),
        &[0, 20, 50],
    );
    check(time_scale(source(&[T(10), T(25)]), 0.5).unwrap(), &[5, 13]);
    check(
        time_scale(source(&[T(1), E, T(2)]), 3.0).unwrap(),
        &[3, X, 6],
    );
    check(
        time_scale(source(&[T(u64::MAX / 2), T(u64::MAX / 2 + 1)]), 3.0).unwrap(),
        &[X],
    );
}

#[test]
fn rate_multiplier_compresses_time() {
    check(
        rate_multiplier(source(&[T(0), T(100), T(400)]), 4.0).unwrap(),
        &[0, 25, 100],
    );
}

#[test]
fn rate_step_compresses_only_after_the_step() {
    let step = |at_s: f64, factor: f64| {
        let t = [Transform::RateStep { at_s, factor }];
        let src = [T(0), T(10 * S), T(20 * S), T(30 * S), T(40 * S)];
        apply_transforms(Box::new(source(&src)), &t, "transforms").unwrap()
    };
    check(step(20.0, 2.0), &[0, 10 * S, 20 * S, 25 * S, 30 * S]);
    check(step(0.0, 1.0), &[0, 10 * S, 20 * S, 30 * S, 40 * S]);
    check(
        step(35.0, 4.0),
        &[0, 10 * S, 20 * S, 30 * S, 35 * S + 5 * S / 4],
    );
    let bad = apply_transforms(
        Box::new(source(&[T(0)])),
        &[Transform::RateStep {
            at_s: -1.0,
            factor: 2.0,
        }],
        "transforms",
    );
    assert!(bad
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
        .contains("transforms[0].at_s"));
}

#[test]
fn slice_keeps_and_shifts() {
    let src = [T(0), T(S), T(2 * S), T(3 * S), T(5 * S), T(6 * S)];
    check(slice(source(&src), 2.0, Some(5.0)).unwrap(), &[0, S]);
    check(slice(source(&src), 5.0, None).unwrap(), &[0, S]);
    check(slice(source(&src), 0.0, Some(0.5)).unwrap(), &[0]);
    check(slice(source(&src), 10.0, None).unwrap(), &[]);
    // Reading stops at the end: the error after it is never reached.
    check(
        slice(source(&[T(0), T(2 * S), T(5 * S), E]), 1.0, Some(5.0)).unwrap(),
        &[S],
    );
    // Errors before the end pass through, even before the start.
    check(
        slice(source(&[E, T(0), T(3 * S)]), 1.0, Some(5.0)).unwrap(),
        &[X, 2 * S],
    );
}

#[test]
fn concatenate_shifts_the_second_after_the_first() {
    let gap = 1e-9; // 1 ns
    check(
        concatenate(source(&[T(0), T(3)]), source(&[T(1), T(2)]), gap).unwrap(),
        &[0, 3, 5, 6],
    );
    check(
        concatenate(source(&[]), source(&[T(1)]), 2e-9).unwrap(),
        &[3],
    );
    check(
        concatenate(source(&[T(4)]), source(&[]), 0.0).unwrap(),
        &[4],
    );
    check(
        concatenate(source(&[T(1), E]), source(&[E, T(0)]), 0.0).unwrap(),
        &[1, X, X, 1],
    );
}

#[test]
fn repeat_plays_back_to_back() {
    let items = [T(1), T(3)];
    check(
        repeat(|| Ok(source(&items)), 3, 2e-9).unwrap(),
        &[1, 3, 6, 8, 11, 13],
    );
    check(repeat(|| Ok(source(&items)), 1, 0.0).unwrap(), &[1, 3]);
    // An empty play ends the repeat: the factory makes the same play each
    // time, so every later play would be empty too.
    let mut n = 0;
    let alternating = move || {
        n += 1;
        Ok(source(if n == 2 { &[] } else { &[T(1)] }))
    };
    check(repeat(alternating, 3, 5e-9).unwrap(), &[1]);
}

#[test]
fn repeat_passes_factory_and_inner_errors() {
    let mut n = 0;
    let failing = move || {
        n += 1;
        if n == 2 {
            Err(WorkloadError::invalid("path", "gone"))
        } else {
            Ok(source(&[T(1), E]))
        }
    };
    let got: Vec<String> = repeat(failing, 3, 0.0)
        .unwrap()
        .map(|r| r.map_or_else(|e| e.to_string(), |r| r.arrival.as_nanos().to_string()))
        .collect();
    assert_eq!(got, ["1", "line 9, field `ts`: bad", "field `path`: gone"]);
}

fn factory(items: &'static [In]) -> WorkloadFactory {
    Arc::new(move || Ok(Box::new(source(items)) as BoxedWorkload))
}

#[test]
fn transform_lists_apply_in_order() {
    static ITEMS: [In; 4] = [T(0), T(2 * S), T(4 * S), T(6 * S)];
    let list: Vec<Transform> = serde_json::from_str(
        r#"[{"kind":"slice","start_s":2,"end_s":6},
                {"kind":"repeat","times":2,"gap_s":1},
                {"kind":"rate_multiplier","factor":2}]"#,
    )
    .unwrap();
    // slice → [0, 2 s]; repeat → [0, 2, 3, 5] s; ×2 rate → halves.
    let w = apply_transforms_with_factory(factory(&ITEMS), &list, "transforms").unwrap();
    check(w, &[0, S, 3 * S / 2, 5 * S / 2]);

    // Repeat of a repeat, then a time scale.
    let list = [
        Transform::Repeat {
            times: 2,
            gap_s: 0.0,
        },
        Transform::Repeat {
            times: 2,
            gap_s: 0.0,
        },
        Transform::TimeScale { factor: 0.5 },
    ];
    static ONE: [In; 1] = [T(2 * S)];
    let w = apply_transforms_with_factory(factory(&ONE), &list, "t").unwrap();
    check(w, &[S, 2 * S, 3 * S, 4 * S]);

    let once: BoxedWorkload = Box::new(source(&ITEMS));
    let w = apply_transforms(once, &[Transform::TimeScale { factor: 2.0 }], "t").unwrap();
    check(w, &[0, 4 * S, 8 * S, 12 * S]);
}

fn field_of<T>(r: Result<T, WorkloadError>) -> String {
    match r {
        Err(WorkloadError::InvalidParameter { field, .. }) => field,
        Err(other) => panic!("expected InvalidParameter, got {other:?}"),
        Ok(_) => panic!("expected InvalidParameter, got Ok"),
    }
}

#[test]
fn bad_parameters_name_the_field() {
    for f in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert_eq!(field_of(time_scale(source(&[]), f)), "factor");
        assert_eq!(field_of(rate_multiplier(source(&[]), f)), "factor");
    }
    assert_eq!(field_of(slice(source(&[]), -1.0, None)), "start_s");
    assert_eq!(field_of(slice(source(&[]), 5.0, Some(5.0))), "end_s");
    assert_eq!(field_of(slice(source(&[]), 5.0, Some(f64::NAN))), "end_s");
    assert_eq!(
        field_of(concatenate(source(&[]), source(&[]), -1.0)),
        "gap_s"
    );
    assert_eq!(field_of(repeat(|| Ok(source(&[])), 0, 0.0)), "times");
    assert_eq!(field_of(repeat(|| Ok(source(&[])), 2, f64::NAN)), "gap_s");

    static NONE: [In; 0] = [];
    let list = [
        Transform::Slice {
            start_s: 0.0,
            end_s: None,
        },
        Transform::RateMultiplier { factor: 0.0 },
    ];
    let r = apply_transforms_with_factory(factory(&NONE), &list, "workload.transforms");
    assert_eq!(field_of(r), "workload.transforms[1].factor");
    let once: BoxedWorkload = Box::new(source(&NONE));
    let r = apply_transforms(
        once,
        &[Transform::Repeat {
            times: 2,
            gap_s: 0.0,
        }],
        "tr",
    );
    assert_eq!(field_of(r), "tr[0]");
    assert!(serde_json::from_str::<Transform>(r#"{"kind":"slice","begin_s":1}"#).is_err());
}

#[test]
fn repeat_is_bounded() {
    // More plays than a run takes requests is an error naming the field.
    let too_many = MAX_REPEAT_TIMES + 1;
    assert_eq!(field_of(repeat(|| Ok(source(&[])), too_many, 0.0)), "times");
    let list = [Transform::Repeat {
        times: u64::from(u32::MAX),
        gap_s: 0.0,
    }];
    let r = apply_transforms_with_factory(factory(&[]), &list, "workload.transforms");
    assert_eq!(field_of(r), "workload.transforms[0].times");
    // An empty play ends the repeat: the factory is not called again for
    // the (identical, empty) plays after it.
    let calls = std::cell::Cell::new(0u64);
    let plays = repeat(
        || {
            calls.set(calls.get() + 1);
            Ok(source(&[]))
        },
        MAX_REPEAT_TIMES,
        1.0,
    )
    .unwrap();
    assert_eq!(collect(plays), Vec::<u64>::new());
    assert_eq!(calls.get(), 1);
    // Plays that yield go on to the last.
    let calls = std::cell::Cell::new(0u64);
    let plays = repeat(
        || {
            calls.set(calls.get() + 1);
            Ok(source(&[T(0)]))
        },
        3,
        1.0,
    )
    .unwrap();
    assert_eq!(collect(plays), vec![0, S, 2 * S]);
    assert_eq!(calls.get(), 3);
}

/// Plays whose total passes what a run takes end with an error naming
/// `times` as soon as the first play has shown its size, unless a later
/// `slice` may cut the stream short (then the run's own limit applies).
#[test]
fn repeat_whose_plays_add_up_past_a_run_fails_after_the_first_play() {
    static THREE: [In; 3] = [T(0), T(S), T(2 * S)];
    let times = crate::engine::MAX_REQUESTS / 3 + 1;
    let list = [Transform::Repeat { times, gap_s: 0.0 }];
    let w = apply_transforms_with_factory(factory(&THREE), &list, "workload.transforms").unwrap();
    let got: Vec<Result<Request, WorkloadError>> = w.take(10).collect();
    assert_eq!(got.len(), 4, "three requests, then the error");
    match &got[3] {
        Err(WorkloadError::InvalidParameter { field, message }) => {
            assert_eq!(field, "workload.transforms[0].times");
            assert!(message.contains("a play yields 3 requests"), "{message}");
        }
        other => panic!("expected the limit error, got {other:?}"),
    }
    // Exactly at the limit: every play is yielded.
    let times = crate::engine::MAX_REQUESTS / 3;
    let list = [Transform::Repeat { times, gap_s: 0.0 }];
    let w = apply_transforms_with_factory(factory(&THREE), &list, "t").unwrap();
    assert!(w.take(10).all(|r| r.is_ok()));
    // A slice after the repeat keeps the stream going: it may end it early.
    let list = [
        Transform::Repeat {
            times: MAX_REPEAT_TIMES,
            gap_s: 0.0,
        },
        Transform::Slice {
            start_s: 0.0,
            end_s: Some(7.5),
        },
    ];
    let w = apply_transforms_with_factory(factory(&THREE), &list, "t").unwrap();
    assert_eq!(
        collect(w),
        vec![
            0,
            S,
            2 * S,
            2 * S,
            3 * S,
            4 * S,
            4 * S,
            5 * S,
            6 * S,
            6 * S,
            7 * S
        ]
    );
}
