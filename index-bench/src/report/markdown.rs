//! `report.md` and the compact plain-text tables printed at the end of a run.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::fmt;
use super::manifest::Manifest;
use super::plots::plot_files;
use super::summary::{
    mix_read_pct, peer_ratios, scaling, summarize, Summary, Verified, NULL_INDEX,
};
use crate::record::Row;
use crate::stats::{Estimate, Verdict, LEVEL};

/// Summaries of one (workload, keyset, value_size), in report order.
struct Group<'a> {
    workload: &'a str,
    keyset: &'a str,
    value_size: usize,
    items: Vec<&'a Summary>,
}

impl Group<'_> {
    fn title(&self) -> String {
        format!(
            "{} · {} · {} B values",
            self.workload, self.keyset, self.value_size
        )
    }

    /// Thread counts measured, ascending, with their oversubscription flag.
    fn threads(&self) -> Vec<(usize, bool)> {
        let mut t: Vec<(usize, bool)> = self
            .items
            .iter()
            .map(|s| (s.threads, s.oversubscribed))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        t.dedup_by_key(|x| x.0);
        t
    }

    /// The summaries at `threads`, highest throughput first.
    fn at(&self, threads: usize) -> Vec<&Summary> {
        self.items
            .iter()
            .copied()
            .filter(|s| s.threads == threads)
            .collect()
    }
}

/// Splits [`summarize`]'s output (already in report order) into groups.
fn groups(summaries: &[Summary]) -> Vec<Group<'_>> {
    let mut out: Vec<Group<'_>> = Vec::new();
    for s in summaries {
        match out.last_mut() {
            Some(g) if (g.workload, g.keyset, g.value_size) == s.group() => g.items.push(s),
            _ => out.push(Group {
                workload: &s.workload,
                keyset: &s.keyset,
                value_size: s.value_size,
                items: vec![s],
            }),
        }
    }
    out
}

fn threads_label(threads: usize, oversubscribed: bool) -> String {
    if oversubscribed {
        format!("{threads}*")
    } else {
        threads.to_string()
    }
}

/// Escapes text for a markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn index_cell(s: &Summary) -> String {
    if s.ordex {
        format!("**{}**", cell(&s.index))
    } else {
        cell(&s.index)
    }
}

fn ratio_cell(s: &Summary) -> String {
    match (s.ratio_to_best_peer, &s.best_peer) {
        (Some(r), Some(p)) => format!("{} ({})", interval(&r), cell(p)),
        _ => "—".into(),
    }
}

/// `1.25× [1.10–1.40]`: a paired ratio's median and interval, with the
/// interval's coverage after it when it falls short of the 95% aimed for
/// (a single repeat has no interval).
fn interval(e: &Estimate) -> String {
    if e.n < 2 {
        return fmt::ratio(e.median);
    }
    let mut s = format!(
        "{} [{}–{}]",
        fmt::ratio(e.median),
        fmt::ratio(e.low).trim_end_matches('×'),
        fmt::ratio(e.high).trim_end_matches('×')
    );
    if e.level < LEVEL {
        s.push_str(&format!(" ({:.0}%)", e.level * 100.0));
    }
    s
}

fn verdict_cell(v: Option<Verdict>) -> &'static str {
    match v {
        Some(Verdict::Meets) => "meets",
        Some(Verdict::Straddles) => "**straddles**",
        Some(Verdict::Misses) => "**misses**",
        None => "",
    }
}

/// The run's facts (commit, toolchain, machine, rows) as a table, then
/// its options and notes: what every report starts with, after its title.
fn facts(md: &mut String, rows: &[Row], manifest: &Manifest) {
    md.push_str("| | |\n|---|---|\n");
    let unknown = || "unknown".to_string();
    let _ = writeln!(md, "| created | {} |", cell(&manifest.created));
    let _ = writeln!(
        md,
        "| commit | {} |",
        manifest
            .git_commit
            .as_deref()
            .map_or_else(unknown, |c| format!("`{c}`"))
    );
    let _ = writeln!(
        md,
        "| rustc | {} |",
        cell(&manifest.rustc.clone().unwrap_or_else(unknown))
    );
    let _ = writeln!(
        md,
        "| CPU | {} ({} hardware threads) |",
        cell(&manifest.cpu.clone().unwrap_or_else(unknown)),
        manifest.cores
    );
    let _ = writeln!(md, "| OS | {} |", cell(&manifest.os));
    let _ = writeln!(md, "| measurements | {} rows |", rows.len());
    if !manifest.options.is_empty() {
        md.push_str("\n**Options**\n\n| option | value |\n|---|---|\n");
        for (k, v) in &manifest.options {
            let _ = writeln!(md, "| {} | `{}` |", cell(k), cell(v).replace('`', "'"));
        }
    }
    if !manifest.notes.is_empty() {
        md.push_str("\n**Notes**\n\n");
        for n in &manifest.notes {
            let _ = writeln!(md, "- {}", n.replace('\n', " "));
        }
    }
}

/// The configurations of `summaries` that failed verification, as a
/// section (nothing if none did).
fn failures(md: &mut String, summaries: &[Summary]) {
    let failed: Vec<&Summary> = summaries
        .iter()
        .filter(|s| matches!(s.verified, Verified::Failed { .. }))
        .collect();
    if !failed.is_empty() {
        let _ = writeln!(
            md,
            "\n## ⚠ Verification failures\n\n{} configuration(s) failed result verification; \
             their numbers are not trustworthy.\n",
            failed.len()
        );
        md.push_str("| index | workload | keyset | threads | failed | first message |\n");
        md.push_str("|---|---|---|---|---|---|\n");
        for s in failed {
            if let Verified::Failed { failed, of, first } = &s.verified {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {failed}/{of} | {} |",
                    cell(&s.index),
                    cell(&s.workload),
                    cell(&s.keyset),
                    s.threads,
                    cell(first)
                );
            }
        }
    }
}

/// Renders `report.md` for `rows`, with the machine and options from `manifest`.
///
/// Sections: run facts and options; verification failures (if any); an
/// overview of each ordex index against the best peer at the largest thread
/// count; the plots (embedded by relative file name, as written by
/// [`super::plots::write_plots`] into the same directory); then per
/// (workload, keyset, value size) a results table and a scaling table.
pub fn render_markdown(rows: &[Row], manifest: &Manifest) -> String {
    let summaries = summarize(rows);
    let groups = groups(&summaries);
    let mut md = String::new();

    // --- Header -----------------------------------------------------------
    let _ = writeln!(md, "# index-bench report: {}\n", manifest.run);
    facts(&mut md, rows, manifest);
    md.push_str(
        "\nThroughput is the median over repeats (min–max in brackets), in million \
         operations per second. Each repeat measures every index once, adjacent in time \
         and in an order that changes from repeat to repeat. *vs best peer* is the ratio \
         of an ordex index's throughput to the fastest peer's (by median), taken repeat \
         by repeat: the median of those ratios, then its confidence interval in brackets \
         (order statistics; 95% from six repeats on, and its lower coverage in \
         parentheses below that). Above 1× the ordex index is faster; `null` is a no-op \
         baseline, never a peer. Latencies are sampled per operation, median over \
         repeats. Ordex indexes are in **bold**.\n",
    );

    // --- Verification failures --------------------------------------------
    failures(&mut md, &summaries);

    // --- Overview: ordex vs best peer ---------------------------------------
    let ordex_names: Vec<&str> = summaries
        .iter()
        .filter(|s| s.ordex)
        .map(|s| s.index.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !ordex_names.is_empty() && summaries.iter().any(|s| s.ratio_to_best_peer.is_some()) {
        md.push_str("\n## Overview: ordex vs best peer, at the largest thread count\n\n");
        md.push_str("| workload | keyset | threads | best peer (Mops/s) |");
        for n in &ordex_names {
            let _ = write!(md, " **{}** |", cell(n));
        }
        md.push_str("\n|---|---|---|---|");
        md.push_str(&"---|".repeat(ordex_names.len()));
        md.push('\n');
        for g in &groups {
            let Some(&(t, over)) = g.threads().last() else {
                continue;
            };
            let at = g.at(t);
            let best = at
                .iter()
                .filter(|s| s.is_peer())
                .max_by(|a, b| a.median_mops.total_cmp(&b.median_mops));
            let _ = write!(
                md,
                "| {} | {} | {} | {} |",
                cell(g.workload),
                cell(g.keyset),
                threads_label(t, over),
                best.map_or("—".into(), |b| format!(
                    "{} ({})",
                    cell(&b.index),
                    fmt::mops(b.median_mops)
                ))
            );
            for n in &ordex_names {
                let r = at
                    .iter()
                    .find(|s| s.index == *n)
                    .and_then(|s| s.ratio_to_best_peer);
                let _ = write!(md, " {} |", r.map_or("—".into(), |r| interval(&r)));
            }
            md.push('\n');
        }
    }

    // --- Targets --------------------------------------------------------------
    let ratios = peer_ratios(rows);
    let targeted: Vec<_> = ratios.iter().filter(|r| r.target.is_some()).collect();
    if !targeted.is_empty() {
        md.push_str(
            "\n## Targets\n\nThe project's target ratios measured in this run: a target is \
             met when the whole interval is at or above it; **straddles** means this run \
             cannot tell.\n\n\
             | index | vs | workload | keyset | threads | ratio [interval] | target | verdict | for |\n\
             |---|---|---|---|--:|--:|--:|---|---|\n",
        );
        for r in targeted {
            let t = r.target.expect("filtered");
            let _ = writeln!(
                md,
                "| **{}** | {} | {} | {} | {} | {} | ≥ {} | {} | {} |",
                cell(&r.index),
                cell(&r.peer),
                cell(&r.workload),
                cell(&r.keyset),
                r.threads,
                interval(&r.ratio),
                fmt::ratio(t.min),
                verdict_cell(r.verdict()),
                cell(t.why)
            );
        }
    }

    // --- Plots --------------------------------------------------------------
    let plots = plot_files(rows);
    if !plots.is_empty() {
        md.push_str("\n## Plots\n\n");
        for p in &plots {
            let _ = writeln!(md, "- [{}]({})", p.title, p.file);
        }
        for p in &plots {
            let _ = writeln!(md, "\n### {}\n\n![{}]({})", p.title, p.title, p.file);
        }
    }

    // --- Per-configuration tables -------------------------------------------
    let scalings = scaling(&summaries);
    md.push_str("\n## Results\n");
    for g in &groups {
        let _ = writeln!(md, "\n### {}\n", g.title());
        md.push_str(
            "| index | threads | Mops/s median (min–max) | vs best peer | p50 | p99 | p99.9 | bytes/entry | verified |\n\
             |---|--:|--:|--:|--:|--:|--:|--:|---|\n",
        );
        let threads = g.threads();
        for &(t, _) in threads.iter().rev() {
            for s in g.at(t) {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} ({}–{}) | {} | {} | {} | {} | {} | {} |",
                    index_cell(s),
                    threads_label(s.threads, s.oversubscribed),
                    fmt::mops(s.median_mops),
                    fmt::mops(s.min_mops),
                    fmt::mops(s.max_mops),
                    ratio_cell(s),
                    fmt::ns(s.p50_ns),
                    fmt::ns(s.p99_ns),
                    fmt::ns(s.p999_ns),
                    fmt::bytes(s.bytes_per_entry),
                    s.verified.short()
                );
            }
        }
        let over: Vec<String> = threads
            .iter()
            .filter(|t| t.1)
            .map(|t| t.0.to_string())
            .collect();
        if !over.is_empty() {
            let _ = writeln!(
                md,
                "\n\\* oversubscribed: {} thread(s) exceed this machine's {} hardware threads; \
                 expect noisy, pessimistic numbers.",
                over.join(", "),
                manifest.cores
            );
        }

        // Scaling table: one row per index, one column per thread count.
        if threads.len() > 1 {
            let mut series: Vec<_> = scalings
                .iter()
                .filter(|sc| {
                    sc.workload == g.workload
                        && sc.keyset == g.keyset
                        && sc.value_size == g.value_size
                })
                .collect();
            let last = |sc: &&super::summary::Scaling| {
                sc.points
                    .last()
                    .map_or(f64::NEG_INFINITY, |p| p.median_mops)
            };
            series.sort_by(|a, b| last(b).total_cmp(&last(a)));
            let _ = writeln!(
                md,
                "\n**Scaling** ({}): median Mops/s, speedup vs 1 thread in brackets\n",
                g.title()
            );
            md.push_str("| index |");
            for &(t, o) in &threads {
                let _ = write!(md, " {} |", threads_label(t, o));
            }
            md.push_str("\n|---|");
            md.push_str(&"--:|".repeat(threads.len()));
            md.push('\n');
            for sc in series {
                let name = if sc.ordex {
                    format!("**{}**", cell(&sc.index))
                } else {
                    cell(&sc.index)
                };
                let _ = write!(md, "| {name} |");
                for &(t, _) in &threads {
                    match sc.points.iter().find(|p| p.threads == t) {
                        Some(p) => {
                            let sp = p
                                .speedup
                                .map_or(String::new(), |x| format!(" ({})", fmt::ratio(x)));
                            let _ = write!(md, " {}{sp} |", fmt::mops(p.median_mops));
                        }
                        None => md.push_str(" — |"),
                    }
                }
                md.push('\n');
            }
        }
    }
    md
}

/// Renders the read/write sweep of the `mix-<r>` rows of `rows` (what
/// `index-bench techniques` measures) under the heading `title`: the run's
/// facts from `manifest`, `intro` (what was measured, as markdown),
/// verification failures, the plot `plot` (a file beside the markdown, as
/// [`super::plots::write_sweep_plot`] draws it) if given, then per thread
/// count a table of median throughput, one row per index and one column per
/// read fraction, and, if the rows carry contention counters, a table of
/// median restarts / lock waits per operation for the indexes that count
/// them. Indexes are in legend order: ordex first, in **bold**, then peers.
pub fn render_sweep(
    rows: &[Row],
    manifest: &Manifest,
    title: &str,
    intro: &str,
    plot: Option<&str>,
) -> String {
    let summaries: Vec<Summary> = summarize(rows)
        .into_iter()
        .filter(|s| mix_read_pct(&s.workload).is_some())
        .collect();
    let mut md = String::new();
    let _ = writeln!(md, "# {title}\n");
    facts(&mut md, rows, manifest);
    if !intro.is_empty() {
        let _ = writeln!(md, "\n{}", intro.trim_end());
    }
    failures(&mut md, &summaries);
    if let Some(p) = plot {
        let _ = writeln!(md, "\n![throughput against read fraction]({p})");
    }
    let reads: BTreeSet<u8> = summaries
        .iter()
        .filter_map(|s| mix_read_pct(&s.workload))
        .collect();
    let mut threads: Vec<(usize, bool)> = summaries
        .iter()
        .map(|s| (s.threads, s.oversubscribed))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    threads.dedup_by_key(|t| t.0);
    let mut indexes: Vec<(usize, &str, bool)> = summaries
        .iter()
        .map(|s| {
            let class = if s.ordex {
                0
            } else if s.index == NULL_INDEX {
                2
            } else {
                1
            };
            (class, s.index.as_str(), s.ordex)
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    indexes.dedup_by_key(|i| i.1);
    let find = |index: &str, t: usize, r: u8| {
        summaries
            .iter()
            .find(|s| s.index == index && s.threads == t && mix_read_pct(&s.workload) == Some(r))
    };
    let header = |md: &mut String| {
        md.push_str("| index |");
        for r in &reads {
            let _ = write!(md, " {r}% |");
        }
        md.push_str("\n|---|");
        md.push_str(&"--:|".repeat(reads.len()));
        md.push('\n');
    };
    let name = |index: &str, ordex: bool| {
        if ordex {
            format!("**{}**", cell(index))
        } else {
            cell(index)
        }
    };
    for &(t, over) in &threads {
        let s = if t == 1 { "" } else { "s" };
        let over = if over {
            format!(" (more than the {} hardware threads)", manifest.cores)
        } else {
            String::new()
        };
        let _ = writeln!(
            md,
            "\n## {t} thread{s}{over}: throughput, Mops/s (median over repeats)\n"
        );
        header(&mut md);
        for &(_, index, ordex) in &indexes {
            let _ = write!(md, "| {} |", name(index, ordex));
            for &r in &reads {
                let v = find(index, t, r).map_or(f64::NAN, |s| s.median_mops);
                let _ = write!(md, " {} |", fmt::mops(v));
            }
            md.push('\n');
        }
        let counted = |index: &str| {
            reads.iter().any(|&r| {
                find(index, t, r)
                    .is_some_and(|s| s.restarts_per_op.is_finite() || s.waits_per_op.is_finite())
            })
        };
        if indexes.iter().any(|i| counted(i.1)) {
            md.push_str("\nRestarts / lock waits per operation (median over repeats):\n\n");
            header(&mut md);
            for &(_, index, ordex) in indexes.iter().filter(|i| counted(i.1)) {
                let _ = write!(md, "| {} |", name(index, ordex));
                for &r in &reads {
                    let c = find(index, t, r).map_or("—".into(), |s| {
                        format!("{:.4} / {:.4}", s.restarts_per_op, s.waits_per_op)
                    });
                    let _ = write!(md, " {c} |");
                }
                md.push('\n');
            }
        }
    }
    md
}

/// Renders compact, aligned plain-text tables for the terminal: one per
/// workload × keyset (× value size), with throughput at 1 thread and at the
/// largest thread count, the ratio to the best peer (`x best peer`) and p99
/// at the largest thread count. Indexes are sorted by throughput at the
/// largest thread count; `*` marks an oversubscribed thread count.
pub fn render_terminal(rows: &[Row]) -> String {
    let summaries = summarize(rows);
    let groups = groups(&summaries);
    let multi_vs = summaries
        .iter()
        .map(|s| s.value_size)
        .collect::<BTreeSet<_>>()
        .len()
        > 1;
    let mut out = String::new();
    let mut any_over = false;
    for g in &groups {
        let threads = g.threads();
        let Some(&(tmax, over)) = threads.last() else {
            continue;
        };
        any_over |= over;
        let has_one = threads.first().is_some_and(|t| t.0 == 1) && tmax != 1;
        let tl = threads_label(tmax, over);
        let mut header = vec!["index".to_string()];
        if has_one {
            header.push("Mops/s 1t".into());
        }
        header.push(format!("Mops/s {tl}t"));
        if has_one {
            header.push("scaling".into());
        }
        header.extend([
            "x best peer".into(),
            format!("p99 {tl}t"),
            "verified".into(),
        ]);

        let mut table: Vec<Vec<String>> = vec![header];
        for s in g.at(tmax) {
            let mut line = vec![format!(
                "{}{}",
                s.index,
                if s.ordex { " (ordex)" } else { "" }
            )];
            let one = g
                .items
                .iter()
                .find(|x| x.threads == 1 && x.index == s.index)
                .map(|x| x.median_mops);
            if has_one {
                line.push(one.map_or("—".into(), fmt::mops));
            }
            line.push(fmt::mops(s.median_mops));
            if has_one {
                line.push(
                    one.filter(|o| *o > 0.0)
                        .map_or("—".into(), |o| fmt::ratio(s.median_mops / o)),
                );
            }
            line.push(s.ratio_to_best_peer.map_or(String::new(), |r| interval(&r)));
            line.push(fmt::ns(s.p99_ns));
            line.push(s.verified.short());
            table.push(line);
        }
        let title = if multi_vs {
            g.title()
        } else {
            format!("{} · {}", g.workload, g.keyset)
        };
        let _ = writeln!(out, "== {title} ==");
        out.push_str(&align(&table));
        out.push('\n');
    }
    if any_over {
        out.push_str("* more threads than hardware threads (oversubscribed)\n");
    }
    out
}

/// Aligns a table: first column left, the others right, two spaces apart.
fn align(table: &[Vec<String>]) -> String {
    let cols = table.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..cols)
        .map(|c| {
            table
                .iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in table {
        let mut line = String::new();
        for (c, s) in row.iter().enumerate() {
            let pad = width[c] - s.chars().count();
            if c == 0 {
                line.push_str(s);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str("  ");
                line.push_str(&" ".repeat(pad));
                line.push_str(s);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::summary::tests::synthetic;

    fn manifest() -> Manifest {
        Manifest {
            run: "synthetic".into(),
            created: "2025-01-01T00:00:00Z".into(),
            git_commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
            rustc: Some("rustc 1.85.0".into()),
            cpu: Some("Test CPU".into()),
            cores: 1,
            os: "linux x86_64".into(),
            options: vec![("repeats".into(), "3".into())],
            notes: vec!["synthetic data".into()],
        }
    }

    #[test]
    fn markdown_has_ratios_and_marks() {
        let md = render_markdown(&synthetic(), &manifest());
        assert!(md.contains("# index-bench report: synthetic"));
        assert!(md.contains("Test CPU (1 hardware threads)"));
        assert!(md.contains("| repeats | `3` |"));
        // ordex-a 10 vs peer-y 8 → 1.25×; ordex-b 4 vs 8 → 0.50×.
        assert!(
            md.contains(
                "| **ordex-a** | 1 | 10.0 (9.00–12.0) | 1.25× [1.25–1.25] (75%) (peer-y) |"
            ),
            "{md}"
        );
        assert!(
            md.contains(
                "| **ordex-b** | 2* | 8.00 (7.20–9.60) | 0.50× [0.50–0.50] (75%) (peer-y) |"
            ),
            "{md}"
        );
        // Peers and null have no ratio.
        assert!(md.contains("| null | 1 | 100 (90.0–120) | — |"), "{md}");
        // Oversubscribed footnote and scaling table.
        assert!(
            md.contains("\\* oversubscribed: 2 thread(s) exceed this machine's 1 hardware threads")
        );
        assert!(md.contains("| index | 1 | 2* |"));
        assert!(
            md.contains("| **ordex-a** | 10.0 (1.00×) | 20.0 (2.00×) |"),
            "{md}"
        );
        // Overview row and plot links.
        assert!(
            md.contains(
                "| ycsb-c | u64-random | 2* | peer-y (16.0) | 1.25× [1.25–1.25] (75%) | 0.50× [0.50–0.50] (75%) |"
            ),
            "{md}"
        );
        assert!(md.contains("](throughput-u64-random.svg)"));
        assert!(md.contains("](scaling-ycsb-c.svg)"));
        assert!(md.contains("](latency-ycsb-c.svg)"));
        assert!(md.contains("](bytes-per-entry.svg)"));
        assert!(!md.contains("Verification failures"));
        // Within a thread count, indexes are sorted by throughput.
        let pos = |s: &str| md.find(s).unwrap();
        assert!(pos("| null | 2*") < pos("| **ordex-a** | 2*"));
        assert!(pos("| **ordex-a** | 2*") < pos("| peer-y | 2*"));
        assert!(pos("| peer-y | 2*") < pos("| peer-x | 2*"));
    }

    /// Rows of a read sweep: `mix-<r>` for two indexes at 1 and 2 threads,
    /// the ordex one with contention counters.
    fn sweep_rows() -> Vec<Row> {
        let mut rows = Vec::new();
        for read in [0u32, 50, 100] {
            for mut r in synthetic()
                .into_iter()
                .filter(|r| r.index == "ordex-a" || r.index == "peer-y")
            {
                r.workload = format!("mix-{read}");
                r.mops += f64::from(read);
                if r.ordex {
                    r.restarts_per_op = Some(0.01 * f64::from(read));
                    r.waits_per_op = Some(0.5);
                } else {
                    r.restarts_per_op = Some(f64::NAN);
                    r.waits_per_op = Some(f64::NAN);
                }
                rows.push(r);
            }
        }
        // Other workloads are not part of the sweep.
        rows.extend(synthetic().into_iter().take(3));
        rows
    }

    #[test]
    fn sweep_tables_have_a_column_per_read_fraction() {
        let md = render_sweep(
            &sweep_rows(),
            &manifest(),
            "A sweep",
            "What was measured.",
            Some("sweep.svg"),
        );
        assert!(md.starts_with("# A sweep\n"), "{md}");
        assert!(md.contains("| CPU | Test CPU (1 hardware threads) |"));
        assert!(md.contains("\nWhat was measured.\n"));
        assert!(md.contains("![throughput against read fraction](sweep.svg)"));
        assert!(md.contains("## 1 thread: throughput"), "{md}");
        assert!(
            md.contains("## 2 threads (more than the 1 hardware threads): throughput"),
            "{md}"
        );
        assert!(md.contains("| index | 0% | 50% | 100% |\n|---|--:|--:|--:|\n"));
        // Medians over repeats: ordex-a 10 at 1 thread, plus the read %.
        assert!(md.contains("| **ordex-a** | 10.0 | 60.0 | 110 |"), "{md}");
        assert!(md.contains("| peer-y | 8.00 | 58.0 | 108 |"), "{md}");
        // Counters for the index that counts, not for the other.
        assert!(
            md.contains("| **ordex-a** | 0.0000 / 0.5000 | 0.5000 / 0.5000 | 1.0000 / 0.5000 |"),
            "{md}"
        );
        assert_eq!(md.matches("Restarts / lock waits").count(), 2);
        assert_eq!(md.matches("| peer-y |").count(), 2, "{md}");
        assert!(!md.contains("ycsb-c") && !md.contains("peer-x"));
        // Without counters, no counter table.
        let plain: Vec<Row> = sweep_rows()
            .into_iter()
            .map(|mut r| {
                r.restarts_per_op = None;
                r.waits_per_op = None;
                r
            })
            .collect();
        let md = render_sweep(&plain, &manifest(), "A sweep", "", None);
        assert!(!md.contains("Restarts") && !md.contains("!["), "{md}");
    }

    #[test]
    fn markdown_lists_failures() {
        let mut rows = synthetic();
        rows[4].verified = "FAILED: key 7 | missing".into();
        let md = render_markdown(&rows, &manifest());
        assert!(md.contains("## ⚠ Verification failures"));
        assert!(md.contains("| 1/3 | FAILED: key 7 \\| missing |"), "{md}");
        assert!(md.contains("FAILED 1/3 |"));
    }

    #[test]
    fn terminal_tables_are_aligned() {
        let t = render_terminal(&synthetic());
        assert!(t.starts_with("== ycsb-c · u64-random =="), "{t}");
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[1].starts_with("index"));
        assert!(lines[1].contains("Mops/s 1t") && lines[1].contains("Mops/s 2*t"));
        assert!(lines[1].contains("x best peer"));
        // Sorted by 2-thread throughput: null, ordex-a, peer-y, …
        assert!(lines[2].starts_with("null"));
        assert!(
            lines[3].starts_with("ordex-a (ordex)") && lines[3].contains("1.25×"),
            "{t}"
        );
        // The last column is right-aligned: every line of the table has the same width.
        let widths: Vec<usize> = lines[1..8].iter().map(|l| l.chars().count()).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{t}");
        assert!(t.ends_with("* more threads than hardware threads (oversubscribed)\n"));
    }
}
