//! What an option costs while it is off: ADOPT (Taniguchi et al., 2024) written with a
//! `cautious` flag whose mask needs a reduction, against the same rule written without the
//! option. With the flag off, the reduction's pass must not run (`Rule::pass_needed`), so the
//! two should take the same time; with it on, the step reads memory twice.
//!
//! ```text
//! cargo run --release --example bench_options                  # 8M f32, 1 and 2 threads
//! cargo run --release --example bench_options -- --elements 1000000 --reps 5
//! ```

#[path = "../benches/kernels/machine.rs"]
mod machine;

use std::time::Instant;

use ndarray::ArrayD;
use optim::{Optimizer, Param, Rule, optimizer};

optimizer! {
    /// ADOPT with an optional cautious mask.
    pub AdoptOption {
        hyper { lr = 1e-3, betas = (0.9, 0.9999), eps = 1e-6, cautious = false }
        state { exp_avg = 0, exp_avg_sq = 0 }
        step {
            let (b1, b2) = betas;
            if step == 1 {
                exp_avg_sq = grad * grad;
            } else {
                let clip = pow(step - 1, 0.25);
                let normed = clamp(grad / max(sqrt(exp_avg_sq), eps), -clip, clip);
                exp_avg = lerp(exp_avg, normed, 1 - b1);
                let mask = select(exp_avg * grad > 0, 1, 0);
                let update = if cautious { exp_avg * mask / max(mean(mask), 1e-3) } else { exp_avg };
                param -= lr * update;
                exp_avg_sq = lerp(exp_avg_sq, grad * grad, 1 - b2);
            }
        }
    }
}

optimizer! {
    /// The same rule without the option.
    pub AdoptPlain {
        hyper { lr = 1e-3, betas = (0.9, 0.9999), eps = 1e-6 }
        state { exp_avg = 0, exp_avg_sq = 0 }
        step {
            let (b1, b2) = betas;
            if step == 1 {
                exp_avg_sq = grad * grad;
            } else {
                let clip = pow(step - 1, 0.25);
                let normed = clamp(grad / max(sqrt(exp_avg_sq), eps), -clip, clip);
                exp_avg = lerp(exp_avg, normed, 1 - b1);
                param -= lr * exp_avg;
                exp_avg_sq = lerp(exp_avg_sq, grad * grad, 1 - b2);
            }
        }
    }
}

/// Median seconds per step over `reps` timings of `batch` steps each, after warm-up steps.
fn time_steps<R: Rule>(hyper: R::Hyper, elements: usize, reps: usize) -> f64 {
    let p = Param::new(ArrayD::from_shape_fn(vec![elements], |i| (i[0] as f32 * 1e-3).sin()));
    p.set_grad(ArrayD::from_shape_fn(vec![elements], |i| (i[0] as f32 * 7e-3).cos()));
    let mut opt = Optimizer::<R, f32>::new(vec![p], hyper).expect("valid hyperparameters");
    for _ in 0..3 {
        opt.step().expect("step");
    }
    let batch = 5;
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..batch {
                opt.step().expect("step");
            }
            start.elapsed().as_secs_f64() / batch as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut elements, mut reps) = (8usize << 20, 7usize);
    while let Some(arg) = args.next() {
        let value = args.next().and_then(|v| v.parse().ok());
        match (arg.as_str(), value) {
            ("--elements", Some(v)) => elements = v,
            ("--reps", Some(v)) => reps = v,
            _ => return eprintln!("usage: bench_options [--elements N] [--reps N]"),
        }
    }
    let cpu = machine::cpu_model();
    println!("ADOPT, {elements} f32 elements, median of {reps} timings of 5 steps; {cpu}\n");
    println!("| threads | without the option | cautious = false | ratio | cautious = true |");
    println!("|--:|--:|--:|--:|--:|");
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a thread pool");
        let (plain, off, on) = pool.install(|| {
            // interleaved, so drift on a shared machine hits every column alike
            let mut rounds = Vec::new();
            for _ in 0..3 {
                let plain = time_steps::<AdoptPlain>(AdoptPlain::hyper(), elements, reps);
                let off = time_steps::<AdoptOption>(AdoptOption::hyper(), elements, reps);
                let on = time_steps::<AdoptOption>(AdoptOption::hyper().cautious(true), elements, reps);
                rounds.push((plain, off, on));
            }
            rounds.sort_by(|a, b| a.1.total_cmp(&b.1));
            rounds[1]
        });
        let ms = |s: f64| format!("{:.2} ms", s * 1e3);
        println!("| {threads} | {} | {} | {:.2}x | {} |", ms(plain), ms(off), off / plain, ms(on));
    }
}
