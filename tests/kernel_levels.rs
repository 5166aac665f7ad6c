//! Every SIMD clone of every built-in gives bit-identical results to the baseline clone, over
//! sizes with every kind of remainder; and a step's result does not depend on the thread count.

use optim::builtins::*;
use optim::zoo::{Lamb, Lars, NovoGrad};
use optim::{Element, HyperSet, Optimizer, Param, Rule, SimdLevel};

mod noise;
use noise::Noise;

const SIZES: [usize; 16] = [1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 127, 1000, 4099];

/// Runs five steps of `R` at `level` and returns the bits of param and every state.
fn run<R: Rule, T: Element>(hyper: &R::Hyper, level: SimdLevel, n: usize, seed: u64) -> Vec<u64> {
    let mut noise = Noise(seed);
    let mut param: Vec<T> = noise.vec(n);
    let mut states: Vec<Vec<T>> =
        (0..R::STATES.len())
            .map(|i| {
                if R::state_present(hyper, &[n], i) {
                    vec![T::from_f64(R::state_init(hyper, i)); n]
                } else {
                    Vec::new()
                }
            })
            .collect();
    let mut scalars: Vec<f64> = (0..R::SCALAR_STATES.len()).map(|i| R::scalar_state_init(hyper, i)).collect();
    for step in 1..=5 {
        let grad: Vec<T> = noise.vec(n);
        let mut slices: Vec<&mut [T]> = states.iter_mut().map(|s| s.as_mut_slice()).collect();
        R::step_slices(level, hyper, step, &mut scalars, &[n], &mut param, &grad, &mut slices);
    }
    param.iter().chain(states.iter().flatten()).map(|v| v.to_f64().to_bits()).collect()
}

fn all_levels_agree<R: Rule>(hyper: R::Hyper) {
    for (k, &n) in SIZES.iter().enumerate() {
        let reference64 = run::<R, f64>(&hyper, SimdLevel::Baseline, n, 7 + k as u64);
        let reference32 = run::<R, f32>(&hyper, SimdLevel::Baseline, n, 7 + k as u64);
        for level in SimdLevel::available() {
            assert!(run::<R, f64>(&hyper, level, n, 7 + k as u64) == reference64, "{} f64 {level:?} n={n}", R::NAME);
            assert!(run::<R, f32>(&hyper, level, n, 7 + k as u64) == reference32, "{} f32 {level:?} n={n}", R::NAME);
        }
    }
}

fn with<H: HyperSet>(mut hyper: H, settings: &[(&str, optim::HyperValue)]) -> H {
    for (name, value) in settings {
        hyper.set(name, *value).unwrap();
    }
    hyper
}

#[test]
fn every_clone_of_every_builtin_is_bit_identical_to_the_baseline() {
    use optim::HyperValue::{Bool, Float};
    println!("levels on this machine: {:?}", SimdLevel::available());
    all_levels_agree::<Sgd>(Sgd::hyper().lr(0.1));
    all_levels_agree::<Sgd>(Sgd::hyper().lr(0.1).momentum(0.9).nesterov(true).weight_decay(0.01));
    all_levels_agree::<Adam>(Adam::hyper());
    all_levels_agree::<Adam>(with(Adam::hyper(), &[("amsgrad", Bool(true)), ("weight_decay", Float(0.1))]));
    all_levels_agree::<AdamW>(AdamW::hyper().amsgrad(true));
    all_levels_agree::<RmsProp>(RmsProp::hyper().centered(true).momentum(0.5));
    all_levels_agree::<RmsProp>(RmsProp::hyper());
    all_levels_agree::<Adagrad>(Adagrad::hyper().lr_decay(0.01).weight_decay(0.1));
    all_levels_agree::<Adadelta>(Adadelta::hyper());
    all_levels_agree::<Adamax>(Adamax::hyper());
    all_levels_agree::<NAdam>(NAdam::hyper().decoupled_weight_decay(true).weight_decay(0.01));
    all_levels_agree::<RAdam>(RAdam::hyper());
    all_levels_agree::<Rprop>(Rprop::hyper());
    all_levels_agree::<Asgd>(Asgd::hyper().t0(2.0));
    all_levels_agree::<SparseAdam>(SparseAdam::hyper());
    all_levels_agree::<Lamb>(Lamb::hyper().weight_decay(0.01));
    all_levels_agree::<Lars>(Lars::hyper().nesterov(true).weight_decay(1e-4));
    all_levels_agree::<NovoGrad>(NovoGrad::hyper().grad_averaging(true));
}

/// Bits of every parameter after three steps of Adam over a mix of large and small tensors,
/// run inside a rayon pool of `threads` threads.
fn adam_run(threads: usize) -> Vec<u64> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let mut noise = Noise(99);
    let sizes = [300_000, 5, 70_000, 4096, 4096, 4096, 1, 200_003];
    let params: Vec<Param<f32>> =
        sizes.iter().map(|&n| Param::new(ndarray::Array1::from(noise.vec::<f32>(n)).into_dyn())).collect();
    let mut opt = Optimizer::<Adam, f32>::new(params.clone(), Adam::hyper().amsgrad(true)).unwrap();
    for _ in 0..3 {
        for (p, &n) in params.iter().zip(&sizes) {
            p.set_grad(ndarray::Array1::from(noise.vec::<f32>(n)).into_dyn());
        }
        pool.install(|| opt.step()).unwrap();
    }
    params.iter().flat_map(|p| p.value().iter().map(|v| v.to_bits() as u64).collect::<Vec<_>>()).collect()
}

/// Bits of every parameter and of LAMB's per-tensor norms after three steps, in a pool of
/// `threads` threads: reductions combine partial results in a fixed tree whatever the count.
fn lamb_run(threads: usize) -> Vec<u64> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let mut noise = Noise(5);
    let sizes = [400_000, 3, 150_001, 4096];
    let params: Vec<Param<f32>> =
        sizes.iter().map(|&n| Param::new(ndarray::Array1::from(noise.vec::<f32>(n)).into_dyn())).collect();
    let mut opt = Optimizer::<Lamb, f32>::new(params.clone(), Lamb::hyper().weight_decay(0.01)).unwrap();
    for _ in 0..3 {
        for (p, &n) in params.iter().zip(&sizes) {
            p.set_grad(ndarray::Array1::from(noise.vec::<f32>(n)).into_dyn());
        }
        pool.install(|| opt.step()).unwrap();
    }
    let mut bits: Vec<u64> =
        params.iter().flat_map(|p| p.value().iter().map(|v| v.to_bits() as u64).collect::<Vec<_>>()).collect();
    for i in 0..sizes.len() {
        let state = opt.state(0, i).unwrap();
        bits.extend(["weight_norm", "adam_norm"].map(|k| state.scalar(k).unwrap().to_bits()));
    }
    bits
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let one = adam_run(1);
    let lamb_one = lamb_run(1);
    for threads in [2, 3, 8] {
        assert!(adam_run(threads) == one, "{threads} threads differ from 1");
        assert!(lamb_run(threads) == lamb_one, "LAMB: {threads} threads differ from 1");
    }
}
