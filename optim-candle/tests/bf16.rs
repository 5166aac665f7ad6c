//! bfloat16 Vars (`CandleBf16Optimizer`) against optim's own `Bf16Optimizer` on `Param<bf16>`:
//! the same rule, rounding, state format and gradients must give bit-identical Vars and state,
//! whether a gradient is lent or copied; refusals change nothing; checkpoints resume exactly.

use candle_core::backprop::GradStore;
use candle_core::{DType, Device, Tensor, Var};
use ndarray::{ArrayD, IxDyn};
use optim_candle::{BridgeError, CandleBf16Optimizer, VarGroup};
use optim_core::builtins::{Adam, AdamW, Sgd};
use optim_core::half::bf16;
use optim_core::{Bf16Optimizer, Bf16Rounding, Group, OptimError, Param, Rule, StateFormat, StateFormats};

/// Shapes: one of whole 8-bit blocks (packed under `Int8`), two small ones.
const SHAPES: [&[usize]; 3] = [&[16, 512], &[7], &[3, 4]];

fn values(len: usize, seed: usize) -> Vec<bf16> {
    (0..len).map(|i| bf16::from_f32(((i * 7919 + seed * 104_729) % 1000) as f32 / 500.0 - 1.0)).collect()
}

fn tensor(shape: &[usize], seed: usize) -> Tensor {
    Tensor::from_vec(values(shape.iter().product(), seed), shape, &Device::Cpu).unwrap()
}

fn to_array(tensor: &Tensor) -> ArrayD<bf16> {
    ArrayD::from_shape_vec(IxDyn(tensor.dims()), tensor.flatten_all().unwrap().to_vec1().unwrap()).unwrap()
}

/// Gradients of step `step`: the first Var's is a view into a larger tensor (it cannot be lent,
/// so the bridge copies it), the others own their storage; the last Var has none at step 1.
fn gradients(vars: &[Var], params: &[Param<bf16>], step: usize) -> GradStore {
    let mut grads = GradStore::default();
    for (i, (var, param)) in vars.iter().zip(params).enumerate() {
        if step == 1 && i == 2 {
            continue;
        }
        let dims = var.dims();
        let grad = if i == 0 {
            let mut wider = dims.to_vec();
            wider[0] += 1;
            tensor(&wider, 20 + step).narrow(0, 1, dims[0]).unwrap()
        } else {
            tensor(dims, 10 + step * 4 + i)
        };
        param.set_grad(to_array(&grad));
        grads.insert(var.as_tensor(), grad);
    }
    grads
}

fn check<R: Rule>(hyper: R::Hyper, formats: StateFormats, rounding: Bf16Rounding) {
    let vars: Vec<Var> = SHAPES.iter().enumerate().map(|(i, s)| Var::from_tensor(&tensor(s, i)).unwrap()).collect();
    let params: Vec<Param<bf16>> = vars.iter().map(|v| Param::new(to_array(v.as_tensor()))).collect();
    let mut bridge = CandleBf16Optimizer::<R>::new(vars.clone(), hyper.clone()).unwrap().with_rounding(rounding);
    let mut reference = Bf16Optimizer::<R>::new(params.clone(), hyper).unwrap().with_rounding(rounding);
    bridge.set_state_formats(formats.clone()).unwrap();
    reference.set_state_formats(formats).unwrap();
    for step in 0..4 {
        let grads = gradients(&vars, &params, step);
        bridge.step(&grads).unwrap();
        reference.step().unwrap();
        reference.zero_grad();
        for (var, param) in vars.iter().zip(&params) {
            let ours: Vec<u16> = to_array(var.as_tensor()).iter().map(|x| x.to_bits()).collect();
            let theirs: Vec<u16> = param.value().iter().map(|x| x.to_bits()).collect();
            assert_eq!(ours, theirs, "{} step {step}", R::NAME);
        }
    }
    assert_eq!(bridge.state_dict(), reference.state_dict());
    assert_eq!(bridge.optimizer().steps_taken(), 4);
}

#[test]
fn bf16_vars_step_bit_for_bit_as_the_bf16_optimizer() {
    check::<AdamW>(AdamW::hyper().lr(1e-2), StateFormats::default(), Bf16Rounding::NearestEven);
    check::<Adam>(Adam::hyper().lr(1e-2), StateFormats::all(StateFormat::Int8), Bf16Rounding::Stochastic { seed: 9 });
    check::<Sgd>(Sgd::hyper().lr(0.1).momentum(0.9), StateFormats::default(), Bf16Rounding::Stochastic { seed: 2 });
}

#[test]
fn refused_vars_and_gradients_change_nothing() {
    let cpu = &Device::Cpu;
    let float = Var::zeros(3, DType::F32, cpu).unwrap();
    let err = CandleBf16Optimizer::<Adam>::new(vec![float], Adam::hyper()).unwrap_err();
    assert!(matches!(err, BridgeError::DType { index: 0, expected: DType::BF16, found: DType::F32, .. }), "{err:?}");
    let w = Var::ones(3, DType::BF16, cpu).unwrap();
    let twice = CandleBf16Optimizer::<Adam>::new(vec![w.clone(), w.clone()], Adam::hyper()).unwrap_err();
    assert!(matches!(twice, BridgeError::Optim(OptimError::DuplicateParam { index: 1, .. })), "{twice:?}");
    let err = optim_candle::CandleOptimizer::<Adam>::new(vec![w.clone()], Adam::hyper()).unwrap_err();
    assert!(err.to_string().contains("CandleBf16Optimizer"), "{err}");

    let other = Var::ones(2, DType::BF16, cpu).unwrap();
    let mut opt = CandleBf16Optimizer::<Adam>::new(vec![other.clone(), w.clone()], Adam::hyper()).unwrap();
    let before = format!("{:?}", opt.state_dict());
    let bad: [(&str, Tensor); 2] =
        [("a float32 gradient", Tensor::ones(3, DType::F32, cpu).unwrap()), ("a gradient of 4", tensor(&[4], 1))];
    for (what, grad) in bad {
        let mut grads = GradStore::default();
        grads.insert(other.as_tensor(), tensor(&[2], 3)); // a good one first: it must not move
        grads.insert(w.as_tensor(), grad);
        assert!(opt.step(&grads).is_err(), "{what}");
        assert_eq!(format!("{:?}", opt.state_dict()), before, "{what}");
        assert_eq!(to_array(other.as_tensor()), ArrayD::from_elem(IxDyn(&[2]), bf16::ONE), "{what}");
    }
}

#[test]
fn a_checkpoint_resumes_bit_identically() {
    let make =
        || -> Vec<Var> { SHAPES.iter().enumerate().map(|(i, s)| Var::from_tensor(&tensor(s, i)).unwrap()).collect() };
    let (vars, copies) = (make(), make());
    let formats = StateFormats::all(StateFormat::Int4);
    let build = |vars: Vec<Var>| {
        let mut opt = CandleBf16Optimizer::<AdamW>::new(vars, AdamW::hyper()).unwrap();
        opt.set_state_formats(formats.clone()).unwrap();
        opt.with_rounding(Bf16Rounding::Stochastic { seed: 4 })
    };
    let mut opt = build(vars.clone());
    let scratch: Vec<Param<bf16>> = vars.iter().map(|v| Param::new(to_array(v.as_tensor()))).collect();
    for step in 0..2 {
        opt.step(&gradients(&vars, &scratch, step)).unwrap();
        copies.iter().zip(&vars).for_each(|(c, v)| c.set(v.as_tensor()).unwrap());
    }
    let path = std::env::temp_dir().join(format!("optim-candle-bf16-resume-{}.safetensors", std::process::id()));
    opt.save(&path).unwrap();
    let mut resumed = build(copies.clone());
    resumed.load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    for step in 2..4 {
        opt.step(&gradients(&vars, &scratch, step)).unwrap();
        resumed.step(&gradients(&copies, &scratch, step)).unwrap();
    }
    for (a, b) in vars.iter().zip(&copies) {
        assert_eq!(to_array(a.as_tensor()), to_array(b.as_tensor()));
    }
    assert_eq!(resumed.state_dict(), opt.state_dict());
}

#[test]
fn var_groups_step_as_the_bf16_optimizers_groups() {
    let vars: Vec<Var> = SHAPES.iter().enumerate().map(|(i, s)| Var::from_tensor(&tensor(s, i)).unwrap()).collect();
    let params: Vec<Param<bf16>> = vars.iter().map(|v| Param::new(to_array(v.as_tensor()))).collect();
    let hyper = AdamW::hyper().lr(1e-2).weight_decay(0.1);
    let var_groups =
        vec![VarGroup::new(vars[..1].to_vec()), VarGroup::new(vars[1..].to_vec()).with("weight_decay", 0.0)];
    let groups = vec![Group::new(params[..1].to_vec()), Group::new(params[1..].to_vec()).with("weight_decay", 0.0)];
    let mut bridge = CandleBf16Optimizer::<AdamW>::with_groups(var_groups, hyper).unwrap();
    let mut reference = Bf16Optimizer::<AdamW>::with_groups(groups, hyper).unwrap();
    for step in 0..3 {
        bridge.step(&gradients(&vars, &params, step)).unwrap();
        reference.step().unwrap();
        reference.zero_grad();
    }
    for (var, param) in vars.iter().zip(&params) {
        assert_eq!(to_array(var.as_tensor()), param.value());
    }
    assert_eq!(bridge.state_dict(), reference.state_dict());
    let mut grads = GradStore::default();
    grads.insert(vars[2].as_tensor(), tensor(&[5], 1));
    let err = bridge.step(&grads).unwrap_err();
    assert!(matches!(err, BridgeError::Optim(OptimError::GradShape { group: 1, index: 1, .. })), "{err:?}");
}
