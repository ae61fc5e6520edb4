//! The example traces shipped in `traces/` are recognised and read whole.

use crate::common;

use fleetsim::core::workload::azure::AzureReader;
use fleetsim::core::workload::detect::{detect, TraceFormat};
use fleetsim::core::workload::generic_csv::GenericCsvReader;
use fleetsim::core::workload::stats::compute;
use fleetsim::core::{Request, SimTime};

fn example(name: &str) -> Vec<u8> {
    let path = common::workspace_root().join("traces").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn azure_example_crosses_midnight_and_a_leap_day() {
    let bytes = example("example-azure.csv");
    assert_eq!(detect(&bytes).unwrap(), TraceFormat::Azure);
    let requests: Vec<Request> = AzureReader::new(bytes.as_slice())
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(requests.len(), 20);
    assert_eq!(requests[0].arrival, SimTime::ZERO);
    // 2024-02-29 23:59:52.0000000 to 2024-03-01 00:00:07.4176081.
    assert_eq!(requests[19].arrival, SimTime(15_417_608_100));
    let stats = compute(AzureReader::new(bytes.as_slice())).unwrap();
    assert_eq!(stats.windows_1s.complete_windows, 15);
}

#[test]
fn generic_example_uses_the_optional_columns() {
    let bytes = example("example-generic.csv");
    assert_eq!(detect(&bytes).unwrap(), TraceFormat::GenericCsv);
    let requests: Vec<Request> = GenericCsvReader::new(bytes.as_slice())
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(requests.len(), 20);
    let count = |f: &dyn Fn(&Request) -> bool| requests.iter().filter(|r| f(r)).count();
    assert_eq!(count(&|r| r.model.as_deref() == Some("llama-3-70b")), 4);
    assert!(count(&|r| r.adapter.is_some()) > 0);
    assert!(count(&|r| r.priority_class.as_deref() == Some("batch")) > 0);
    // Every request starts with one of the two shared system-prompt prefixes.
    assert_eq!(
        count(&|r| matches!(r.prefix_hashes.first(), Some(1 | 7))),
        20
    );
    // One hash per started 512-token block.
    assert!(requests
        .iter()
        .all(|r| r.prefix_hashes.len() == (r.input_tokens as usize).div_ceil(512)));
}
