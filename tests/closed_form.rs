//! Checks against closed-form math and scalar references, independent of PyTorch, plus the
//! optimizer model's guarantees (skipped params, failed steps change nothing, any layout).

use ndarray::{ArrayD, arr1};
use optim::prelude::*;

fn param(values: &[f64]) -> Param<f64> {
    Param::new(arr1(values).into_dyn())
}

#[test]
fn adam_first_step_moves_each_element_by_lr_against_the_gradient_sign() {
    let p = param(&[1.0, -2.0, 0.5, 3.0]);
    let mut opt = Adam::optimizer(vec![p.clone()], Adam::hyper().lr(0.01)).unwrap();
    p.set_grad(arr1(&[0.3, -7.0, 1e-3, 42.0]).into_dyn());
    opt.step().unwrap();
    let moved = &p.value() - &arr1(&[1.0, -2.0, 0.5, 3.0]).into_dyn();
    // m̂ = g and v̂ = g², so the step is lr · g / (|g| + eps) ≈ lr · sign(g)
    for (delta, g) in moved.iter().zip([0.3f64, -7.0, 1e-3, 42.0]) {
        let exact = -0.01 * g / (g.abs() + 1e-8);
        assert!((delta - exact).abs() < 1e-15, "{delta} vs {exact}");
        assert!((delta + 0.01 * g.signum()).abs() < 1e-7);
    }
}

#[test]
fn sgd_on_a_quadratic_bowl_contracts_at_the_textbook_rate() {
    // f(x) = ½ Σ aᵢ xᵢ², ∇f = a ⊙ x, so x_n = (1 - lr·aᵢ)ⁿ x₀ exactly.
    let a = [1.0, 4.0, 0.25];
    let x0 = [2.0, -1.0, 3.0];
    let lr = 0.1;
    let p = param(&x0);
    let mut opt = Sgd::optimizer(vec![p.clone()], Sgd::hyper().lr(lr)).unwrap();
    for _ in 0..50 {
        let x = p.value();
        p.set_grad(ArrayD::from_shape_fn(x.raw_dim(), |i| a[i[0]] * x[i.clone()]));
        opt.step().unwrap();
    }
    for i in 0..3 {
        let expected = (1.0 - lr * a[i]).powi(50) * x0[i];
        assert!((p.value()[i] - expected).abs() <= 1e-12 * expected.abs(), "{i}");
    }
}

#[test]
fn heavy_ball_momentum_matches_its_scalar_recursion() {
    let (lr, mu, dampening) = (0.05, 0.9, 0.1);
    let p = param(&[1.0]);
    let mut opt = Sgd::optimizer(vec![p.clone()], Sgd::hyper().lr(lr).momentum(mu).dampening(dampening)).unwrap();
    let (mut x, mut buf) = (1.0f64, 0.0f64);
    for t in 0..30 {
        let g = 3.0 * x; // f = 1.5 x²
        buf = if t == 0 { g } else { mu * buf + (1.0 - dampening) * g };
        x -= lr * buf;
        p.set_grad(arr1(&[3.0 * p.value()[0]]).into_dyn());
        opt.step().unwrap();
        assert!((p.value()[0] - x).abs() <= 1e-14 * x.abs().max(1e-300), "step {t}");
    }
}

#[test]
fn adagrad_with_a_constant_gradient_follows_the_harmonic_root_sum() {
    let (lr, g) = (0.1, 0.5);
    let p = param(&[0.0]);
    let mut opt = Adagrad::optimizer(vec![p.clone()], Adagrad::hyper().lr(lr)).unwrap();
    let mut expected = 0.0;
    for t in 1..=20 {
        p.set_grad(arr1(&[g]).into_dyn());
        opt.step().unwrap();
        expected -= lr * g / ((t as f64 * g * g).sqrt() + 1e-10);
        assert!((p.value()[0] - expected).abs() < 1e-14, "step {t}");
    }
}

#[test]
fn params_without_gradient_are_skipped_and_get_no_state() {
    let (a, b) = (param(&[1.0]), param(&[1.0]));
    let mut opt = Adam::optimizer(vec![a.clone(), b.clone()], Adam::hyper()).unwrap();
    a.set_grad(arr1(&[1.0]).into_dyn());
    opt.step().unwrap();
    assert_eq!(b.value()[0], 1.0);
    assert!(opt.state(0, 1).is_none());
    assert_eq!(opt.state(0, 0).unwrap().step(), 1);
}

#[test]
fn a_failed_step_changes_nothing() {
    let (a, b) = (param(&[1.0, 2.0]), param(&[3.0]));
    let mut opt = Adam::optimizer(vec![a.clone(), b.clone()], Adam::hyper()).unwrap();
    a.set_grad(arr1(&[0.1, 0.2]).into_dyn());
    b.set_grad(arr1(&[0.3]).into_dyn());
    opt.step().unwrap();
    let snapshot = (a.value(), b.value(), opt.state(0, 0).cloned(), opt.state(0, 1).cloned());

    // the second parameter's gradient has the wrong shape: the first must not move either
    b.set_grad(arr1(&[0.3, 0.4]).into_dyn());
    assert!(matches!(opt.step(), Err(OptimError::GradShape { group: 0, index: 1, .. })));
    assert_eq!(snapshot, (a.value(), b.value(), opt.state(0, 0).cloned(), opt.state(0, 1).cloned()));

    // a hyperparameter set out of range between steps is caught before anything moves
    b.set_grad(arr1(&[0.3]).into_dyn());
    opt.param_groups_mut()[0].hyper.betas = (0.9, 1.5);
    let err = opt.step().unwrap_err();
    assert!(err.to_string().contains("betas"), "{err}");
    assert_eq!(snapshot, (a.value(), b.value(), opt.state(0, 0).cloned(), opt.state(0, 1).cloned()));
    assert_eq!(opt.steps_taken(), 1);
}

#[test]
fn invalid_hyperparameters_are_typed_errors() {
    let p = || vec![param(&[1.0])];
    let err = Sgd::optimizer(p(), Sgd::hyper().nesterov(true)).unwrap_err();
    assert!(matches!(err, OptimError::InvalidHyperCombination { optimizer: "SGD", .. }), "{err}");
    let err = Adam::optimizer(p(), Adam::hyper().eps(-1.0)).unwrap_err();
    assert!(matches!(err, OptimError::InvalidHyper { name: "eps", .. }), "{err}");
    let err = Rprop::optimizer(p(), Rprop::hyper().etas((1.5, 1.2))).unwrap_err();
    assert!(matches!(err, OptimError::InvalidHyperCombination { .. }), "{err}");
    let mut h = Adam::hyper();
    assert!(matches!(h.set("lr", HyperValue::Bool(true)), Err(OptimError::HyperType { name: "lr", .. })));
    assert!(matches!(h.set("learning_rate", 0.1.into()), Err(OptimError::UnknownHyper { .. })));
    assert_eq!(h, Adam::hyper(), "failed sets change nothing");
}

#[test]
fn a_transposed_parameter_is_updated_like_a_contiguous_one() {
    let base = ArrayD::from_shape_fn(vec![3, 4], |i| (i[0] * 4 + i[1]) as f32 * 0.1 - 0.5);
    let grad = ArrayD::from_shape_fn(vec![4, 3], |i| (i[0] as f32 - i[1] as f32) * 0.3);
    let transposed = Param::new(base.clone().reversed_axes());
    let contiguous = Param::new(base.reversed_axes().as_standard_layout().into_owned());
    assert!(transposed.lock().value.as_slice().is_none(), "the test needs a non-row-major layout");
    let hyper = RmsProp::hyper().lr(0.01).momentum(0.9).centered(true);
    let mut opts = [
        RmsProp::optimizer(vec![transposed.clone()], hyper).unwrap(),
        RmsProp::optimizer(vec![contiguous.clone()], hyper).unwrap(),
    ];
    for _ in 0..5 {
        for (opt, p) in opts.iter_mut().zip([&transposed, &contiguous]) {
            p.set_grad(grad.clone());
            opt.step().unwrap();
        }
    }
    assert_eq!(transposed.value(), contiguous.value());
}

#[test]
fn zero_grad_clears_and_a_later_step_skips_everything() {
    let p = param(&[1.0]);
    let mut opt = Sgd::optimizer(vec![p.clone()], Sgd::hyper().lr(0.1)).unwrap();
    p.set_grad(arr1(&[1.0]).into_dyn());
    opt.zero_grad();
    opt.step().unwrap();
    assert_eq!(p.value()[0], 1.0);
}
