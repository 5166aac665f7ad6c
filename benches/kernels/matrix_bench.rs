//! What the matrix-rule benchmarks (`bench_muon`, `bench_soap`) share: their command line,
//! deterministic values, and the median of a few timings.

use std::time::{Duration, Instant};

use super::machine;

/// `--threads LIST`, `--reps N`, `--quick` (small shapes, 2 reps), `--json FILE`.
pub struct Options {
    pub threads: Vec<usize>,
    pub reps: usize,
    pub quick: bool,
    pub json: Option<String>,
}

/// The options from the command line, `reps` timed steps per figure unless `--reps` says.
pub fn options(reps: usize) -> Result<Options, String> {
    let mut options = Options { threads: vec![1, 2], reps, quick: false, json: None };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => options.threads = machine::thread_counts(&mut args)?,
            "--reps" => options.reps = machine::count_argument(&mut args, "--reps")?,
            "--quick" => options.quick = true,
            "--json" => options.json = Some(args.next().ok_or("--json needs a file name")?),
            "--bench" => {}
            other => return Err(format!("unknown option {other}")),
        }
    }
    if options.quick {
        options.reps = 2;
    }
    Ok(options)
}

/// The median time of `reps` calls of `run`, after one untimed call.
pub fn timed(reps: usize, mut run: impl FnMut()) -> Duration {
    run();
    let mut times: Vec<Duration> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// The options, or the exit with status 2 after saying what is wrong (`name` is the bench's).
pub fn options_or_exit(name: &str, reps: usize) -> Options {
    options(reps).unwrap_or_else(|message| {
        eprintln!("{name}: {message}");
        std::process::exit(2);
    })
}

/// Deterministic values in [-1, 1).
pub fn fill(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}
