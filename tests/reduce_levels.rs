//! Reduction passes give the same bits at every SIMD level and thread count on tensors large
//! enough to be cut into many pieces: a rule with group sums (Prodigy, D-Adaptation Adam) through
//! `step_slices` at each level and through `Optimizer::step` in pools of several sizes, and
//! clipping fused into the step, whose global norm is a threaded, vectorised pass of its own;
//! and AdaFactor's row and column sums, cut by rows into pieces that run on several threads.

use optim::builtins::AdamW;
use optim::zoo::{AdaFactor, DAdaptAdam, Prodigy};
use optim::{Element, GradClip, Optimizer, Param, Rule, SimdLevel};

mod noise;
use noise::Noise;

/// Several reduction leaves (64K elements each) and a remainder that is no multiple of the
/// lanes or blocks.
const LARGE: usize = 300_007;

/// Bits of param and every state after three steps of `R` at `level` on one tensor of `LARGE`.
fn level_run<R: Rule>(hyper: &R::Hyper, level: SimdLevel) -> Vec<u64> {
    let mut noise = Noise(7);
    let mut param: Vec<f32> = noise.vec(LARGE);
    let mut states: Vec<Vec<f32>> = (0..R::STATES.len())
        .map(|i| match R::state_present(hyper, &[LARGE], i) {
            true if R::state_init_reads_param(i) => param.iter().map(|&p| R::state_init_at(hyper, i, p)).collect(),
            true => vec![R::state_init(hyper, i) as f32; LARGE],
            false => Vec::new(),
        })
        .collect();
    let mut scalars: Vec<f64> = (0..R::SCALAR_STATES.len()).map(|i| R::scalar_state_init(hyper, i)).collect();
    for step in 1..=3 {
        let grad: Vec<f32> = noise.vec(LARGE);
        let mut slices: Vec<&mut [f32]> = states.iter_mut().map(|s| s.as_mut_slice()).collect();
        R::step_slices(level, hyper, step, &mut scalars, &[LARGE], &mut param, &grad, &mut slices);
    }
    param.iter().chain(states.iter().flatten()).map(|v| v.to_f64().to_bits()).collect()
}

/// Bits of every parameter and the group's values after three steps of `R` over a large tensor
/// and small ones, in a pool of `threads`, with `clip` fused into the step.
fn pool_run<R: Rule>(hyper: &R::Hyper, threads: usize, clip: Option<GradClip>) -> Vec<u64> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let mut noise = Noise(11);
    let shapes: [&[usize]; 4] = [&[LARGE], &[5], &[600, 257], &[4096]];
    let array = |noise: &mut Noise, shape: &[usize]| {
        ndarray::ArrayD::from_shape_vec(shape, noise.vec::<f32>(shape.iter().product())).unwrap()
    };
    let params: Vec<Param<f32>> = shapes.iter().map(|s| Param::new(array(&mut noise, s))).collect();
    let mut opt = Optimizer::<R, f32>::new(params.clone(), hyper.clone()).unwrap();
    opt.set_grad_clip(clip).unwrap();
    let mut bits = Vec::new();
    for _ in 0..3 {
        for (p, s) in params.iter().zip(shapes) {
            p.set_grad(array(&mut noise, s));
        }
        pool.install(|| opt.step()).unwrap();
        bits.extend(opt.last_grad_norm().map(f64::to_bits));
    }
    bits.extend(params.iter().flat_map(|p| p.value().iter().map(|v| v.to_bits() as u64).collect::<Vec<_>>()));
    let group = &opt.param_groups()[0];
    bits.extend(R::GROUP_STATES.iter().map(|name| group.value(name).unwrap_or(f64::NAN).to_bits()));
    bits
}

fn check<R: Rule>(label: &str, hyper: R::Hyper) {
    let reference = level_run::<R>(&hyper, SimdLevel::Baseline);
    for level in SimdLevel::available() {
        assert!(level_run::<R>(&hyper, level) == reference, "{label}: {level:?} differs from the baseline");
    }
    let one = pool_run::<R>(&hyper, 1, None);
    for threads in [2, 3, 8] {
        assert!(pool_run::<R>(&hyper, threads, None) == one, "{label}: {threads} threads differ from 1");
    }
}

#[test]
fn group_sums_are_bit_identical_across_levels_and_thread_counts() {
    check::<Prodigy>("Prodigy", Prodigy::hyper());
    check::<DAdaptAdam>("DAdaptAdam", DAdaptAdam::hyper());
}

#[test]
fn fused_clipping_is_bit_identical_across_thread_counts() {
    for norm_type in [2.0, 1.0, f64::INFINITY] {
        let clip = Some(GradClip::norm(0.5).norm_type(norm_type));
        let one = pool_run::<AdamW>(&AdamW::hyper(), 1, clip);
        assert_eq!(one.len() - 3, LARGE + 5 + 600 * 257 + 4096, "three norms, then every parameter");
        for threads in [2, 3, 8] {
            assert!(pool_run::<AdamW>(&AdamW::hyper(), threads, clip) == one, "{norm_type}: {threads} threads differ");
        }
    }
}

/// AdaFactor's first step over a 256 × 1024 matrix (cut into four pieces of 64 rows) in a pool
/// of `threads`: its row and column states (at step 1 the row and column means of `g² + eps1`).
fn adafactor_means(threads: usize, grad: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let p = Param::new(ndarray::ArrayD::from_elem(vec![256, 1024], 1.0f32));
    p.set_grad(ndarray::ArrayD::from_shape_vec(vec![256, 1024], grad.to_vec()).unwrap());
    let mut opt = Optimizer::<AdaFactor, f32>::new(vec![p], AdaFactor::hyper()).unwrap();
    pool.install(|| opt.step()).unwrap();
    let state = opt.state(0, 0).unwrap();
    let tensor = |name| state.tensor(name).unwrap().iter().copied().collect::<Vec<f32>>();
    (tensor("exp_avg_sq_row"), tensor("exp_avg_sq_col"))
}

#[test]
fn adafactor_row_and_column_sums_over_pieces_match_plain_sums() {
    let grad: Vec<f32> = Noise(5).vec(256 * 1024);
    let u = |i: usize, j: usize| {
        let g = grad[i * 1024 + j];
        f64::from(g * g + 1e-30)
    };
    let (rows, cols) = adafactor_means(2, &grad);
    for (i, &row) in rows.iter().enumerate() {
        let mean = (0..1024).map(|j| u(i, j)).sum::<f64>() / 1024.0;
        assert!((f64::from(row) - mean).abs() <= 1e-6 * mean, "row {i}: {row} vs {mean}");
    }
    for (j, &col) in cols.iter().enumerate() {
        let mean = (0..256).map(|i| u(i, j)).sum::<f64>() / 256.0;
        assert!((f64::from(col) - mean).abs() <= 1e-6 * mean, "column {j}: {col} vs {mean}");
    }
    for threads in [1, 3, 8] {
        assert!(adafactor_means(threads, &grad) == (rows.clone(), cols.clone()), "{threads} threads differ from 2");
    }
}
