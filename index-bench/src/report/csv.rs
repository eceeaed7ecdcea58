//! The long-format CSVs: `results.csv`, one [`Row`] per measurement, and
//! `ratios.csv`, one [`PeerRatio`] per ordex index, peer and configuration.
//!
//! Written and read with the `csv` crate through serde: fields with commas,
//! quotes or line breaks are quoted; floats are written in their shortest
//! round-trip form (`NaN` for a missing `bytes_per_entry`), so [`write_csv`]
//! followed by [`read_csv`] gives back the same rows bit for bit. The reader
//! maps columns by header name, so a file whose columns were reordered (by
//! a spreadsheet, say) still reads; a missing column is an error that names
//! it.

use std::io;
use std::path::Path;

use serde::Serialize;

use super::summary::PeerRatio;
use crate::record::{Row, HEADER};

/// Writes `rows` to `path` (created or truncated), header first.
pub fn write_csv(path: &Path, rows: &[Row]) -> io::Result<()> {
    std::fs::write(path, to_csv_string(rows))
}

/// Reads a CSV written by [`write_csv`] (or any CSV with [`Row`]'s columns,
/// in any order). Errors of kind `InvalidData` name the line and field.
pub fn read_csv(path: &Path) -> io::Result<Vec<Row>> {
    parse_csv(&std::fs::read_to_string(path)?)
}

/// The CSV text of `rows` (what [`write_csv`] writes). The contention
/// columns ([`CONTENTION_HEADER`](crate::record::CONTENTION_HEADER)) are written if any row carries them
/// (rows without them get NaN there), and not at all otherwise.
pub fn to_csv_string(rows: &[Row]) -> String {
    if rows.iter().any(Row::has_contention) && !rows.iter().all(Row::has_contention) {
        let filled: Vec<Row> = rows
            .iter()
            .cloned()
            .map(|mut r| {
                r.restarts_per_op.get_or_insert(f64::NAN);
                r.waits_per_op.get_or_insert(f64::NAN);
                r
            })
            .collect();
        return serialize(&filled);
    }
    serialize(rows)
}

/// Parses CSV text (what [`read_csv`] does after reading the file).
pub fn parse_csv(text: &str) -> io::Result<Vec<Row>> {
    if text.trim().is_empty() {
        return Err(invalid("empty CSV: no header line".to_string()));
    }
    let mut reader = ::csv::ReaderBuilder::new()
        .trim(::csv::Trim::Headers)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| invalid(e.to_string()))?
        .clone();
    if let Some(name) = HEADER.iter().find(|n| !headers.iter().any(|h| h == **n)) {
        return Err(invalid(format!("CSV header lacks column `{name}`")));
    }
    reader
        .deserialize()
        .map(|r| r.map_err(|e| explain(&e, &headers)))
        .collect()
}

/// An error that names the line and, for a bad value, its column.
fn explain(e: &::csv::Error, headers: &::csv::StringRecord) -> io::Error {
    let line = e.position().map_or(0, |p| p.line());
    if let ::csv::ErrorKind::Deserialize { err, .. } = e.kind() {
        let column = err
            .field()
            .and_then(|f| headers.get(f as usize))
            .unwrap_or("?");
        return invalid(format!("line {line}, column `{column}`: {}", err.kind()));
    }
    invalid(format!("line {line}: {e}"))
}

/// One line of `ratios.csv`.
#[derive(Serialize)]
struct RatioRecord<'a> {
    workload: &'a str,
    keyset: &'a str,
    value_size: usize,
    threads: usize,
    index: &'a str,
    peer: &'a str,
    repeats: usize,
    ratio: f64,
    ci_low: f64,
    ci_high: f64,
    ci_level: f64,
    target: Option<f64>,
    verdict: &'a str,
}

/// Writes `ratios.csv`: every ordex index against every peer, per
/// configuration, with the paired ratio's median, interval and coverage,
/// and the target and verdict where there is one.
pub fn write_ratios_csv(path: &Path, ratios: &[PeerRatio]) -> io::Result<()> {
    let records: Vec<RatioRecord<'_>> = ratios
        .iter()
        .map(|r| RatioRecord {
            workload: &r.workload,
            keyset: &r.keyset,
            value_size: r.value_size,
            threads: r.threads,
            index: &r.index,
            peer: &r.peer,
            repeats: r.ratio.n,
            ratio: r.ratio.median,
            ci_low: r.ratio.low,
            ci_high: r.ratio.high,
            ci_level: r.ratio.level,
            target: r.target.map(|t| t.min),
            verdict: r.verdict().map_or("", |v| v.name()),
        })
        .collect();
    std::fs::write(path, serialize(&records))
}

fn serialize<T: Serialize>(records: &[T]) -> String {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    for r in records {
        w.serialize(r).expect("serializing to memory cannot fail");
    }
    let bytes = w.into_inner().expect("flushing to memory cannot fail");
    String::from_utf8(bytes).expect("the CSV of UTF-8 fields is UTF-8")
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::CONTENTION_HEADER;

    fn row(verified: &str, bpe: f64) -> Row {
        Row {
            run: "run-1".into(),
            index: "ordex-skiplist".into(),
            ordex: true,
            workload: "ycsb-a".into(),
            keyset: "u64-random".into(),
            value_size: 8,
            threads: 4,
            oversubscribed: true,
            repeat: 2,
            entries: 1_000_000,
            ops: 12_345_678,
            seconds: 0.1 + 0.2, // not exactly representable in decimal
            mops: 41.152_26,
            p50_ns: 80,
            p90_ns: 120,
            p99_ns: 900,
            p999_ns: 4_000,
            max_ns: u64::MAX,
            bytes_per_entry: bpe,
            verified: verified.into(),
            restarts_per_op: None,
            waits_per_op: None,
        }
    }

    fn same(a: &Row, b: &Row) -> bool {
        let mut a2 = a.clone();
        let mut b2 = b.clone();
        let bits_equal = a.bytes_per_entry.to_bits() == b.bytes_per_entry.to_bits()
            || (a.bytes_per_entry.is_nan() && b.bytes_per_entry.is_nan());
        a2.bytes_per_entry = 0.0;
        b2.bytes_per_entry = 0.0;
        a2 == b2
            && bits_equal
            && a.seconds.to_bits() == b.seconds.to_bits()
            && a.mops.to_bits() == b.mops.to_bits()
    }

    #[test]
    fn round_trip_is_exact() {
        let rows = vec![
            row("ok", 48.123_456_789_012_34),
            row("n/a", f64::NAN),
            row(r#"FAILED: key 17, expected "a", got "b""#, f64::NAN),
            row("FAILED: multi\nline\r\nmessage", 1e-300),
            row(" padded ", -0.0),
            row("", f64::INFINITY),
        ];
        let dir = std::env::temp_dir().join(format!("report-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("results.csv");
        write_csv(&path, &rows).unwrap();
        let back = read_csv(&path).unwrap();
        assert_eq!(back.len(), rows.len());
        for (a, b) in rows.iter().zip(&back) {
            assert!(same(a, b), "{a:?}\n!=\n{b:?}");
        }
        // Writing again gives identical bytes.
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, to_csv_string(&back));
        assert_eq!(text.lines().next().unwrap(), HEADER.join(","));
        assert!(text.contains(r#""FAILED: key 17, expected ""a"", got ""b""""#));
        assert!(text.contains(",NaN,"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Contention columns appear only in a file whose rows carry them,
    /// NaN where an index does not count, and read back as they were; a
    /// file without them reads as rows without them.
    #[test]
    fn contention_columns_only_when_recorded() {
        let plain = to_csv_string(&[row("ok", 1.0)]);
        assert_eq!(plain.lines().next().unwrap(), HEADER.join(","));
        let mut counted = row("ok", 1.0);
        counted.restarts_per_op = Some(0.25);
        counted.waits_per_op = Some(0.0);
        let rows = vec![counted.clone(), row("ok", 2.0)];
        let text = to_csv_string(&rows);
        let header: Vec<&str> = HEADER.iter().chain(CONTENTION_HEADER).copied().collect();
        assert_eq!(text.lines().next().unwrap(), header.join(","));
        assert!(
            text.lines().nth(1).unwrap().ends_with(",ok,0.25,0.0"),
            "{text}"
        );
        assert!(
            text.lines().nth(2).unwrap().ends_with(",ok,NaN,NaN"),
            "{text}"
        );
        let back = parse_csv(&text).unwrap();
        assert!(same(&back[0], &counted));
        assert!(back[1].restarts_per_op.unwrap().is_nan());
        assert!(back[1].waits_per_op.unwrap().is_nan());
        let back = parse_csv(&plain).unwrap();
        assert!(same(&back[0], &row("ok", 1.0)));
        assert!(!back[0].has_contention());
    }

    #[test]
    fn reads_reordered_columns_and_crlf() {
        let text = to_csv_string(&[row("ok", 10.5)]);
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let values: Vec<&str> = lines.next().unwrap().split(',').collect();
        let rev = |v: &[&str]| v.iter().rev().copied().collect::<Vec<_>>().join(",");
        let swapped = format!("{}\r\n{}\r\n", rev(&header), rev(&values));
        let back = parse_csv(&swapped).unwrap();
        assert!(same(&back[0], &row("ok", 10.5)));
    }

    #[test]
    fn errors_are_reported() {
        assert!(parse_csv("").is_err());
        assert!(parse_csv("run,index\nx,y\n").is_err()); // missing columns
        let mut text = to_csv_string(&[row("ok", 1.0)]);
        text = text.replace(",4,true,2,", ",four,true,2,");
        let err = parse_csv(&text).unwrap_err();
        assert!(err.to_string().contains("threads"), "{err}");
        let missing = text
            .lines()
            .next()
            .unwrap()
            .replace(",threads", ",thread_count");
        let err = parse_csv(&format!("{missing}\n")).unwrap_err();
        assert!(err.to_string().contains("threads"), "{err}");
    }
}
