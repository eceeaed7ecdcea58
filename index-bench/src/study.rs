//! What the single-purpose studies (`index-bench memtable`, `index-bench
//! btree`) share: timing helpers and their result table.

use std::fmt::Write as _;
use std::time::Instant;

/// The median of `v` (non-empty).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Nanoseconds per item of `f`, which processes `items` items.
pub fn ns_per(items: usize, f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_nanos() as f64 / items.max(1) as f64
}

/// One line of a study's table.
pub struct Line {
    /// What was measured.
    pub what: String,
    /// The result.
    pub value: String,
    /// The target.
    pub target: &'static str,
    /// Whether the target is met (None: no target).
    pub pass: Option<bool>,
}

/// Prints `lines` as a table under `title` (column widths `widths`) and
/// appends them to `md` as a Markdown table.
pub fn table(md: &mut String, title: &str, lines: &[Line], widths: [usize; 3]) {
    let _ = writeln!(
        md,
        "| measurement | result | target | met |\n|---|---|---|---|"
    );
    println!("\n== {title} ==");
    let [w0, w1, w2] = widths;
    for l in lines {
        let met = match l.pass {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "",
        };
        println!("{:<w0$} {:<w1$} {:<w2$} {met}", l.what, l.value, l.target);
        let _ = writeln!(md, "| {} | {} | {} | {met} |", l.what, l.value, l.target);
    }
}
