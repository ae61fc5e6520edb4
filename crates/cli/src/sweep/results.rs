//! Sweep results on disk: one JSON line per configuration × seed, then a
//! CSV with every knob and every summary field as columns.
//!
//! While a sweep runs, rows are appended to `results.jsonl.partial` as they
//! finish (in completion order, each line flushed whole). When every row is
//! in, the rows are sorted by (configuration, seed) and written to
//! `results.jsonl` and `results.csv` through a temporary file and a rename,
//! and the partial file is removed. So a crash leaves only a `.partial`
//! file, never a final-named file that looks complete, and the final files
//! do not depend on the thread count or on shards.

use super::SweepError;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Rows of a finished sweep.
pub const RESULTS_JSONL: &str = "results.jsonl";
/// The same rows, flattened.
pub const RESULTS_CSV: &str = "results.csv";
/// Rows of an unfinished sweep.
pub const PARTIAL_JSONL: &str = "results.jsonl.partial";
/// The same, as CSV, for watching a sweep (not read back).
pub const PARTIAL_CSV: &str = "results.csv.partial";
/// What the sweep is ([`super::Manifest`]).
pub const MANIFEST: &str = "sweep.json";

/// A JSON value that keeps the order of object keys as written, so CSV
/// columns follow the summary's own order (`requests`, `latency`, ...).
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as written.
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, keys in order.
    Object(Vec<(String, Json)>),
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_none<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
                Ok(Json::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_f64<E>(self, x: f64) -> Result<Json, E> {
                Ok(serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number))
            }
            fn visit_str<E>(self, s: &str) -> Result<Json, E> {
                Ok(Json::String(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> Result<Json, E> {
                Ok(Json::String(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Json>()? {
                    entries.push((k, v));
                }
                Ok(Json::Object(entries))
            }
        }
        d.deserialize_any(V)
    }
}

impl Json {
    /// The value at a dotted path of object keys (`sla.attainment`).
    pub fn get(&self, path: &str) -> Option<&Json> {
        path.split('.').try_fold(self, |v, key| match v {
            Json::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        })
    }

    /// The number, if it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    /// Leaves as `(column, cell)`: objects join keys with `.`, arrays index
    /// with `[i]` (the `--set` spelling); `null` is an empty cell.
    pub fn flatten_into(&self, prefix: &str, out: &mut Vec<(String, String)>) {
        let join = |key: &str| match prefix.is_empty() {
            true => key.to_string(),
            false => format!("{prefix}.{key}"),
        };
        match self {
            Json::Object(entries) => {
                for (k, v) in entries {
                    v.flatten_into(&join(k), out);
                }
            }
            Json::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    v.flatten_into(&format!("{prefix}[{i}]"), out);
                }
            }
            Json::Null => out.push((prefix.to_string(), String::new())),
            Json::Bool(b) => out.push((prefix.to_string(), b.to_string())),
            Json::Number(n) => out.push((prefix.to_string(), n.to_string())),
            Json::String(s) => out.push((prefix.to_string(), s.clone())),
        }
    }
}

/// One finished run, as read back from a results file.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Configuration index.
    pub config: usize,
    /// The run's seed.
    pub seed: u64,
    /// The whole line, as written (merge and final files copy it verbatim).
    pub line: String,
    /// The line, parsed.
    pub value: Json,
}

impl Row {
    /// The row as CSV cells: `config`, `seed`, `knob.<key>` per knob, then
    /// every summary field (objects joined with `.`, arrays as `[i]`).
    pub fn cells(&self) -> Vec<(String, String)> {
        let mut cells = Vec::new();
        if let Json::Object(entries) = &self.value {
            for (k, v) in entries {
                match k.as_str() {
                    "knobs" => v.flatten_into("knob", &mut cells),
                    "summary" => v.flatten_into("", &mut cells),
                    _ => v.flatten_into(k, &mut cells),
                }
            }
        }
        cells
    }

    /// The value the row's configuration gave `key` (a dotted scenario key).
    pub fn knob(&self, key: &str) -> Option<&Json> {
        match self.value.get("knobs") {
            Some(Json::Object(entries)) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Parses one results line; `at` names it in errors (`file:line`).
    pub fn parse(line: &str, at: &dyn Fn() -> String) -> Result<Row, SweepError> {
        let value: Json = serde_json::from_str(line).map_err(|e| SweepError::Results {
            at: at(),
            message: format!("not a results row: {e}"),
        })?;
        let field = |name: &str| {
            value
                .get(name)
                .and_then(|v| match v {
                    Json::Number(n) => n.as_u64(),
                    _ => None,
                })
                .ok_or_else(|| SweepError::Results {
                    at: at(),
                    message: format!("field `{name}`: missing or not a whole number"),
                })
        };
        let config = usize::try_from(field("config")?).map_err(|_| SweepError::Results {
            at: at(),
            message: "field `config`: too large".into(),
        })?;
        let seed = field("seed")?;
        Ok(Row {
            config,
            seed,
            line: line.to_string(),
            value,
        })
    }
}

/// Reads every row of a results file. With `drop_torn_tail`, a last line
/// without its newline (a run killed mid-write) is dropped and the file is
/// cut back to the last whole line so appending can continue.
///
/// A run (configuration, seed) is one row: a line that repeats an earlier
/// one byte for byte is dropped (runs are deterministic, so it is the same
/// run written twice), and one that gives the same run other figures is an
/// error naming both lines.
pub fn read_rows(path: &Path, drop_torn_tail: bool) -> Result<Vec<Row>, SweepError> {
    read_rows_of(path, drop_torn_tail, &|_| Ok(()))
}

/// [`read_rows`], with `belongs` saying whether a row is a run of the
/// sweep being resumed (`Err` with why not, reported at the row's line).
pub fn read_rows_of(
    path: &Path,
    drop_torn_tail: bool,
    belongs: &dyn Fn(&Row) -> Result<(), String>,
) -> Result<Vec<Row>, SweepError> {
    let io_err = |e: io::Error| SweepError::Io {
        path: path.to_path_buf(),
        error: e.to_string(),
    };
    let mut text = fs::read_to_string(path).map_err(io_err)?;
    if !text.is_empty() && !text.ends_with('\n') {
        if !drop_torn_tail {
            return Err(SweepError::Results {
                at: format!("{}:{}", path.display(), text.lines().count()),
                message: "the last line is cut off; the file is incomplete".into(),
            });
        }
        let whole = text.rfind('\n').map_or(0, |i| i + 1);
        text.truncate(whole);
        let file = fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io_err)?;
        file.set_len(whole as u64).map_err(io_err)?;
    }
    let mut rows: Vec<Row> = Vec::new();
    // (configuration, seed) → (line number, index in `rows`).
    let mut seen: std::collections::BTreeMap<(usize, u64), (usize, usize)> = Default::default();
    for (i, line) in text.lines().enumerate() {
        let at = || format!("{}:{}", path.display(), i + 1);
        let row = Row::parse(line, &at)?;
        belongs(&row).map_err(|message| SweepError::Results { at: at(), message })?;
        match seen.get(&(row.config, row.seed)) {
            Some(&(_, k)) if rows[k].line == row.line => {} // written twice
            Some(&(first, _)) => {
                return Err(SweepError::Results {
                    at: at(),
                    message: format!(
                        "configuration {}, seed {} again, with other figures than on line \
                         {first}: a run has one row; delete the wrong line (or both, to run \
                         it again with --resume)",
                        row.config, row.seed
                    ),
                })
            }
            None => {
                seen.insert((row.config, row.seed), (i + 1, rows.len()));
                rows.push(row);
            }
        }
    }
    Ok(rows)
}

/// Appends rows to the partial files as they finish: the JSON line to
/// `results.jsonl.partial` (the record `--resume` reads) and, for people
/// who watch a long sweep, its cells to `results.csv.partial`. The partial
/// CSV's columns are those of the first row it holds; a later row's column
/// that it lacks (an optional summary section) is left out there and is in
/// the final `results.csv`.
#[derive(Debug)]
pub struct PartialWriter {
    jsonl: fs::File,
    jsonl_path: PathBuf,
    csv: fs::File,
    csv_path: PathBuf,
    columns: Option<Vec<String>>,
}

impl PartialWriter {
    /// Opens (creating or appending to) `dir/results.jsonl.partial` and
    /// starts `dir/results.csv.partial` afresh with the rows already kept.
    pub fn open(dir: &Path, kept: &[Row]) -> Result<PartialWriter, SweepError> {
        let io_err = |p: &Path, e: io::Error| SweepError::Io {
            path: p.to_path_buf(),
            error: e.to_string(),
        };
        let jsonl_path = dir.join(PARTIAL_JSONL);
        let jsonl = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&jsonl_path)
            .map_err(|e| io_err(&jsonl_path, e))?;
        let csv_path = dir.join(PARTIAL_CSV);
        let csv = fs::File::create(&csv_path).map_err(|e| io_err(&csv_path, e))?;
        let mut w = PartialWriter {
            jsonl,
            jsonl_path,
            csv,
            csv_path,
            columns: None,
        };
        for row in kept {
            w.append_csv(row)?;
        }
        Ok(w)
    }

    /// Appends one row: its line (written whole, with its newline, in one
    /// write) and its CSV cells.
    pub fn append(&mut self, row: &Row) -> Result<(), SweepError> {
        let mut buf = Vec::with_capacity(row.line.len() + 1);
        buf.extend_from_slice(row.line.as_bytes());
        buf.push(b'\n');
        self.jsonl.write_all(&buf).map_err(|e| SweepError::Io {
            path: self.jsonl_path.clone(),
            error: e.to_string(),
        })?;
        self.append_csv(row)
    }

    fn append_csv(&mut self, row: &Row) -> Result<(), SweepError> {
        let cells = row.cells();
        let mut out = csv::Writer::from_writer(Vec::new());
        let csv_err = |e: csv::Error| SweepError::Results {
            at: PARTIAL_CSV.into(),
            message: e.to_string(),
        };
        let columns = match &self.columns {
            Some(c) => c,
            None => {
                let c: Vec<String> = cells.iter().map(|(k, _)| k.clone()).collect();
                out.write_record(&c).map_err(csv_err)?;
                self.columns.insert(c)
            }
        };
        let by_name: std::collections::BTreeMap<&str, &str> = (cells.iter())
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let record: Vec<&str> = (columns.iter())
            .map(|c| by_name.get(c.as_str()).copied().unwrap_or(""))
            .collect();
        out.write_record(&record).map_err(csv_err)?;
        let bytes = out.into_inner().map_err(|e| SweepError::Results {
            at: PARTIAL_CSV.into(),
            message: e.to_string(),
        })?;
        self.csv.write_all(&bytes).map_err(|e| SweepError::Io {
            path: self.csv_path.clone(),
            error: e.to_string(),
        })
    }
}

/// Writes `bytes` to `path` through a temporary file in the same
/// directory and a rename, so `path` is either absent, the old file, or
/// complete.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SweepError> {
    let io_err = |p: &Path, e: io::Error| SweepError::Io {
        path: p.to_path_buf(),
        error: e.to_string(),
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
    file.write_all(bytes).map_err(|e| io_err(&tmp, e))?;
    file.sync_all().map_err(|e| io_err(&tmp, e))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|e| io_err(path, e))
}

/// Writes the final `results.jsonl` and `results.csv` from rows sorted by
/// (configuration, seed), then removes the partial file.
pub fn finish(dir: &Path, rows: &mut [Row]) -> Result<(), SweepError> {
    rows.sort_by_key(|r| (r.config, r.seed));
    let mut jsonl = String::new();
    for r in rows.iter() {
        jsonl.push_str(&r.line);
        jsonl.push('\n');
    }
    write_atomic(&dir.join(RESULTS_JSONL), jsonl.as_bytes())?;
    write_atomic(&dir.join(RESULTS_CSV), &csv_bytes(rows)?)?;
    for partial in [PARTIAL_JSONL, PARTIAL_CSV] {
        match fs::remove_file(dir.join(partial)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(SweepError::Io {
                    path: dir.join(partial),
                    error: e.to_string(),
                })
            }
            _ => {}
        }
    }
    Ok(())
}

/// The CSV: columns `config`, `seed`, `knob.<key>` for each knob, then
/// every summary field; a field some rows lack (an optional section such
/// as `cost`) is an empty cell there. Columns appear in the order rows
/// first show them.
fn csv_bytes(rows: &[Row]) -> Result<Vec<u8>, SweepError> {
    let flat: Vec<Vec<(String, String)>> = rows.iter().map(Row::cells).collect();
    let mut columns: Vec<&str> = Vec::new();
    let mut index: std::collections::BTreeMap<&str, usize> = Default::default();
    for cells in &flat {
        for (name, _) in cells {
            if !index.contains_key(name.as_str()) {
                index.insert(name, columns.len());
                columns.push(name);
            }
        }
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| SweepError::Results {
        at: RESULTS_CSV.into(),
        message: e.to_string(),
    };
    w.write_record(&columns).map_err(csv_err)?;
    let mut record = vec![""; columns.len()];
    for cells in &flat {
        record.iter_mut().for_each(|c| *c = "");
        for (name, value) in cells {
            record[index[name.as_str()]] = value;
        }
        w.write_record(&record).map_err(csv_err)?;
    }
    w.into_inner().map_err(|e| SweepError::Results {
        at: RESULTS_CSV.into(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(json: &str) -> Vec<(String, String)> {
        let v: Json = serde_json::from_str(json).unwrap();
        let mut out = Vec::new();
        v.flatten_into("", &mut out);
        out
    }

    #[test]
    fn flattening_keeps_key_order_and_uses_set_spelling() {
        let got = flat(r#"{"z":1,"a":{"y":true,"b":null},"t":[{"m":"x"},{"m":2.5}]}"#);
        let expect = [
            ("z", "1"),
            ("a.y", "true"),
            ("a.b", ""),
            ("t[0].m", "x"),
            ("t[1].m", "2.5"),
        ];
        assert_eq!(
            got,
            expect.map(|(a, b)| (a.to_string(), b.to_string())).to_vec()
        );
    }

    #[test]
    fn rows_need_config_and_seed() {
        let at = || "f:3".to_string();
        assert_eq!(
            Row::parse(r#"{"config":2,"seed":9}"#, &at).unwrap().config,
            2
        );
        for (line, expect) in [
            (r#"{"seed":9}"#, "f:3: field `config`"),
            (r#"{"config":1,"seed":-1}"#, "field `seed`"),
            ("{\"config\":1", "not a results row"),
        ] {
            let message = Row::parse(line, &at).unwrap_err().to_string();
            assert!(message.contains(expect), "{message}");
        }
    }

    #[test]
    fn csv_takes_the_union_of_columns_in_first_seen_order() {
        let rows: Vec<Row> = [
            r#"{"config":0,"seed":1,"knobs":{"a":1},"summary":{"x":1}}"#,
            r#"{"config":1,"seed":1,"knobs":{"a":2},"summary":{"x":2,"cost":{"usd":3}}}"#,
        ]
        .iter()
        .map(|l| Row::parse(l, &String::new).unwrap())
        .collect();
        let text = String::from_utf8(csv_bytes(&rows).unwrap()).unwrap();
        assert_eq!(text, "config,seed,knob.a,x,cost.usd\n0,1,1,1,\n1,1,2,2,3\n");
    }
}
