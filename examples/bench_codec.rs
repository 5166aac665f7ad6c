//! The compact state formats' cost: ns per element to encode and decode each format at each SIMD
//! level (on a slice that stays in L2, so the figures are compute, not memory), then whole Adam
//! steps of 16M f32 parameters (8 tensors of 1024 × 2048) with each state format, on pools of 1
//! and 2 threads, beside the same run's Native (float32 state) step.
//!
//! A step with 8-bit states moves 16 bytes per element against Native's 28, so it can only be
//! faster if coding and decoding both states hides under the memory traffic.
//!
//! ```text
//! cargo run --release --example bench_codec
//! cargo run --release --example bench_codec -- --threads 1,2 --reps 9 --only step
//! ```
//!
//! Options: `--threads LIST` (default 1,2), `--reps N` (timings per figure, median kept;
//! default 7), `--only codec|step` (one of the two tables), `--level NAME` (the codec table
//! at that level only, e.g. for a profiler), `--quick` (1M parameters: a smoke test).

#[path = "../benches/kernels/machine.rs"]
mod machine;

use std::time::Instant;

use ndarray::{Array1, ArrayD, s};
use optim::__private::lowbit_bench;
use optim::builtins::Adam;
use optim::{Optimizer, Param, SimdLevel, StateFormat};

struct Options {
    threads: Vec<usize>,
    reps: usize,
    only: Option<String>,
    level: Option<SimdLevel>,
    quick: bool,
}

fn options() -> Result<Options, String> {
    let mut options = Options { threads: vec![1, 2], reps: 7, only: None, level: None, quick: false };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => options.threads = machine::thread_counts(&mut args)?,
            "--reps" => options.reps = machine::count_argument(&mut args, "--reps")?,
            "--only" => options.only = Some(args.next().ok_or("--only needs codec or step")?),
            "--quick" => options.quick = true,
            "--level" => {
                let name = args.next().ok_or("--level needs a level's name")?;
                let level = SimdLevel::available().into_iter().find(|l| format!("{l:?}").eq_ignore_ascii_case(&name));
                options.level = Some(level.ok_or(format!("--level: {name} is not available here"))?);
            }
            other => return Err(format!("unknown option {other}; see the example's doc comment")),
        }
    }
    Ok(options)
}

/// The median of `reps` timings of `run` (seconds per call), after one untimed call.
fn median_time(reps: usize, mut run: impl FnMut()) -> f64 {
    run();
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// A deterministic stream of pseudo-random numbers in [0, 1).
fn uniform(seed: u64) -> impl FnMut() -> f32 {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Values shaped like Adam's states: magnitudes spread over several decades (as `exp_avg` and,
/// squared, `exp_avg_sq` are), both signs unless `non_negative`.
fn state_like(len: usize, non_negative: bool, seed: u64) -> Vec<f32> {
    let mut next = uniform(seed);
    (0..len)
        .map(|_| {
            let magnitude = 10f32.powf(-4.0 * next()) * 1e-2;
            let sign = if non_negative || next() < 0.5 { 1.0 } else { -1.0 };
            if non_negative { magnitude * magnitude } else { sign * magnitude }
        })
        .collect()
}

/// Every coded format, with the map it uses (8-bit and 4-bit: signed for `exp_avg`, unsigned
/// for `exp_avg_sq`).
const CODECS: [(StateFormat, bool, &str); 6] = [
    (StateFormat::BFloat16, true, "bfloat16"),
    (StateFormat::Int8, true, "int8 signed"),
    (StateFormat::Int8, false, "int8 unsigned"),
    (StateFormat::Int4, true, "int4 signed"),
    (StateFormat::Int4, false, "int4 unsigned"),
    (StateFormat::Fp8, true, "fp8"),
];

fn codec_table(reps: usize, only_level: Option<SimdLevel>) {
    // 64K elements: 256 KB of values and at most 128 KB of codes, within L2
    let len = 1 << 16;
    let levels: Vec<SimdLevel> =
        SimdLevel::available().into_iter().filter(|&l| only_level.is_none_or(|o| o == l)).collect();
    let heading: Vec<String> = levels.iter().map(|l| format!("{l:?} encode | {l:?} decode")).collect();
    println!("ns per element, {len} elements coded over and over (in L2):\n");
    println!("| format | {} |", heading.join(" | "));
    println!("|---|{}", "--:|".repeat(2 * levels.len()));
    for (format, signed, name) in CODECS {
        let values = state_like(len, !signed, 7);
        let mut packed = lowbit_bench::packed(format, signed, len);
        let mut out = vec![0.0f32; len];
        let mut cells = Vec::new();
        for &level in &levels {
            let encode = median_time(reps, || lowbit_bench::encode(level, &mut packed, &values));
            let decode = median_time(reps, || lowbit_bench::decode(level, &packed, &mut out));
            std::hint::black_box(&out);
            cells.push(format!("{:.2} | {:.2}", encode * 1e9 / len as f64, decode * 1e9 / len as f64));
        }
        println!("| {name} | {} |", cells.join(" | "));
    }
    println!();
}

/// An array of `len` elements whose data starts at a different offset within a page for each
/// `index` (large allocations all share a page offset, and streams that agree in their low 12
/// address bits collide in the caches); every page is written here, so none is first touched
/// while timing.
fn staggered(index: usize, len: usize, fill: impl Fn(usize) -> f32) -> Array1<f32> {
    let start = index * 272 % 1024;
    let data: Vec<f32> = (0..start + len).map(|i| if i < start { 0.0 } else { fill(i - start) }).collect();
    Array1::from_vec(data).slice_move(s![start..])
}

/// `count` parameters of `rows` × `cols`, each with a gradient set (small, both signs, varied).
fn params(count: usize, rows: usize, cols: usize) -> Vec<Param<f32>> {
    let shaped =
        |a: Array1<f32>| -> ArrayD<f32> { a.into_shape_with_order((rows, cols)).expect("contiguous").into_dyn() };
    (0..count)
        .map(|t| {
            let param = Param::new(shaped(staggered(2 * t, rows * cols, |i| 1.0 + (i % 5) as f32 * 0.1)));
            let grad =
                shaped(staggered(2 * t + 1, rows * cols, |i| ((i % 13) as f32 - 6.5) * 1e-3 * (1.0 + (i % 7) as f32)));
            param.set_grad(grad);
            param
        })
        .collect()
}

const STEP_FORMATS: [StateFormat; 5] =
    [StateFormat::Native, StateFormat::BFloat16, StateFormat::Int8, StateFormat::Int4, StateFormat::Fp8];

/// Seconds per Adam step with every state in `format`, after a few steps so the states are
/// past their zeros.
fn adam_step(format: StateFormat, rows: usize, reps: usize) -> f64 {
    let mut optimizer =
        Optimizer::<Adam, f32>::new(params(8, rows, 2048), Adam::hyper()).expect("valid hyperparameters");
    optimizer.set_state_format(format).expect("a format for every state");
    for _ in 0..3 {
        optimizer.step().expect("a valid step");
    }
    median_time(reps, || optimizer.step().expect("a valid step"))
}

fn step_table(threads: &[usize], rows: usize, reps: usize) -> Result<(), rayon::ThreadPoolBuildError> {
    let elements = 8 * rows * 2048;
    println!("Adam, {} M f32 parameters (8 tensors of {rows} × 2048), ms per step:\n", elements >> 20);
    println!("| threads | {} |", STEP_FORMATS.map(|f| format!("{f:?}")).join(" | "));
    println!("|--:|{}", "--:|".repeat(STEP_FORMATS.len()));
    for &n in threads {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(n).build()?;
        let times: Vec<f64> = pool.install(|| STEP_FORMATS.iter().map(|&f| adam_step(f, rows, reps)).collect());
        let native = times[0];
        let cells: Vec<String> = times
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if i == 0 { format!("{:.1}", t * 1e3) } else { format!("{:.1} ({:.2}× faster)", t * 1e3, native / t) }
            })
            .collect();
        println!("| {n} | {} |", cells.join(" | "));
    }
    println!();
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = options().map_err(|message| format!("bench_codec: {message}"))?;
    println!("CPU: {} (widest level {:?}).\n", machine::cpu_model(), SimdLevel::detected());
    let only = options.only.as_deref();
    if only.is_none_or(|o| o == "codec") {
        codec_table(options.reps, options.level);
    }
    if only.is_none_or(|o| o == "step") {
        step_table(&options.threads, if options.quick { 64 } else { 1024 }, options.reps)?;
    }
    Ok(())
}
