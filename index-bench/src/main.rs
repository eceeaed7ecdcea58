//! `index-bench`: the comparative benchmark of ordex backends and their
//! peers. Being built (see the project's index-bench issue); until then it
//! reports that it has nothing to measure and exits successfully, so CI's
//! smoke step is wired.

fn main() {
    let smoke = std::env::args().any(|a| a == "--smoke");
    let kinds: Vec<String> = ordex::IndexKind::available()
        .iter()
        .map(|k| k.to_string())
        .collect();
    println!(
        "index-bench: not implemented yet; backends available: {}{}",
        kinds.join(", "),
        if smoke { " (smoke run)" } else { "" }
    );
}
