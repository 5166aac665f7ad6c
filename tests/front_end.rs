//! The front end's reach: specs past the old silent limits (12 reductions, 40 conditions),
//! reductions under a flag (in either arm of an `if`), states that start from the parameter,
//! `inf`, optional and choice hyperparameters. Every expected value comes from a plain scalar evaluation in this file.

use ndarray::ArrayD;
use optim::prelude::*;
use optim_core::{ChoiceName, HyperValue};

fn param(values: &[f64]) -> Param<f64> {
    Param::new(ArrayD::from_shape_vec(vec![values.len()], values.to_vec()).unwrap())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
}

fn values(n: usize, seed: f64) -> Vec<f64> {
    (0..n).map(|i| ((i as f64 + seed) * 0.7311).sin() * (1.0 + i as f64 % 3.0)).collect()
}

optimizer! {
    /// Twelve reductions in one step (eight was a silent limit: the ninth was dropped).
    pub TwelveSums {
        hyper { lr = 0.01 }
        step {
            let total = sum(grad) + sum(grad * grad) + sum(grad * param) + amax(grad) + mean(grad)
                + norm(grad) + sum(param) + amax(param) + mean(param * param) + sum(grad * grad * grad)
                + norm(param) + amax(-grad);
            param -= lr * total * grad;
        }
    }
}

#[test]
fn twelve_reductions_give_the_scalar_answer() {
    assert_eq!(TwelveSums::REDUCTIONS.len(), 12);
    let (p0, g) = (values(300, 1.0), values(300, 2.0));
    let p = param(&p0);
    let mut opt = TwelveSums::optimizer(vec![p.clone()], TwelveSums::hyper()).unwrap();
    p.set_grad(ArrayD::from_shape_vec(vec![300], g.clone()).unwrap());
    opt.step().unwrap();
    let n = p0.len() as f64;
    let s = |f: &dyn Fn(usize) -> f64| (0..p0.len()).map(f).sum::<f64>();
    let m = |f: &dyn Fn(usize) -> f64| (0..p0.len()).map(f).fold(f64::NEG_INFINITY, f64::max);
    let total = s(&|i| g[i])
        + s(&|i| g[i] * g[i])
        + s(&|i| g[i] * p0[i])
        + m(&|i| g[i])
        + s(&|i| g[i]) / n
        + s(&|i| g[i] * g[i]).sqrt()
        + s(&|i| p0[i])
        + m(&|i| p0[i])
        + s(&|i| p0[i] * p0[i]) / n
        + s(&|i| g[i].powi(3))
        + s(&|i| p0[i] * p0[i]).sqrt()
        + m(&|i| -g[i]);
    for (i, got) in p.value().iter().enumerate() {
        let expected = p0[i] - 0.01 * total * g[i];
        assert!(close(*got, expected), "element {i}: {got} vs {expected}");
    }
}

optimizer! {
    /// A reduction in each arm of a value `if` on a flag: the `else` arm's was refused as "inside
    /// a value block" while the `then` arm's was taken.
    pub EitherNorm {
        hyper { lr = 1.0, by_param = false }
        step {
            let scale = if by_param { norm(param) } else { let g2 = grad * grad; sqrt(sum(g2)) };
            param -= lr * grad / scale;
        }
    }
}

#[test]
fn either_arm_of_a_flag_may_reduce() {
    for by_param in [false, true] {
        let (p0, g) = ([0.0, 2.0, 0.0], [3.0, 4.0, 12.0]);
        let p = param(&p0);
        let mut opt = EitherNorm::optimizer(vec![p.clone()], EitherNorm::hyper().by_param(by_param)).unwrap();
        p.set_grad(ArrayD::from_shape_vec(vec![3], g.to_vec()).unwrap());
        opt.step().unwrap();
        // |p0| = 2, |g| = 13
        let scale = if by_param { 2.0 } else { 13.0 };
        for (i, got) in p.value().iter().enumerate() {
            let expected = p0[i] - g[i] / scale;
            assert!(close(*got, expected), "by_param {by_param}, element {i}: {got} vs {expected}");
        }
    }
}

optimizer! {
    /// Forty distinct hoisted conditions (32 overflowed the old `u32` mask at run time).
    pub FortyConditions {
        hyper { lr = 0.0205 }
        step {
            if lr > 0.001 { param -= 0.001 * grad; }
            if lr > 0.002 { param -= 0.002 * grad; }
            if lr > 0.003 { param -= 0.003 * grad; }
            if lr > 0.004 { param -= 0.004 * grad; }
            if lr > 0.005 { param -= 0.005 * grad; }
            if lr > 0.006 { param -= 0.006 * grad; }
            if lr > 0.007 { param -= 0.007 * grad; }
            if lr > 0.008 { param -= 0.008 * grad; }
            if lr > 0.009 { param -= 0.009 * grad; }
            if lr > 0.010 { param -= 0.010 * grad; }
            if lr > 0.011 { param -= 0.011 * grad; }
            if lr > 0.012 { param -= 0.012 * grad; }
            if lr > 0.013 { param -= 0.013 * grad; }
            if lr > 0.014 { param -= 0.014 * grad; }
            if lr > 0.015 { param -= 0.015 * grad; }
            if lr > 0.016 { param -= 0.016 * grad; }
            if lr > 0.017 { param -= 0.017 * grad; }
            if lr > 0.018 { param -= 0.018 * grad; }
            if lr > 0.019 { param -= 0.019 * grad; }
            if lr > 0.020 { param -= 0.020 * grad; }
            if lr > 0.021 { param -= 0.021 * grad; }
            if lr > 0.022 { param -= 0.022 * grad; }
            if lr > 0.023 { param -= 0.023 * grad; }
            if lr > 0.024 { param -= 0.024 * grad; }
            if lr > 0.025 { param -= 0.025 * grad; }
            if lr > 0.026 { param -= 0.026 * grad; }
            if lr > 0.027 { param -= 0.027 * grad; }
            if lr > 0.028 { param -= 0.028 * grad; }
            if lr > 0.029 { param -= 0.029 * grad; }
            if lr > 0.030 { param -= 0.030 * grad; }
            if lr > 0.031 { param -= 0.031 * grad; }
            if lr > 0.032 { param -= 0.032 * grad; }
            if lr > 0.033 { param -= 0.033 * grad; }
            if lr > 0.034 { param -= 0.034 * grad; }
            if lr > 0.035 { param -= 0.035 * grad; }
            if lr > 0.036 { param -= 0.036 * grad; }
            if lr > 0.037 { param -= 0.037 * grad; }
            if lr > 0.038 { param -= 0.038 * grad; }
            if lr > 0.039 { param -= 0.039 * grad; }
            if lr > 0.040 { param -= 0.040 * grad; }
        }
    }
}

#[test]
fn forty_conditions_give_the_scalar_answer() {
    let (p0, g) = (values(50, 3.0), values(50, 4.0));
    for lr in [0.0205, 0.0005, 0.05] {
        let p = param(&p0);
        let mut opt = FortyConditions::optimizer(vec![p.clone()], FortyConditions::hyper().lr(lr)).unwrap();
        p.set_grad(ArrayD::from_shape_vec(vec![50], g.clone()).unwrap());
        opt.step().unwrap();
        for (i, got) in p.value().iter().enumerate() {
            let mut expected = p0[i];
            for k in 1..=40 {
                let t = 0.001 * k as f64;
                if lr > t {
                    expected -= t * g[i];
                }
            }
            assert!(close(*got, expected), "lr {lr}, element {i}: {got} vs {expected}");
        }
    }
}

optimizer! {
    /// Momentum with a cautious mask (Liang et al. 2024) behind a flag, written as a value.
    pub CautiousMomentum {
        hyper { lr = 0.1, momentum = 0.9, cautious = false }
        state { buf = 0 }
        step {
            buf = momentum * buf + grad;
            let mask = select(buf * grad > 0, 1, 0);
            let update = if cautious { buf * mask / max(mean(mask), 1e-3) } else { buf };
            param -= lr * update;
        }
    }
}

optimizer! {
    /// The same option written as statements.
    pub CautiousStatements {
        hyper { lr = 0.1, momentum = 0.9, cautious = false }
        state { buf = 0 }
        step {
            buf = momentum * buf + grad;
            if cautious {
                let mask = select(buf * grad > 0, 1, 0);
                param -= lr * buf * mask / max(mean(mask), 1e-3);
            } else {
                param -= lr * buf;
            }
        }
    }
}

/// Three steps of momentum with an optional cautious mask, element by element.
fn cautious_reference(p0: &[f64], grads: &[Vec<f64>], cautious: bool) -> Vec<f64> {
    let (mut p, mut buf) = (p0.to_vec(), vec![0.0; p0.len()]);
    for g in grads {
        for i in 0..p.len() {
            buf[i] = 0.9 * buf[i] + g[i];
        }
        let mask: Vec<f64> = (0..p.len()).map(|i| if buf[i] * g[i] > 0.0 { 1.0 } else { 0.0 }).collect();
        let scale = (mask.iter().sum::<f64>() / p.len() as f64).max(1e-3);
        for i in 0..p.len() {
            p[i] -= 0.1 * if cautious { buf[i] * mask[i] / scale } else { buf[i] };
        }
    }
    p
}

fn run_cautious<R: Rule>(hyper: R::Hyper, p0: &[f64], grads: &[Vec<f64>]) -> Vec<f64> {
    let p = param(p0);
    let mut opt = Optimizer::<R, f64>::new(vec![p.clone()], hyper).unwrap();
    for g in grads {
        p.set_grad(ArrayD::from_shape_vec(vec![g.len()], g.clone()).unwrap());
        opt.step().unwrap();
    }
    p.value().iter().copied().collect()
}

#[test]
fn a_reduction_under_a_flag_runs_only_when_the_flag_is_on() {
    let p0 = values(70_000, 5.0);
    let grads: Vec<Vec<f64>> = (0..3).map(|s| values(70_000, 6.0 + s as f64)).collect();
    for cautious in [false, true] {
        let expected = cautious_reference(&p0, &grads, cautious);
        let as_value = run_cautious::<CautiousMomentum>(CautiousMomentum::hyper().cautious(cautious), &p0, &grads);
        let as_statements =
            run_cautious::<CautiousStatements>(CautiousStatements::hyper().cautious(cautious), &p0, &grads);
        for i in 0..p0.len() {
            assert!(close(as_value[i], expected[i]), "value form, cautious {cautious}, {i}");
            assert!(close(as_statements[i], expected[i]), "statement form, cautious {cautious}, {i}");
        }
    }
    // the pass exists, and the prologue says whether this tensor needs it
    assert_eq!(CautiousMomentum::PASSES, 2);
    let off = CautiousMomentum::prepare(&CautiousMomentum::hyper(), 1, &mut []);
    let on = CautiousMomentum::prepare(&CautiousMomentum::hyper().cautious(true), 1, &mut []);
    assert!(!CautiousMomentum::pass_needed(&off, 1) && CautiousMomentum::pass_needed(&on, 1));
}

optimizer! {
    /// A state that starts as a copy of the parameter, as Schedule-Free's `z`.
    pub AveragedSgd {
        hyper { lr = 0.1, weight = 0.25 }
        state { z = param, shifted = 2 * param + weight }
        step {
            z -= lr * grad;
            shifted += grad;
            param = lerp(param, z, weight);
        }
    }
}

#[test]
fn a_state_can_start_from_the_parameter() {
    let p0 = [1.0, -2.0, 0.5];
    let g = [0.3, 0.1, -0.4];
    let p = param(&p0);
    let mut opt = AveragedSgd::optimizer(vec![p.clone()], AveragedSgd::hyper()).unwrap();
    p.set_grad(ArrayD::from_shape_vec(vec![3], g.to_vec()).unwrap());
    opt.step().unwrap();
    let state = opt.state(0, 0).unwrap();
    for i in 0..3 {
        let z = p0[i] - 0.1 * g[i];
        assert!(close(state.tensor("z").unwrap()[[i]], z));
        assert!(close(state.tensor("shifted").unwrap()[[i]], 2.0 * p0[i] + 0.25 + g[i]));
        assert!(close(p.value()[[i]], p0[i] + 0.25 * (z - p0[i])));
    }
}

optimizer! {
    /// `inf` as a default, an optional hyperparameter and a choice of names.
    pub Options {
        hyper {
            lr = 0.1,
            /// Largest growth of the step per step; `inf` means unbounded.
            growth = inf in 1.0..,
            /// Not set: `sqrt(beta)`.
            beta3 = None in 0.0..1.0,
            beta = 0.81,
            /// How the update is shaped.
            kind = "plain" | "sign" | "clipped_sign",
        }
        state { d = 0 }
        step {
            let b3 = beta3.unwrap_or(sqrt(beta));
            d = b3 * d + grad;
            let step_size = min(lr * growth, lr * 2);
            if kind == "sign" {
                param -= step_size * sign(d);
            } else if kind == "clipped_sign" {
                param -= step_size * clamp(d, -0.05, 0.05);
            } else {
                param -= step_size * d;
            }
        }
    }
}

fn options_step(hyper: OptionsHyper) -> f64 {
    let p = param(&[1.0]);
    let mut opt = Options::optimizer(vec![p.clone()], hyper).unwrap();
    for _ in 0..2 {
        p.set_grad(ArrayD::from_elem(vec![1], 0.2));
        opt.step().unwrap();
    }
    p.value()[[0]]
}

#[test]
fn inf_optional_and_choice_hyperparameters() {
    let defaults = Options::hyper();
    assert_eq!(defaults.growth, f64::INFINITY);
    assert_eq!(defaults.beta3, None);
    assert_eq!(defaults.kind, OptionsKind::Plain);
    assert_eq!(OptionsKind::NAMES, &["plain", "sign", "clipped_sign"]);
    // two steps of d = b3 d + 0.2 with lr·min(growth, 2)
    let two_steps = |b3: f64, lr: f64| 1.0 - lr * 0.2 - lr * (b3 * 0.2 + 0.2);
    assert!(close(options_step(defaults), two_steps(0.9, 0.2)));
    assert!(close(options_step(defaults.beta3(Some(0.5))), two_steps(0.5, 0.2)));
    assert!(close(options_step(defaults.growth(1.5)), two_steps(0.9, 0.15)));
    assert!(close(options_step(defaults.kind(OptionsKind::Sign)), 1.0 - 2.0 * 0.2));
    assert!(close(options_step(defaults.kind(OptionsKind::ClippedSign)), 1.0 - 2.0 * 0.2 * 0.05));
    // an unset optional is in range; a set one is checked
    assert!(Options::optimizer(vec![param(&[1.0])], defaults.beta3(Some(1.5))).is_err());
}

#[test]
fn optional_and_choice_values_travel_by_name_and_through_checkpoints() {
    let mut hyper = Options::hyper();
    assert_eq!(hyper.get("beta3"), Some(HyperValue::Unset));
    assert_eq!(hyper.get("kind"), Some(HyperValue::Choice(ChoiceName::new("plain").unwrap())));
    hyper.set("kind", HyperValue::Choice(ChoiceName::new("sign").unwrap())).unwrap();
    hyper.set("beta3", HyperValue::Float(0.7)).unwrap();
    assert_eq!((hyper.kind, hyper.beta3), (OptionsKind::Sign, Some(0.7)));
    let unknown = hyper.set("kind", HyperValue::Choice(ChoiceName::new("sgin").unwrap()));
    assert!(matches!(unknown, Err(OptimError::InvalidHyper { name: "kind", .. })), "{unknown:?}");
    assert!(hyper.set("kind", HyperValue::Float(1.0)).is_err());
    assert_eq!(hyper.kind, OptionsKind::Sign, "a refused value changes nothing");
    assert_eq!(hyper.choices("kind"), OptionsKind::NAMES);

    let p = param(&[1.0, 2.0]);
    let mut opt = Options::optimizer(vec![p.clone()], hyper).unwrap();
    p.set_grad(ArrayD::from_elem(vec![2], 0.1));
    opt.step().unwrap();
    let path = std::env::temp_dir().join(format!("optim-front-end-{}.safetensors", std::process::id()));
    opt.save(&path).unwrap();
    let mut fresh = Options::optimizer(vec![param(&[1.0, 2.0])], Options::hyper()).unwrap();
    fresh.load(&path).unwrap();
    std::fs::remove_file(&path).ok();
    let restored = &fresh.param_groups()[0].hyper;
    assert_eq!((restored.kind, restored.beta3), (OptionsKind::Sign, Some(0.7)));
    let sd = opt.state_dict();
    assert_eq!(sd.param_groups[0].hyper["kind"], HyperValue::Choice(ChoiceName::new("sign").unwrap()));

    // `None` is saved as not set and restored as not set
    let mut unset = Options::optimizer(vec![param(&[1.0])], Options::hyper().beta3(Some(0.3))).unwrap();
    let sd = Options::optimizer(vec![param(&[1.0])], Options::hyper()).unwrap().state_dict();
    assert_eq!(sd.param_groups[0].hyper["beta3"], HyperValue::Unset);
    unset.load_state_dict(&sd).unwrap();
    assert_eq!(unset.param_groups()[0].hyper.beta3, None);
}
