//! The scenario loader on arbitrary text: it must return a scenario or a
//! located error, never panic or hang. Relative paths resolve in an empty
//! directory, so a trace a mutated scenario names is usually missing.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let dir = std::env::temp_dir().join("fleetsim-fuzz-empty");
    let _ = std::fs::create_dir_all(&dir);
    let _ = fleetsim::scenario::load_str(text, "fuzz.toml", &dir, &[]);
});
