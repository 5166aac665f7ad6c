//! The products of Newton–Schulz (Muon's orthogonalisation) on faer, as the matrix stage runs
//! them (`optim_core::matrix::MatrixScratch::gemm`), against ndarray's `general_mat_mul`
//! (matrixmultiply), in GFLOP/s (`2·m·n·k` over the median time).
//!
//! For `X` of `m x n` (`m ≤ n`; a tall gradient is transposed first), one iteration computes
//! `A = X·Xᵀ` (`m x n · n x m`, `Xᵀ` a transposed view), `A·A` (`m x m · m x m`) and `B·X`
//! (`m x m · m x n`). matrixmultiply is single-threaded as this project builds it, so its
//! multi-thread rows split the output's rows over the rayon pool (one call per part).
//!
//! ```text
//! cargo run --release --example bench_gemm                    # 1 and 2 threads
//! cargo run --release --example bench_gemm -- --threads 2 --reps 9
//! ```
//!
//! Options: `--threads LIST` (default 1,2), `--reps N` (timings per figure, median kept;
//! default 5), `--quick` (256 x 512 only, one timing: a smoke test).

#[path = "../benches/kernels/machine.rs"]
mod machine;

use std::time::Instant;

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, Axis, LinalgScalar};
use optim_core::matrix::{MatrixElement, MatrixScratch, Rounding};

struct Options {
    threads: Vec<usize>,
    reps: usize,
    quick: bool,
}

fn options() -> Result<Options, String> {
    let mut options = Options { threads: vec![1, 2], reps: 5, quick: false };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => options.threads = machine::thread_counts(&mut args)?,
            "--reps" => options.reps = machine::count_argument(&mut args, "--reps")?,
            "--quick" => options.quick = true,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(options)
}

/// One product of an iteration: `m x k · k x n`, the right operand read transposed or not.
#[derive(Clone, Copy)]
struct Product {
    label: &'static str,
    m: usize,
    k: usize,
    n: usize,
    rhs_transposed: bool,
}

fn products(m: usize, n: usize) -> [Product; 3] {
    [
        Product { label: "X·Xᵀ", m, k: n, n: m, rhs_transposed: true },
        Product { label: "A·A", m, k: m, n: m, rhs_transposed: false },
        Product { label: "B·X", m, k: m, n, rhs_transposed: false },
    ]
}

/// The median of `reps` timings of `f` (after one untimed warm-up), in seconds.
fn median_seconds(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn values<T: MatrixElement>(len: usize, seed: usize) -> Vec<T> {
    (0..len).map(|i| T::from_f64(((i * 7919 + seed) % 1009) as f64 / 1009.0 - 0.5)).collect()
}

/// faer through the matrix stage's scratch, in the current rayon pool.
fn faer_seconds<T: MatrixElement>(p: Product, reps: usize) -> f64 {
    let mut s = MatrixScratch::<T>::new();
    let a = s.load(0, &values::<T>(p.m * p.k, 1), p.m, p.k);
    let b = if p.rhs_transposed {
        s.load(1, &values::<T>(p.n * p.k, 2), p.n, p.k).t()
    } else {
        s.load(1, &values::<T>(p.k * p.n, 2), p.k, p.n)
    };
    median_seconds(reps, || {
        s.gemm(2, 1.0, a, b, None, Rounding::Exact);
    })
}

/// ndarray's `general_mat_mul`, the output's rows split over the current rayon pool.
fn ndarray_seconds<T: MatrixElement + LinalgScalar>(p: Product, reps: usize) -> f64 {
    let a = Array2::from_shape_vec((p.m, p.k), values::<T>(p.m * p.k, 1)).expect("shape");
    let b_held = if p.rhs_transposed {
        Array2::from_shape_vec((p.n, p.k), values::<T>(p.n * p.k, 2)).expect("shape")
    } else {
        Array2::from_shape_vec((p.k, p.n), values::<T>(p.k * p.n, 2)).expect("shape")
    };
    let b: ArrayView2<T> = if p.rhs_transposed { b_held.t() } else { b_held.view() };
    let mut c = Array2::<T>::zeros((p.m, p.n));
    let parts = rayon::current_num_threads();
    let rows = p.m.div_ceil(parts).max(1);
    median_seconds(reps, || {
        if parts == 1 {
            general_mat_mul(T::one(), &a, &b, T::zero(), &mut c);
            return;
        }
        rayon::scope(|scope| {
            for (a_part, mut c_part) in a.axis_chunks_iter(Axis(0), rows).zip(c.axis_chunks_iter_mut(Axis(0), rows)) {
                let b = &b;
                scope.spawn(move |_| general_mat_mul(T::one(), &a_part, b, T::zero(), &mut c_part));
            }
        });
    })
}

fn main() {
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("bench_gemm: {message}");
            std::process::exit(2);
        }
    };
    let shapes: &[(usize, usize)] =
        if options.quick { &[(256, 512)] } else { &[(1024, 1024), (1024, 4096), (768, 768), (768, 3072)] };
    let reps = if options.quick { 1 } else { options.reps };
    println!("Newton–Schulz products, GFLOP/s (2·m·n·k / median of {reps}), {}", machine::cpu_model());
    println!(
        "{:<11} {:<6} {:>16} {:>7} {:>12} {:>12} {:>12} {:>12}",
        "X", "op", "m x k x n", "threads", "faer f32", "ndarray f32", "faer f64", "ndarray f64"
    );
    for &(m, n) in shapes {
        for p in products(m, n) {
            for &threads in &options.threads {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a rayon pool");
                let gflops = |seconds: f64| 2.0 * (p.m * p.k * p.n) as f64 / seconds / 1e9;
                let figures = pool.install(|| {
                    [
                        gflops(faer_seconds::<f32>(p, reps)),
                        gflops(ndarray_seconds::<f32>(p, reps)),
                        gflops(faer_seconds::<f64>(p, reps)),
                        gflops(ndarray_seconds::<f64>(p, reps)),
                    ]
                });
                println!(
                    "{:<11} {:<6} {:>16} {:>7} {:>12.1} {:>12.1} {:>12.1} {:>12.1}",
                    format!("{m}x{n}"),
                    p.label,
                    format!("{}x{}x{}", p.m, p.k, p.n),
                    threads,
                    figures[0],
                    figures[1],
                    figures[2],
                    figures[3]
                );
            }
        }
    }
}
