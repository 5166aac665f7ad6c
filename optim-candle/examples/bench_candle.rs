//! Step time of `candle_nn::AdamW`, of our `AdamW` through the bridge, and of our own
//! `Optimizer::step` on `Param`s, on the same parameter sets: median milliseconds per step,
//! heap allocations and minor page faults per step, and the bridge's GB/s of the 28 B per f32
//! parameter a fused AdamW step must move.
//!
//! ```text
//! RAYON_NUM_THREADS=1 cargo run --release -p optim-candle --example bench_candle
//! RAYON_NUM_THREADS=2 cargo run --release -p optim-candle --example bench_candle
//! cargo run --release -p optim-candle --example bench_candle -- --quick   # small sets, smoke test
//! cargo run --release -p optim-candle --example bench_candle -- --only 16M  # one set
//! ```
//!
//! The sets: a ~1M and a ~100M parameter transformer (embedding, per layer attention and MLP
//! weights, biases and layer norms), one 16M tensor, and 1000 tensors of 4096.

#[path = "../../benches/kernels/machine.rs"]
mod machine;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use candle_core::backprop::GradStore;
use candle_core::{Device, Tensor, Var};
use candle_nn::optim::Optimizer as _;
use optim_candle::CandleOptimizer;
use optim_core::builtins::AdamW;
use optim_core::{Optimizer, Param};

/// Counts heap allocations, so a step's temporaries show.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Minor page faults of this process so far (field 10 of `/proc/self/stat`; 0 elsewhere).
fn minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or("");
    after_name.split_whitespace().nth(7).and_then(|f| f.parse().ok()).unwrap_or(0)
}

/// A transformer's parameter shapes: embedding, then per layer two layer norms, the fused
/// attention projection, the output projection and a 4× MLP, with biases.
fn transformer(vocab: usize, width: usize, layers: usize) -> Vec<Vec<usize>> {
    let mut shapes = vec![vec![vocab, width]];
    for _ in 0..layers {
        shapes.extend([vec![width], vec![width], vec![width, 3 * width], vec![3 * width], vec![width, width]]);
        shapes.extend([vec![width], vec![width], vec![width], vec![width, 4 * width], vec![4 * width]]);
        shapes.extend([vec![4 * width, width], vec![width]]);
    }
    shapes
}

struct Measured {
    ms: f64,
    allocations: f64,
    faults: f64,
}

/// Median of `reps` timed calls after `warmup` untimed ones; allocations and faults per call.
fn measure(warmup: usize, reps: usize, mut step: impl FnMut()) -> Measured {
    for _ in 0..warmup {
        step();
    }
    let (allocations, faults) = (ALLOCATIONS.load(Relaxed), minor_faults());
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            step();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let per = |n: u64| n as f64 / reps as f64;
    Measured {
        ms: times[reps / 2],
        allocations: per(ALLOCATIONS.load(Relaxed) - allocations),
        faults: per(minor_faults() - faults),
    }
}

fn vars_and_grads(shapes: &[Vec<usize>]) -> candle_core::Result<(Vec<Var>, GradStore)> {
    let mut grads = GradStore::default();
    let mut vars = Vec::new();
    for shape in shapes {
        let var = Var::rand(-1.0f32, 1.0, shape.as_slice(), &Device::Cpu)?;
        grads.insert(var.as_tensor(), Tensor::rand(-1.0f32, 1.0, shape.as_slice(), &Device::Cpu)?);
        vars.push(var);
    }
    Ok((vars, grads))
}

fn run_set(name: &str, shapes: &[Vec<usize>], reps: usize) -> candle_core::Result<()> {
    let count: usize = shapes.iter().map(|s| s.iter().product::<usize>()).sum();
    let hyper = AdamW::hyper().lr(1e-3);
    let (vars, grads) = vars_and_grads(shapes)?;

    let mut candle = candle_nn::AdamW::new(vars.clone(), candle_nn::ParamsAdamW { lr: 1e-3, ..Default::default() })?;
    let theirs = measure(2, reps, || candle.step(&grads).expect("candle step"));
    drop(candle);

    let params: Vec<Param<f32>> = vars
        .iter()
        .zip(shapes)
        .map(|(var, shape)| -> candle_core::Result<Param<f32>> {
            let values = var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
            let param = Param::new(
                ndarray::ArrayD::from_shape_vec(shape.as_slice(), values).map_err(candle_core::Error::wrap)?,
            );
            let grad = grads.get(var.as_tensor()).expect("grad").flatten_all()?.to_vec1::<f32>()?;
            param.set_grad(ndarray::ArrayD::from_shape_vec(shape.as_slice(), grad).map_err(candle_core::Error::wrap)?);
            Ok(param)
        })
        .collect::<candle_core::Result<_>>()?;
    let mut ours = Optimizer::<AdamW, f32>::new(params, hyper).map_err(candle_core::Error::wrap)?;
    let mut bridge = CandleOptimizer::<AdamW>::new(vars.clone(), hyper).map_err(candle_core::Error::wrap)?;
    // The two are measured in alternating rounds (the median round of each is kept), so that
    // drift on a shared machine does not favour either.
    let (mut bridged, mut own) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        bridged.push(measure(1, reps, || bridge.step(&grads).expect("bridge step")));
        own.push(measure(1, reps, || ours.step().expect("optim step")));
    }
    let median_round = |mut rounds: Vec<Measured>| {
        rounds.sort_by(|a, b| a.ms.total_cmp(&b.ms));
        rounds.swap_remove(1)
    };
    let (bridged, own) = (median_round(bridged), median_round(own));

    let gbps = 28.0 * count as f64 / (bridged.ms * 1e-3) / 1e9;
    println!(
        "| {name} ({count} params, {} tensors) | {:.2} | {:.2} | {:.2} | {:.1}× | {:.2}× | {gbps:.1} | {:.0} / {:.0} / {:.0} | {:.0} / {:.0} / {:.0} |",
        shapes.len(),
        theirs.ms,
        bridged.ms,
        own.ms,
        theirs.ms / bridged.ms,
        bridged.ms / own.ms,
        theirs.allocations,
        bridged.allocations,
        own.allocations,
        theirs.faults,
        bridged.faults,
        own.faults,
    );
    Ok(())
}

fn main() -> candle_core::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let cpu = machine::cpu_model();
    println!(
        "AdamW, f32, {} thread(s), {cpu}; medians of timed steps after warm-up (bridge and optim: the median of 3 alternating rounds)",
        rayon::current_num_threads()
    );
    println!();
    println!(
        "| set | candle_nn::AdamW ms | bridge ms | optim step ms | bridge speed-up | bridge ÷ optim | bridge GB/s (28 B/param) | allocations / step (candle / bridge / optim) | page faults / step (candle / bridge / optim) |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|");
    if quick {
        run_set("transformer 64×2", &transformer(256, 64, 2), 3)?;
        run_set("100 × 4096", &vec![vec![4096]; 100], 3)?;
        return Ok(());
    }
    let only = std::env::args().skip_while(|a| a != "--only").nth(1);
    let wanted = |name: &str| only.as_deref().is_none_or(|o| name.contains(o));
    let sets: [(&str, Vec<Vec<usize>>, usize); 5] = [
        ("transformer 128×4", transformer(1024, 128, 4), 15),
        ("16M", vec![vec![1 << 24]], 9),
        ("1000 × 4096", vec![vec![4096]; 1000], 9),
        ("transformer 768×12", transformer(16384, 768, 12), 5),
        ("1000 × 16 (per-tensor overhead)", vec![vec![16]; 1000], 15),
    ];
    for (name, shapes, reps) in sets.iter().filter(|(name, ..)| wanted(name)) {
        run_set(name, shapes, *reps)?;
    }
    Ok(())
}
