//! `eval()` / `train()` of Schedule-Free: the evaluation point against scalar evaluation,
//! idempotence, the step refused in eval mode, parameters viewed in another memory order, and
//! the mode kept by checkpoints.

use ndarray::{ArrayD, IxDyn};
use optim::zoo::{AdamWScheduleFree, SGDScheduleFree};
use optim::{OptimError, Param};

#[test]
fn eval_moves_to_the_averaged_point_and_train_moves_back() {
    let w = Param::new(ArrayD::from_shape_vec(IxDyn(&[2]), vec![1.0f64, -2.0]).unwrap());
    let unstepped = Param::new(ArrayD::from_elem(IxDyn(&[1]), 5.0f64));
    let mut opt =
        SGDScheduleFree::optimizer(vec![w.clone(), unstepped.clone()], SGDScheduleFree::hyper().lr(0.1)).unwrap();
    for g in [[1.0, 0.5], [0.2, -0.3]] {
        w.set_grad(ArrayD::from_shape_vec(IxDyn(&[2]), g.to_vec()).unwrap());
        opt.step().unwrap();
    }
    let (y, z) = (w.value(), opt.state(0, 0).unwrap().tensor("z").unwrap().to_owned());
    opt.eval();
    // x = y + (1 - 1/momentum) (z - y): torch.lerp with a weight under 0.5 in magnitude
    let weight = 1.0 - 1.0 / 0.9;
    for i in 0..2 {
        assert_eq!(w.value()[i], y[i] + weight * (z[i] - y[i]));
    }
    let x = w.value();
    opt.eval();
    assert_eq!(w.value(), x, "eval is idempotent");
    assert_eq!(unstepped.value()[0], 5.0, "a parameter without state stays");
    assert!(matches!(opt.step(), Err(OptimError::EvalMode { group: 0, .. })));
    let sd = opt.state_dict();
    assert!(sd.param_groups[0].eval_mode);
    opt.train();
    opt.train();
    for i in 0..2 {
        assert!((w.value()[i] - y[i]).abs() < 1e-15);
    }
    // the saved mode comes back with the checkpoint
    opt.load_state_dict(&sd).unwrap();
    assert!(opt.param_groups()[0].in_eval_mode());
}

#[test]
fn a_parameter_in_another_memory_order_switches_element_by_element() {
    let run = |transposed: bool| {
        let base = ArrayD::from_shape_fn(IxDyn(&[2, 3]), |i| (i[0] * 3 + i[1]) as f32);
        // the same logical values stored column-major
        let value =
            if transposed { base.reversed_axes().as_standard_layout().to_owned().reversed_axes() } else { base };
        let w = Param::new(value);
        let mut opt = AdamWScheduleFree::optimizer(vec![w.clone()], AdamWScheduleFree::hyper().lr(0.1)).unwrap();
        w.set_grad(ArrayD::from_shape_fn(IxDyn(&[2, 3]), |i| i[1] as f32 - 1.0));
        opt.step().unwrap();
        opt.eval();
        w.value().as_standard_layout().to_owned()
    };
    assert_eq!(run(true), run(false));
}
