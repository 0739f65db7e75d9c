//! Benchmark of the correlation engine on 1,000,000 synthetic signals, on
//! one thread: a 3-step Sequence with transitions (counts, time frames,
//! `On` and `From`/`To` matching, an array-valued `p_any_*` field) and a
//! 4-item Group with per-item and group-level `MinMatchCount` and an
//! absence.
//!
//! `cargo run --release --example bench_correlation [SIGNALS]`
//!
//! For each rule it reports the time to collect the signals (interning the
//! join values), to index them (one sort), to evaluate one run whose
//! window holds every signal, and to evaluate a day of hourly runs with a
//! two-hour lookback; signals per second over collect + index + one run;
//! the peak heap of all of that (a counting allocator, per thread) and the
//! allocations of one run, which do not grow with the number of signals.
//! The process's peak resident set size closes the report.

use std::hint::black_box;
use std::time::Instant;

use detect::engine::correlation::{Correlation, JoinValue};
use detect::load::{LoadOptions, load_file};
use detect::model::Body;
use detect::source::FileId;

const SEQUENCE: &str = "
AnalysisType: correlation_rule
RuleID: Bench.Recon.THEN.Key.THEN.Use
Enabled: true
Severity: High
Detection:
  - Sequence:
      - {ID: Recon, RuleID: Bench.Recon, MinMatchCount: 2}
      - {ID: KeyCreated, RuleID: Bench.KeyCreated}
      - {ID: KeyUsed, RuleID: Bench.KeyUsed}
    Transitions:
      - {From: Recon, To: KeyCreated, WithinTimeFrameMinutes: 30, Match: [{On: p_alert_context.user}]}
      - {From: KeyCreated, To: KeyUsed, WithinTimeFrameMinutes: 10, Match: [{From: p_alert_context.user, To: p_any_usernames}]}
    LookbackWindowMinutes: 1500
    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}
";

const GROUP: &str = "
AnalysisType: correlation_rule
RuleID: Bench.Spray.Group
Enabled: true
Severity: High
Detection:
  - Group:
      - {ID: Spray, RuleID: Bench.Spray, MinMatchCount: 5}
      - {ID: SSO, RuleID: Bench.SSO}
      - {ID: Root, RuleID: Bench.Root}
      - {ID: Blocked, RuleID: Bench.Blocked, Absence: true}
    MinMatchCount: 2
    MatchCriteria:
      ip:
        - {GroupID: Spray, Match: p_any_ip_addresses}
        - {GroupID: SSO, Match: p_any_ip_addresses}
        - {GroupID: Root, Match: p_any_ip_addresses}
        - {GroupID: Blocked, Match: p_any_ip_addresses}
    LookbackWindowMinutes: 1500
    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}
";

/// One day, in seconds.
const DAY: i64 = 86_400;

fn compile(text: &str) -> Correlation {
    let loaded = load_file(FileId(0), Some(text), LoadOptions::default());
    let rule = match loaded.analysis.map(|a| a.body) {
        Some(Body::Other(o)) => o.correlation,
        _ => None,
    };
    let detection = rule.and_then(|r| r.detection).expect("the benchmark rule loads");
    Correlation::compile(&detection).expect("the benchmark rule compiles")
}

/// A synthetic signal: item, time, and where its join values' text lies
/// in [`Input::text`].
struct Synthetic {
    item: usize,
    time: i64,
    value: (u32, u32),
    other: (u32, u32),
}

/// Signals with their join values written out one after the other, as a
/// reader of events would have them, so that reading the input is not
/// what the benchmark measures.
struct Input {
    signals: Vec<Synthetic>,
    text: String,
}

impl Input {
    fn get(&self, r: (u32, u32)) -> &str {
        self.text.get(r.0 as usize..r.1 as usize).unwrap_or("")
    }
}

/// `n` signals over one day with join values drawn from `names`; item
/// `i` is drawn with weight `weights[i]`.
fn synthesize(n: usize, names: &[String], weights: &[u32], seed: u64) -> Input {
    let mut rng = fastrand::Rng::with_seed(seed);
    let total: u32 = weights.iter().sum();
    let mut text = String::new();
    let add = |text: &mut String, name: &str| {
        let start = text.len() as u32;
        text.push_str(name);
        (start, text.len() as u32)
    };
    let mut signals = Vec::with_capacity(n);
    for _ in 0..n {
        let mut pick = rng.u32(0..total);
        let mut item = 0;
        while pick >= weights[item] {
            pick -= weights[item];
            item += 1;
        }
        let value = add(&mut text, &names[rng.usize(0..names.len())]);
        let other = add(&mut text, &names[rng.usize(0..names.len())]);
        signals.push(Synthetic {
            item,
            time: rng.i64(0..DAY),
            value,
            other,
        });
    }
    Input { signals, text }
}

/// CPU seconds this thread has used (Linux), to report numbers that do
/// not depend on how busy the machine is.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are
    // fields 14 and 15, in clock ticks of 1/100 s.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

#[expect(clippy::print_stdout, reason = "a benchmark prints its numbers")]
fn bench(label: &str, text: &str, input: &Input, array_item: usize) {
    let rule = compile(text);
    // The same rule looking back two hours, run hourly over the same
    // signals (its items and join fields are the same).
    let hourly = compile(&text.replace("LookbackWindowMinutes: 1500", "LookbackWindowMinutes: 120"));
    let mut collect = 0.0;
    let mut index = 0.0;
    let mut one_run = 0.0;
    let mut day = 0.0;
    let mut matches = 0;
    let mut day_matches = 0;
    let mut run_allocs = 0;
    let cpu_start = cpu_seconds();
    let mut cpu_pipeline = None;
    let heap = allocation_counter::measure(|| {
        let start = Instant::now();
        let mut b = rule.signals();
        for s in &input.signals {
            let v = JoinValue::Text(input.get(s.value));
            if s.item == array_item {
                let list = [v, JoinValue::Text(input.get(s.other))];
                b.push(s.item, s.time, &[JoinValue::List(&list)]);
            } else {
                b.push(s.item, s.time, &[v]);
            }
        }
        collect = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let signals = b.finish();
        index = start.elapsed().as_secs_f64();
        let end = signals.latest().unwrap_or_default();
        let start = Instant::now();
        let runs = allocation_counter::measure(|| {
            matches = rule.matching_values(black_box(&signals), end).len();
        });
        one_run = start.elapsed().as_secs_f64();
        cpu_pipeline = cpu_seconds();
        run_allocs = runs.count_total;
        let start = Instant::now();
        for h in 1..=24 {
            day_matches += hourly.matching_values(&signals, h * 3600).len();
        }
        day = start.elapsed().as_secs_f64();
    });
    let n = input.signals.len() as f64;
    println!("{label}");
    println!(
        "  collect {:.0} ms, index {:.0} ms, one run over all signals {:.0} ms ({matches} matching join values, {run_allocs} allocations)",
        collect * 1e3,
        index * 1e3,
        one_run * 1e3
    );
    println!(
        "  => {:.2} M signals/s (collect + index + run), {:.2} M signals/s for the run alone",
        n / (collect + index + one_run) / 1e6,
        n / one_run / 1e6
    );
    if let (Some(a), Some(b)) = (cpu_start, cpu_pipeline) {
        println!(
            "  CPU time for collect + index + run: {:.2} s => {:.2} M signals/s per core",
            b - a,
            n / (b - a).max(0.01) / 1e6
        );
    }
    println!(
        "  24 hourly runs over the indexed day: {:.0} ms ({day_matches} matching join values in all)",
        day * 1e3
    );
    println!(
        "  peak heap {:.1} MB ({:.0} bytes per signal)",
        heap.bytes_max as f64 / 1e6,
        heap.bytes_max as f64 / n
    );
}

#[expect(clippy::print_stdout, reason = "a benchmark prints its numbers")]
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    println!("{n} synthetic signals over one day, one thread\n");

    let users: Vec<String> = (0..100_000).map(|i| format!("user{i}@example.com")).collect();
    let input = synthesize(n, &users, &[2, 1, 1], 1);
    bench(
        "Sequence Recon(2) -> KeyCreated -> KeyUsed, frames 30 and 10 minutes, 100,000 users, KeyUsed on a 2-element array",
        SEQUENCE,
        &input,
        2,
    );
    drop(input);
    let hot = synthesize(n, &users[..10], &[2, 1, 1], 2);
    bench(
        "Same Sequence, 10 users (100,000 signals per join value)",
        SEQUENCE,
        &hot,
        2,
    );
    drop(hot);

    let ips: Vec<String> = (0..50_000)
        .map(|i| format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255))
        .collect();
    let input = synthesize(n, &ips, &[6, 1, 1, 2], 3);
    bench(
        "Group Spray(5) + SSO + Root, 2 of 3 needed, Blocked absent, 50,000 addresses, all on p_any_ip_addresses",
        GROUP,
        &input,
        usize::MAX,
    );
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM")) {
            println!("\nprocess peak RSS: {}", line.trim_start_matches("VmHWM:").trim());
        }
    }
}
