//! Muon's step against the machine's matrix multiply (issue 14, item 4): one `Optimizer::step()`
//! of Muon on one float32 matrix, the Newton–Schulz iteration in float32 (`ns_dtype = "param"`)
//! and in bfloat16 (the default), beside `faer`'s own float32 matrix multiply doing the same
//! products. A Muon step is matrix-multiply bound: each of its `ns_steps` iterations on the wide
//! orientation `X` (`m x n`, `m <= n`) computes `X·Xᵀ` (2m²n flops), `G·G` (2m³) and `(bG + cG²)·X`
//! (2m²n). The table gives our step's GFLOP/s over those flops, the same products' GFLOP/s when
//! `faer::linalg::matmul::matmul` computes them alone (no element passes, no scaling), and the
//! ratio of the two: the fraction of the crate's gemm rate the whole step reaches.
//!
//! ```text
//! cargo run --release --example bench_muon                          # 1 and 2 threads
//! cargo run --release --example bench_muon -- --json muon.json      # for compare_torch.py --muon --ours
//! ```
//!
//! Options: `--threads LIST` (default 1,2), `--reps N` (timed steps per figure, median kept;
//! default 7), `--quick` (small shapes, 2 reps: a smoke test), `--json FILE` (our float32 step
//! times as `{"RxC": {"threads": ms}}`).

#[path = "../benches/kernels/machine.rs"]
mod machine;
#[path = "../benches/kernels/matrix_bench.rs"]
mod matrix_bench;

use std::collections::BTreeMap;
use std::time::Duration;

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use optim::zoo::{Muon, MuonNsDtype};
use optim::{Optimizer, Param};

/// torch.optim.Muon's default number of Newton–Schulz iterations.
const NS_STEPS: usize = 5;

/// The shapes the issue names: square, tall, and a transformer block's matrices (d = 768).
const SHAPES: [(usize, usize); 5] = [(1024, 1024), (4096, 1024), (768, 768), (768, 3072), (3072, 768)];
const QUICK_SHAPES: [(usize, usize); 2] = [(128, 128), (256, 64)];

/// The flops of one Muon step's iteration on a `rows x cols` matrix.
fn ns_flops(rows: usize, cols: usize) -> f64 {
    let (m, n) = (rows.min(cols) as f64, rows.max(cols) as f64);
    NS_STEPS as f64 * (4.0 * m * m * n + 2.0 * m * m * m)
}

/// The median time of one Muon step on a `rows x cols` float32 matrix.
fn time_step(rows: usize, cols: usize, ns_dtype: MuonNsDtype, reps: usize) -> Duration {
    let shape = [rows, cols];
    let param = Param::new(ndarray::ArrayD::from_shape_vec(&shape[..], matrix_bench::fill(rows * cols, 1)).unwrap());
    let grad = ndarray::ArrayD::from_shape_vec(&shape[..], matrix_bench::fill(rows * cols, 2)).unwrap();
    let mut opt = Optimizer::<Muon, f32>::new(vec![param.clone()], Muon::hyper().lr(0.02).ns_dtype(ns_dtype)).unwrap();
    param.set_grad(grad);
    matrix_bench::timed(reps, || opt.step().unwrap())
}

/// The median time of the iteration's products alone, computed by `faer` (the same three
/// products per iteration, `NS_STEPS` iterations, on `threads` threads).
fn time_gemm(rows: usize, cols: usize, threads: usize, reps: usize) -> Duration {
    let (m, n) = (rows.min(cols), rows.max(cols));
    let par = if threads > 1 { Par::rayon(threads) } else { Par::Seq };
    let x = Mat::<f32>::from_fn(m, n, |i, j| ((i * 7 + j * 3) % 11) as f32 * 1e-3);
    let mut gram = Mat::<f32>::zeros(m, m);
    let mut square = Mat::<f32>::zeros(m, m);
    let mut next = Mat::<f32>::zeros(m, n);
    let run = || {
        for _ in 0..NS_STEPS {
            matmul(gram.as_mut(), Accum::Replace, x.as_ref(), x.transpose(), 1.0, par);
            matmul(square.as_mut(), Accum::Replace, gram.as_ref(), gram.as_ref(), 1.0, par);
            matmul(next.as_mut(), Accum::Replace, square.as_ref(), x.as_ref(), 1.0, par);
        }
    };
    matrix_bench::timed(reps, run)
}

fn main() {
    let options = matrix_bench::options_or_exit("bench_muon", 7);
    let shapes: &[(usize, usize)] = if options.quick { &QUICK_SHAPES } else { &SHAPES };
    println!("Muon step, float32 parameters, {NS_STEPS} Newton–Schulz iterations; {}", machine::cpu_model());
    println!(
        "| shape | threads | step f32 iteration ms | GFLOP/s | faer gemm alone ms | GFLOP/s | step / gemm rate | step bf16 iteration ms |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|--:|");
    let mut json: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for &threads in &options.threads {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a rayon pool");
        for &(rows, cols) in shapes {
            let (f32_step, bf16_step, gemm) = pool.install(|| {
                (
                    time_step(rows, cols, MuonNsDtype::Param, options.reps),
                    time_step(rows, cols, MuonNsDtype::Bfloat16, options.reps),
                    time_gemm(rows, cols, threads, options.reps),
                )
            });
            let flops = ns_flops(rows, cols);
            let rate = |d: Duration| flops / d.as_secs_f64() / 1e9;
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            println!(
                "| {rows}x{cols} | {threads} | {:.2} | {:.1} | {:.2} | {:.1} | {:.0}% | {:.2} |",
                ms(f32_step),
                rate(f32_step),
                ms(gemm),
                rate(gemm),
                100.0 * gemm.as_secs_f64() / f32_step.as_secs_f64(),
                ms(bf16_step)
            );
            json.entry(format!("{rows}x{cols}")).or_default().insert(threads.to_string(), ms(f32_step));
        }
    }
    if let Some(path) = options.json {
        let text = serde_json::to_string_pretty(&json).expect("figures serialise");
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
        println!("wrote {path}");
    }
}
