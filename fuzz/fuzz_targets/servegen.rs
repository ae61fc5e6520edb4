//! The ServeGen client-windows reader on arbitrary bytes: a profile or an
//! error, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fleetsim_core::workload::servegen::ServeGenProfile::from_reader(data);
});
