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
//! Options: `--threads LIST` (default 1,2), `--reps N` (timings per figure, default 7: the
//! codec table keeps the fastest by the thread's CPU time, the step table the medians of wall
//! time and of CPU time over all threads, which on a busy machine is the steadier figure),
//! `--only codec|step` (one of the two tables), `--level NAME` (the codec table at that level
//! only, e.g. for a profiler), `--formats LIST` (only those formats, by prefix: `native,int8`),
//! `--quick` (1M parameters: a smoke test, and a step whose data stays in cache),
//! `--exhaustive` (instead of timing: every one of the 2^32 float32s through each lookup table
//! against torchao's search, which the test suite checks only where a code can change; exits
//! with an error on any difference).

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
    formats: Option<String>,
    quick: bool,
}

impl Options {
    /// Whether `--formats` names this format (`int8 signed`, `Int8`: by prefix, any case).
    fn wanted(&self, name: &str) -> bool {
        let name = name.to_lowercase();
        self.formats.as_ref().is_none_or(|list| list.split(',').any(|f| name.starts_with(&f.trim().to_lowercase())))
    }
}

fn options() -> Result<Options, String> {
    let mut options = Options { threads: vec![1, 2], reps: 7, only: None, level: None, formats: None, quick: false };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => options.threads = machine::thread_counts(&mut args)?,
            "--reps" => options.reps = machine::count_argument(&mut args, "--reps")?,
            "--only" => options.only = Some(args.next().ok_or("--only needs codec or step")?),
            "--quick" => options.quick = true,
            "--exhaustive" => {}
            "--formats" => options.formats = Some(args.next().ok_or("--formats needs a list such as native,int8")?),
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

/// The medians of `reps` timings of `run`: seconds per call, and CPU seconds over all threads.
fn median_times(reps: usize, mut run: impl FnMut()) -> (f64, f64) {
    let (mut wall, mut cpu): (Vec<f64>, Vec<f64>) = (0..reps)
        .map(|_| {
            let (started, cpu_started) = (Instant::now(), cpu_nanos(true));
            run();
            (started.elapsed().as_secs_f64(), (cpu_nanos(true) - cpu_started) / 1e9)
        })
        .unzip();
    wall.sort_by(f64::total_cmp);
    cpu.sort_by(f64::total_cmp);
    (wall[reps / 2], cpu[reps / 2])
}

/// Nanoseconds this thread (`process` false) or every thread of the process has run on a CPU
/// (`CLOCK_THREAD_CPUTIME_ID`, `CLOCK_PROCESS_CPUTIME_ID`), so that timings leave out the time
/// other processes took from the work.
#[cfg(target_os = "linux")]
fn cpu_nanos(process: bool) -> f64 {
    #[repr(C)]
    struct Timespec {
        seconds: i64,
        nanos: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: i32, time: *mut Timespec) -> i32;
    }
    let clock = if process { 2 } else { 3 };
    let mut time = Timespec { seconds: 0, nanos: 0 };
    // SAFETY: `time` is a valid `struct timespec` for the call to fill
    unsafe { clock_gettime(clock, &mut time) };
    time.seconds as f64 * 1e9 + time.nanos as f64
}

/// Wall time elsewhere.
#[cfg(not(target_os = "linux"))]
fn cpu_nanos(_process: bool) -> f64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as f64
}

/// The fastest of `reps` timings of `run` by [`cpu_nanos`] (seconds per call), after one
/// untimed call.
fn cpu_time(reps: usize, mut run: impl FnMut()) -> f64 {
    run();
    (0..reps)
        .map(|_| {
            let started = cpu_nanos(false);
            run();
            (cpu_nanos(false) - started) / 1e9
        })
        .fold(f64::INFINITY, f64::min)
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

fn codec_table(options: &Options) {
    let reps = options.reps;
    // 64K elements: 256 KB of values and at most 128 KB of codes, within L2
    let len = 1 << 16;
    let levels: Vec<SimdLevel> =
        SimdLevel::available().into_iter().filter(|&l| options.level.is_none_or(|o| o == l)).collect();
    let heading: Vec<String> = levels.iter().map(|l| format!("{l:?} encode | {l:?} decode")).collect();
    println!("ns per element on the CPU, {len} elements coded over and over (in L2), the fastest of {reps} runs:\n");
    println!("| format | {} |", heading.join(" | "));
    println!("|---|{}", "--:|".repeat(2 * levels.len()));
    for (format, signed, name) in CODECS.into_iter().filter(|c| options.wanted(c.2)) {
        let values = state_like(len, !signed, 7);
        let mut packed = lowbit_bench::packed(format, signed, len);
        let mut out = vec![0.0f32; len];
        let mut cells = Vec::new();
        for &level in &levels {
            let encode = cpu_time(reps, || lowbit_bench::encode(level, &mut packed, &values));
            let decode = cpu_time(reps, || lowbit_bench::decode(level, &packed, &mut out));
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

/// Seconds per Adam step with every state in `format` (wall, and CPU over all threads), after
/// a few steps so the states are past their zeros.
fn adam_step(format: StateFormat, rows: usize, reps: usize) -> (f64, f64) {
    let mut optimizer =
        Optimizer::<Adam, f32>::new(params(8, rows, 2048), Adam::hyper()).expect("valid hyperparameters");
    optimizer.set_state_format(format).expect("a format for every state");
    for _ in 0..3 {
        optimizer.step().expect("a valid step");
    }
    median_times(reps, || optimizer.step().expect("a valid step"))
}

fn step_table(options: &Options) -> Result<(), rayon::ThreadPoolBuildError> {
    let rows = if options.quick { 64 } else { 1024 };
    let formats: Vec<StateFormat> = STEP_FORMATS.into_iter().filter(|f| options.wanted(&format!("{f:?}"))).collect();
    println!(
        "Adam, {} M f32 parameters (8 tensors of {rows} × 2048): ms per step (median), the CPU ms",
        (8 * rows * 2048) >> 20
    );
    println!("it took over all threads, and how many times faster than Native:\n");
    println!("| threads | {} |", formats.iter().map(|f| format!("{f:?}")).collect::<Vec<_>>().join(" | "));
    println!("|--:|{}", "--:|".repeat(formats.len()));
    for &n in &options.threads {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(n).build()?;
        let times: Vec<(f64, f64)> =
            pool.install(|| formats.iter().map(|&f| adam_step(f, rows, options.reps)).collect());
        let native = formats.iter().position(|&f| f == StateFormat::Native).map(|i| times[i].0);
        let cells: Vec<String> = times
            .iter()
            .map(|(wall, cpu)| {
                let faster = native.map_or(String::new(), |native| format!(", {:.2}×", native / wall));
                format!("{:.1} (CPU {:.1}{faster})", wall * 1e3, cpu * 1e3)
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
    if std::env::args().any(|arg| arg == "--exhaustive") {
        let mismatches = lowbit_bench::exhaustive_mismatches();
        for (map, wrong) in &mismatches {
            println!("{map}: {wrong} of 2^32 float32s coded otherwise than torchao's search");
        }
        if mismatches.iter().any(|(_, wrong)| *wrong != 0) {
            return Err("the lookup tables differ from torchao's search".into());
        }
        return Ok(());
    }
    let only = options.only.as_deref();
    if only.is_none_or(|o| o == "codec") {
        codec_table(&options);
    }
    if only.is_none_or(|o| o == "step") {
        step_table(&options)?;
    }
    Ok(())
}
