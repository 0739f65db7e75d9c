//! The parsing floor of `detect run`: reads a JSON Lines file and parses
//! every line with serde_json, once into `IgnoredAny` (syntax only), once
//! into `Value` (the full DOM), on one thread, and prints events per
//! second of each (one thread: events per CPU-second).
//!
//! `cargo run --release --example json_floor -- events.jsonl`

use std::time::Instant;

/// One way of parsing a line; whether it was valid.
type Parse<'a> = &'a dyn Fn(&[u8]) -> bool;

#[expect(clippy::print_stdout, reason = "a benchmark prints its numbers")]
#[expect(clippy::print_stderr, reason = "says what is missing")]
fn main() {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: json_floor EVENTS.jsonl");
        std::process::exit(2);
    };
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("json_floor: {}: {e}", path.to_string_lossy());
            std::process::exit(2);
        }
    };
    let mut lines: Vec<&[u8]> = Vec::new();
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', &data).chain(std::iter::once(data.len())) {
        let line = &data[start..end];
        if !line.trim_ascii().is_empty() {
            lines.push(line);
        }
        start = end + 1;
    }
    let passes: [(&str, Parse); 2] = [
        ("IgnoredAny", &|l| {
            serde_json::from_slice::<serde::de::IgnoredAny>(l).is_ok()
        }),
        ("Value", &|l| serde_json::from_slice::<serde_json::Value>(l).is_ok()),
    ];
    for (label, parse) in passes {
        let start = Instant::now();
        let (mut events, mut ok) = (0u64, 0u64);
        for &l in &lines {
            events += 1;
            ok += u64::from(parse(std::hint::black_box(l)));
        }
        let secs = start.elapsed().as_secs_f64().max(1e-9);
        println!(
            "{label:<10} {events} events ({ok} valid) in {secs:.3} s = {:.0} events/s on one thread, {:.1} MB/s",
            events as f64 / secs,
            data.len() as f64 / 1_048_576.0 / secs
        );
    }
}
