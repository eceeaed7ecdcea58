//! The long-format CSV: one [`Row`] per line, header [`HEADER`].
//!
//! Hand-rolled (RFC 4180 style): a field is quoted when it contains a comma,
//! a double quote, a line break or leading/trailing whitespace; quotes inside
//! a quoted field are doubled. Floats are written with Rust's shortest
//! round-trip representation (`NaN` for a missing `bytes_per_entry`), so
//! [`write_csv`] followed by [`read_csv`] gives back the same rows bit for bit.
//!
//! The reader maps columns by header name, so a file whose columns were
//! reordered (e.g. by a spreadsheet) still reads; a missing column is an error.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

use crate::record::{Row, HEADER};

/// Writes `rows` to `path` (created or truncated), header first.
pub fn write_csv(path: &Path, rows: &[Row]) -> io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    out.write_all(to_csv_string(rows).as_bytes())?;
    out.flush()
}

/// Reads a CSV written by [`write_csv`] (or any CSV with the [`HEADER`]
/// columns, in any order). Errors of kind `InvalidData` name the line.
pub fn read_csv(path: &Path) -> io::Result<Vec<Row>> {
    let mut text = String::new();
    File::open(path)?.read_to_string(&mut text)?;
    parse_csv(&text)
}

/// The CSV text of `rows` (what [`write_csv`] writes).
pub fn to_csv_string(rows: &[Row]) -> String {
    let mut s = String::new();
    push_record(&mut s, HEADER.iter().copied());
    for r in rows {
        let fields = row_fields(r);
        push_record(&mut s, fields.iter().map(String::as_str));
    }
    s
}

/// Parses CSV text (what [`read_csv`] does after reading the file).
pub fn parse_csv(text: &str) -> io::Result<Vec<Row>> {
    let records = split_records(text)?;
    let mut it = records.into_iter();
    let (_, header) = it
        .next()
        .ok_or_else(|| invalid("empty CSV: no header line".to_string()))?;
    let mut col = Vec::with_capacity(HEADER.len());
    for name in HEADER {
        let pos = header
            .iter()
            .position(|h| h.trim() == *name)
            .ok_or_else(|| invalid(format!("CSV header lacks column `{name}`")))?;
        col.push(pos);
    }
    let mut rows = Vec::new();
    for (line, rec) in it {
        if rec.len() == 1 && rec[0].is_empty() {
            continue; // blank line
        }
        if rec.len() != header.len() {
            return Err(invalid(format!(
                "line {line}: {} fields, header has {}",
                rec.len(),
                header.len()
            )));
        }
        let f = |i: usize| rec[col[i]].as_str();
        rows.push(Row {
            run: f(0).to_string(),
            index: f(1).to_string(),
            ordex: parse(f(2), line, HEADER[2])?,
            workload: f(3).to_string(),
            keyset: f(4).to_string(),
            value_size: parse(f(5), line, HEADER[5])?,
            threads: parse(f(6), line, HEADER[6])?,
            oversubscribed: parse(f(7), line, HEADER[7])?,
            repeat: parse(f(8), line, HEADER[8])?,
            entries: parse(f(9), line, HEADER[9])?,
            ops: parse(f(10), line, HEADER[10])?,
            seconds: parse(f(11), line, HEADER[11])?,
            mops: parse(f(12), line, HEADER[12])?,
            p50_ns: parse(f(13), line, HEADER[13])?,
            p90_ns: parse(f(14), line, HEADER[14])?,
            p99_ns: parse(f(15), line, HEADER[15])?,
            p999_ns: parse(f(16), line, HEADER[16])?,
            max_ns: parse(f(17), line, HEADER[17])?,
            bytes_per_entry: parse(f(18), line, HEADER[18])?,
            verified: f(19).to_string(),
        });
    }
    Ok(rows)
}

fn row_fields(r: &Row) -> [String; 20] {
    [
        r.run.clone(),
        r.index.clone(),
        r.ordex.to_string(),
        r.workload.clone(),
        r.keyset.clone(),
        r.value_size.to_string(),
        r.threads.to_string(),
        r.oversubscribed.to_string(),
        r.repeat.to_string(),
        r.entries.to_string(),
        r.ops.to_string(),
        r.seconds.to_string(),
        r.mops.to_string(),
        r.p50_ns.to_string(),
        r.p90_ns.to_string(),
        r.p99_ns.to_string(),
        r.p999_ns.to_string(),
        r.max_ns.to_string(),
        r.bytes_per_entry.to_string(),
        r.verified.clone(),
    ]
}

fn push_record<'a>(s: &mut String, fields: impl Iterator<Item = &'a str>) {
    for (i, field) in fields.enumerate() {
        if i > 0 {
            s.push(',');
        }
        push_field(s, field);
    }
    s.push('\n');
}

fn push_field(s: &mut String, field: &str) {
    let needs_quotes = field.chars().any(|c| matches!(c, ',' | '"' | '\n' | '\r'))
        || field.starts_with(char::is_whitespace)
        || field.ends_with(char::is_whitespace);
    if needs_quotes {
        s.push('"');
        for c in field.chars() {
            if c == '"' {
                s.push('"');
            }
            s.push(c);
        }
        s.push('"');
    } else {
        s.push_str(field);
    }
}

/// Splits CSV text into records of fields, each with its 1-based starting
/// line number. Accepts `\n` and `\r\n` line ends and quoted line breaks.
fn split_records(text: &str) -> io::Result<Vec<(usize, Vec<String>)>> {
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut line = 1usize;
    let mut start_line = 1usize;
    let mut chars = text.chars().peekable();
    let mut in_quotes = false;
    let mut any = false; // anything seen in the current record
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                _ => {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => {
                in_quotes = true;
                any = true;
            }
            '"' => {
                return Err(invalid(format!(
                    "line {line}: stray quote inside an unquoted field"
                )))
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                any = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                fields.push(std::mem::take(&mut field));
                records.push((start_line, std::mem::take(&mut fields)));
                line += 1;
                start_line = line;
                any = false;
            }
            _ => {
                field.push(c);
                any = true;
            }
        }
    }
    if in_quotes {
        return Err(invalid(format!(
            "line {start_line}: quoted field not closed at end of file"
        )));
    }
    if any || !field.is_empty() {
        fields.push(field);
        records.push((start_line, fields));
    }
    Ok(records)
}

fn parse<T: std::str::FromStr>(s: &str, line: usize, column: &str) -> io::Result<T> {
    s.trim().parse().map_err(|_| {
        invalid(format!(
            "line {line}: column `{column}`: cannot parse {s:?}"
        ))
    })
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(text.starts_with(&HEADER.join(",")));
        assert!(text.contains(r#""FAILED: key 17, expected ""a"", got ""b""""#));
        assert!(text.contains(",NaN,"));
        std::fs::remove_dir_all(&dir).unwrap();
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
        let unterminated = format!("{}\n\"abc", HEADER.join(","));
        assert!(parse_csv(&unterminated).is_err());
    }
}
