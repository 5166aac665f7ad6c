//! The rules with reduction passes against the bytes they must move (issue 13, item 5): 16M f32
//! parameters as 8 tensors of 1024 × 2048, `Optimizer::step()` on a pool of each size, every
//! figure beside the same run's read-only and read-modify-write bandwidth probes.
//!
//! A rule's bytes are split between its read-only passes (a norm, a sum, a group sum, the global
//! norm of clipping: the arrays the pass reads, 4 bytes each) and its update pass (param read
//! and written, gradient read, each state read and written). The time those bytes need is the
//! read-only bytes at the one-array `read` probe's speed plus the update's bytes at the speed
//! of the `rmw` probe with the same streams; `need / time` is the fraction of the machine's
//! limit reached. Reading several arrays at once is slower than reading one on some machines, so
//! a second yardstick holds each read-only pass to the `read8` .. `read20` probe (sums of 2 to 5
//! arrays read together) with as many streams as the pass reads, as the update is held to the
//! `rmw` probe with its own streams: `need / time (streams)`.
//!
//! ```text
//! cargo run --release --example bench_reduce                         # 2 threads
//! cargo run --release --example bench_reduce -- --threads 1,2 --rounds 5
//! ```
//!
//! Options: `--threads LIST` (default 2), `--reps N` (timings per figure and round, median kept;
//! default 7), `--rounds N` (every figure measured again, the median round reported; default
//! 3), `--quick` (8 × 128K elements, one round: a smoke test), `--only LABEL` (time only the
//! rows whose label starts with LABEL, e.g. for a profiler), `--json` (the figures as JSON, for
//! `scripts/compare_torch.py --clip`), `--cold` (before every timing, probes and steps alike,
//! read twice the last-level cache's size of other memory, untimed: a training loop's forward
//! and backward passes leave the cache holding other data; without it, a probe rereading one
//! 64 MB array runs from a large shared cache), `--passes` (then, for every row that is one
//! optimizer's step, each pass of a profiled step — `Optimizer::step_profiled`, median of
//! `--reps` — against the probe with the pass's streams).

#[path = "../benches/kernels/fixture.rs"]
mod fixture;
#[path = "../benches/kernels/machine.rs"]
mod machine;
#[path = "../benches/kernels/naive.rs"]
#[allow(unused_imports)]
mod naive;
#[path = "../benches/kernels/probe.rs"]
mod probe;
#[path = "../benches/kernels/reductions.rs"]
mod reductions;

use std::time::Instant;

use optim::SimdLevel;

use crate::machine::CacheFlush;
use crate::probe::{Loop, Probe};
use crate::reductions::{Case, Setup};

struct Options {
    threads: Vec<usize>,
    reps: usize,
    rounds: usize,
    quick: bool,
    only: Option<String>,
    json: bool,
    cold: bool,
    passes: bool,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        threads: vec![2],
        reps: 7,
        rounds: 3,
        quick: false,
        only: None,
        json: false,
        cold: false,
        passes: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => options.threads = machine::thread_counts(&mut args)?,
            "--json" => options.json = true,
            "--cold" => options.cold = true,
            "--passes" => options.passes = true,
            "--only" => options.only = Some(args.next().ok_or("--only needs a rule's label")?),
            "--reps" => options.reps = machine::count_argument(&mut args, "--reps")?,
            "--rounds" => options.rounds = machine::count_argument(&mut args, "--rounds")?,
            "--quick" => {
                options.quick = true;
                options.rounds = 1;
            }
            other => return Err(format!("unknown option {other}; see the example's doc comment")),
        }
    }
    Ok(options)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The median of `reps` timings of `run` (seconds per call), after one untimed call; each
/// timing after `flush` when given.
fn median_time(reps: usize, flush: Option<&CacheFlush>, mut run: impl FnMut()) -> f64 {
    run();
    let times = (0..reps).map(|_| {
        if let Some(flush) = flush {
            flush.run();
        }
        let started = Instant::now();
        run();
        started.elapsed().as_secs_f64()
    });
    median(times.collect())
}

/// The probes every row is measured against: read-only sums of 1 to 5 arrays (a read-only
/// pass's streams) and the rmw streams of rules with 0 to 3 states; and `read64`, one array's
/// squares summed in `f64` lanes as a reduction pass sums them (shown, not a yardstick).
const PROBES: [Loop; 10] = [
    Loop::Read(1),
    Loop::ReadSquaresF64,
    Loop::Read(2),
    Loop::Read(3),
    Loop::Read(4),
    Loop::Read(5),
    Loop::Rmw(0),
    Loop::Rmw(1),
    Loop::Rmw(2),
    Loop::Rmw(3),
];

/// One round on the current pool: each probe's GB/s, then each case's seconds per step.
fn round(setup: Setup, reps: usize, only: Option<&str>, flush: Option<&CacheFlush>) -> Round {
    let level = SimdLevel::detected();
    let probes = PROBES
        .iter()
        .map(|&kind| {
            let mut probe = Probe::new(kind, setup.elements());
            probe.bytes() as f64 / median_time(reps, flush, || probe.run_parallel(level)) / 1e9
        })
        .collect();
    let cases = Case::ALL.iter().map(|case| {
        if only.is_some_and(|only| !case.label.starts_with(only)) {
            return f64::NAN;
        }
        let mut step = case.build(setup);
        median_time(reps, flush, || {
            step(false);
        })
    });
    (probes, cases.collect())
}

/// One round's figures: each probe's GB/s, each case's seconds per step.
type Round = (Vec<f64>, Vec<f64>);

/// The median round's probes (GB/s) and cases (seconds per step).
fn medians(rounds: &[Round]) -> Round {
    let probes = (0..PROBES.len()).map(|i| median(rounds.iter().map(|r| r.0[i]).collect())).collect();
    let times = (0..Case::ALL.len()).map(|i| median(rounds.iter().map(|r| r.1[i]).collect())).collect();
    (probes, times)
}

fn json(runs: &[(usize, Vec<Round>)], setup: Setup, cold: bool) {
    let runs: Vec<serde_json::Value> = runs
        .iter()
        .map(|(threads, rounds)| {
            let (probes, times) = medians(rounds);
            let probes: serde_json::Map<String, serde_json::Value> =
                PROBES.iter().zip(probes).map(|(k, gbps)| (k.name(), serde_json::json!(gbps))).collect();
            let cases: Vec<serde_json::Value> = Case::ALL
                .iter()
                .zip(times)
                .map(|(case, time)| {
                    serde_json::json!({
                        "rule": case.label,
                        "read_only_bytes_per_element": case.bytes.0,
                        "update_bytes_per_element": case.bytes.1,
                        "arrays_per_read_only_pass": case.reads,
                        "step_s": time,
                    })
                })
                .collect();
            serde_json::json!({ "threads": threads, "probes_gbps": probes, "cases": cases })
        })
        .collect();
    let doc = serde_json::json!({
        "cpu": machine::cpu_model(),
        "cold": cold,
        "simd": format!("{:?}", SimdLevel::detected()),
        "tensors": { "count": setup.count, "rows": setup.rows, "cols": setup.cols },
        "runs": runs,
    });
    println!("{doc:#}");
}

fn table(threads: usize, rounds: &[Round], setup: Setup) {
    let (probes, times) = medians(rounds);
    let rate = |kind: Loop| PROBES.iter().position(|&k| k == kind).map_or(f64::NAN, |i| probes[i]);
    let names: Vec<String> = PROBES.iter().zip(&probes).map(|(k, gbps)| format!("{} {gbps:.1}", k.name())).collect();
    println!("### {threads} thread{}\n", if threads == 1 { "" } else { "s" });
    println!("Probes, GB/s: {}.\n", names.join(", "));
    println!(
        "| rule | passes | B/elem read-only + update | time | GB/s | time its bytes need | need / time | need (streams) | need / time (streams) | ÷ Adam |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    let n = setup.elements() as f64;
    let adam = Case::ALL.iter().position(|c| c.label == "Adam").map_or(f64::NAN, |i| times[i]);
    for (case, &time) in Case::ALL.iter().zip(&times) {
        let (read, update) = case.bytes;
        let update_rate = if update == 0 { f64::INFINITY } else { Loop::rmw_moving(update).map_or(f64::NAN, rate) };
        let update_need = n * update as f64 / (update_rate * 1e9);
        let need = n * read as f64 / (rate(Loop::Read(1)) * 1e9) + update_need;
        assert_eq!(case.reads.iter().sum::<usize>() * 4, read, "{}: reads and bytes disagree", case.label);
        let streams_need =
            case.reads.iter().map(|&arrays| n * (4 * arrays) as f64 / (rate(Loop::Read(arrays)) * 1e9)).sum::<f64>()
                + update_need;
        let moved = n * (read + update + case.extra_bytes) as f64;
        let extra = if case.extra_bytes > 0 { format!(" (+{} more)", case.extra_bytes) } else { String::new() };
        println!(
            "| {} | {} | {read} + {update}{extra} | {:.2} ms | {:.1} | {:.2} ms | {:.0}% | {:.2} ms | {:.0}% | {:.2}× |",
            case.label,
            case.passes,
            time * 1e3,
            moved / time / 1e9,
            need * 1e3,
            100.0 * need / time,
            streams_need * 1e3,
            100.0 * streams_need / time,
            time / adam,
        );
    }
    println!();
}

fn main() {
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("bench_reduce: {message}");
            std::process::exit(2);
        }
    };
    let setup = Setup { count: 8, rows: if options.quick { 128 } else { 1024 }, cols: 2048 };
    let pools: Vec<(usize, rayon::ThreadPool)> = options
        .threads
        .iter()
        .map(|&t| (t, rayon::ThreadPoolBuilder::new().num_threads(t).build().expect("a thread pool")))
        .collect();
    let flush = options.cold.then(CacheFlush::new);
    let mut runs = vec![Vec::new(); pools.len()];
    for _ in 0..options.rounds {
        for ((_, pool), rounds) in pools.iter().zip(&mut runs) {
            rounds.push(pool.install(|| round(setup, options.reps, options.only.as_deref(), flush.as_ref())));
        }
    }
    if options.json {
        let runs: Vec<_> = pools.iter().map(|(threads, _)| *threads).zip(runs).collect();
        return json(&runs, setup, options.cold);
    }
    println!(
        "CPU: {} ({:?} clones); {} tensors of {} × {} f32; median of {} timings per figure, median of {} rounds{}.\n",
        machine::cpu_model(),
        SimdLevel::detected(),
        setup.count,
        setup.rows,
        setup.cols,
        options.reps,
        options.rounds,
        if options.cold { "; cache flushed before each timing (--cold)" } else { "" },
    );
    for ((threads, pool), rounds) in pools.iter().zip(&runs) {
        table(*threads, rounds, setup);
        if options.passes {
            let probes = medians(rounds).0;
            pool.install(|| pass_table(setup, &options, flush.as_ref(), &probes));
        }
    }
}

/// Each pass of every row that is one optimizer's step: its time in a profiled step (median of
/// `reps`), its bytes per element (4 per array a read-only pass reads; the update's as in the
/// main table), its GB/s and the probe with its streams.
fn pass_table(setup: Setup, options: &Options, flush: Option<&CacheFlush>, probes: &[f64]) {
    let rate = |kind: Loop| PROBES.iter().position(|&k| k == kind).map_or(f64::NAN, |i| probes[i]);
    println!("Passes of a profiled step (`Optimizer::step_profiled`, median of {} steps):\n", options.reps);
    println!("| rule | pass | elements | B/elem | time | GB/s | probe | probe GB/s | % of probe |");
    println!("|---|--:|--:|--:|--:|--:|---|--:|--:|");
    for case in Case::ALL.iter().filter(|c| options.only.as_deref().is_none_or(|only| c.label.starts_with(only))) {
        let mut step = case.build(setup);
        let mut profiles = Vec::new();
        for _ in 0..options.reps {
            if let Some(flush) = flush {
                flush.run();
            }
            profiles.extend(step(true));
        }
        let Some(first) = profiles.first() else { continue };
        let median_of = |part: &dyn Fn(&optim::StepProfile) -> std::time::Duration| {
            median(profiles.iter().map(|p| part(p).as_secs_f64()).collect())
        };
        let mut rows: Vec<(String, usize, usize, f64, Loop)> = Vec::new();
        let ran = first.reduction_passes.iter().enumerate().filter(|(_, p)| p.ran());
        for ((index, pass), &arrays) in ran.zip(case.reads) {
            let time = median_of(&|p| p.reduction_passes[index].time);
            rows.push((pass.pass.to_string(), pass.elements, 4 * arrays, time, Loop::Read(arrays)));
        }
        if let Some(clip) = first.clip_norm.map(|_| median_of(&|p| p.clip_norm.unwrap_or_default())) {
            rows.insert(0, ("clip norm".into(), first.elements, 4, clip, Loop::Read(1)));
        }
        let update = case.bytes.1;
        let update_probe = Loop::rmw_moving(update).unwrap_or(Loop::Rmw(0));
        rows.push(("update".into(), first.elements, update, median_of(&|p| p.update), update_probe));
        for (pass, elements, bytes, time, probe) in rows {
            let gbps = elements as f64 * bytes as f64 / time / 1e9;
            println!(
                "| {} | {pass} | {elements} | {bytes} | {:.2} ms | {gbps:.1} | {} | {:.1} | {:.0}% |",
                case.label,
                time * 1e3,
                probe.name(),
                rate(probe),
                100.0 * gbps / rate(probe),
            );
        }
    }
    println!();
}
