//! Compact state formats through checkpoints, conversions, refused steps and sparse gradients:
//! codes restored bit for bit, nothing changed by a failed operation, and values of a sign the
//! unsigned map cannot hold never clamped.

mod noise;

use ndarray::ArrayD;
use optim::builtins::{Adam, SparseAdam};
use optim::{Optimizer, Param, RowSparse, StateFormat, StateFormats};

use noise::Noise;

fn random(noise: &mut Noise, shape: &[usize]) -> ArrayD<f32> {
    ArrayD::from_shape_vec(shape, noise.vec::<f32>(shape.iter().product())).unwrap()
}

/// An Adam optimizer over a large and a small tensor with `format` state, after `steps` steps.
fn adam(format: StateFormat, steps: usize) -> (Vec<Param<f32>>, Optimizer<Adam, f32>, Noise) {
    let mut noise = Noise(11);
    let shapes: [&[usize]; 2] = [&[64, 128], &[7]];
    let params: Vec<Param<f32>> = shapes.iter().map(|s| Param::new(random(&mut noise, s))).collect();
    let mut opt = Optimizer::<Adam, f32>::new(params.clone(), Adam::hyper().lr(0.01)).unwrap();
    opt.set_state_format(format).unwrap();
    for _ in 0..steps {
        step(&params, &mut opt, &mut noise);
    }
    (params, opt, noise)
}

fn step(params: &[Param<f32>], opt: &mut Optimizer<Adam, f32>, noise: &mut Noise) {
    for p in params {
        p.set_grad(random(noise, p.value().shape()));
    }
    opt.step().unwrap();
}

fn bits(params: &[Param<f32>]) -> Vec<u32> {
    params.iter().flat_map(|p| p.value().iter().map(|v| v.to_bits()).collect::<Vec<_>>()).collect()
}

#[test]
fn checkpoints_restore_codes_bit_for_bit_and_training_continues_identically() {
    for format in StateFormat::COMPACT {
        let (params, mut opt, mut noise) = adam(format, 2);
        let bytes = opt.to_bytes().unwrap();
        let sd = opt.state_dict();
        assert_eq!(optim::StateDict::<f32>::from_bytes(&bytes).unwrap(), sd, "{format:?}");
        assert!(
            sd.state[&0].packed.contains_key("exp_avg")
                && sd.state[&1].packed.is_empty() == (format != StateFormat::BFloat16)
        );

        let copies: Vec<Param<f32>> = params.iter().map(|p| Param::new(p.value())).collect();
        let mut restored = Optimizer::<Adam, f32>::new(copies.clone(), Adam::hyper()).unwrap();
        restored.set_state_format(format).unwrap();
        restored.load_bytes(&bytes).unwrap();
        let (ours, theirs) = (opt.state(0, 0).unwrap(), restored.state(0, 0).unwrap());
        assert_eq!(ours.codes("exp_avg"), theirs.codes("exp_avg"), "{format:?}");
        assert_eq!(ours.codes("exp_avg_sq"), theirs.codes("exp_avg_sq"), "{format:?}");
        let mut twin = Noise(noise.0);
        for _ in 0..2 {
            step(&params, &mut opt, &mut noise);
            step(&copies, &mut restored, &mut twin);
        }
        assert_eq!(bits(&params), bits(&copies), "{format:?}");
    }
}

#[test]
fn a_checkpoint_loads_into_an_optimizer_of_another_format_by_converting() {
    let (params, opt, _) = adam(StateFormat::Int8, 2);
    let decoded = opt.state(0, 0).unwrap().tensor("exp_avg").unwrap().to_owned();
    let mut native = Optimizer::<Adam, f32>::new(params, Adam::hyper()).unwrap();
    native.load_state_dict(&opt.state_dict()).unwrap();
    let state = native.state(0, 0).unwrap();
    assert_eq!(state.format("exp_avg"), Some(StateFormat::Native));
    assert_eq!(state.tensor("exp_avg").unwrap(), decoded);
    // and back: coded again, each value moves by less than a code (not always by nothing: a
    // block whose largest magnitude is negative decodes below its old scale, as the signed map
    // has no -1)
    let mut again = native.clone();
    again.set_state_format(StateFormat::Int8).unwrap();
    let recoded = again.state(0, 0).unwrap().tensor("exp_avg").unwrap().to_owned();
    let largest = decoded.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let moved = recoded.iter().zip(&decoded).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(moved <= largest / 64.0, "{moved} of {largest}");
}

#[test]
fn damaged_packed_state_is_refused_and_nothing_changes() {
    let (_, mut opt, _) = adam(StateFormat::Int4, 1);
    let good = opt.state_dict();
    let mut bad = good.clone();
    bad.state.get_mut(&0).unwrap().packed.get_mut("exp_avg").unwrap().codes.pop();
    assert!(opt.load_state_dict(&bad).is_err());
    let bytes = bad.to_bytes().unwrap();
    let err = optim::StateDict::<f32>::from_bytes(&bytes).unwrap_err();
    assert!(err.to_string().contains("code bytes"), "{err}");
    let mut twice = good.clone();
    let entry = twice.state.get_mut(&0).unwrap();
    let values = opt.state(0, 0).unwrap().tensor("exp_avg").unwrap().to_owned();
    entry.tensors.insert("exp_avg".into(), values);
    assert!(opt.load_state_dict(&twice).unwrap_err().to_string().contains("both"));
    let mut negative = good.clone();
    negative.state.get_mut(&0).unwrap().packed.get_mut("exp_avg").unwrap().scales[0] = -1.0;
    assert!(opt.load_state_dict(&negative).is_err());
    assert_eq!(opt.state_dict(), good);
}

#[test]
fn a_refused_step_leaves_packed_state_as_it_was() {
    let (params, mut opt, _) = adam(StateFormat::Int8, 1);
    let before = opt.state_dict();
    let values = bits(&params);
    params[0].set_grad(ArrayD::ones(vec![64, 128]));
    params[1].set_grad(ArrayD::ones(vec![8]));
    assert!(opt.step().is_err());
    assert_eq!(opt.state_dict(), before);
    assert_eq!(bits(&params), values);
}

#[test]
fn values_the_unsigned_map_cannot_hold_get_the_signed_map() {
    let (params, opt, _) = adam(StateFormat::Native, 1);
    let mut sd = opt.state_dict();
    let sq = sd.state.get_mut(&0).unwrap().tensors.get_mut("exp_avg_sq").unwrap();
    sq.mapv_inplace(|v| -v);
    let sq = sq.clone();
    let mut int8 = Optimizer::<Adam, f32>::new(params, Adam::hyper()).unwrap();
    int8.set_state_format(StateFormat::Int8).unwrap();
    int8.load_state_dict(&sd).unwrap();
    let state = int8.state(0, 0).unwrap();
    assert!(state.codes("exp_avg_sq").unwrap().signed);
    let back = state.tensor("exp_avg_sq").unwrap();
    let worst = back.iter().zip(sq.iter()).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    let largest = sq.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(worst <= largest / 64.0, "{worst} of {largest}");
    // a fresh state the rule proves never negative takes the unsigned map
    let (_, fresh, _) = adam(StateFormat::Int8, 1);
    assert!(!fresh.state(0, 0).unwrap().codes("exp_avg_sq").unwrap().signed);
}

#[test]
fn formats_by_state_name_and_memory() {
    let (_, opt, _) = adam(StateFormat::Native, 0);
    drop(opt);
    let mut noise = Noise(5);
    let p = Param::new(random(&mut noise, &[8192]));
    let formats = StateFormats::all(StateFormat::Int8).with("exp_avg_sq", StateFormat::BFloat16);
    let mut opt = Optimizer::<Adam, f32>::new(vec![p.clone()], Adam::hyper()).unwrap();
    opt.set_state_formats(formats).unwrap();
    p.set_grad(random(&mut noise, &[8192]));
    opt.step().unwrap();
    let state = opt.state(0, 0).unwrap();
    assert_eq!(
        (state.format("exp_avg"), state.format("exp_avg_sq")),
        (Some(StateFormat::Int8), Some(StateFormat::BFloat16))
    );
    assert_eq!(state.state_bytes(), (8192 + 32 * 4) + 2 * 8192);
}

#[test]
fn sparse_steps_leave_blocks_without_a_touched_row_alone() {
    let mut noise = Noise(9);
    let table = Param::new(random(&mut noise, &[64, 128]));
    let mut opt = Optimizer::<SparseAdam, f32>::new(vec![table.clone()], SparseAdam::hyper()).unwrap();
    opt.set_state_format(StateFormat::Int8).unwrap();
    table.set_sparse_grad(RowSparse::new((0..64).collect(), random(&mut noise, &[64, 128])).unwrap()).unwrap();
    opt.step().unwrap();
    let codes_before = opt.state(0, 0).unwrap().codes("exp_avg").unwrap().codes.to_vec();
    let values_before = table.value();
    // row 5 is elements 640..768: blocks 2 (512..768) only
    table.set_sparse_grad(RowSparse::new(vec![5], random(&mut noise, &[1, 128])).unwrap()).unwrap();
    opt.step().unwrap();
    let codes = opt.state(0, 0).unwrap().codes("exp_avg").unwrap().codes.to_vec();
    let changed: Vec<usize> =
        (0..32).filter(|b| codes[b * 256..(b + 1) * 256] != codes_before[b * 256..(b + 1) * 256]).collect();
    assert_eq!(changed, vec![2]);
    let after = table.value();
    for row in (0..64).filter(|&r| r != 5) {
        assert_eq!(after.index_axis(ndarray::Axis(0), row), values_before.index_axis(ndarray::Axis(0), row));
    }
}
