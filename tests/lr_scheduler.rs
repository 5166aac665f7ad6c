//! Learning-rate schedulers against closed-form values: the closure policies, the composites,
//! momentum cycling on Adam's `betas`, checkpoints and errors.

use std::f64::consts::PI;

use optim::builtins::{Adam, Sgd};
use optim::lr_scheduler::{
    Anneal, ChainedScheduler, ConstantLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, CyclicConfig, CyclicLR,
    CyclicMode, ExponentialLR, LambdaLR, LinearLR, LrScheduler, LrTarget, MultiplicativeLR, OneCycleConfig, OneCycleLR,
    PlateauConfig, PlateauMode, ReduceLROnPlateau, SchedulerState, SequentialLR, StateValue, StepLR, ThresholdMode,
};
use optim::{Group, OptimError, Optimizer, Param};

fn param() -> Param<f64> {
    Param::new(ndarray::arr1(&[1.0, -1.0]).into_dyn())
}

fn sgd(lr: f64) -> Optimizer<Sgd, f64> {
    Sgd::optimizer(vec![param()], Sgd::hyper().lr(lr)).unwrap()
}

fn two_groups(lr0: f64, lr1: f64) -> Optimizer<Sgd, f64> {
    let groups = vec![Group::new(vec![param()]).with("lr", lr0), Group::new(vec![param()]).with("lr", lr1)];
    Optimizer::with_groups(groups, Sgd::hyper()).unwrap()
}

fn lr(opt: &dyn LrTarget, group: usize) -> f64 {
    opt.group_hyper(group, "lr").and_then(|v| v.as_f64()).unwrap()
}

#[track_caller]
fn close(ours: f64, expected: f64, what: &str) {
    let error = if ours == expected { 0.0 } else { (ours - expected).abs() / expected.abs().max(1e-300) };
    assert!(error <= 1e-12, "{what}: ours {ours:e}, expected {expected:e} (relative error {error:e})");
}

/// The learning rates of `groups` groups at epochs 0..epochs, stepping `sched` between them.
fn trace(opt: &mut Optimizer<Sgd, f64>, sched: &mut dyn LrScheduler, epochs: usize) -> Vec<Vec<f64>> {
    let groups = opt.param_groups().len();
    let mut seen: Vec<Vec<f64>> = Vec::new();
    for _ in 0..epochs {
        seen.push((0..groups).map(|g| lr(opt, g)).collect());
        assert_eq!(sched.get_last_lr(), seen.last().unwrap().as_slice());
        sched.step(opt).unwrap();
    }
    seen
}

#[test]
fn lambda_lr_is_base_times_lambda_per_group() {
    let mut opt = two_groups(0.5, 2.0);
    let mut sched =
        LambdaLR::per_group(&mut opt, vec![Box::new(|e| 0.9f64.powf(e as f64)), Box::new(|e| 1.0 / (1.0 + e as f64))])
            .unwrap();
    for (e, lrs) in trace(&mut opt, &mut sched, 12).iter().enumerate() {
        close(lrs[0], 0.5 * 0.9f64.powf(e as f64), &format!("group 0 epoch {e}"));
        close(lrs[1], 2.0 / (1.0 + e as f64), &format!("group 1 epoch {e}"));
    }
    assert!(LambdaLR::per_group(&mut opt, vec![Box::new(|_| 1.0)]).is_err());
}

#[test]
fn multiplicative_lr_multiplies_from_the_first_step() {
    let mut opt = sgd(0.3);
    let mut sched = MultiplicativeLR::new(&mut opt, |e| 1.0 - 0.01 * e as f64).unwrap();
    let mut expected = 0.3;
    for (e, lrs) in trace(&mut opt, &mut sched, 15).iter().enumerate() {
        if e > 0 {
            expected *= 1.0 - 0.01 * e as f64;
        }
        close(lrs[0], expected, &format!("epoch {e}"));
    }
}

#[test]
fn sequential_lr_warms_up_then_anneals_from_the_shared_base() {
    let (base, eta_min) = (0.8, 0.01);
    let mut opt = sgd(base);
    let warmup = LinearLR::new(&mut opt, 0.1, 1.0, 3).unwrap();
    let anneal = CosineAnnealingLR::new(&mut opt, 5, eta_min).unwrap();
    let decay = ExponentialLR::new(&mut opt, 0.5).unwrap();
    let members: Vec<Box<dyn LrScheduler>> = vec![Box::new(warmup), Box::new(anneal), Box::new(decay)];
    let mut sched = SequentialLR::new(&mut opt, members, vec![3, 8]).unwrap();
    assert_eq!(sched.base_lrs(), [base]);
    for (e, lrs) in trace(&mut opt, &mut sched, 14).iter().enumerate() {
        let expected = match e {
            0..3 => base * (0.1 + 0.9 * e as f64 / 3.0),
            3..8 => eta_min + (base - eta_min) * (1.0 + (PI * (e - 3) as f64 / 5.0).cos()) / 2.0,
            _ => base * 0.5f64.powf((e - 8) as f64),
        };
        close(lrs[0], expected, &format!("epoch {e}"));
    }
    assert_eq!(sched.last_epoch(), 14);
}

#[test]
fn sequential_lr_refuses_bad_milestones() {
    let mut opt = sgd(0.1);
    let members = |opt: &mut Optimizer<Sgd, f64>| -> Vec<Box<dyn LrScheduler>> {
        vec![Box::new(StepLR::new(opt, 1, 0.5).unwrap()), Box::new(StepLR::new(opt, 1, 0.5).unwrap())]
    };
    let m = members(&mut opt);
    assert!(matches!(SequentialLR::new(&mut opt, m, vec![]), Err(OptimError::InvalidArgument { .. })));
    let m = members(&mut opt);
    assert!(SequentialLR::new(&mut opt, m, vec![2]).is_ok());
    assert!(SequentialLR::new(&mut opt, vec![], vec![]).is_err());
}

#[test]
fn chained_scheduler_composes_factors() {
    let base = 0.2;
    let mut opt = sgd(base);
    let warmup = ConstantLR::new(&mut opt, 0.5, 3).unwrap();
    let decay = ExponentialLR::new(&mut opt, 0.9).unwrap();
    let mut sched = ChainedScheduler::new(&mut opt, vec![Box::new(warmup), Box::new(decay)]).unwrap();
    for (e, lrs) in trace(&mut opt, &mut sched, 10).iter().enumerate() {
        let factor = if e < 3 { 0.5 } else { 1.0 };
        close(lrs[0], base * factor * 0.9f64.powf(e as f64), &format!("epoch {e}"));
    }
}

#[test]
fn chained_members_share_the_initial_lr_as_in_torch() {
    // In PyTorch both members read the group's `initial_lr` (0.4): LambdaLR overrides the constant
    // factor at every step, so the chain follows the lambda alone.
    let mut opt = sgd(0.4);
    let constant = ConstantLR::new(&mut opt, 0.5, 2).unwrap();
    let lambda = LambdaLR::new(&mut opt, |e| 1.0 / (1.0 + e as f64)).unwrap();
    let mut sched = ChainedScheduler::new(&mut opt, vec![Box::new(constant), Box::new(lambda)]).unwrap();
    assert_eq!(sched.base_lrs(), [0.4]);
    for (e, lrs) in trace(&mut opt, &mut sched, 6).iter().enumerate() {
        close(lrs[0], 0.4 / (1.0 + e as f64), &format!("epoch {e}"));
    }
}

#[test]
fn one_cycle_cycles_adam_betas_and_keeps_beta2() {
    let w = Param::new(ndarray::arr1(&[1.0f32, -1.0]).into_dyn());
    let mut opt = Adam::optimizer(vec![w.clone()], Adam::hyper().lr(1e-3).betas((0.9, 0.99))).unwrap();
    let config = OneCycleConfig { anneal: Anneal::Linear, ..OneCycleConfig::new(0.5, 10) };
    let mut sched = OneCycleLR::new(&mut opt, config).unwrap();
    let (initial, min) = (0.5 / 25.0, 0.5 / 25.0 / 1e4);
    for step in 0..10 {
        let s = step as f64;
        let (lr_now, beta1) = if s <= 2.0 {
            let pct = s / 2.0;
            ((0.5 - initial) * pct + initial, (0.85 - 0.95) * pct + 0.95)
        } else {
            let pct = (s - 2.0) / 7.0;
            ((min - 0.5) * pct + 0.5, (0.95 - 0.85) * pct + 0.85)
        };
        let hyper = &opt.param_groups()[0].hyper;
        close(hyper.lr, lr_now, &format!("lr at step {step}"));
        close(hyper.betas.0, beta1, &format!("beta1 at step {step}"));
        assert_eq!(hyper.betas.1, 0.99);
        w.set_grad(ndarray::arr1(&[0.1f32, 0.2]).into_dyn());
        opt.step().unwrap();
        sched.step(&mut opt).unwrap();
    }
    assert!(w.value().iter().all(|x| x.is_finite()));
    // The cycle has 10 steps: the 10th step is the last PyTorch allows.
    let before = sched.state_dict();
    let err = sched.step(&mut opt).unwrap_err();
    assert!(matches!(err, OptimError::SchedulerStep { .. }));
    assert_eq!(sched.state_dict(), before);
}

#[test]
fn cyclic_lr_on_adam_cycles_beta1_inversely() {
    let mut opt = Adam::optimizer(vec![Param::new(ndarray::arr1(&[0.0f64]).into_dyn())], Adam::hyper()).unwrap();
    let config = CyclicConfig { step_size_up: 4, step_size_down: Some(2), ..CyclicConfig::new(0.1, 0.5) };
    let mut sched = CyclicLR::new(&mut opt, config).unwrap();
    for step in 0..13u32 {
        let x = f64::from(step % 6);
        let scale = if x <= 4.0 { x / 4.0 } else { (6.0 - x) / 2.0 };
        let hyper = &opt.param_groups()[0].hyper;
        close(hyper.lr, 0.1 + 0.4 * scale, &format!("lr at {step}"));
        assert!((hyper.betas.0 - (0.9 - 0.1 * scale)).abs() < 1e-12, "beta1 at {step}");
        assert_eq!(hyper.betas.1, 0.999);
        sched.step(&mut opt).unwrap();
    }
}

#[test]
fn cyclic_modes_scale_the_amplitude() {
    let mut opt = sgd(1.0);
    let config = CyclicConfig { step_size_up: 2, mode: CyclicMode::Triangular2, ..CyclicConfig::new(0.0, 1.0) };
    let mut sched = CyclicLR::new(&mut opt, config).unwrap();
    let peaks: Vec<f64> = trace(&mut opt, &mut sched, 12).iter().skip(2).step_by(4).map(|l| l[0]).collect();
    assert_eq!(peaks, [1.0, 0.5, 0.25]);
    assert!((opt.param_groups()[0].hyper.momentum - 0.9).abs() < 1e-12);

    let mut opt = sgd(1.0);
    let gamma = 0.9;
    let config = CyclicConfig { step_size_up: 2, mode: CyclicMode::ExpRange { gamma }, ..CyclicConfig::new(0.0, 1.0) };
    let mut sched = CyclicLR::new(&mut opt, config).unwrap();
    for (e, lrs) in trace(&mut opt, &mut sched, 9).iter().enumerate() {
        let x = (e % 4) as f64;
        let triangle = if x <= 2.0 { x / 2.0 } else { (4.0 - x) / 2.0 };
        assert!((lrs[0] - triangle * gamma.powf(e as f64)).abs() < 1e-15, "epoch {e}");
    }
}

#[test]
fn warm_restarts_follow_sgdr_at_fractional_epochs() {
    let (t_0, t_mult, eta_min, base) = (3u64, 2u64, 0.05, 0.5);
    let mut opt = sgd(base);
    let mut sched = CosineAnnealingWarmRestarts::new(&mut opt, t_0, t_mult, eta_min).unwrap();
    for tenth in 0..200 {
        let epoch = f64::from(tenth) / 10.0;
        sched.step_to(&mut opt, epoch).unwrap();
        // Periods 3, 6, 12: restarts at 3 and 9.
        let (t_cur, t_i) = if epoch < 3.0 {
            (epoch, 3.0)
        } else if epoch < 9.0 {
            (epoch - 3.0, 6.0)
        } else {
            (epoch - 9.0, 12.0)
        };
        let expected = eta_min + (base - eta_min) * (1.0 + (PI * t_cur / t_i).cos()) / 2.0;
        assert!((lr(&opt, 0) - expected).abs() < 1e-12, "epoch {epoch}");
    }
    assert!(sched.step_to(&mut opt, -1.0).is_err());
}

#[test]
fn plateau_modes_cooldown_and_min_lr() {
    let mut opt = two_groups(1.0, 0.05);
    let config = PlateauConfig {
        mode: PlateauMode::Max,
        factor: 0.5,
        patience: 1,
        threshold: 0.1,
        threshold_mode: ThresholdMode::Abs,
        cooldown: 2,
        min_lr: vec![0.0, 0.04].into(),
        ..PlateauConfig::default()
    };
    let mut sched = ReduceLROnPlateau::new(&opt, config).unwrap();
    // 0.55 is not 0.1 better than 0.5; two bad epochs > patience 1 reduce; the cooldown then
    // ignores two bad epochs.
    let metrics = [0.5, 0.55, 0.55, 0.5, 0.5, 0.5, 0.5, 0.7, 0.7];
    let expected = [
        [1.0, 0.05],
        [1.0, 0.05],
        [0.5, 0.04],
        [0.5, 0.04],
        [0.5, 0.04],
        [0.5, 0.04],
        [0.25, 0.04],
        [0.25, 0.04],
        [0.25, 0.04],
    ];
    for (i, (&metric, want)) in metrics.iter().zip(expected).enumerate() {
        sched.step(&mut opt, metric).unwrap();
        assert_eq!(sched.get_last_lr(), want, "after metric {i}");
    }
    assert_eq!(sched.best(), 0.7);

    let config = PlateauConfig { min_lr: vec![0.0].into(), ..PlateauConfig::default() };
    assert!(matches!(ReduceLROnPlateau::new(&opt, config), Err(OptimError::InvalidArgument { .. })));
}

#[test]
fn plateau_state_round_trips() {
    let mut opt = sgd(1.0);
    let config = PlateauConfig { patience: 0, ..PlateauConfig::default() };
    let mut a = ReduceLROnPlateau::new(&opt, config.clone()).unwrap();
    for metric in [3.0, 2.0, 2.5] {
        a.step(&mut opt, metric).unwrap();
    }
    let mut b = ReduceLROnPlateau::new(&opt, config).unwrap();
    b.load_state_dict(&a.state_dict()).unwrap();
    assert_eq!(b.state_dict(), a.state_dict());
    let mut bad = a.state_dict();
    bad.entries.retain(|(k, _)| k != "best");
    assert!(matches!(b.load_state_dict(&bad), Err(OptimError::SchedulerState { .. })));
    assert_eq!(b.state_dict(), a.state_dict());
}

/// Two optimizers at one learning rate: `fresh` resumes from `trained`'s state and must then
/// follow it step for step.
fn resumes(make: impl Fn(&mut Optimizer<Sgd, f64>) -> Box<dyn LrScheduler>, warm: usize) {
    let (mut opt_a, mut opt_b) = (sgd(0.3), sgd(0.3));
    let mut trained = make(&mut opt_a);
    for _ in 0..warm {
        trained.step(&mut opt_a).unwrap();
    }
    let mut resumed = make(&mut opt_b);
    resumed.load_state_dict(&trained.state_dict()).unwrap();
    assert_eq!(resumed.state_dict(), trained.state_dict(), "{}", trained.name());
    let lr_now = lr(&opt_a, 0);
    opt_b.set_group_hyper(0, "lr", lr_now.into()).unwrap();
    for step in 0..10 {
        trained.step(&mut opt_a).unwrap();
        resumed.step(&mut opt_b).unwrap();
        assert_eq!(lr(&opt_a, 0), lr(&opt_b, 0), "{} step {step}", trained.name());
    }
}

#[test]
fn every_scheduler_resumes_from_its_state() {
    resumes(|o| Box::new(StepLR::new(o, 3, 0.5).unwrap()), 4);
    resumes(|o| Box::new(CosineAnnealingLR::new(o, 7, 0.01).unwrap()), 9);
    resumes(|o| Box::new(CosineAnnealingWarmRestarts::new(o, 2, 3, 0.0).unwrap()), 5);
    resumes(|o| Box::new(LinearLR::new(o, 0.2, 0.9, 6).unwrap()), 3);
    resumes(
        |o| Box::new(CyclicLR::new(o, CyclicConfig { step_size_up: 3, ..CyclicConfig::new(0.1, 1.0) }).unwrap()),
        5,
    );
    resumes(
        |o| Box::new(OneCycleLR::new(o, OneCycleConfig { three_phase: true, ..OneCycleConfig::new(1.0, 30) }).unwrap()),
        7,
    );
    resumes(
        |o| {
            let a = LinearLR::new(o, 0.5, 1.0, 2).unwrap();
            let b = CosineAnnealingLR::new(o, 4, 0.0).unwrap();
            Box::new(SequentialLR::new(o, vec![Box::new(a), Box::new(b)], vec![2]).unwrap())
        },
        3,
    );
    resumes(
        |o| {
            let a = ConstantLR::new(o, 0.5, 2).unwrap();
            let b = ExponentialLR::new(o, 0.8).unwrap();
            Box::new(ChainedScheduler::new(o, vec![Box::new(a), Box::new(b)]).unwrap())
        },
        3,
    );
}

#[test]
fn loading_a_state_checks_everything_first() {
    let mut opt = sgd(0.1);
    let mut sched = StepLR::new(&mut opt, 3, 0.5).unwrap();
    let good = sched.state_dict();
    let before = sched.state_dict();

    let mut other_kind = good.clone();
    other_kind.scheduler = "ExponentialLR".into();
    let mut missing = good.clone();
    missing.entries.retain(|(k, _)| k != "gamma");
    let mut extra = good.clone();
    extra.entries.push(("verbose".into(), StateValue::Int(1)));
    let mut wrong_type = good.clone();
    wrong_type.entries.iter_mut().find(|(k, _)| k == "step_size").unwrap().1 = StateValue::Float(3.5);
    let mut wrong_len = good.clone();
    wrong_len.entries.iter_mut().find(|(k, _)| k == "base_lrs").unwrap().1 = StateValue::Floats(vec![0.1, 0.1]);
    let mut bad_value = good.clone();
    bad_value.entries.iter_mut().find(|(k, _)| k == "step_size").unwrap().1 = StateValue::Int(0);
    let mut with_child = good.clone();
    with_child.children.push(good.clone());
    for (what, state) in [
        ("kind", other_kind),
        ("missing", missing),
        ("extra", extra),
        ("type", wrong_type),
        ("length", wrong_len),
        ("value", bad_value),
        ("child", with_child),
    ] {
        let err = sched.load_state_dict(&state).unwrap_err();
        assert!(matches!(err, OptimError::SchedulerState { .. }), "{what}: {err}");
        assert_eq!(sched.state_dict(), before, "{what}");
    }

    // A composite checks every member before loading any.
    let mut opt = sgd(0.1);
    let make = |opt: &mut Optimizer<Sgd, f64>| {
        let a = StepLR::new(opt, 2, 0.5).unwrap();
        let b = ExponentialLR::new(opt, 0.9).unwrap();
        ChainedScheduler::new(opt, vec![Box::new(a), Box::new(b)]).unwrap()
    };
    let mut chained = make(&mut opt);
    let mut trained = make(&mut opt);
    trained.step(&mut opt).unwrap();
    let mut state: SchedulerState = trained.state_dict();
    state.children[1].entries.retain(|(k, _)| k != "gamma");
    let before = chained.state_dict();
    assert!(chained.load_state_dict(&state).is_err());
    assert_eq!(chained.state_dict(), before);
}

#[test]
fn a_scheduler_refuses_an_optimizer_with_other_groups() {
    let mut opt = sgd(0.1);
    let mut sched = ExponentialLR::new(&mut opt, 0.5).unwrap();
    opt.add_param_group(Group::new(vec![param()])).unwrap();
    let err = sched.step(&mut opt).unwrap_err();
    assert!(matches!(err, OptimError::SchedulerStep { .. }), "{err}");
    assert_eq!(lr(&opt, 0), 0.1);
}

#[test]
fn invalid_arguments_are_typed_errors() {
    let mut opt = sgd(0.1);
    let cases: Vec<(&str, Result<(), OptimError>)> = vec![
        ("StepLR step_size 0", StepLR::new(&mut opt, 0, 0.1).map(drop)),
        ("ConstantLR factor", ConstantLR::new(&mut opt, -0.5, 3).map(drop)),
        ("LinearLR end", LinearLR::new(&mut opt, 0.5, 1.5, 3).map(drop)),
        ("Cosine T_max", CosineAnnealingLR::new(&mut opt, 0, 0.0).map(drop)),
        ("WarmRestarts T_0", CosineAnnealingWarmRestarts::new(&mut opt, 0, 1, 0.0).map(drop)),
        ("OneCycle steps", OneCycleLR::new(&mut opt, OneCycleConfig::new(0.1, 0)).map(drop)),
        ("OneCycle max_lr groups", OneCycleLR::new(&mut opt, OneCycleConfig::new(vec![0.1, 0.2], 10)).map(drop)),
        (
            "Cyclic step_size_up",
            CyclicLR::new(&mut opt, CyclicConfig { step_size_up: 0, ..CyclicConfig::new(0.1, 1.0) }).map(drop),
        ),
        (
            "Plateau factor",
            ReduceLROnPlateau::new(&opt, PlateauConfig { factor: 2.0, ..PlateauConfig::default() }).map(drop),
        ),
    ];
    for (what, result) in cases {
        assert!(matches!(result, Err(OptimError::InvalidArgument { .. })), "{what}: {result:?}");
    }
    assert_eq!(lr(&opt, 0), 0.1, "a refused scheduler leaves the optimizer alone");
}
