//! SVG plots of a run, drawn with plotters' SVG backend.
//!
//! No font feature is enabled: plotters then estimates text extents itself
//! and the SVG carries plain `<text>` elements (`font-family="sans-serif"`)
//! that the viewer lays out, so nothing here needs fontconfig or font files.
//!
//! Every plot is a grid of panels (one per workload or key set, each with its
//! own y axis, since throughputs differ by orders of magnitude between
//! workloads) with a shared legend in a column to the right, outside the
//! data. Each index keeps one colour in every plot of a run: ordex backends
//! in saturated colours (thick lines, filled markers), peers in muted ones
//! (thin lines, hollow markers), `null` grey and dashed.

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::io;
use std::path::{Path, PathBuf};

use plotters::coord::combinators::IntoLogRange;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::fmt;
use super::summary::{
    keyset_rank, median, mix_read_pct, summarize, workload_rank, Summary, NULL_INDEX,
};
use crate::record::Row;

/// Workloads whose latency distribution is plotted, in order of preference:
/// every one of these that was measured gets a `latency-<workload>.svg`; if
/// none was, the first measured workload does.
pub const LATENCY_WORKLOADS: &[&str] = &["ycsb-b", "ycsb-c", "read-uniform"];

/// A plot [`write_plots`] writes for a set of rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlotFile {
    /// File name inside the output directory, e.g. `throughput-u64-random.svg`.
    pub file: String,
    /// Human-readable title.
    pub title: String,
}

/// The plots [`write_plots`] would write for `rows`, in order, without
/// drawing anything (used by the markdown report to link them).
pub fn plot_files(rows: &[Row]) -> Vec<PlotFile> {
    plan(&summarize(rows))
        .into_iter()
        .map(|p| PlotFile {
            file: p.file,
            title: p.title,
        })
        .collect()
}

/// Draws the plots of `rows` as SVG files into `dir` (created if missing)
/// and returns their paths:
///
/// - `throughput-<keyset>.svg`: per workload, one bar per index at the
///   largest thread count (median, min–max whisker);
/// - `bytes-per-entry.svg`: per key set, one bar per index (omitted if no
///   row measured memory);
/// - `latency-<workload>.svg`: p50 … max per index on a log axis, for the
///   read-heavy workloads ([`LATENCY_WORKLOADS`]);
/// - `scaling-<workload>.svg`: throughput against the measured thread
///   counts, one line per index, oversubscribed counts shaded and starred
///   (only for workloads measured at more than one thread count).
///
/// With more than one value size in `rows`, `<keyset>` becomes
/// `<keyset>-v<size>` and panels are per key set and value size.
pub fn write_plots(dir: &Path, rows: &[Row]) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let summaries = summarize(rows);
    let styles = Styles::new(&summaries);
    let mut out = Vec::new();
    for plot in plan(&summaries) {
        let path = dir.join(&plot.file);
        draw(&path, &plot, &styles)
            .map_err(|e| io::Error::other(format!("drawing {}: {e}", path.display())))?;
        out.push(path);
    }
    Ok(out)
}

/// Draws the read/write sweep of the `mix-<r>` rows of `rows` into the SVG
/// file `path`, titled `title`: throughput (median over repeats) against
/// read fraction, one line per index, one panel per thread count, in the
/// colours and legend of every other plot ([`write_plots`]). What `index-bench
/// techniques` plots.
pub fn write_sweep_plot(path: &Path, rows: &[Row], title: &str) -> io::Result<()> {
    let summaries: Vec<Summary> = summarize(rows)
        .into_iter()
        .filter(|s| mix_read_pct(&s.workload).is_some())
        .collect();
    let styles = Styles::new(&summaries);
    let reads: Vec<u8> = summaries
        .iter()
        .filter_map(|s| mix_read_pct(&s.workload))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let threads: BTreeMap<usize, bool> = summaries.iter().fold(BTreeMap::new(), |mut m, s| {
        *m.entry(s.threads).or_default() |= s.oversubscribed;
        m
    });
    let panels = threads
        .iter()
        .map(|(&t, &over)| {
            let mut by_index: BTreeMap<&str, Vec<(usize, f64)>> = BTreeMap::new();
            for s in summaries.iter().filter(|s| s.threads == t) {
                let r = mix_read_pct(&s.workload).expect("filtered to mixes");
                let x = reads.iter().position(|&x| x == r).expect("collected above");
                by_index
                    .entry(&s.index)
                    .or_default()
                    .push((x, s.median_mops));
            }
            let mut lines: Vec<Line> = by_index
                .into_iter()
                .map(|(index, mut points)| {
                    points.sort_by_key(|p| p.0);
                    Line {
                        index: index.to_string(),
                        points,
                    }
                })
                .collect();
            lines.sort_by_key(|l| styles.rank(&l.index));
            LinePanel {
                caption: threads_phrase(t, over),
                x_labels: reads.iter().map(u8::to_string).collect(),
                shade_from: None,
                lines,
            }
        })
        .collect();
    let over_note = if threads.values().any(|&o| o) {
        "; * = more threads than hardware threads (oversubscribed)"
    } else {
        ""
    };
    let plot = Plot {
        file: path
            .file_name()
            .map_or_else(String::new, |f| f.to_string_lossy().into_owned()),
        title: title.to_string(),
        subtitle: format!(
            "Median throughput over repeats, one line per index, one panel per thread count{over_note}"
        ),
        kind: Kind::Lines {
            log_y: false,
            x_desc: "reads (%)",
            y_desc: "throughput (Mops/s)",
            panels,
        },
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    draw(path, &plot, &styles)
        .map_err(|e| io::Error::other(format!("drawing {}: {e}", path.display())))
}

// ---------------------------------------------------------------------------
// Colours and legend order.

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Class {
    Ordex,
    Peer,
    Null,
}

/// Saturated colours for ordex backends.
const ORDEX_COLOURS: &[RGBColor] = &[
    RGBColor(0xd6, 0x27, 0x28), // red
    RGBColor(0x1f, 0x5f, 0xd6), // blue
    RGBColor(0x0b, 0x8f, 0x3e), // green
    RGBColor(0x8e, 0x24, 0xaa), // purple
    RGBColor(0xef, 0x6c, 0x00), // orange
    RGBColor(0x00, 0x83, 0x8f), // teal
];

/// Muted colours for peers.
const PEER_COLOURS: &[RGBColor] = &[
    RGBColor(0x8d, 0xa9, 0xc4), // steel blue
    RGBColor(0xd4, 0xa3, 0x73), // tan
    RGBColor(0x9c, 0xc0, 0x8f), // sage
    RGBColor(0xc3, 0xa5, 0xcf), // lavender
    RGBColor(0xd9, 0x96, 0x96), // dusty rose
    RGBColor(0x8f, 0xc4, 0xbd), // sea green
    RGBColor(0xc9, 0xc0, 0x7a), // olive
    RGBColor(0xa8, 0x93, 0x80), // taupe
];

const NULL_COLOUR: RGBColor = RGBColor(0x9e, 0x9e, 0x9e);
const TEXT: RGBColor = RGBColor(0x22, 0x22, 0x22);
const SUBTLE: RGBColor = RGBColor(0x66, 0x66, 0x66);

/// Colour and class of every index of a run, in legend order.
struct Styles {
    order: Vec<(String, Class, RGBColor)>,
}

impl Styles {
    fn new(summaries: &[Summary]) -> Styles {
        let mut classes: BTreeMap<&str, Class> = BTreeMap::new();
        for s in summaries {
            let c = if s.ordex {
                Class::Ordex
            } else if s.index == NULL_INDEX {
                Class::Null
            } else {
                Class::Peer
            };
            classes.insert(&s.index, c);
        }
        let mut named: Vec<(Class, &str)> = classes.into_iter().map(|(n, c)| (c, n)).collect();
        named.sort();
        let (mut o, mut p) = (0, 0);
        let order = named
            .into_iter()
            .map(|(c, n)| {
                let colour = match c {
                    Class::Ordex => {
                        o += 1;
                        ORDEX_COLOURS[(o - 1) % ORDEX_COLOURS.len()]
                    }
                    Class::Peer => {
                        p += 1;
                        PEER_COLOURS[(p - 1) % PEER_COLOURS.len()]
                    }
                    Class::Null => NULL_COLOUR,
                };
                (n.to_string(), c, colour)
            })
            .collect();
        Styles { order }
    }

    fn get(&self, index: &str) -> (Class, RGBColor) {
        self.order
            .iter()
            .find(|(n, _, _)| n == index)
            .map_or((Class::Peer, NULL_COLOUR), |(_, c, col)| (*c, *col))
    }

    fn rank(&self, index: &str) -> usize {
        self.order
            .iter()
            .position(|(n, _, _)| n == index)
            .unwrap_or(usize::MAX)
    }

    /// `names` in legend order.
    fn sorted<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let mut v: Vec<&str> = names
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        v.sort_by_key(|n| self.rank(n));
        v.into_iter().map(String::from).collect()
    }
}

// ---------------------------------------------------------------------------
// What to draw.

struct Plot {
    file: String,
    title: String,
    subtitle: String,
    kind: Kind,
}

enum Kind {
    Bars {
        y_desc: &'static str,
        panels: Vec<BarPanel>,
    },
    Lines {
        log_y: bool,
        x_desc: &'static str,
        y_desc: &'static str,
        panels: Vec<LinePanel>,
    },
}

struct BarPanel {
    caption: String,
    /// Index names, one slot each, in legend order (the same in every panel).
    slots: Vec<String>,
    bars: Vec<Bar>,
}

struct Bar {
    index: String,
    value: f64,
    lo: f64,
    hi: f64,
}

struct LinePanel {
    caption: String,
    /// Tick labels at x = 0, 1, 2, …
    x_labels: Vec<String>,
    /// Shade x positions from this one on (oversubscribed thread counts).
    shade_from: Option<usize>,
    lines: Vec<Line>,
}

struct Line {
    index: String,
    points: Vec<(usize, f64)>,
}

/// A (keyset, value size) pair: what a panel of a per-keyset plot shows.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Variant {
    rank: (usize, String),
    keyset: String,
    value_size: usize,
}

fn variants(summaries: &[Summary]) -> Vec<Variant> {
    summaries
        .iter()
        .map(|s| Variant {
            rank: keyset_rank(&s.keyset),
            keyset: s.keyset.clone(),
            value_size: s.value_size,
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Keeps a file name portable: anything but `[A-Za-z0-9._-]` becomes `_`.
fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn star(threads: usize, over: bool) -> String {
    if over {
        format!("{threads}*")
    } else {
        threads.to_string()
    }
}

/// `1 thread`, `4* threads`.
fn threads_phrase(threads: usize, over: bool) -> String {
    let s = if threads == 1 { "" } else { "s" };
    format!("{} thread{s}", star(threads, over))
}

fn plan(summaries: &[Summary]) -> Vec<Plot> {
    let styles = Styles::new(summaries);
    let variants = variants(summaries);
    let multi_vs = variants
        .iter()
        .map(|v| v.value_size)
        .collect::<BTreeSet<_>>()
        .len()
        > 1;
    let label = |v: &Variant| {
        if multi_vs {
            format!("{}, {} B values", v.keyset, v.value_size)
        } else {
            v.keyset.clone()
        }
    };
    let suffix = |v: &Variant| {
        if multi_vs {
            file_safe(&format!("{}-v{}", v.keyset, v.value_size))
        } else {
            file_safe(&v.keyset)
        }
    };
    let in_variant =
        |s: &&Summary, v: &Variant| s.keyset == v.keyset && s.value_size == v.value_size;
    let any_over = summaries.iter().any(|s| s.oversubscribed);
    let over_note = if any_over {
        "; * = more threads than hardware threads (oversubscribed)"
    } else {
        ""
    };
    let mut workloads: Vec<&str> = summaries
        .iter()
        .map(|s| s.workload.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    workloads.sort_by_key(|w| workload_rank(w));

    let mut plots = Vec::new();

    // Throughput per key set: a panel per workload at its largest thread count.
    for v in &variants {
        let vs: Vec<&Summary> = summaries.iter().filter(|s| in_variant(s, v)).collect();
        let slots = styles.sorted(vs.iter().map(|s| s.index.as_str()));
        let mut panels = Vec::new();
        for w in &workloads {
            let ws: Vec<&Summary> = vs.iter().copied().filter(|s| s.workload == *w).collect();
            let Some(t) = ws.iter().map(|s| s.threads).max() else {
                continue;
            };
            let at: Vec<&Summary> = ws.into_iter().filter(|s| s.threads == t).collect();
            let over = at.iter().any(|s| s.oversubscribed);
            panels.push(BarPanel {
                caption: format!("{w} · {}", threads_phrase(t, over)),
                slots: slots.clone(),
                bars: at
                    .iter()
                    .map(|s| Bar {
                        index: s.index.clone(),
                        value: s.median_mops,
                        lo: s.min_mops,
                        hi: s.max_mops,
                    })
                    .collect(),
            });
        }
        plots.push(Plot {
            file: format!("throughput-{}.svg", suffix(v)),
            title: format!("Throughput, {}", label(v)),
            subtitle: format!(
                "At the largest thread count measured; bar = median over repeats, whisker = min–max{over_note}"
            ),
            kind: Kind::Bars {
                y_desc: "throughput (Mops/s)",
                panels,
            },
        });
    }

    // Bytes per entry: a panel per key set.
    let mut panels = Vec::new();
    for v in &variants {
        let mut per_index: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for s in summaries.iter().filter(|s| in_variant(s, v)) {
            if s.bytes_per_entry.is_finite() {
                per_index
                    .entry(&s.index)
                    .or_default()
                    .push(s.bytes_per_entry);
            }
        }
        if per_index.is_empty() {
            continue;
        }
        let bars = per_index
            .iter()
            .map(|(i, xs)| Bar {
                index: i.to_string(),
                value: median(xs),
                lo: xs.iter().copied().fold(f64::INFINITY, f64::min),
                hi: xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            })
            .collect();
        panels.push(BarPanel {
            caption: label(v),
            slots: styles.sorted(per_index.keys().copied()),
            bars,
        });
    }
    if !panels.is_empty() {
        plots.push(Plot {
            file: "bytes-per-entry.svg".into(),
            title: "Memory: bytes per entry after load (heap, and mapped arenas)".into(),
            subtitle: "Median over all measurements of an index and key set; whisker = min–max"
                .into(),
            kind: Kind::Bars {
                y_desc: "bytes per entry",
                panels,
            },
        });
    }

    // Latency percentiles for the read-heavy workloads.
    let mut lat_workloads: Vec<&str> = LATENCY_WORKLOADS
        .iter()
        .copied()
        .filter(|w| workloads.contains(w))
        .collect();
    if lat_workloads.is_empty() {
        lat_workloads.extend(workloads.first().copied());
    }
    for w in lat_workloads {
        let mut panels = Vec::new();
        for v in &variants {
            let ws: Vec<&Summary> = summaries
                .iter()
                .filter(|s| s.workload == w && in_variant(s, v))
                .collect();
            let Some(t) = ws.iter().map(|s| s.threads).max() else {
                continue;
            };
            let at: Vec<&Summary> = ws.into_iter().filter(|s| s.threads == t).collect();
            let over = at.iter().any(|s| s.oversubscribed);
            let mut lines: Vec<Line> = at
                .iter()
                .map(|s| Line {
                    index: s.index.clone(),
                    points: [s.p50_ns, s.p90_ns, s.p99_ns, s.p999_ns, s.max_ns]
                        .into_iter()
                        .enumerate()
                        .filter(|(_, y)| y.is_finite())
                        .collect(),
                })
                .collect();
            lines.sort_by_key(|l| styles.rank(&l.index));
            panels.push(LinePanel {
                caption: format!("{} · {}", label(v), threads_phrase(t, over)),
                x_labels: ["p50", "p90", "p99", "p99.9", "max"]
                    .map(String::from)
                    .to_vec(),
                shade_from: None,
                lines,
            });
        }
        plots.push(Plot {
            file: format!("latency-{}.svg", file_safe(w)),
            title: format!("Latency distribution, {w}"),
            subtitle: format!(
                "Sampled per-operation latency at the largest thread count, median over repeats; log scale{over_note}"
            ),
            kind: Kind::Lines {
                log_y: true,
                x_desc: "percentile",
                y_desc: "latency (log scale)",
                panels,
            },
        });
    }

    // Scaling per workload: throughput against threads (only where more
    // than one thread count was measured).
    for w in &workloads {
        let counts: BTreeSet<usize> = summaries
            .iter()
            .filter(|s| s.workload == *w)
            .map(|s| s.threads)
            .collect();
        if counts.len() < 2 {
            continue;
        }
        let mut panels = Vec::new();
        for v in &variants {
            let ws: Vec<&Summary> = summaries
                .iter()
                .filter(|s| s.workload == *w && in_variant(s, v))
                .collect();
            if ws.is_empty() {
                continue;
            }
            let threads: Vec<(usize, bool)> = ws
                .iter()
                .map(|s| (s.threads, s.oversubscribed))
                .collect::<BTreeMap<_, _>>()
                .into_iter()
                .collect();
            let pos = |t: usize| threads.iter().position(|x| x.0 == t).unwrap_or(0);
            let mut by_index: BTreeMap<&str, Vec<(usize, f64)>> = BTreeMap::new();
            for s in &ws {
                by_index
                    .entry(&s.index)
                    .or_default()
                    .push((pos(s.threads), s.median_mops));
            }
            let mut lines: Vec<Line> = by_index
                .into_iter()
                .map(|(i, mut points)| {
                    points.sort_by_key(|p| p.0);
                    Line {
                        index: i.to_string(),
                        points,
                    }
                })
                .collect();
            lines.sort_by_key(|l| styles.rank(&l.index));
            panels.push(LinePanel {
                caption: label(v),
                x_labels: threads.iter().map(|&(t, o)| star(t, o)).collect(),
                shade_from: threads.iter().position(|t| t.1),
                lines,
            });
        }
        plots.push(Plot {
            file: format!("scaling-{}.svg", file_safe(w)),
            title: format!("Scaling, {w}"),
            subtitle: format!(
                "Median throughput against worker threads{}",
                if any_over {
                    "; shaded, * = more threads than hardware threads (oversubscribed)"
                } else {
                    ""
                }
            ),
            kind: Kind::Lines {
                log_y: false,
                x_desc: "worker threads",
                y_desc: "throughput (Mops/s)",
                panels,
            },
        });
    }
    plots
}

// ---------------------------------------------------------------------------
// Drawing.

type DrawResult = Result<(), Box<dyn Error>>;
type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

const FONT: &str = "sans-serif";
const TITLE_H: u32 = 64;
const LEGEND_W: u32 = 220;

fn panel_count(kind: &Kind) -> usize {
    match kind {
        Kind::Bars { panels, .. } => panels.len(),
        Kind::Lines { panels, .. } => panels.len(),
    }
}

/// Columns and rows of the panel grid, and the image size.
fn layout(n: usize, bars: bool) -> ((usize, usize), (u32, u32)) {
    let cols = match n {
        0 | 1 => 1,
        2 | 4 => 2,
        _ => 3,
    };
    let rows = n.max(1).div_ceil(cols);
    let panel_w: u32 = match cols {
        1 => 780,
        2 => 470,
        _ => 360,
    };
    // Bar panels carry their rotated index names below the axis.
    let panel_h: u32 = match (rows, bars) {
        (1, _) => 500,
        (_, true) => 440,
        (_, false) => 380,
    };
    let w = LEGEND_W + panel_w * cols as u32;
    let h = TITLE_H + panel_h * rows as u32;
    ((cols, rows), (w.max(1000), h.max(600)))
}

fn draw(path: &Path, plot: &Plot, styles: &Styles) -> DrawResult {
    let bars = matches!(plot.kind, Kind::Bars { .. });
    let ((cols, rows), (w, h)) = layout(panel_count(&plot.kind), bars);
    let root = SVGBackend::new(path, (w, h)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, body) = root.split_vertically(TITLE_H);
    top.draw(&Text::new(
        plot.title.clone(),
        (16, 10),
        (FONT, 27).into_font().style(FontStyle::Bold).color(&TEXT),
    ))?;
    top.draw(&Text::new(
        plot.subtitle.clone(),
        (16, 40),
        (FONT, 17).into_font().color(&SUBTLE),
    ))?;
    let (main, legend) = body.split_horizontally(w - LEGEND_W);
    let cells = main.split_evenly((rows, cols));
    let mut shown: BTreeSet<&str> = BTreeSet::new();
    match &plot.kind {
        Kind::Bars { y_desc, panels } => {
            for (cell, p) in cells.iter().zip(panels) {
                draw_bar_panel(cell, p, y_desc, styles)?;
                shown.extend(p.bars.iter().map(|b| b.index.as_str()));
            }
            draw_legend(&legend, &styles.sorted(shown), styles, false)?;
        }
        Kind::Lines {
            log_y,
            x_desc,
            y_desc,
            panels,
        } => {
            for (cell, p) in cells.iter().zip(panels) {
                draw_line_panel(cell, p, *log_y, x_desc, y_desc, styles)?;
                shown.extend(p.lines.iter().map(|l| l.index.as_str()));
            }
            draw_legend(&legend, &styles.sorted(shown), styles, true)?;
        }
    }
    root.present()?;
    Ok(())
}

/// A linear `f64` axis whose (bold) ticks are exactly the given positions:
/// categories at 0.5, 1.5, … for bars, or 0, 1, 2, … for line panels.
/// (plotters' own `WithKeyPoints` cannot be given a label formatter.)
#[derive(Clone)]
struct Ticks {
    range: std::ops::Range<f64>,
    ticks: Vec<f64>,
}

impl Ranged for Ticks {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.range.end - self.range.start;
        let frac = if span == 0.0 {
            0.0
        } else {
            (value - self.range.start) / span
        };
        limit.0 + ((limit.1 - limit.0) as f64 * frac).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new() // no light grid lines between categories
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.range.clone()
    }
}

/// The largest value a panel's y axis must show: `null` (a no-op baseline,
/// often ten times faster than any real index) is left out when anything
/// else is there, and drawn clipped with its value written on it.
fn axis_top<'a>(values: impl Iterator<Item = (&'a str, f64)> + Clone, styles: &Styles) -> f64 {
    let top = |with_null: bool| {
        values
            .clone()
            .filter(|(i, v)| v.is_finite() && (with_null || styles.get(i).0 != Class::Null))
            .map(|(_, v)| v)
            .fold(0.0f64, f64::max)
    };
    let t = top(false);
    if t > 0.0 {
        t
    } else {
        top(true)
    }
}

fn draw_bar_panel(area: &Area<'_>, p: &BarPanel, y_desc: &str, styles: &Styles) -> DrawResult {
    let n = p.slots.len().max(1);
    let top = axis_top(
        p.bars.iter().map(|b| {
            let hi = if b.hi.is_finite() {
                b.hi.max(b.value)
            } else {
                b.value
            };
            (b.index.as_str(), hi)
        }),
        styles,
    );
    let ymax = if top > 0.0 { top * 1.08 } else { 1.0 };
    let centres: Vec<f64> = (0..n).map(|i| i as f64 + 0.5).collect();
    // Rotated index names under the bars: ~0.62 em per character (the SVG
    // font size is plotters' size / 1.24).
    let label_len = p.slots.iter().map(|s| s.chars().count()).max().unwrap_or(4);
    let label_area = 18 + (label_len as f64 * 15.0 / 1.24 * 0.62) as u32;
    let mut chart = ChartBuilder::on(area)
        .caption(&p.caption, (FONT, 20).into_font().color(&TEXT))
        .margin(10)
        .margin_right(18)
        .x_label_area_size(label_area)
        .y_label_area_size(74)
        .build_cartesian_2d(
            Ticks {
                range: 0.0..n as f64,
                ticks: centres,
            },
            0f64..ymax,
        )?;
    let no_label = |_: &f64| String::new();
    let y_fmt = |y: &f64| fmt::tick(*y);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_max_light_lines(1)
        .light_line_style(RGBColor(0xf2, 0xf2, 0xf2))
        .bold_line_style(RGBColor(0xdd, 0xdd, 0xdd))
        .y_desc(y_desc)
        .axis_desc_style((FONT, 17).into_font().color(&TEXT))
        .y_label_style((FONT, 15).into_font().color(&TEXT))
        .x_label_formatter(&no_label)
        .y_label_formatter(&y_fmt)
        .y_labels(6)
        .draw()?;

    // Index names, reading upwards, ending just under each bar.
    let (bx, by) = area.get_base_pixel();
    for (i, name) in p.slots.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
        let (class, _) = styles.get(name);
        let font = (FONT, 15).into_font();
        let font = if class == Class::Ordex {
            font.style(FontStyle::Bold)
        } else {
            font
        };
        area.draw(&Text::new(
            name.clone(),
            (px - bx, py - by + 8),
            font.transform(FontTransform::Rotate270)
                .color(&TEXT)
                .pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
    }

    for b in &p.bars {
        let Some(i) = p.slots.iter().position(|s| *s == b.index) else {
            continue;
        };
        if !b.value.is_finite() {
            continue;
        }
        let (_, colour) = styles.get(&b.index);
        let x = i as f64;
        let clipped = b.value > ymax;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x + 0.14, 0.0), (x + 0.86, b.value.min(ymax))],
            colour.filled(),
        )))?;
        if clipped {
            // A white "break" across the bar and its value written inside.
            let y = ymax * 0.9;
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x + 0.1, y - ymax * 0.01), (x + 0.9, y + ymax * 0.02)],
                WHITE.stroke_width(3),
            )))?;
            let (px, py) = chart.backend_coord(&(x + 0.5, y));
            area.draw(&Text::new(
                format!("{} ↑", fmt::mops(b.value)),
                (px - bx, py - by + 10),
                (FONT, 15)
                    .into_font()
                    .transform(FontTransform::Rotate270)
                    .color(&WHITE)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
            continue;
        }
        if b.lo.is_finite() && b.hi.is_finite() && b.hi > b.lo {
            let c = x + 0.5;
            let whisker = ShapeStyle::from(&TEXT).stroke_width(1);
            chart.draw_series([
                PathElement::new(vec![(c, b.lo), (c, b.hi)], whisker),
                PathElement::new(vec![(c - 0.15, b.lo), (c + 0.15, b.lo)], whisker),
                PathElement::new(vec![(c - 0.15, b.hi), (c + 0.15, b.hi)], whisker),
            ])?;
        }
    }
    Ok(())
}

/// Mesh, axis titles and tick labels of a line panel (a macro: the two
/// panel kinds have different coordinate types).
macro_rules! configure_line_mesh {
    ($chart:expr, $x_desc:expr, $y_desc:expr, $x_fmt:expr, $y_fmt:expr) => {
        $chart
            .configure_mesh()
            .y_max_light_lines(1)
            .light_line_style(RGBColor(0xf2, 0xf2, 0xf2))
            .bold_line_style(RGBColor(0xdd, 0xdd, 0xdd))
            .x_desc($x_desc)
            .y_desc($y_desc)
            .axis_desc_style((FONT, 17).into_font().color(&TEXT))
            .label_style((FONT, 15).into_font().color(&TEXT))
            .x_label_formatter($x_fmt)
            .y_label_formatter($y_fmt)
            .draw()?
    };
}

fn draw_line_panel(
    area: &Area<'_>,
    p: &LinePanel,
    log_y: bool,
    x_desc: &str,
    y_desc: &str,
    styles: &Styles,
) -> DrawResult {
    let n = p.x_labels.len().max(1);
    let ys = || p.lines.iter().flat_map(|l| l.points.iter().map(|pt| pt.1));
    let x_range = -0.35f64..(n as f64 - 0.65);
    let keys: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let labels = &p.x_labels;
    let x_fmt = |x: &f64| {
        let i = x.round();
        if i >= 0.0 && (i as usize) < labels.len() {
            labels[i as usize].clone()
        } else {
            String::new()
        }
    };
    if log_y {
        let lo = ys().filter(|y| *y > 0.0).fold(f64::INFINITY, f64::min);
        let hi = ys().fold(0.0f64, f64::max);
        let (lo, hi) = if lo.is_finite() && hi > 0.0 {
            (lo / 1.6, hi * 1.6)
        } else {
            (1.0, 1000.0)
        };
        let lo = lo.max(0.5);
        let mut chart = ChartBuilder::on(area)
            .caption(&p.caption, (FONT, 20).into_font().color(&TEXT))
            .margin(10)
            .margin_right(18)
            .x_label_area_size(48)
            .y_label_area_size(90)
            .build_cartesian_2d(
                Ticks {
                    range: x_range,
                    ticks: keys,
                },
                (lo..hi).log_scale(),
            )?;
        let y_fmt = |y: &f64| fmt::ns_tick(*y);
        configure_line_mesh!(chart, x_desc, y_desc, &x_fmt, &y_fmt);
        let all: Vec<&Line> = p.lines.iter().collect();
        draw_lines(&mut chart, &all, styles, |y| y.max(lo))?;
    } else {
        let hi = axis_top(
            p.lines
                .iter()
                .flat_map(|l| l.points.iter().map(move |pt| (l.index.as_str(), pt.1))),
            styles,
        );
        let hi = if hi > 0.0 { hi * 1.1 } else { 1.0 };
        let mut chart = ChartBuilder::on(area)
            .caption(&p.caption, (FONT, 20).into_font().color(&TEXT))
            .margin(10)
            .margin_right(18)
            .x_label_area_size(48)
            .y_label_area_size(74)
            .build_cartesian_2d(
                Ticks {
                    range: x_range.clone(),
                    ticks: keys,
                },
                0f64..hi,
            )?;
        let note_style = (FONT, 15).into_font().color(&SUBTLE);
        if let Some(from) = p.shade_from {
            let x0 = (from as f64 - 0.5).max(x_range.start);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x0, 0.0), (x_range.end, hi)],
                RGBColor(0x80, 0x80, 0x80).mix(0.12).filled(),
            )))?;
            let y = if from == 0 { hi * 0.93 } else { hi * 0.985 };
            chart.draw_series(std::iter::once(Text::new(
                "oversubscribed",
                (x0 + 0.06, y),
                note_style.clone(),
            )))?;
        }
        let y_fmt = |y: &f64| fmt::tick(*y);
        configure_line_mesh!(chart, x_desc, y_desc, &x_fmt, &y_fmt);
        // Lines that do not fit (the `null` baseline) are named, not drawn.
        let (fit, off): (Vec<&Line>, Vec<&Line>) = p
            .lines
            .iter()
            .partition(|l| l.points.iter().all(|pt| pt.1.is_nan() || pt.1 <= hi));
        draw_lines(&mut chart, &fit, styles, |y| y)?;
        for (k, l) in off.iter().enumerate() {
            let lo = l.points.iter().map(|pt| pt.1).fold(f64::INFINITY, f64::min);
            let top = l.points.iter().map(|pt| pt.1).fold(0.0f64, f64::max);
            chart.draw_series(std::iter::once(Text::new(
                if fmt::mops(lo) == fmt::mops(top) {
                    format!("{}: {} Mops/s, off scale", l.index, fmt::mops(top))
                } else {
                    format!(
                        "{}: {}–{} Mops/s, off scale",
                        l.index,
                        fmt::mops(lo),
                        fmt::mops(top)
                    )
                },
                (x_range.start + 0.06, hi * (0.985 - 0.06 * k as f64)),
                note_style.clone(),
            )))?;
        }
    }
    Ok(())
}

fn draw_lines<X, Y>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<X, Y>>,
    lines: &[&Line],
    styles: &Styles,
    clamp: impl Fn(f64) -> f64,
) -> DrawResult
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for l in lines {
        let (class, colour) = styles.get(&l.index);
        let pts: Vec<(f64, f64)> = l
            .points
            .iter()
            .filter(|pt| pt.1.is_finite())
            .map(|&(x, y)| (x as f64, clamp(y)))
            .collect();
        match class {
            Class::Ordex => {
                chart.draw_series(LineSeries::new(pts.clone(), colour.stroke_width(3)))?;
                chart.draw_series(pts.iter().map(|&pt| Circle::new(pt, 5, colour.filled())))?;
            }
            Class::Peer => {
                chart.draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))?;
                chart.draw_series(
                    pts.iter()
                        .map(|&pt| Circle::new(pt, 4, ShapeStyle::from(&WHITE).filled())),
                )?;
                chart.draw_series(
                    pts.iter()
                        .map(|&pt| Circle::new(pt, 4, colour.stroke_width(2))),
                )?;
            }
            Class::Null => {
                chart.draw_series(DashedLineSeries::new(
                    pts.clone(),
                    6,
                    4,
                    colour.stroke_width(2),
                ))?;
                chart.draw_series(pts.iter().map(|&pt| Circle::new(pt, 3, colour.filled())))?;
            }
        }
    }
    Ok(())
}

/// Draws the legend into its own column: section headings (ordex, peers,
/// baseline) and one entry per index with its swatch.
fn draw_legend(area: &Area<'_>, names: &[String], styles: &Styles, lines: bool) -> DrawResult {
    let mut y = 36;
    let mut last_class = None;
    for name in names {
        let (class, colour) = styles.get(name);
        if last_class != Some(class) {
            let heading = match class {
                Class::Ordex => "ordex",
                Class::Peer => "peers",
                Class::Null => "baseline",
            };
            if last_class.is_some() {
                y += 8;
            }
            area.draw(&Text::new(
                heading,
                (12, y),
                (FONT, 16)
                    .into_font()
                    .style(FontStyle::Italic)
                    .color(&SUBTLE),
            ))?;
            y += 22;
            last_class = Some(class);
        }
        let cy = y + 8;
        if lines {
            match class {
                Class::Ordex => {
                    area.draw(&PathElement::new(
                        vec![(12, cy), (44, cy)],
                        colour.stroke_width(3),
                    ))?;
                    area.draw(&Circle::new((28, cy), 5, colour.filled()))?;
                }
                Class::Peer => {
                    area.draw(&PathElement::new(
                        vec![(12, cy), (44, cy)],
                        colour.stroke_width(2),
                    ))?;
                    area.draw(&Circle::new((28, cy), 4, ShapeStyle::from(&WHITE).filled()))?;
                    area.draw(&Circle::new((28, cy), 4, colour.stroke_width(2)))?;
                }
                Class::Null => {
                    for x in [12, 24, 36] {
                        area.draw(&PathElement::new(
                            vec![(x, cy), (x + 7, cy)],
                            colour.stroke_width(2),
                        ))?;
                    }
                    area.draw(&Circle::new((28, cy), 3, colour.filled()))?;
                }
            }
        } else {
            area.draw(&Rectangle::new(
                [(16, cy - 7), (40, cy + 7)],
                colour.filled(),
            ))?;
        }
        let font = if class == Class::Ordex {
            (FONT, 17).into_font().style(FontStyle::Bold)
        } else {
            (FONT, 17).into_font()
        };
        area.draw(&Text::new(name.clone(), (52, y), font.color(&TEXT)))?;
        y += 26;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::summary::tests::synthetic;

    #[test]
    fn plots_are_written() {
        let dir = std::env::temp_dir().join(format!("report-plots-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let rows = synthetic();
        let files = write_plots(&dir, &rows).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "throughput-u64-random.svg",
                "bytes-per-entry.svg",
                "latency-ycsb-c.svg",
                "scaling-ycsb-c.svg"
            ]
        );
        let listed: Vec<String> = plot_files(&rows).into_iter().map(|p| p.file).collect();
        assert_eq!(listed, names);
        for f in &files {
            let svg = std::fs::read_to_string(f).unwrap();
            assert!(svg.len() > 1000, "{}", f.display());
            assert!(
                svg.starts_with("<svg") || svg.starts_with("<?xml"),
                "{}",
                f.display()
            );
            assert!(svg.trim_end().ends_with("</svg>"));
            assert!(svg.contains("<text"), "no text in {}", f.display());
            // Every index appears in the legend.
            for name in ["ordex-a", "ordex-b", "peer-x", "peer-y", "peer-z"] {
                assert!(svg.contains(name), "{name} missing from {}", f.display());
            }
        }
        let scaling = std::fs::read_to_string(&files[3]).unwrap();
        assert!(scaling.contains("2*") && scaling.contains("oversubscribed"));
        let latency = std::fs::read_to_string(&files[2]).unwrap();
        assert!(latency.contains("p99.9") && latency.contains("µs"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The sweep plot: a panel per thread count, a line per index in the
    /// shared colours, the read fractions on the x axis.
    #[test]
    fn sweep_plot_is_written() {
        let dir = std::env::temp_dir().join(format!("report-sweep-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut rows = Vec::new();
        for read in [0, 30, 100] {
            for mut r in synthetic() {
                r.workload = format!("mix-{read}");
                rows.push(r);
            }
        }
        rows.extend(synthetic()); // not a mix: left out
        let path = dir.join("sweep.svg");
        write_sweep_plot(&path, &rows, "Sweep title").unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.trim_end().ends_with("</svg>"));
        for text in [
            "Sweep title",
            "1 thread",
            "2* threads",
            "reads (%)",
            "\n30\n",
            "\n100\n",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        let styles = Styles::new(&summarize(&rows));
        for name in ["ordex-a", "ordex-b", "peer-x", "peer-y", "peer-z"] {
            assert!(svg.contains(name), "{name} missing");
            let (_, c) = styles.get(name);
            let colour = format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2);
            assert!(svg.contains(&colour), "{name}'s colour {colour} missing");
        }
        assert!(!svg.contains("ycsb-c"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn no_memory_no_bytes_plot_and_odd_names() {
        let rows: Vec<Row> = synthetic()
            .into_iter()
            .map(|mut r| {
                r.bytes_per_entry = f64::NAN;
                r.keyset = "k/with space".into();
                r.workload = "custom".into();
                r
            })
            .collect();
        let names: Vec<String> = plot_files(&rows).into_iter().map(|p| p.file).collect();
        assert_eq!(
            names,
            [
                "throughput-k_with_space.svg",
                "latency-custom.svg",
                "scaling-custom.svg"
            ]
        );
    }

    /// Six key sets, two value sizes, a single thread count, one workload.
    /// `REPORT_KEEP_PLOTS=1` keeps the files (path printed) for a look.
    #[test]
    fn many_panels_and_value_sizes() {
        let mut rows = Vec::new();
        for (k, keyset) in ["u64-random", "u64-mono", "bin16", "words", "urls", "emails"]
            .into_iter()
            .enumerate()
        {
            for vs in [8, 1024] {
                for mut r in synthetic().into_iter().filter(|r| r.threads == 1) {
                    r.keyset = keyset.into();
                    r.value_size = vs;
                    r.oversubscribed = false;
                    r.mops *= 1.0 + k as f64 / 3.0;
                    rows.push(r);
                }
            }
        }
        let dir = std::env::temp_dir().join(format!("report-edge-{}", std::process::id()));
        let files = write_plots(&dir, &rows).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        // 12 throughput plots, memory, latency; no scaling plot for one thread count.
        assert_eq!(names.len(), 12 + 1 + 1, "{names:?}");
        assert_eq!(names[0], "throughput-u64-random-v8.svg");
        assert_eq!(names[1], "throughput-u64-random-v1024.svg");
        assert!(names.iter().any(|n| n == "throughput-emails-v1024.svg"));
        assert!(!names.iter().any(|n| n.starts_with("scaling-")));
        let latency = std::fs::read_to_string(dir.join("latency-ycsb-c.svg")).unwrap();
        assert!(latency.contains("urls, 1024 B values · 1 thread"));
        assert!(!latency.contains("oversubscribed"));
        if std::env::var_os("REPORT_KEEP_PLOTS").is_some() {
            eprintln!("plots kept in {}", dir.display());
        } else {
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn colours_are_stable_and_classed() {
        let s = summarize(&synthetic());
        let st = Styles::new(&s);
        let order: Vec<&str> = st.order.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(
            order,
            ["ordex-a", "ordex-b", "peer-x", "peer-y", "peer-z", "null"]
        );
        assert_eq!(st.get("ordex-a").1, ORDEX_COLOURS[0]);
        assert_eq!(st.get("peer-x").1, PEER_COLOURS[0]);
        assert_eq!(st.get("null").1, NULL_COLOUR);
    }
}
