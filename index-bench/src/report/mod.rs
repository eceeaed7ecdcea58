//! Reporting for a benchmark run: the long-format CSV ([`csv`]), the run
//! manifest ([`manifest`]), per-configuration summaries ([`summary`]), the
//! markdown and terminal tables ([`markdown`]) and SVG plots ([`plots`]).
//!
//! [`write_report`] writes all of them into one run directory:
//!
//! ```text
//! <dir>/results.csv        every measurement (one row per repeat)
//! <dir>/ratios.csv         every ordex index against every peer: paired
//!                          ratio, interval, target and verdict
//! <dir>/manifest.json      machine, toolchain, commit, options
//! <dir>/report.md          tables; embeds the plots below by relative path
//! <dir>/*.svg              throughput-<keyset>, bytes-per-entry,
//!                          latency-<workload>, scaling-<workload>
//! ```

use std::io;
use std::path::{Path, PathBuf};

use crate::record::Row;

pub mod csv;
pub mod manifest;
pub mod markdown;
pub mod plots;
pub mod summary;

pub use csv::{read_csv, write_csv, write_ratios_csv};
pub use manifest::{collect, Manifest};
pub use markdown::{render_markdown, render_sweep, render_terminal};
pub use plots::{write_plots, write_sweep_plot};
pub use summary::{
    mix_read_pct, peer_ratios, scaling, summarize, PeerRatio, Scaling, ScalingPoint, Summary,
    Verified,
};

/// File name of the CSV inside a run directory.
pub const CSV_FILE: &str = "results.csv";
/// File name of the ratios CSV inside a run directory.
pub const RATIOS_FILE: &str = "ratios.csv";
/// File name of the manifest inside a run directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// File name of the markdown report inside a run directory.
pub const MARKDOWN_FILE: &str = "report.md";

/// Writes `results.csv`, `ratios.csv`, `manifest.json`, `report.md` and the SVG plots into
/// `dir` (created if missing); returns the paths written, CSV first.
pub fn write_report(dir: &Path, rows: &[Row], manifest: &Manifest) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let p = dir.join(CSV_FILE);
    write_csv(&p, rows)?;
    written.push(p);
    let p = dir.join(RATIOS_FILE);
    write_ratios_csv(&p, &peer_ratios(rows))?;
    written.push(p);
    let p = dir.join(MANIFEST_FILE);
    manifest.write_json(&p)?;
    written.push(p);
    let p = dir.join(MARKDOWN_FILE);
    std::fs::write(&p, render_markdown(rows, manifest))?;
    written.push(p);
    written.extend(write_plots(dir, rows)?);
    Ok(written)
}

/// Number formatting shared by the tables and plots.
pub(crate) mod fmt {
    /// Throughput with about three significant digits: `123`, `12.3`, `1.23`, `0.123`.
    pub(crate) fn mops(v: f64) -> String {
        if !v.is_finite() {
            return "—".into();
        }
        let a = v.abs();
        if a >= 100.0 {
            format!("{v:.0}")
        } else if a >= 10.0 {
            format!("{v:.1}")
        } else if a >= 1.0 {
            format!("{v:.2}")
        } else {
            format!("{v:.3}")
        }
    }

    /// A latency in nanoseconds with a fitting unit: `85 ns`, `1.2 µs`, `3.4 ms`, `1.5 s`.
    pub(crate) fn ns(v: f64) -> String {
        if !v.is_finite() {
            return "—".into();
        }
        let (x, unit) = if v < 1e3 {
            (v, "ns")
        } else if v < 1e6 {
            (v / 1e3, "µs")
        } else if v < 1e9 {
            (v / 1e6, "ms")
        } else {
            (v / 1e9, "s")
        };
        if x >= 100.0 || unit == "ns" {
            format!("{x:.0} {unit}")
        } else if x >= 10.0 {
            format!("{x:.1} {unit}")
        } else {
            format!("{x:.2} {unit}")
        }
    }

    /// A latency axis tick: `100 ns`, `1 µs`, `2.5 ms` (no trailing zeros).
    pub(crate) fn ns_tick(v: f64) -> String {
        let (x, unit) = if v < 1e3 {
            (v, "ns")
        } else if v < 1e6 {
            (v / 1e3, "µs")
        } else if v < 1e9 {
            (v / 1e6, "ms")
        } else {
            (v / 1e9, "s")
        };
        format!("{} {unit}", tick(x))
    }

    /// A ratio: `1.25×`.
    pub(crate) fn ratio(v: f64) -> String {
        if !v.is_finite() {
            return "—".into();
        }
        if v >= 10.0 {
            format!("{v:.1}×")
        } else {
            format!("{v:.2}×")
        }
    }

    /// Bytes per entry: `48.2`, or `—` when not measured.
    pub(crate) fn bytes(v: f64) -> String {
        if !v.is_finite() {
            return "—".into();
        }
        if v >= 1000.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.1}")
        }
    }

    /// An axis tick value without trailing zeros: `0`, `2.5`, `10`, `1.25`.
    pub(crate) fn tick(v: f64) -> String {
        let s = format!("{v:.3}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" {
            "0".into()
        } else {
            s.to_string()
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn formats() {
            assert_eq!(mops(123.4), "123");
            assert_eq!(mops(12.34), "12.3");
            assert_eq!(mops(1.234), "1.23");
            assert_eq!(mops(0.1234), "0.123");
            assert_eq!(ns(85.4), "85 ns");
            assert_eq!(ns(1234.0), "1.23 µs");
            assert_eq!(ns(45_600_000.0), "45.6 ms");
            assert_eq!(ns(f64::NAN), "—");
            assert_eq!(ratio(1.25), "1.25×");
            assert_eq!(ns_tick(1000.0), "1 µs");
            assert_eq!(ns_tick(2_500_000.0), "2.5 ms");
            assert_eq!(bytes(f64::NAN), "—");
            assert_eq!(tick(2.5), "2.5");
            assert_eq!(tick(10.0), "10");
            assert_eq!(tick(-0.0001), "0");
        }
    }
}
