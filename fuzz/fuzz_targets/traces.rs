//! Every request-level trace reader on arbitrary bytes: the first byte
//! picks the format, the rest is the file. Each reader must yield requests
//! or an error at a line, never panic or hang; at most `LIMIT` requests
//! are read so a long valid input stays fast.
#![no_main]

use fleetsim_core::workload::azure::AzureReader;
use fleetsim_core::workload::burstgpt::BurstGptReader;
use fleetsim_core::workload::generic_csv::GenericCsvReader;
use fleetsim_core::workload::mooncake::MooncakeReader;
use fleetsim_core::workload::trace_reader::{RecordParser, TraceReader};
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 10_000;

fn drain<P: RecordParser>(reader: TraceReader<P>) {
    for item in reader.take(LIMIT) {
        if item.is_err() {
            break;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&format, file)) = data.split_first() else {
        return;
    };
    match format % 4 {
        0 => drain(AzureReader::new(file)),
        1 => drain(MooncakeReader::new(file)),
        2 => drain(BurstGptReader::new(file)),
        _ => drain(GenericCsvReader::new(file)),
    }
    let _ = fleetsim_core::workload::detect::detect(file);
});
