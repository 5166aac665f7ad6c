//! The bridge against optim's own `Optimizer` on `Param`s: the same rule, groups and gradients
//! must give bit-identical parameters and state, whatever path a gradient takes into the step.

use candle_core::backprop::GradStore;
use candle_core::{DType, Device, Tensor, Var};
use ndarray::{ArrayD, IxDyn};
use optim_candle::{BridgeError, CandleOptimizer, VarGroup};
use optim_core::builtins::{Adagrad, Adam, AdamW, NAdam, RAdam, RmsProp, Sgd};
use optim_core::zoo::{AdaFactor, AdamWScheduleFree, Lamb, Lion, Prodigy};
use optim_core::{GradClip, Group, OptimError, Optimizer, Param, Rule};

const SHAPES: [&[usize]; 4] = [&[16, 8], &[8], &[4, 3, 5], &[7]];

fn values(shape: &[usize], seed: usize) -> Vec<f32> {
    let len = shape.iter().product::<usize>();
    (0..len).map(|i| ((i * 7919 + seed * 104_729) % 1000) as f32 / 500.0 - 1.0).collect()
}

fn var(shape: &[usize], seed: usize) -> Var {
    Var::from_tensor(&Tensor::from_vec(values(shape, seed), shape, &Device::Cpu).unwrap()).unwrap()
}

fn to_array(tensor: &Tensor) -> ArrayD<f32> {
    ArrayD::from_shape_vec(IxDyn(tensor.dims()), tensor.flatten_all().unwrap().to_vec1().unwrap()).unwrap()
}

/// The bridge and the `Param` optimizer, two groups (the second with its own lr), `steps`
/// steps of the same gradients; parameters and state dicts must be equal bit for bit.
fn check<R: Rule>(hyper: R::Hyper, lr: f64, steps: usize) {
    check_with::<R>(hyper, lr, steps, None);
}

/// [`check`] with fused clipping on both sides; for a rule with an evaluation point, both also
/// go to it and back, and must agree there too.
fn check_with<R: Rule>(hyper: R::Hyper, lr: f64, steps: usize, clip: Option<GradClip>) {
    let vars: Vec<Var> = SHAPES.iter().enumerate().map(|(i, s)| var(s, i)).collect();
    let params: Vec<Param<f32>> = vars.iter().map(|v| Param::new(to_array(v.as_tensor()))).collect();
    let mut bridge = CandleOptimizer::<R>::with_groups(
        vec![VarGroup::new(vars[..2].to_vec()), VarGroup::new(vars[2..].to_vec()).with("lr", lr)],
        hyper.clone(),
    )
    .unwrap();
    let mut reference = Optimizer::<R, f32>::with_groups(
        vec![Group::new(params[..2].to_vec()), Group::new(params[2..].to_vec()).with("lr", lr)],
        hyper,
    )
    .unwrap();
    bridge.set_grad_clip(clip).unwrap();
    reference.set_grad_clip(clip).unwrap();
    for step in 0..steps {
        let mut grads = GradStore::default();
        for (i, (var, param)) in vars.iter().zip(&params).enumerate() {
            if step == 1 && i == 3 {
                continue; // a parameter without a gradient is skipped
            }
            let grad = Tensor::from_vec(values(var.dims(), 10 + step * 4 + i), var.dims(), &Device::Cpu).unwrap();
            param.set_grad(to_array(&grad));
            grads.insert(var.as_tensor(), grad);
        }
        bridge.step(&grads).unwrap();
        reference.step().unwrap();
        reference.zero_grad();
        assert_eq!(bridge.last_grad_norm(), reference.last_grad_norm());
    }
    if R::POINTS {
        bridge.eval().unwrap();
        reference.eval();
        for (var, param) in vars.iter().zip(&params) {
            assert_eq!(to_array(var.as_tensor()), param.value(), "{} at the evaluation point", R::NAME);
        }
        bridge.train().unwrap();
        reference.train();
    }
    for (var, param) in vars.iter().zip(&params) {
        assert_eq!(to_array(var.as_tensor()), param.value(), "{}", R::NAME);
    }
    assert_eq!(bridge.state_dict(), reference.state_dict(), "{}", R::NAME);
    assert_eq!(bridge.steps_taken(), steps as u64);
}

#[test]
fn every_kind_of_rule_matches_the_param_optimizer_bit_for_bit() {
    check::<Sgd>(Sgd::hyper().lr(0.05).momentum(0.9).nesterov(true), 0.01, 4);
    check::<Adam>(Adam::hyper().lr(0.01).amsgrad(true), 0.003, 4);
    check::<AdamW>(AdamW::hyper().lr(0.01), 0.003, 4);
    check::<RmsProp>(RmsProp::hyper().lr(0.01).centered(true).momentum(0.5), 0.003, 4);
    check::<Adagrad>(Adagrad::hyper().lr(0.1), 0.02, 4);
    check::<NAdam>(NAdam::hyper().lr(0.01), 0.003, 4);
    check::<RAdam>(RAdam::hyper().lr(0.01), 0.003, 7);
    check::<Lion>(Lion::hyper().lr(0.001), 0.0003, 4);
    check::<Lamb>(Lamb::hyper().lr(0.01), 0.003, 4); // per-tensor reductions: two passes
    check::<AdaFactor>(AdaFactor::hyper(), 0.003, 4); // row and column state
    // one step size over both groups (which must then share lr)
    check::<Prodigy>(Prodigy::hyper().weight_decay(0.01), 1.0, 4);
    check::<AdamWScheduleFree>(AdamWScheduleFree::hyper().lr(0.01).warmup_steps(2), 0.003, 4);
    check_with::<AdamW>(AdamW::hyper().lr(0.01), 0.003, 4, Some(GradClip::norm(0.5)));
}

#[test]
fn a_failed_step_changes_nothing() {
    let w = var(&[3, 2], 1);
    let before = to_array(w.as_tensor());
    let mut opt = CandleOptimizer::<Adam>::new(vec![w.clone()], Adam::hyper().lr(0.1)).unwrap();
    let good = Tensor::ones((3, 2), DType::F32, &Device::Cpu).unwrap();
    type Expected = fn(&BridgeError) -> bool;
    let cases: [(Tensor, Expected); 2] = [
        (Tensor::ones((2, 3), DType::F32, &Device::Cpu).unwrap(), |e| {
            matches!(e, BridgeError::Optim(OptimError::GradShape { group: 0, index: 0, .. }))
        }),
        (Tensor::ones((3, 2), DType::F64, &Device::Cpu).unwrap(), |e| matches!(e, BridgeError::DType { .. })),
    ];
    for (grad, expected) in cases {
        let mut grads = GradStore::default();
        grads.insert(w.as_tensor(), grad);
        let err = opt.step(&grads).unwrap_err();
        assert!(expected(&err), "{err}");
    }
    opt.param_groups_mut()[0].hyper.lr = -1.0;
    let mut grads = GradStore::default();
    grads.insert(w.as_tensor(), good.clone());
    assert!(matches!(opt.step(&grads), Err(BridgeError::Optim(OptimError::InvalidHyper { .. }))));
    assert_eq!(to_array(w.as_tensor()), before);
    assert!(opt.state(0, 0).is_none());
    assert_eq!(opt.steps_taken(), 0);
    // the gradient's buffer came back too
    assert_eq!(good.to_vec2::<f32>().unwrap(), vec![vec![1.0; 2]; 3]);
    opt.param_groups_mut()[0].hyper.lr = 0.1;
    opt.step(&grads).unwrap();
    assert_eq!(opt.steps_taken(), 1);
}

#[test]
fn gradients_that_cannot_be_lent_are_copied() {
    // One gradient tensor for two Vars, and gradients that are views into one buffer (what
    // candle's backward makes for `cat`): both are copied, and the step is the same.
    let (a, b) = (var(&[2, 3], 1), var(&[2, 3], 2));
    let shared = Tensor::from_vec(values(&[2, 3], 5), (2, 3), &Device::Cpu).unwrap();
    let mut grads = GradStore::default();
    grads.insert(a.as_tensor(), shared.clone());
    grads.insert(b.as_tensor(), shared.clone());
    let expected = |w: &Var| {
        let p = Param::new(to_array(w.as_tensor()));
        p.set_grad(to_array(&shared));
        let mut opt = Optimizer::<Adam, f32>::new(vec![p.clone()], Adam::hyper().lr(0.1)).unwrap();
        opt.step().unwrap();
        p.value()
    };
    let (want_a, want_b) = (expected(&a), expected(&b));
    let mut opt = CandleOptimizer::<Adam>::new(vec![a.clone(), b.clone()], Adam::hyper().lr(0.1)).unwrap();
    opt.step(&grads).unwrap();
    assert_eq!((to_array(a.as_tensor()), to_array(b.as_tensor())), (want_a, want_b));
    assert_eq!(to_array(&shared), ArrayD::from_shape_vec(IxDyn(&[2, 3]), values(&[2, 3], 5)).unwrap());

    // Views: two halves of one buffer (the second at an offset), and a transposed tensor.
    let (c, d, e) = (var(&[3], 3), var(&[3], 4), var(&[2, 3], 6));
    let both = Tensor::from_vec(values(&[6], 7), 6, &Device::Cpu).unwrap();
    let transposed = Tensor::from_vec(values(&[3, 2], 8), (3, 2), &Device::Cpu).unwrap().t().unwrap();
    let mut grads = GradStore::default();
    grads.insert(c.as_tensor(), both.narrow(0, 0, 3).unwrap());
    grads.insert(d.as_tensor(), both.narrow(0, 3, 3).unwrap());
    grads.insert(e.as_tensor(), transposed);
    let trio = [&c, &d, &e];
    let want: Vec<ArrayD<f32>> = trio
        .iter()
        .map(|v| to_array(v.as_tensor()) - to_array(grads.get(v.as_tensor()).unwrap()).mapv(|g| 0.5 * g))
        .collect();
    let mut sgd = CandleOptimizer::<Sgd>::new(trio.map(Var::clone).to_vec(), Sgd::hyper().lr(0.5)).unwrap();
    sgd.step(&grads).unwrap();
    for (v, want) in trio.iter().zip(&want) {
        assert_eq!(&to_array(v.as_tensor()), want); // w - 0.5 g is exact in f32 for these values
    }
    assert_eq!(both.to_vec1::<f32>().unwrap(), values(&[6], 7));
}

#[test]
fn a_model_with_thousands_of_tensors_steps_on_a_sized_stack() {
    // 32 parameters: the most the callbacks nest for on the caller's stack in a debug build
    // (here a 2 MB test thread); 1500: on the big-stack pool.
    for count in [32, 1500] {
        many_tensors(count);
    }
}

fn many_tensors(count: usize) {
    let vars: Vec<Var> = (0..count).map(|i| var(&[3], i)).collect();
    let params: Vec<Param<f32>> = vars.iter().map(|v| Param::new(to_array(v.as_tensor()))).collect();
    let mut bridge = CandleOptimizer::<AdamW>::new(vars.clone(), AdamW::hyper().lr(0.01)).unwrap();
    let mut reference = Optimizer::<AdamW, f32>::new(params.clone(), AdamW::hyper().lr(0.01)).unwrap();
    let loss = vars.iter().map(|v| v.as_tensor().sqr().unwrap().sum_all().unwrap()).reduce(|a, b| (a + b).unwrap());
    let grads = loss.unwrap().backward().unwrap();
    for (var, param) in vars.iter().zip(&params) {
        param.set_grad(to_array(grads.get(var.as_tensor()).unwrap()));
    }
    bridge.step(&grads).unwrap();
    reference.step().unwrap();
    for (var, param) in vars.iter().zip(&params) {
        assert_eq!(to_array(var.as_tensor()), param.value());
    }
}

#[test]
fn a_checkpoint_resumes_bit_identically() {
    let run = |steps: std::ops::Range<usize>, w: &Var, opt: &mut CandleOptimizer<NAdam>| {
        for step in steps {
            let target = Tensor::from_vec(values(&[4, 4], step), (4, 4), &Device::Cpu).unwrap();
            let loss = (w.as_tensor() - target).unwrap().sqr().unwrap().sum_all().unwrap();
            opt.backward_step(&loss).unwrap();
        }
    };
    let straight = var(&[4, 4], 9);
    let mut opt = CandleOptimizer::<NAdam>::new(vec![straight.clone()], NAdam::hyper().lr(0.05)).unwrap();
    run(0..6, &straight, &mut opt);

    let resumed = var(&[4, 4], 9);
    let mut first = CandleOptimizer::<NAdam>::new(vec![resumed.clone()], NAdam::hyper().lr(0.05)).unwrap();
    run(0..3, &resumed, &mut first);
    let dir = tempfile::tempdir().unwrap();
    first.save(dir.path().join("opt.safetensors")).unwrap();
    drop(first);
    let mut second = CandleOptimizer::<NAdam>::new(vec![resumed.clone()], NAdam::hyper()).unwrap();
    second.load(dir.path().join("opt.safetensors")).unwrap();
    run(3..6, &resumed, &mut second);
    assert_eq!(to_array(resumed.as_tensor()), to_array(straight.as_tensor()));
    assert_eq!(second.state_dict(), opt.state_dict());
}
