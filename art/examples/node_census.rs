//! The node census of an `ordex_art::Art` holding `n` random u64 keys
//! (8-byte big-endian keys, 8-byte values): nodes and bytes per entry of
//! each kind, and the tree's whole memory per entry. What says where the
//! bytes of a table of a given size go.
//!
//! ```text
//! cargo run --release -p ordex-art --example node_census -- 10000000
//! ```

use ordex_core::OrderedIndex;

fn main() {
    let n: u64 = match std::env::args().nth(1).map(|a| a.parse()) {
        None => 1_000_000,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: node_census [entries, > 0]");
            std::process::exit(2);
        }
    };
    let art = ordex_art::Art::new();
    // xorshift64: random keys, the same on every run.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if let Err(e) = art.insert(&x.to_be_bytes(), &x.to_le_bytes()) {
            eprintln!("insert failed: {e}");
            std::process::exit(1);
        }
    }
    let s = art.stats();
    let kinds = [
        "Node4", "Node16", "Node32", "Node48", "Node256", "Run4", "Run16", "Run32", "Run64", "V256",
    ];
    println!("{n} random u64 keys");
    println!(
        "{:8} {:>10} {:>12} {:>10}",
        "kind", "nodes", "bytes/entry", "bytes/node"
    );
    for (i, kind) in kinds.iter().enumerate() {
        if s.nodes[i] > 0 {
            println!(
                "{kind:8} {:>10} {:>12.1} {:>10.0}",
                s.nodes[i],
                s.node_bytes[i] as f64 / n as f64,
                s.node_bytes[i] as f64 / s.nodes[i] as f64
            );
        }
    }
    println!(
        "leaves {}, inline entries {}, packed entries {}; memory {:.1} bytes per entry",
        s.leaves,
        s.inline,
        s.packed,
        s.memory as f64 / n as f64
    );
}
