//! Learning-rate schedulers driving a `Bf16Optimizer`: the same values as over an `Optimizer`,
//! and the same refusals (a non-finite value when set, an out-of-range one at the next step).

use ndarray::ArrayD;
use optim::builtins::AdamW;
use optim::half::bf16;
use optim::lr_scheduler::{LrScheduler, LrTarget, OneCycleConfig, OneCycleLR};
use optim::{Bf16Optimizer, HyperValue, OptimError, Optimizer, Param};

fn bf16_param() -> Param<bf16> {
    Param::new(ArrayD::from_elem(vec![8], bf16::ONE))
}

/// OneCycleLR (learning rate and the first beta, cycled) sets bit for bit the values it sets on
/// a float32 optimizer of the same rule, step after step.
#[test]
fn one_cycle_drives_bf16_weights_as_it_drives_float32_ones() {
    let hyper = AdamW::hyper().lr(0.01);
    let mut mixed = Bf16Optimizer::<AdamW>::new(vec![bf16_param()], hyper).unwrap();
    let float = Param::new(ArrayD::from_elem(vec![8], 1.0f32));
    let mut plain = Optimizer::<AdamW, f32>::new(vec![float], hyper).unwrap();
    let config = || OneCycleConfig::new(0.1, 12);
    let mut on_mixed = OneCycleLR::new(&mut mixed, config()).unwrap();
    let mut on_plain = OneCycleLR::new(&mut plain, config()).unwrap();
    let mut seen = Vec::new();
    for _ in 0..11 {
        mixed.step().unwrap();
        plain.step().unwrap();
        on_mixed.step(&mut mixed).unwrap();
        on_plain.step(&mut plain).unwrap();
        for name in ["lr", "betas"] {
            assert_eq!(mixed.group_hyper(0, name), plain.group_hyper(0, name), "{name}");
        }
        seen.push(mixed.hyper().lr);
    }
    assert_eq!(on_mixed.get_last_lr(), on_plain.get_last_lr());
    // the schedule rose and fell: it really drove the optimizer
    let peak = seen.iter().copied().fold(0.0, f64::max);
    assert!(peak > 0.09 && seen[10] < 0.01, "{seen:?}");
}

#[test]
fn values_out_of_range_are_refused_as_for_an_optimizer() {
    let p = bf16_param();
    let mut opt = Bf16Optimizer::<AdamW>::new(vec![p.clone()], AdamW::hyper()).unwrap();
    let nan = opt.set_group_hyper(0, "lr", HyperValue::Float(f64::NAN));
    assert!(matches!(nan, Err(OptimError::InvalidHyper { name: "lr", constraint: "finite", .. })), "{nan:?}");
    let second = opt.set_group_hyper(1, "lr", HyperValue::Float(0.1));
    assert!(matches!(second, Err(OptimError::IndexOutOfRange { index: 1, len: 1, .. })), "{second:?}");
    assert_eq!(opt.hyper().lr, AdamW::hyper().lr);

    // a finite value out of range (OneCycleLR extrapolating past its end) is taken, and the
    // next step refuses it without touching the parameter
    opt.set_group_hyper(0, "lr", HyperValue::Float(-0.5)).unwrap();
    p.set_grad(ArrayD::from_elem(vec![8], bf16::ONE));
    let step = opt.step();
    assert!(matches!(step, Err(OptimError::InvalidHyper { name: "lr", .. })), "{step:?}");
    assert_eq!(p.value(), ArrayD::from_elem(vec![8], bf16::ONE));
    assert_eq!(opt.steps_taken(), 0);
    assert!(opt.has_hyper("betas") && !opt.has_hyper("momentum"));
}
