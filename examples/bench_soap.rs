//! SOAP's step against the machine's matrix multiply: one `Optimizer::step()` of SOAP on one
//! float32 matrix (`m x n`, both sides rotated), beside `faer`'s own float32 matrix multiply
//! doing the same products. A step without a refresh of the bases computes eight products:
//! the gradient and the momentum rotated (`Q_0ᵀ·G·Q_1`, two each), the update rotated back
//! (two), and the statistics `G·Gᵀ` and `Gᵀ·G`: `8m²n + 8mn²` flops. A refresh (every
//! `precondition_frequency` steps) adds per side a product `GG·Q`, a sort and a QR.
//!
//! The table gives our plain step's GFLOP/s over those flops, the same eight products' GFLOP/s
//! when `faer::linalg::matmul::matmul` computes them alone, their ratio, and the time of a step
//! that refreshes both bases (`precondition_frequency = 1`).
//!
//! ```text
//! cargo run --release --example bench_soap                          # 1 and 2 threads
//! cargo run --release --example bench_soap -- --json soap.json      # for compare_torch.py --soap --ours
//! ```
//!
//! Options: `--threads LIST` (default 1,2), `--reps N` (timed steps per figure, median kept;
//! default 5), `--quick` (small shapes, 2 reps: a smoke test), `--json FILE` (our step times as
//! `{"RxC": {"threads": {"plain": ms, "refresh": ms}}}`).

#[path = "../benches/kernels/machine.rs"]
mod machine;
#[path = "../benches/kernels/matrix_bench.rs"]
mod matrix_bench;

use std::collections::BTreeMap;
use std::time::Duration;

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use optim::zoo::Soap;
use optim::{Optimizer, Param};

/// A square matrix, and a transformer block's (d = 768).
const SHAPES: [(usize, usize); 3] = [(1024, 1024), (768, 768), (768, 3072)];
const QUICK_SHAPES: [(usize, usize); 2] = [(128, 128), (64, 192)];

/// The flops of a step's eight products on a `rows x cols` matrix.
fn step_flops(rows: usize, cols: usize) -> f64 {
    let (m, n) = (rows as f64, cols as f64);
    8.0 * m * m * n + 8.0 * m * n * n
}

/// The median time of a SOAP step on a `rows x cols` float32 matrix, after the first (which
/// only gathers statistics and decomposes them), refreshing the bases every `frequency` steps.
fn time_step(rows: usize, cols: usize, frequency: i64, reps: usize) -> Duration {
    let shape = [rows, cols];
    let param = Param::new(ndarray::ArrayD::from_shape_vec(&shape[..], matrix_bench::fill(rows * cols, 1)).unwrap());
    let grad = ndarray::ArrayD::from_shape_vec(&shape[..], matrix_bench::fill(rows * cols, 2)).unwrap();
    let hyper = Soap::hyper().precondition_frequency(frequency).max_precondition_dim(1 << 20);
    let mut opt = Optimizer::<Soap, f32>::new(vec![param.clone()], hyper).unwrap();
    param.set_grad(grad);
    opt.step().unwrap();
    matrix_bench::timed(reps, || opt.step().unwrap())
}

/// The median time of the step's eight products alone, computed by `faer` on `threads` threads.
fn time_gemm(rows: usize, cols: usize, threads: usize, reps: usize) -> Duration {
    let par = if threads > 1 { Par::rayon(threads) } else { Par::Seq };
    let g = Mat::<f32>::from_fn(rows, cols, |i, j| ((i * 7 + j * 3) % 11) as f32 * 1e-3);
    let q0 = Mat::<f32>::from_fn(rows, rows, |i, j| ((i * 5 + j) % 13) as f32 * 1e-3);
    let q1 = Mat::<f32>::from_fn(cols, cols, |i, j| ((i + 3 * j) % 7) as f32 * 1e-3);
    let mut left = Mat::<f32>::zeros(rows, cols);
    let mut both = Mat::<f32>::zeros(rows, cols);
    let mut gg0 = Mat::<f32>::zeros(rows, rows);
    let mut gg1 = Mat::<f32>::zeros(cols, cols);
    let run = || {
        // two rotations in, one back: each a left and a right product
        for _ in 0..3 {
            matmul(left.as_mut(), Accum::Replace, q0.transpose(), g.as_ref(), 1.0, par);
            matmul(both.as_mut(), Accum::Replace, left.as_ref(), q1.as_ref(), 1.0, par);
        }
        matmul(gg0.as_mut(), Accum::Replace, g.as_ref(), g.transpose(), 1.0, par);
        matmul(gg1.as_mut(), Accum::Replace, g.transpose(), g.as_ref(), 1.0, par);
    };
    matrix_bench::timed(reps, run)
}

fn main() {
    let options = matrix_bench::options_or_exit("bench_soap", 5);
    let shapes: &[(usize, usize)] = if options.quick { &QUICK_SHAPES } else { &SHAPES };
    println!("SOAP step, float32 parameters, both sides rotated; {}", machine::cpu_model());
    println!(
        "| shape | threads | step ms | GFLOP/s | faer gemm alone ms | GFLOP/s | step / gemm rate | step with refresh ms |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|--:|");
    let mut json: BTreeMap<String, BTreeMap<String, BTreeMap<&str, f64>>> = BTreeMap::new();
    for &threads in &options.threads {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a rayon pool");
        for &(rows, cols) in shapes {
            let (plain, refresh, gemm) = pool.install(|| {
                (
                    time_step(rows, cols, 1 << 40, options.reps),
                    time_step(rows, cols, 1, options.reps),
                    time_gemm(rows, cols, threads, options.reps),
                )
            });
            let flops = step_flops(rows, cols);
            let rate = |d: Duration| flops / d.as_secs_f64() / 1e9;
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            println!(
                "| {rows}x{cols} | {threads} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0}% | {:.1} |",
                ms(plain),
                rate(plain),
                ms(gemm),
                rate(gemm),
                100.0 * gemm.as_secs_f64() / plain.as_secs_f64(),
                ms(refresh)
            );
            let entry = json.entry(format!("{rows}x{cols}")).or_default().entry(threads.to_string()).or_default();
            entry.insert("plain", ms(plain));
            entry.insert("refresh", ms(refresh));
        }
    }
    if let Some(path) = options.json {
        let text = serde_json::to_string_pretty(&json).expect("figures serialise");
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
        println!("wrote {path}");
    }
}
