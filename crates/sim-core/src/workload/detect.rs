//! Recognises a trace file's format from its first bytes.
//!
//! Rules, tried in order on the first non-blank line (a UTF-8 byte-order
//! mark and a trailing `\r` are ignored):
//!
//! - it starts with `{` and contains the key `"input_length"`: Mooncake JSON lines;
//! - otherwise it is read as a CSV header, and the format is the one whose
//!   required columns it contains: Azure (`TIMESTAMP`, `ContextTokens`,
//!   `GeneratedTokens`), BurstGPT (`Timestamp`, `Model`, `Request tokens`,
//!   `Response tokens`), ServeGen client windows (all of
//!   [`SERVEGEN_WINDOWS_COLUMNS`]), generic CSV (`time_s`, `input_tokens`,
//!   `output_tokens`).
//!
//! The required sets are disjoint, so at most one format matches. Extra or
//! misspelt columns are left to the reader, whose error names them.

use super::{azure, burstgpt, generic_csv, WorkloadError};
use std::fmt;

/// The header of a ServeGen client-windows file: one row per client and
/// 600-s window with the rate and fitted inter-arrival distribution.
pub const SERVEGEN_WINDOWS_COLUMNS: [&str; 7] = [
    "client_id",
    "window_start_s",
    "rate_rps",
    "iat_cv",
    "iat_dist",
    "dist_shape",
    "dist_scale",
];

/// The trace formats fleetsim reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceFormat {
    /// Azure LLM inference trace CSV (`TIMESTAMP,ContextTokens,GeneratedTokens`).
    Azure,
    /// Mooncake JSON lines (`timestamp`, `input_length`, `output_length`, `hash_ids`).
    Mooncake,
    /// BurstGPT CSV (`Timestamp,Model,Request tokens,Response tokens,…`).
    BurstGpt,
    /// ServeGen per-client rate windows CSV (a generator's input, not requests).
    ServeGenWindows,
    /// fleetsim's generic CSV (`time_s,input_tokens,output_tokens`, optional extras).
    GenericCsv,
}

impl TraceFormat {
    /// Every format, in detection order.
    pub const ALL: [TraceFormat; 5] = [
        TraceFormat::Mooncake,
        TraceFormat::Azure,
        TraceFormat::BurstGpt,
        TraceFormat::ServeGenWindows,
        TraceFormat::GenericCsv,
    ];

    /// Short lowercase name, as used in scenario files and messages.
    pub fn name(self) -> &'static str {
        match self {
            TraceFormat::Azure => "azure",
            TraceFormat::Mooncake => "mooncake",
            TraceFormat::BurstGpt => "burstgpt",
            TraceFormat::ServeGenWindows => "servegen_windows",
            TraceFormat::GenericCsv => "generic_csv",
        }
    }

    /// The columns (or JSON keys) whose presence identifies the format.
    fn signature(self) -> &'static [&'static str] {
        match self {
            TraceFormat::Azure => &azure::COLUMNS,
            TraceFormat::Mooncake => &["input_length"],
            TraceFormat::BurstGpt => &burstgpt::REQUIRED_COLUMNS,
            TraceFormat::ServeGenWindows => &SERVEGEN_WINDOWS_COLUMNS,
            TraceFormat::GenericCsv => &generic_csv::REQUIRED_COLUMNS,
        }
    }
}

impl fmt::Display for TraceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Decides the format of a trace from its first bytes.
///
/// `head` must hold at least the first line (the header of a CSV); a few KiB
/// is plenty for every format. An unrecognised head is a
/// [`WorkloadError::Parse`] naming its first non-blank line and listing the
/// recognised headers (an empty one, a [`WorkloadError::InvalidParameter`]).
pub fn detect(head: &[u8]) -> Result<TraceFormat, WorkloadError> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let Some((index, first)) = head
        .split(|&b| b == b'\n')
        .map(<[u8]>::trim_ascii)
        .enumerate()
        .find(|(_, l)| !l.is_empty())
    else {
        return Err(unrecognised(None, "the file is empty"));
    };
    // The 1-based line of `first`, named in errors.
    let line = Some((
        index as u64 + 1,
        if first.starts_with(b"{") {
            "record"
        } else {
            "header"
        },
    ));
    if first.starts_with(b"{") {
        // Only the key matters, so a first line cut short by the head limit
        // still works as long as the key is in it.
        let key = b"\"input_length\"";
        if first.windows(key.len()).any(|w| w == key) {
            return Ok(TraceFormat::Mooncake);
        }
        return Err(unrecognised(
            line,
            "the first line is JSON without an \"input_length\" key",
        ));
    }
    let Ok(text) = std::str::from_utf8(first) else {
        return Err(unrecognised(line, "the first line is not text (UTF-8)"));
    };
    let columns = header_columns(first);
    let has = |name: &&str| columns.iter().any(|c| c == name);
    let csv_formats = TraceFormat::ALL
        .into_iter()
        .filter(|f| *f != TraceFormat::Mooncake);
    for format in csv_formats {
        if format.signature().iter().all(has) {
            return Ok(format);
        }
    }
    let shown: String = text.chars().take(200).collect();
    Err(unrecognised(line, &format!("the first line is {shown:?}")))
}

/// The trimmed names of a CSV header line (quotes handled by the csv crate).
fn header_columns(line: &[u8]) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(line);
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => record.iter().map(|c| c.trim().to_string()).collect(),
        _ => Vec::new(),
    }
}

/// The error for a head no format matches: a [`WorkloadError::Parse`] at
/// `line` (the first non-blank line and the field at fault, `header` or
/// `record`), or for an empty file an [`WorkloadError::InvalidParameter`] on
/// `format`.
fn unrecognised(line: Option<(u64, &str)>, why: &str) -> WorkloadError {
    let message = format!(
            "unrecognised trace format: {why}. Recognised: \
             Azure CSV with header `{}`; \
             BurstGPT CSV with header `{}`; \
             ServeGen client windows CSV with header `{}`; \
             generic CSV with columns `{}` (optional: `{}`); \
             Mooncake JSON lines with keys `timestamp`, `input_length`, `output_length`, `hash_ids`",
            azure::COLUMNS.join(","),
            burstgpt::COLUMNS.join(","),
            SERVEGEN_WINDOWS_COLUMNS.join(","),
            generic_csv::REQUIRED_COLUMNS.join(","),
            generic_csv::COLUMNS[generic_csv::REQUIRED_COLUMNS.len()..].join(","),
    );
    match line {
        Some((line, field)) => WorkloadError::parse(line, field, message),
        None => WorkloadError::invalid("format", message),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{mooncake, stats};
    use super::*;
    use proptest::prelude::*;
    use TraceFormat::*;

    /// `expect` is the format, or a fragment of the error message.
    fn check(head: &[u8], expect: Result<TraceFormat, &str>) {
        let got = detect(head).map_err(|e| e.to_string());
        match (&got, expect) {
            (Ok(g), Ok(e)) => assert_eq!(*g, e, "{:?}", String::from_utf8_lossy(head)),
            (Err(g), Err(e)) => assert!(g.contains(e), "{g:?} should contain {e:?}"),
            _ => panic!(
                "{:?}: got {got:?}, expected {expect:?}",
                String::from_utf8_lossy(head)
            ),
        }
    }

    #[test]
    fn csv_headers() {
        check(
            b"TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-11-16 18:15:46.6805900,374,44\r\n",
            Ok(Azure),
        );
        check(b"TIMESTAMP,ContextTokens,GeneratedTokens", Ok(Azure));
        check(
            b"\xEF\xBB\xBFTIMESTAMP,ContextTokens,GeneratedTokens\n",
            Ok(Azure),
        );
        check(b"GeneratedTokens, TIMESTAMP ,ContextTokens\n", Ok(Azure));
        check(
            b"\"TIMESTAMP\",\"ContextTokens\",\"GeneratedTokens\"\n",
            Ok(Azure),
        );
        check(
            b"\n\r\nTIMESTAMP,ContextTokens,GeneratedTokens\n",
            Ok(Azure),
        );
        // Extra columns: still Azure; the reader names the unknown column.
        check(
            b"TIMESTAMP,ContextTokens,GeneratedTokens,Model\n",
            Ok(Azure),
        );
        check(
            b"Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n",
            Ok(BurstGpt),
        );
        check(
            b"Timestamp,Model,Request tokens,Response tokens\n",
            Ok(BurstGpt),
        );
        check(
            b"client_id,window_start_s,rate_rps,iat_cv,iat_dist,dist_shape,dist_scale\n0,0,0.8,0.5,Gamma,3.0,0.36\r\n",
            Ok(ServeGenWindows),
        );
        check(b"time_s,input_tokens,output_tokens\n", Ok(GenericCsv));
        check(
            b"model,time_s,prefix_hashes,output_tokens,input_tokens\n",
            Ok(GenericCsv),
        );
        check(b"time_s,input_tokens,output_tokens,typo\n", Ok(GenericCsv));
    }

    #[test]
    fn json_lines() {
        check(b"{\"timestamp\": 0, \"input_length\": 6758, \"output_length\": 500, \"hash_ids\": [0, 1]}\n", Ok(Mooncake));
        // Cut short by the head limit.
        check(b"{\"timestamp\": 0, \"input_length\": 6758, \"output_length\": 500, \"hash_ids\": [0, 1, 2, 3", Ok(Mooncake));
        check(b"  \n{\"input_length\":1}", Ok(Mooncake));
        check(
            b"{\"time\": 0, \"prompt\": 3}\n",
            Err("JSON without an \"input_length\" key"),
        );
    }

    #[test]
    fn unrecognised_heads() {
        check(b"", Err("unrecognised trace format: the file is empty. Recognised: Azure CSV with header `TIMESTAMP,ContextTokens,GeneratedTokens`"));
        check(b"\n \r\n", Err("the file is empty"));
        check(
            b"\n\r\nfoo,bar\n1,2\n",
            Err("line 3, field `header`: unrecognised trace format: the first line is \"foo,bar\""),
        );
        check(
            b"{\"time\": 0}\n",
            Err("line 1, field `record`: unrecognised trace format"),
        );
        check(
            b"2023-11-16 18:15:46.6805900,374,44\n",
            Err("the first line is \"2023-11-16 18:15:46.6805900,374,44\""),
        );
        check(
            b"timestamp,ContextTokens,GeneratedTokens\n",
            Err("the first line is"),
        );
        check(b"TIMESTAMP,ContextTokens\n", Err("the first line is"));
        check(
            b"client_id,window_start_s,rate_rps\n",
            Err("the first line is"),
        );
        check(
            b"window_start_s,m-large_rate_rps,m-large_active_clients\n",
            Err("ServeGen client windows CSV with header `client_id,window_start_s,rate_rps,iat_cv,iat_dist,dist_shape,dist_scale`"),
        );
        check(
            b"\xff\xfe\x00\x01\n",
            Err("the first line is not text (UTF-8)"),
        );
        check(b"\"unclosed,quote\n", Err("the first line is"));
        check(b"x", Err("generic CSV with columns `time_s,input_tokens,output_tokens` (optional: `model,adapter,priority_class,prefix_hashes,difficulty`)"));
    }

    /// Bytes that look a little like traces: mostly digits and separators.
    fn noisy_bytes() -> impl Strategy<Value = Vec<u8>> {
        let alphabet = b"0123456789,.:-T \n\r\"{}[]eE;".to_vec();
        let byte = prop_oneof![4 => prop::sample::select(alphabet), 1 => any::<u8>()];
        prop::collection::vec(byte, 0..300)
    }

    proptest! {
        /// No input makes detection, a reader or the statistics panic.
        #[test]
        fn nothing_panics(
            prefix in prop::sample::select(vec![
                "",
                "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.1,",
                "time_s,input_tokens,output_tokens,prefix_hashes\n1.5,",
                "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n",
                "{\"timestamp\": 1, \"input_length\": ",
            ]),
            tail in noisy_bytes(),
        ) {
            let input = [prefix.as_bytes(), &tail].concat();
            let _ = detect(&input);
            let _ = stats::compute(azure::AzureReader::new(input.as_slice()));
            let _ = stats::compute(generic_csv::GenericCsvReader::new(input.as_slice()));
            let _ = stats::compute(burstgpt::BurstGptReader::new(input.as_slice()));
            let _ = stats::compute(mooncake::MooncakeReader::new(input.as_slice()));
        }
    }

    #[test]
    fn names() {
        let names: Vec<_> = TraceFormat::ALL.iter().map(|f| f.to_string()).collect();
        assert_eq!(
            names,
            [
                "mooncake",
                "azure",
                "burstgpt",
                "servegen_windows",
                "generic_csv"
            ]
        );
    }
}
