//! Fixtures shared by the checkpoint suites: a two-group model with deterministic pseudo-random
//! values and gradients, and bit-exact fingerprints of state dicts and parameters.

#![allow(dead_code)]

use ndarray::ArrayD;
use optim::checkpoint::StateDict;
use optim::{Element, Group, HyperValue, Optimizer, Param, Rule};

/// Parameter shapes per group; the last is empty, to cover parameters with no elements.
pub const SHAPES: [&[&[usize]]; 2] = [&[&[3, 4], &[5], &[2, 1, 3]], &[&[7], &[0, 3]]];
/// The learning rate group 1 overrides.
pub const GROUP1_LR: f64 = 0.003;

/// A value in [-1, 1) from a hash of `seed` (SplitMix64).
pub fn noise(seed: u64) -> f64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

pub fn array<T: Element>(shape: &[usize], seed: u64) -> ArrayD<T> {
    let len = shape.iter().product::<usize>();
    let values = (0..len as u64).map(|i| T::from_f64(noise(seed.wrapping_mul(1_000_003).wrapping_add(i)))).collect();
    ArrayD::from_shape_vec(shape.to_vec(), values).unwrap()
}

pub type Model<T> = Vec<Vec<Param<T>>>;

pub fn model<T: Element>() -> Model<T> {
    let mut index = 0;
    SHAPES
        .iter()
        .map(|group| {
            group
                .iter()
                .map(|shape| {
                    index += 1;
                    Param::new(array(shape, index))
                })
                .collect()
        })
        .collect()
}

/// Fresh parameters holding `model`'s current values (what a new process restores first).
pub fn copy_of<T: Element>(model: &Model<T>) -> Model<T> {
    model.iter().map(|group| group.iter().map(|p| Param::new(p.value())).collect()).collect()
}

/// Gradients for step `step`: parameter 2 skips odd steps, parameter 3 starts at step 6 (so it
/// has no state in a checkpoint taken at step 4), the others get one every step.
pub fn set_grads<T: Element>(model: &Model<T>, step: usize) {
    for (index, param) in model.iter().flatten().enumerate() {
        param.lock().grad = None;
        let skip = (index == 2 && step % 2 == 1) || (index == 3 && step < 6);
        if !skip {
            let shape = param.lock().value.shape().to_vec();
            param.set_grad(array(&shape, 7919 * (step as u64 + 1) + index as u64));
        }
    }
}

/// An optimizer over `model`'s two groups; `group1_lr` overrides the second group's rate.
pub fn optimizer<R: Rule, T: Element>(model: &Model<T>, hyper: R::Hyper, group1_lr: Option<f64>) -> Optimizer<R, T> {
    let second = Group::new(model[1].clone());
    let second = match group1_lr {
        Some(lr) => second.with("lr", lr),
        None => second,
    };
    Optimizer::with_groups(vec![Group::new(model[0].clone()), second], hyper).unwrap()
}

pub fn run<R: Rule, T: Element>(opt: &mut Optimizer<R, T>, model: &Model<T>, steps: std::ops::Range<usize>) {
    for step in steps {
        set_grads(model, step);
        opt.step().unwrap();
    }
}

pub fn float_bits(v: f64) -> u64 {
    v.to_bits()
}

/// Everything in a state dict, with every float as its bits (so -0.0 differs from 0.0, and a
/// NaN equals itself).
pub fn fingerprint<T: Element>(sd: &StateDict<T>) -> Vec<(String, Vec<u64>)> {
    let mut out = vec![(format!("{} {}", sd.optimizer, sd.dtype), vec![sd.steps_taken])];
    for (g, group) in sd.param_groups.iter().enumerate() {
        out.push((format!("group {g} params"), group.params.iter().map(|&i| i as u64).collect()));
        for (name, value) in &group.hyper {
            let bits = match *value {
                HyperValue::Float(v) => vec![0, float_bits(v)],
                HyperValue::Int(v) => vec![1, v as u64],
                HyperValue::Bool(v) => vec![2, v as u64],
                HyperValue::Pair(a, b) => vec![3, float_bits(a), float_bits(b)],
                HyperValue::Unset => vec![4],
                HyperValue::Choice(name) => std::iter::once(5).chain(name.as_str().bytes().map(u64::from)).collect(),
                other => panic!("a hyperparameter kind this fingerprint does not know: {other:?}"),
            };
            out.push((format!("group {g} {name}"), bits));
        }
    }
    for (index, entry) in &sd.state {
        out.push((format!("state {index} step"), vec![entry.step]));
        for (name, tensor) in &entry.tensors {
            let bits = tensor.iter().map(|x| float_bits(x.to_f64())).collect();
            out.push((format!("state {index} {name} {:?}", tensor.shape()), bits));
        }
        for (name, &value) in &entry.scalars {
            out.push((format!("state {index} scalar {name}"), vec![float_bits(value)]));
        }
    }
    out
}

pub fn model_bits<T: Element>(model: &Model<T>) -> Vec<Vec<u64>> {
    model.iter().flatten().map(|p| p.value().iter().map(|x| float_bits(x.to_f64())).collect()).collect()
}
