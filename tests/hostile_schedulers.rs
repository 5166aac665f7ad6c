//! Hostile scheduler states (issue 16, item 5 generalised): every integer and float of every
//! scheduler's saved state replaced by extreme values, loaded, then stepped. A load either
//! refuses with a typed error and changes nothing, or the scheduler steps on without a panic
//! (an overflow is a panic in debug builds, which tests run in, and a silent wrap in release).

use std::panic::{AssertUnwindSafe, catch_unwind};

use ndarray::ArrayD;
use optim::builtins::Sgd;
use optim::lr_scheduler::*;
use optim::{Optimizer, Param};

type Build = fn(&mut Optimizer<Sgd, f64>) -> Box<dyn LrScheduler>;

fn optimizer() -> Optimizer<Sgd, f64> {
    Sgd::optimizer(vec![Param::new(ArrayD::zeros(vec![1]))], Sgd::hyper().lr(0.1).momentum(0.9)).unwrap()
}

/// Every policy, each after a few steps so its state has progress in it.
fn schedulers() -> Vec<(&'static str, Build)> {
    vec![
        ("StepLR", |o| Box::new(StepLR::new(o, 3, 0.5).unwrap())),
        ("MultiStepLR", |o| Box::new(MultiStepLR::new(o, [2, 5], 0.5).unwrap())),
        ("ConstantLR", |o| Box::new(ConstantLR::new(o, 0.5, 4).unwrap())),
        ("LinearLR", |o| Box::new(LinearLR::new(o, 0.2, 1.0, 5).unwrap())),
        ("ExponentialLR", |o| Box::new(ExponentialLR::new(o, 0.9).unwrap())),
        ("PolynomialLR", |o| Box::new(PolynomialLR::new(o, 6, 2.0).unwrap())),
        ("CosineAnnealingLR", |o| Box::new(CosineAnnealingLR::new(o, 7, 0.001).unwrap())),
        ("CosineAnnealingWarmRestarts", |o| Box::new(CosineAnnealingWarmRestarts::new(o, 2, 2, 0.0).unwrap())),
        ("CyclicLR", |o| Box::new(CyclicLR::new(o, CyclicConfig::new(0.01, 0.1)).unwrap())),
        ("OneCycleLR", |o| Box::new(OneCycleLR::new(o, OneCycleConfig::new(0.1, 100)).unwrap())),
        ("LambdaLR", |o| Box::new(LambdaLR::new(o, |e| 1.0 / (1.0 + e as f64)).unwrap())),
        ("MultiplicativeLR", |o| Box::new(MultiplicativeLR::new(o, |_| 0.95).unwrap())),
        ("SequentialLR", |o| {
            let members: Vec<Box<dyn LrScheduler>> =
                vec![Box::new(LinearLR::new(o, 0.1, 1.0, 3).unwrap()), Box::new(ExponentialLR::new(o, 0.9).unwrap())];
            Box::new(SequentialLR::new(o, members, vec![3]).unwrap())
        }),
        ("ChainedScheduler", |o| {
            let members: Vec<Box<dyn LrScheduler>> =
                vec![Box::new(ConstantLR::new(o, 0.5, 2).unwrap()), Box::new(StepLR::new(o, 2, 0.5).unwrap())];
            Box::new(ChainedScheduler::new(o, members).unwrap())
        }),
    ]
}

const INTS: [i64; 9] = [i64::MIN, -2, -1, 0, 1, (1 << 53) - 1, 1 << 53, (1 << 53) + 1, i64::MAX];
const FLOATS: [f64; 6] = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MAX, -0.0, 1e-300];

/// Every state reachable from `state` by replacing one value (in it or in a member's state)
/// with an extreme one.
fn variants(state: &SchedulerState) -> Vec<SchedulerState> {
    let mut out = Vec::new();
    for (i, (_, value)) in state.entries.iter().enumerate() {
        let replacements: Vec<StateValue> = match value {
            StateValue::Int(_) => INTS.iter().map(|&v| StateValue::Int(v)).collect(),
            StateValue::Float(_) => FLOATS.iter().map(|&v| StateValue::Float(v)).collect(),
            StateValue::Ints(list) if !list.is_empty() => {
                INTS.iter().map(|&v| StateValue::Ints(vec![v; list.len()])).collect()
            }
            StateValue::Floats(list) => FLOATS.iter().map(|&v| StateValue::Floats(vec![v; list.len()])).collect(),
            _ => Vec::new(),
        };
        for replacement in replacements {
            let mut edited = state.clone();
            edited.entries[i].1 = replacement;
            out.push(edited);
        }
    }
    for (c, child) in state.children.iter().enumerate() {
        for edited_child in variants(child) {
            let mut edited = state.clone();
            edited.children[c] = edited_child;
            out.push(edited);
        }
    }
    out
}

#[test]
fn extreme_saved_values_are_refused_or_stepped_without_panic() {
    let (mut inputs, mut loaded, mut refused, mut panics, mut changed) = (0u32, 0u32, 0u32, Vec::new(), 0u32);
    let mut failed_steps = 0u32;
    for (name, build) in schedulers() {
        let mut opt = optimizer();
        let mut source = build(&mut opt);
        for _ in 0..3 {
            source.step(&mut opt).unwrap();
        }
        for state in variants(&source.state_dict()) {
            inputs += 1;
            let mut opt = optimizer();
            let mut target = build(&mut opt);
            let before = (target.state_dict(), opt.param_groups()[0].hyper.lr);
            let outcome = catch_unwind(AssertUnwindSafe(|| match target.load_state_dict(&state) {
                Err(_) => Err(()),
                Ok(()) => {
                    // a step either succeeds or fails leaving the scheduler and the optimizer as
                    // they were
                    let mut failed_steps = 0u32;
                    for _ in 0..3 {
                        // compared as text: a NaN in the state is not equal to itself
                        let before = format!("{:?}", (target.state_dict(), opt.param_groups()[0].hyper.lr));
                        if target.step(&mut opt).is_err() {
                            failed_steps += 1;
                            let after = format!("{:?}", (target.state_dict(), opt.param_groups()[0].hyper.lr));
                            assert!(after == before, "{name}: {before:?} -> {after:?}");
                        }
                    }
                    Ok(failed_steps)
                }
            }));
            match outcome {
                Err(_) => panics.push(format!("{name}: {state:?}")),
                Ok(Err(())) => {
                    refused += 1;
                    if (target.state_dict(), opt.param_groups()[0].hyper.lr) != before {
                        changed += 1;
                    }
                }
                Ok(Ok(failed)) => {
                    loaded += 1;
                    failed_steps += failed;
                }
            }
        }
    }
    println!(
        "hostile scheduler states: {inputs} inputs tried, {} panics, {changed} state changes on refusal \
         ({refused} refused, {loaded} loaded and stepped, {failed_steps} steps refused after a load)",
        panics.len()
    );
    assert!(inputs > 100);
    assert!(panics.is_empty(), "{} panics:\n{}", panics.len(), panics.join("\n"));
    assert_eq!(changed, 0);
}

/// ReduceLROnPlateau, which steps on a metric: the same extremes in its saved state, stepped
/// with ordinary, NaN and infinite metrics.
#[test]
fn extreme_plateau_states_are_refused_or_stepped_without_panic() {
    let config = PlateauConfig { patience: 1, cooldown: 1, ..PlateauConfig::default() };
    let opt = optimizer();
    let mut source = ReduceLROnPlateau::new(&opt, config.clone()).unwrap();
    let mut source_opt = optimizer();
    for metric in [1.0, 2.0, 3.0] {
        source.step(&mut source_opt, metric).unwrap();
    }
    let (mut inputs, mut panics, mut changed) = (0u32, 0u32, 0u32);
    for state in variants(&source.state_dict()) {
        inputs += 1;
        let mut opt = optimizer();
        let mut target = ReduceLROnPlateau::new(&opt, config.clone()).unwrap();
        let before = format!("{:?}", (target.state_dict(), opt.param_groups()[0].hyper.lr));
        let outcome = catch_unwind(AssertUnwindSafe(|| match target.load_state_dict(&state) {
            Err(_) => format!("{:?}", (target.state_dict(), opt.param_groups()[0].hyper.lr)) != before,
            Ok(()) => {
                let mut changed = false;
                for metric in [0.5, f64::NAN, f64::INFINITY, 0.25] {
                    let before = format!("{:?}", (target.state_dict(), opt.param_groups()[0].hyper.lr));
                    if target.step(&mut opt, metric).is_err() {
                        changed |= format!("{:?}", (target.state_dict(), opt.param_groups()[0].hyper.lr)) != before;
                    }
                }
                changed
            }
        }));
        match outcome {
            Err(_) => panics += 1,
            Ok(true) => changed += 1,
            Ok(false) => {}
        }
    }
    println!("hostile plateau states: {inputs} inputs tried, {panics} panics, {changed} state changes on refusal");
    assert!(inputs > 50);
    assert_eq!((panics, changed), (0, 0));
}
