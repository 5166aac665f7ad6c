//! Param groups of `Bf16Optimizer`: each group steps as an optimizer of its own would, with its
//! own hyperparameters and state formats; checkpoints, schedulers and errors see the groups.

mod noise;

use ndarray::ArrayD;
use optim::builtins::AdamW;
use optim::half::bf16;
use optim::lr_scheduler::LrTarget;
use optim::{Bf16Optimizer, Group, HyperValue, OptimError, Optimizer, Param, StateFormat, StateFormats};

use noise::Noise;

fn param(shape: &[usize], noise: &mut Noise) -> Param<bf16> {
    let values = noise.vec::<f64>(shape.iter().product()).into_iter().map(bf16::from_f64).collect();
    Param::new(ArrayD::from_shape_vec(shape.to_vec(), values).unwrap())
}

fn copy(p: &Param<bf16>) -> Param<bf16> {
    Param::new(p.value())
}

fn grads(params: &[&Param<bf16>], noise: &mut Noise) {
    for p in params {
        let values = noise.vec::<f64>(p.value().len()).into_iter().map(|x| bf16::from_f64(x * 0.5)).collect();
        p.set_grad(ArrayD::from_shape_vec(p.value().shape().to_vec(), values).unwrap());
    }
}

fn bits(p: &Param<bf16>) -> Vec<u16> {
    p.value().iter().map(|x| x.to_bits()).collect()
}

/// A weight matrix (whole 8-bit blocks) with decay, and a bias without, in its own format.
fn two_groups(weight: &Param<bf16>, bias: &Param<bf16>) -> Vec<Group<bf16>> {
    let int8 = StateFormats::all(StateFormat::Int8);
    vec![
        Group::new(vec![weight.clone()]).with_state_formats(int8),
        Group::new(vec![bias.clone()]).with("weight_decay", 0.0).with("lr", 0.05),
    ]
}

#[test]
fn each_group_steps_as_an_optimizer_of_its_own() {
    let mut noise = Noise(3);
    let (weight, bias) = (param(&[16, 256], &mut noise), param(&[7], &mut noise));
    let (weight_alone, bias_alone) = (copy(&weight), copy(&bias));
    let hyper = AdamW::hyper().lr(0.01).weight_decay(0.1);
    let mut grouped = Bf16Optimizer::<AdamW>::with_groups(two_groups(&weight, &bias), hyper).unwrap();
    let mut first = Bf16Optimizer::<AdamW>::new(vec![weight_alone.clone()], hyper).unwrap();
    first.set_state_formats(StateFormats::all(StateFormat::Int8)).unwrap();
    let mut second = Bf16Optimizer::<AdamW>::new(vec![bias_alone.clone()], hyper.weight_decay(0.0).lr(0.05)).unwrap();
    // the grouped optimizer's formats apply to groups without their own: the weight stays int8
    grouped.set_state_formats(StateFormats::all(StateFormat::BFloat16)).unwrap();
    second.set_state_formats(StateFormats::all(StateFormat::BFloat16)).unwrap();
    for _ in 0..3 {
        let mut seeded = Noise(noise.0);
        grads(&[&weight, &bias], &mut noise);
        grads(&[&weight_alone, &bias_alone], &mut seeded);
        grouped.step().unwrap();
        first.step().unwrap();
        second.step().unwrap();
    }
    assert_eq!(bits(&weight), bits(&weight_alone));
    assert_eq!(bits(&bias), bits(&bias_alone));
    assert_eq!(grouped.state(0).unwrap(), first.state(0).unwrap());
    assert_eq!(grouped.state(1).unwrap(), second.state(0).unwrap());
    assert_eq!(grouped.state(0).unwrap().format("exp_avg"), Some(StateFormat::Int8));
}

#[test]
fn checkpoints_schedulers_and_errors_see_the_groups() {
    let mut noise = Noise(8);
    let (weight, bias) = (param(&[16, 256], &mut noise), param(&[7], &mut noise));
    let hyper = AdamW::hyper().weight_decay(0.1);
    let mut opt = Bf16Optimizer::<AdamW>::with_groups(two_groups(&weight, &bias), hyper).unwrap();
    grads(&[&weight, &bias], &mut noise);
    opt.step().unwrap();

    let sd = opt.state_dict();
    assert_eq!(sd.param_groups.iter().map(|g| g.params.clone()).collect::<Vec<_>>(), [vec![0], vec![1]]);
    assert_eq!(sd.param_groups[1].hyper["weight_decay"], HyperValue::Float(0.0));
    let mut resumed = Bf16Optimizer::<AdamW>::with_groups(two_groups(&copy(&weight), &copy(&bias)), hyper).unwrap();
    resumed.load_state_dict(&sd).unwrap();
    assert_eq!(resumed.state_dict(), sd);
    // the same file loads into float32 master weights in the same groups
    let masters = [&weight, &bias].map(|p| Param::new(p.value().mapv(f32::from)));
    let int8 = StateFormats::all(StateFormat::Int8);
    let master_groups =
        vec![Group::new(vec![masters[0].clone()]).with_state_formats(int8), Group::new(vec![masters[1].clone()])];
    let mut master = Optimizer::<AdamW, f32>::with_groups(master_groups, hyper).unwrap();
    master.load_state_dict(&sd).unwrap();
    assert_eq!(master.state_dict(), sd);
    // one group is not two
    let mut single = Bf16Optimizer::<AdamW>::new(vec![copy(&weight), copy(&bias)], hyper).unwrap();
    assert!(single.load_state_dict(&sd).is_err());

    assert_eq!(opt.group_count(), 2);
    opt.set_group_hyper(1, "lr", HyperValue::Float(0.5)).unwrap();
    assert_eq!((opt.hyper_of(0).unwrap().lr, opt.hyper_of(1).unwrap().lr), (1e-3, 0.5));
    assert!(matches!(opt.set_group_hyper(2, "lr", HyperValue::Float(0.5)), Err(OptimError::IndexOutOfRange { .. })));

    bias.set_grad(ArrayD::from_elem(vec![8], bf16::ONE));
    let err = opt.step().unwrap_err();
    assert!(matches!(err, OptimError::GradShape { group: 1, index: 0, .. }), "{err:?}");
}
