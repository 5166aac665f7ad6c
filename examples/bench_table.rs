//! The kernel benchmarks' key figures as markdown tables (or JSON), measured directly: for every
//! built-in, GB/s at 16M f32 elements for the naive ndarray version, the baseline and the widest
//! SIMD clone (one thread) and the full `Optimizer::step()` (the pool's threads), as fractions of
//! the same run's bandwidth probes, the 1000 × 4096 many-tensor step against the 16M one, and the
//! time of a step over one tensor of 1K elements; then every zoo rule's `Optimizer::step()` at
//! 16M against the time its bytes need at the probes' speed (its read-only passes at the `read`
//! probe's, its update at the `rmw` probe's with the same streams); then Adam's and AdamW's step
//! at 16M with their states in each `StateFormat`, against the bytes that format must move, with
//! the states' bytes per parameter (`state_bytes()` and a counting allocator's peak).
//!
//! ```text
//! cargo run --release --example bench_table                       # rayon's global pool
//! cargo run --release --example bench_table -- --threads 1,2      # one table per pool size
//! cargo run --release --example bench_table -- --threads 1,2 --json
//! ```
//!
//! Options: `--threads LIST` (one pool of each size; default: the global pool, which honours
//! `RAYON_NUM_THREADS`), `--reps N` (timings per figure and round, median kept; default 7),
//! `--rounds N` (the whole measurement repeated, pool sizes interleaved; the median round is
//! reported, with the range of the step's GB/s; default 3), `--quick` (1M and 100 × 4096 instead
//! of 16M and 1000 × 4096, one round, for a smoke test), `--formats-only` (the probes and the
//! state formats table alone, as `scripts/compare_torch.py --formats` needs), `--zoo-only PREFIX`
//! (the probes and the zoo rows whose name starts with PREFIX alone, e.g. `AdaFactor`), `--json`.

#[path = "../benches/kernels/cases.rs"]
mod cases;
#[path = "../benches/kernels/fixture.rs"]
mod fixture;
#[path = "../benches/kernels/formats.rs"]
mod formats;
#[path = "../benches/kernels/machine.rs"]
mod machine;
#[path = "../benches/kernels/naive.rs"]
mod naive;
#[path = "../benches/kernels/probe.rs"]
mod probe;
#[path = "bench_table/state_formats.rs"]
mod state_formats;
#[path = "bench_table/zoo.rs"]
mod zoo;
#[path = "../benches/kernels/zoo_cases.rs"]
mod zoo_cases;

use std::time::Instant;

use optim::{Rule, SimdLevel};

use crate::cases::Visit;
use crate::fixture::{Kernel, NaiveRun, Shape, Step, bytes_per_element};
use crate::naive::Naive;
use crate::probe::{Loop, Probe};
use crate::state_formats::{Counting, FormatRow, MeasureFormats};
use crate::zoo::{MeasureZoo, ZooRow, zoo_table};
use crate::zoo_cases::Bytes;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

struct Options {
    threads: Option<Vec<usize>>,
    reps: usize,
    rounds: usize,
    quick: bool,
    formats_only: bool,
    zoo_only: Option<String>,
    json: bool,
}

fn options() -> Result<Options, String> {
    let mut options =
        Options { threads: None, reps: 7, rounds: 3, quick: false, formats_only: false, zoo_only: None, json: false };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => options.threads = Some(machine::thread_counts(&mut args)?),
            "--reps" => options.reps = machine::count_argument(&mut args, "--reps")?,
            "--rounds" => options.rounds = machine::count_argument(&mut args, "--rounds")?,
            "--quick" => {
                options.quick = true;
                options.rounds = 1;
            }
            "--formats-only" => options.formats_only = true,
            "--zoo-only" => options.zoo_only = Some(args.next().ok_or("--zoo-only needs a rule's name")?),
            "--json" => options.json = true,
            other => return Err(format!("unknown option {other}; see the example's doc comment")),
        }
    }
    Ok(options)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The median of `reps` timings of `run` (seconds per call), each over `batch` calls, after
/// `batch` untimed calls.
fn median_time(reps: usize, batch: usize, mut run: impl FnMut()) -> f64 {
    (0..batch).for_each(|_| run());
    let times = (0..reps).map(|_| {
        let started = Instant::now();
        (0..batch).for_each(|_| run());
        started.elapsed().as_secs_f64() / batch as f64
    });
    median(times.collect())
}

/// Calls per timing that make a timing of a call taking about `probe_s` last about 10 ms.
fn batch_for(probe_s: f64) -> usize {
    (1e-2 / probe_s.max(1e-9)).clamp(1.0, 1e5) as usize
}

fn gbps(bytes: usize, seconds: f64) -> f64 {
    bytes as f64 / seconds / 1e9
}

/// One built-in's figures, in seconds per step.
#[derive(Clone)]
struct Row {
    label: &'static str,
    bytes_per_element: usize,
    naive: f64,
    baseline: f64,
    best: f64,
    step: f64,
    many: f64,
    step_1k: f64,
    kernel_1k: f64,
}

/// One pool size's figures.
#[derive(Clone)]
struct Run {
    threads: usize,
    /// Each probe loop at the large size: GB/s on one thread, then on the pool.
    bandwidth: Vec<(Loop, f64, f64)>,
    rows: Vec<Row>,
    zoo: Vec<ZooRow>,
    formats: Vec<FormatRow>,
}

impl Run {
    /// A probe's GB/s on one thread and on the pool.
    fn probe(&self, kind: Loop) -> (f64, f64) {
        self.bandwidth.iter().find(|(k, ..)| *k == kind).map_or((f64::NAN, f64::NAN), |&(_, one, pool)| (one, pool))
    }

    /// Every figure's median over `rounds` (all of one pool size).
    fn median(rounds: &[Run]) -> Run {
        let first = &rounds[0];
        let over = |figure: &dyn Fn(&Run) -> f64| median(rounds.iter().map(figure).collect());
        let bandwidth = (0..first.bandwidth.len())
            .map(|i| (first.bandwidth[i].0, over(&|r| r.bandwidth[i].1), over(&|r| r.bandwidth[i].2)))
            .collect();
        let rows = (0..first.rows.len())
            .map(|i| Row {
                naive: over(&|r| r.rows[i].naive),
                baseline: over(&|r| r.rows[i].baseline),
                best: over(&|r| r.rows[i].best),
                step: over(&|r| r.rows[i].step),
                many: over(&|r| r.rows[i].many),
                step_1k: over(&|r| r.rows[i].step_1k),
                kernel_1k: over(&|r| r.rows[i].kernel_1k),
                ..first.rows[i].clone()
            })
            .collect();
        let zoo =
            (0..first.zoo.len()).map(|i| ZooRow { step: over(&|r| r.zoo[i].step), ..first.zoo[i].clone() }).collect();
        let formats = state_formats::median_rows(&rounds.iter().map(|r| &r.formats[..]).collect::<Vec<_>>());
        Run { threads: first.threads, bandwidth, rows, zoo, formats }
    }

    /// A probe's GB/s on the pool.
    fn pool_probe(&self, kind: Loop) -> f64 {
        self.probe(kind).1
    }

    /// Seconds the bytes of `bytes` × `elements` need at this run's pool probes: the read-only
    /// part at the `read` probe's speed, the update at the `rmw` probe's with the same streams.
    fn need(&self, bytes: Bytes, elements: usize) -> f64 {
        let (_, read) = self.probe(Loop::Read(1));
        let (_, rmw) = Loop::rmw_moving(bytes.update).map_or((f64::NAN, f64::NAN), |k| self.probe(k));
        let n = elements as f64;
        n * bytes.read_only as f64 / (read * 1e9) + n * bytes.update as f64 / (rmw * 1e9)
    }
}

struct Measure {
    large: Shape,
    many: Shape,
    reps: usize,
    rows: Vec<Row>,
}

impl Visit for Measure {
    fn visit<R: Rule>(&mut self, label: &'static str, hyper: R::Hyper, naive: fn() -> Box<dyn Naive>) {
        let (large, many, tiny, reps) = (self.large, self.many, Shape::one(1 << 10), self.reps);
        let naive_time = {
            let mut run = NaiveRun::new(naive, large);
            median_time(reps.div_ceil(2).max(3), 1, || run.run())
        };
        let (baseline, best) = {
            let mut kernel = Kernel::<R>::new(hyper.clone(), large);
            let baseline = median_time(reps, 1, || kernel.run(SimdLevel::Baseline));
            (baseline, median_time(reps, 1, || kernel.run(SimdLevel::detected())))
        };
        let step = {
            let mut step = Step::<R>::new(hyper.clone(), large);
            median_time(reps, 1, || step.run())
        };
        let many_time = {
            let mut step = Step::<R>::new(hyper.clone(), many);
            median_time(reps, 1, || step.run())
        };
        let step_1k = {
            let mut step = Step::<R>::new(hyper.clone(), tiny);
            let batch = batch_for(median_time(3, 100, || step.run()));
            median_time(reps, batch, || step.run())
        };
        let kernel_1k = {
            let mut kernel = Kernel::<R>::new(hyper.clone(), tiny);
            let batch = batch_for(median_time(3, 100, || kernel.run(SimdLevel::detected())));
            median_time(reps, batch, || kernel.run(SimdLevel::detected()))
        };
        self.rows.push(Row {
            label,
            bytes_per_element: bytes_per_element::<R>(&hyper),
            naive: naive_time,
            baseline,
            best,
            step,
            many: many_time,
            step_1k,
            kernel_1k,
        });
    }
}

/// The probe loops measured per run: the read-only sum (the yardstick of reduction passes),
/// STREAM's two and the streams of rules with 0 to 4 states.
const PROBES: [Loop; 8] =
    [Loop::Read(1), Loop::Copy, Loop::Triad, Loop::Rmw(0), Loop::Rmw(1), Loop::Rmw(2), Loop::Rmw(3), Loop::Rmw(4)];

/// One round of every figure (with `formats_only`, the probes and the state formats alone), on
/// the current rayon pool.
fn measure(large: Shape, many: Shape, reps: usize, formats_only: bool, zoo_only: Option<&str>) -> Run {
    let level = SimdLevel::detected();
    let bandwidth = PROBES
        .into_iter()
        .map(|kind| {
            let mut probe = Probe::new(kind, large.len);
            let one = median_time(reps, 1, || probe.run(level));
            let pool = median_time(reps, 1, || probe.run_parallel(level));
            (kind, gbps(probe.bytes(), one), gbps(probe.bytes(), pool))
        })
        .collect();
    let mut visitor = Measure { large, many, reps, rows: Vec::new() };
    let mut zoo = MeasureZoo { large, reps, only: zoo_only, rows: Vec::new() };
    if !formats_only {
        if zoo_only.is_none() {
            cases::builtins(&mut visitor);
        }
        zoo_cases::zoo(&mut zoo);
    }
    let mut formats = MeasureFormats { large, reps, rows: Vec::new() };
    if zoo_only.is_none() {
        formats::rules(&mut formats);
    }
    let threads = rayon::current_num_threads();
    Run { threads, bandwidth, rows: visitor.rows, zoo: zoo.rows, formats: formats.rows }
}

fn plural(threads: usize) -> &'static str {
    if threads == 1 { "" } else { "s" }
}

fn markdown(rounds: &[Run], large: Shape, many: Shape) {
    let run = Run::median(rounds);
    let (big, t) = (large.label(), run.threads);
    println!("### {t} thread{}\n", plural(t));
    let probes: Vec<String> = run
        .bandwidth
        .iter()
        .map(|(kind, one, pool)| match t {
            1 => format!("{} {one:.1}", kind.name()),
            _ => format!("{} {one:.1} / {pool:.1}", kind.name()),
        })
        .collect();
    let unit = if t == 1 { "GB/s" } else { "GB/s (one thread / the pool)" };
    println!("Bandwidth probes at {big}, {unit}: {}.\n", probes.join(", "));
    if !run.rows.is_empty() {
        rules_table(&run, rounds, large, many);
    }
    if !run.zoo.is_empty() {
        zoo_table(&run, large);
    }
    let rounds: Vec<&[FormatRow]> = rounds.iter().map(|r| &r.formats[..]).collect();
    if run.formats.is_empty() {
        return;
    }
    state_formats::markdown(&run.formats, &rounds, large, t, &|kind| run.pool_probe(kind));
}

/// The built-ins' table.
fn rules_table(run: &Run, rounds: &[Run], large: Shape, many: Shape) {
    let (big, small, t) = (large.label(), many.label(), run.threads);
    let best = format!("{:?}", SimdLevel::detected()).to_lowercase();
    println!(
        "GB/s of the rule's bytes at {big}: naive, baseline and {best} clones on one thread, `step` \
         (`Optimizer::step()`) on {t} thread{}, median of {} rounds (range); `rmw` is the probe with \
         the rule's streams and byte count.\n",
        plural(t),
        rounds.len(),
    );
    let (triad_1t, triad) = run.probe(Loop::Triad);
    println!(
        "| rule | B/elem | naive | baseline | {best} | {best} / rmw, triad | step | step / rmw, triad | \
         step ÷ naive | {small} ÷ {big} | 1K step | 1K {best} kernel |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for (i, row) in run.rows.iter().enumerate() {
        let rate = |seconds: f64| gbps(row.bytes_per_element * large.elements(), seconds);
        let many_rate = gbps(row.bytes_per_element * many.elements(), row.many);
        let percent = |value: f64, of: f64| format!("{:.0}%", 100.0 * value / of);
        let (rmw_1t, rmw) = Loop::rmw_moving(row.bytes_per_element).map_or((f64::NAN, f64::NAN), |k| run.probe(k));
        let steps = rounds.iter().map(|r| rate(r.rows[i].step));
        let (low, high) = steps.fold((f64::INFINITY, 0.0f64), |(low, high), x| (low.min(x), high.max(x)));
        let range = if rounds.len() > 1 { format!(" ({low:.0}–{high:.0})") } else { String::new() };
        println!(
            "| {} | {} | {:.2} | {:.1} | {:.1} | {}, {} | {:.1}{range} | {}, {} | {:.0}× | {} | {:.0} ns | {:.0} ns |",
            row.label,
            row.bytes_per_element,
            rate(row.naive),
            rate(row.baseline),
            rate(row.best),
            percent(rate(row.best), rmw_1t),
            percent(rate(row.best), triad_1t),
            rate(row.step),
            percent(rate(row.step), rmw),
            percent(rate(row.step), triad),
            row.naive / row.step,
            percent(many_rate, rate(row.step)),
            row.step_1k * 1e9,
            row.kernel_1k * 1e9,
        );
    }
    println!();
}

fn json(runs: &[Vec<Run>], large: Shape, many: Shape) {
    let runs: Vec<serde_json::Value> = runs
        .iter()
        .map(|rounds| {
            let run = Run::median(rounds);
            let rows: Vec<serde_json::Value> = run
                .rows
                .iter()
                .map(|row| {
                    serde_json::json!({
                        "rule": row.label,
                        "bytes_per_element": row.bytes_per_element,
                        "naive_s": row.naive,
                        "baseline_s": row.baseline,
                        "best_s": row.best,
                        "step_s": row.step,
                        "many_step_s": row.many,
                        "step_1k_s": row.step_1k,
                        "kernel_1k_s": row.kernel_1k,
                    })
                })
                .collect();
            let zoo: Vec<serde_json::Value> = run
                .zoo
                .iter()
                .map(|row| {
                    serde_json::json!({
                        "rule": row.label,
                        "passes": row.passes,
                        "read_only_bytes_per_element": row.bytes.read_only,
                        "update_bytes_per_element": row.bytes.update,
                        "step_s": row.step,
                        "bytes_need_s": run.need(row.bytes, large.elements()),
                    })
                })
                .collect();
            let bandwidth: serde_json::Map<String, serde_json::Value> = run
                .bandwidth
                .iter()
                .map(|(kind, one, pool)| {
                    (kind.name(), serde_json::json!({ "one_thread_gbps": one, "pool_gbps": pool }))
                })
                .collect();
            serde_json::json!({
                "threads": run.threads,
                "rounds": rounds.len(),
                "bandwidth": bandwidth,
                "rules": rows,
                "zoo": zoo,
                "state_formats": state_formats::json(&run.formats, large, &|kind| run.pool_probe(kind)),
            })
        })
        .collect();
    let doc = serde_json::json!({
        "cpu": machine::cpu_model(),
        "simd": format!("{:?}", SimdLevel::detected()),
        "large": { "count": large.count, "len": large.len },
        "many": { "count": many.count, "len": many.len },
        "runs": runs,
    });
    println!("{doc:#}");
}

fn main() {
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("bench_table: {message}");
            std::process::exit(2);
        }
    };
    let (large, many) = match options.quick {
        true => (Shape::one(1 << 20), Shape { count: 100, len: 4096 }),
        false => (Shape::one(1 << 24), Shape { count: 1000, len: 4096 }),
    };
    let pools: Vec<Option<rayon::ThreadPool>> = match &options.threads {
        None => vec![None],
        Some(list) => list
            .iter()
            .map(|&threads| Some(rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a thread pool")))
            .collect(),
    };
    let mut runs: Vec<Vec<Run>> = vec![Vec::new(); pools.len()];
    for _ in 0..options.rounds {
        for (pool, rounds) in pools.iter().zip(&mut runs) {
            let run = || measure(large, many, options.reps, options.formats_only, options.zoo_only.as_deref());
            rounds.push(match pool {
                Some(pool) => pool.install(run),
                None => run(),
            });
        }
    }
    if options.json {
        json(&runs, large, many);
    } else {
        println!(
            "CPU: {} ({:?} clones); median of {} timings per figure and round.\n",
            machine::cpu_model(),
            SimdLevel::detected(),
            options.reps
        );
        for rounds in &runs {
            markdown(rounds, large, many);
        }
    }
}
