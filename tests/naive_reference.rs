//! Every built-in's fused `Optimizer::step()` against the benchmarks' naive ndarray versions,
//! which are written independently from PyTorch's documented algorithms: parameters and every
//! state agree within 1e-5 relative (f32) over a dozen steps, under several settings each.

#[path = "../benches/kernels/naive.rs"]
mod naive;

use ndarray::Array1;
use optim::builtins::*;
use optim::{Optimizer, Param, Rule};

use naive::Naive;

/// Largest tolerated `|fused - naive| / max(|fused|, |naive|)`.
const TOLERANCE: f64 = 1e-5;
/// Below this magnitude both values count as zero (a state that cancelled out, such as a
/// momentum buffer of gradients of alternating sign, carries no relative precision).
const NEGLIGIBLE: f64 = 1e-6;
/// Enough steps to pass RAdam's rectification threshold (`rho_t > 5` from step 6) and ASGD's
/// averaging start in the settings below.
const STEPS: usize = 12;
/// Not a multiple of any vector width, so every clone's remainder loop runs.
const LEN: usize = 1037;

/// A small deterministic generator (xorshift), so failures reproduce.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32
    }

    fn array(&mut self, scale: f32) -> Array1<f32> {
        (0..LEN).map(|_| self.next() * scale).collect()
    }
}

/// The largest relative difference between `fused` and `naive`, ignoring negligible pairs.
fn relative_error(fused: &[f32], naive: &[f32]) -> f64 {
    assert_eq!(fused.len(), naive.len());
    fused
        .iter()
        .zip(naive)
        .map(|(&a, &b)| {
            let (a, b) = (a as f64, b as f64);
            let size = a.abs().max(b.abs());
            if size < NEGLIGIBLE { 0.0 } else { (a - b).abs() / size }
        })
        .fold(0.0, f64::max)
}

/// Runs `STEPS` steps of the fused rule and of `naive` on the same data and returns, per tensor
/// (param first, then each state by name), the largest relative difference.
fn compare<R: Rule>(hyper: R::Hyper, mut naive: Box<dyn Naive>, seed: u64) -> Vec<(String, f64)> {
    let mut noise = Noise(seed);
    let start = noise.array(1.0).mapv(|x| x + x.signum());
    let param = Param::new(start.clone().into_dyn());
    let mut optimizer = Optimizer::<R, f32>::new(vec![param.clone()], hyper).expect("valid hyperparameters");
    let mut reference = start;
    for _ in 0..STEPS {
        let grad = noise.array(1.0);
        param.set_grad(grad.clone().into_dyn());
        optimizer.step().expect("a valid step");
        naive.step(&mut reference, &grad);
    }
    let fused = param.value();
    let mut errors =
        vec![("param".to_string(), relative_error(fused.as_slice().unwrap(), reference.as_slice().unwrap()))];
    let state = optimizer.state(0, 0).expect("state after a step");
    let fused_names: Vec<&str> = state.tensor_names().collect();
    let naive_names: Vec<&str> = naive.states().iter().map(|(name, _)| *name).collect();
    assert_eq!(fused_names, naive_names, "{}: state tensors", R::NAME);
    for (name, expected) in naive.states() {
        let actual = state.tensor(name).expect("a present state");
        let actual: Vec<f32> = actual.iter().copied().collect();
        errors.push((name.to_string(), relative_error(&actual, expected.as_slice().unwrap())));
    }
    errors
}

fn check<R: Rule>(setting: &str, hyper: R::Hyper, naive: impl Naive + Clone + 'static) {
    for seed in [3, 17] {
        let errors = compare::<R>(hyper.clone(), Box::new(naive.clone()), seed);
        let report: Vec<String> = errors.iter().map(|(name, e)| format!("{name} {e:.1e}")).collect();
        println!("{} ({setting}), seed {seed}: {}", R::NAME, report.join(", "));
        for (name, error) in &errors {
            assert!(*error <= TOLERANCE, "{} ({setting}): {name} differs by {error:.2e} relative", R::NAME);
        }
    }
}

#[test]
fn sgd_matches_the_naive_version() {
    check::<Sgd>("lr 0.1", Sgd::hyper().lr(0.1), naive::Sgd { lr: 0.1, ..Default::default() });
    check::<Sgd>(
        "momentum",
        Sgd::hyper().lr(0.05).momentum(0.9),
        naive::Sgd { lr: 0.05, momentum: 0.9, ..Default::default() },
    );
    check::<Sgd>(
        "nesterov, weight decay",
        Sgd::hyper().lr(0.05).momentum(0.9).nesterov(true).weight_decay(0.01),
        naive::Sgd { lr: 0.05, momentum: 0.9, nesterov: true, weight_decay: 0.01, ..Default::default() },
    );
    check::<Sgd>(
        "dampening, maximize",
        Sgd::hyper().lr(0.05).momentum(0.5).dampening(0.1).maximize(true),
        naive::Sgd { lr: 0.05, momentum: 0.5, dampening: 0.1, maximize: true, ..Default::default() },
    );
}

#[test]
fn adam_and_adamw_match_the_naive_versions() {
    check::<Adam>("defaults", Adam::hyper(), naive::Adam::default());
    check::<Adam>(
        "amsgrad, weight decay",
        Adam::hyper().lr(0.01).amsgrad(true).weight_decay(0.1),
        naive::Adam { lr: 0.01, amsgrad: true, weight_decay: 0.1, ..Default::default() },
    );
    check::<Adam>("maximize", Adam::hyper().maximize(true), naive::Adam { maximize: true, ..Default::default() });
    check::<AdamW>("defaults", AdamW::hyper(), naive::Adam::adamw());
    check::<AdamW>(
        "amsgrad, lr 0.01",
        AdamW::hyper().lr(0.01).amsgrad(true),
        naive::Adam { lr: 0.01, amsgrad: true, ..naive::Adam::adamw() },
    );
}

#[test]
fn rmsprop_matches_the_naive_version() {
    check::<RmsProp>("defaults", RmsProp::hyper(), naive::RmsProp::default());
    check::<RmsProp>(
        "centered, momentum, weight decay",
        RmsProp::hyper().centered(true).momentum(0.5).weight_decay(0.01),
        naive::RmsProp { centered: true, momentum: 0.5, weight_decay: 0.01, ..Default::default() },
    );
    check::<RmsProp>(
        "maximize",
        RmsProp::hyper().maximize(true),
        naive::RmsProp { maximize: true, ..Default::default() },
    );
}

#[test]
fn adagrad_and_adadelta_match_the_naive_versions() {
    check::<Adagrad>("defaults", Adagrad::hyper(), naive::Adagrad::default());
    check::<Adagrad>(
        "lr decay, weight decay, initial accumulator",
        Adagrad::hyper().lr_decay(0.01).weight_decay(0.1).initial_accumulator_value(0.1),
        naive::Adagrad { lr_decay: 0.01, weight_decay: 0.1, initial_accumulator_value: 0.1, ..Default::default() },
    );
    check::<Adadelta>("defaults", Adadelta::hyper(), naive::Adadelta::default());
    check::<Adadelta>(
        "weight decay, maximize",
        Adadelta::hyper().weight_decay(0.01).maximize(true),
        naive::Adadelta { weight_decay: 0.01, maximize: true, ..Default::default() },
    );
}

#[test]
fn adamax_nadam_and_radam_match_the_naive_versions() {
    check::<Adamax>("defaults", Adamax::hyper(), naive::Adamax::default());
    check::<Adamax>(
        "weight decay",
        Adamax::hyper().weight_decay(0.01),
        naive::Adamax { weight_decay: 0.01, ..Default::default() },
    );
    check::<NAdam>("defaults", NAdam::hyper(), naive::NAdam::default());
    check::<NAdam>(
        "L2 weight decay",
        NAdam::hyper().weight_decay(0.01),
        naive::NAdam { weight_decay: 0.01, ..Default::default() },
    );
    check::<NAdam>(
        "decoupled weight decay",
        NAdam::hyper().weight_decay(0.01).decoupled_weight_decay(true),
        naive::NAdam { weight_decay: 0.01, decoupled_weight_decay: true, ..Default::default() },
    );
    check::<RAdam>("defaults", RAdam::hyper(), naive::RAdam::default());
    check::<RAdam>(
        "decoupled weight decay",
        RAdam::hyper().weight_decay(0.01).decoupled_weight_decay(true),
        naive::RAdam { weight_decay: 0.01, decoupled_weight_decay: true, ..Default::default() },
    );
}

#[test]
fn rprop_asgd_and_sparse_adam_match_the_naive_versions() {
    check::<Rprop>("defaults", Rprop::hyper(), naive::Rprop::default());
    check::<Rprop>("maximize", Rprop::hyper().maximize(true), naive::Rprop { maximize: true, ..Default::default() });
    check::<Asgd>("defaults", Asgd::hyper(), naive::Asgd::default());
    check::<Asgd>(
        "averaging from step 3, weight decay",
        Asgd::hyper().t0(3.0).lambd(0.01).weight_decay(0.01),
        naive::Asgd { t0: 3.0, lambd: 0.01, weight_decay: 0.01, ..Default::default() },
    );
    check::<SparseAdam>("dense gradients", SparseAdam::hyper(), naive::SparseAdam::default());
}
