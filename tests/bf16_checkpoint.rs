//! Checkpoints of `Bf16Optimizer`: a resumed optimizer steps bit for bit as the one that saved,
//! for float32 and packed states and both roundings; a bad checkpoint changes nothing; and the
//! file moves between bfloat16 weights and float32 master weights.

mod noise;

use ndarray::ArrayD;
use optim::builtins::{Adam, AdamW, Sgd};
use optim::half::bf16;
use optim::{
    Bf16Optimizer, Bf16Rounding, CheckpointError, OptimError, Optimizer, Param, Rule, StateDict, StateFormat,
    StateFormats,
};

use noise::Noise;

/// Two tensors: one of whole 8-bit blocks (packed under `Int8`), one small (kept in `f32`).
const SHAPES: [&[usize]; 2] = [&[16, 512], &[3, 5]];

fn bf16_array(shape: &[usize], noise: &mut Noise, scale: f64) -> ArrayD<bf16> {
    let values = noise.vec::<f64>(shape.iter().product()).iter().map(|x| bf16::from_f64(x * scale)).collect();
    ArrayD::from_shape_vec(shape.to_vec(), values).unwrap()
}

fn params(seed: u64) -> Vec<Param<bf16>> {
    let mut noise = Noise(seed);
    SHAPES.iter().map(|s| Param::new(bf16_array(s, &mut noise, 1.0))).collect()
}

/// `steps` steps with gradients drawn from `noise`.
fn train<R: Rule>(opt: &mut Bf16Optimizer<R>, params: &[Param<bf16>], noise: &mut Noise, steps: usize) {
    for _ in 0..steps {
        for p in params {
            p.set_grad(bf16_array(p.value().shape(), noise, 0.5));
        }
        opt.step().unwrap();
    }
}

fn bits(params: &[Param<bf16>]) -> Vec<u16> {
    params.iter().flat_map(|p| p.value().iter().map(|x| x.to_bits()).collect::<Vec<_>>()).collect()
}

/// Trains 3 steps, saves to a file, resumes in a fresh optimizer over copies of the
/// parameters, and checks that 3 more steps of each give the same bits.
fn resumes_bit_for_bit<R: Rule>(hyper: R::Hyper, formats: StateFormats, rounding: Bf16Rounding) {
    let build = |params: Vec<Param<bf16>>| {
        let mut opt = Bf16Optimizer::<R>::new(params, hyper.clone()).unwrap().with_rounding(rounding);
        opt.set_state_formats(formats.clone()).unwrap();
        opt
    };
    let original = params(7);
    let mut opt = build(original.clone());
    let mut noise = Noise(11);
    train(&mut opt, &original, &mut noise, 3);
    let path = std::env::temp_dir().join(format!("optim-bf16-resume-{}-{}.safetensors", R::NAME, std::process::id()));
    opt.save(&path).unwrap();

    let copies: Vec<Param<bf16>> = original.iter().map(|p| Param::new(p.value())).collect();
    let mut resumed = build(copies.clone());
    resumed.load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(resumed.state_dict(), opt.state_dict(), "{}", R::NAME);
    assert_eq!(resumed.steps_taken(), 3);

    let mut second = Noise(noise.0);
    train(&mut opt, &original, &mut noise, 3);
    train(&mut resumed, &copies, &mut second, 3);
    assert_eq!(bits(&copies), bits(&original), "{} {formats:?} {rounding:?}", R::NAME);
    assert_eq!(resumed.state_dict(), opt.state_dict());
}

#[test]
fn a_resumed_optimizer_steps_bit_for_bit_as_the_one_that_saved() {
    resumes_bit_for_bit::<AdamW>(AdamW::hyper().lr(1e-2), StateFormats::default(), Bf16Rounding::NearestEven);
    let int8 = StateFormats::all(StateFormat::Int8);
    resumes_bit_for_bit::<Adam>(Adam::hyper().lr(1e-2), int8, Bf16Rounding::Stochastic { seed: 5 });
    let mixed = StateFormats::all(StateFormat::Int4).with("exp_avg_sq", StateFormat::BFloat16);
    resumes_bit_for_bit::<AdamW>(AdamW::hyper().amsgrad(true), mixed, Bf16Rounding::NearestEven);
    resumes_bit_for_bit::<Sgd>(Sgd::hyper().lr(0.1).momentum(0.9), StateFormats::default(), Bf16Rounding::NearestEven);
}

/// An Adam optimizer after 2 steps, and its checkpoint.
fn trained() -> (Vec<Param<bf16>>, Bf16Optimizer<Adam>, StateDict<f32>) {
    let p = params(3);
    let mut opt = Bf16Optimizer::<Adam>::new(p.clone(), Adam::hyper().lr(0.05)).unwrap();
    train(&mut opt, &p, &mut Noise(4), 2);
    let sd = opt.state_dict();
    (p, opt, sd)
}

#[test]
fn a_refused_checkpoint_changes_nothing() {
    let (p, _, sd) = trained();
    let mut target = Bf16Optimizer::<Adam>::new(p.clone(), Adam::hyper()).unwrap();
    let mut noise = Noise(9);
    train(&mut target, &p, &mut noise, 1);
    let before = format!("{target:?}");

    let mut cases: Vec<(&str, StateDict<f32>)> = Vec::new();
    let mut wrong_name = sd.clone();
    wrong_name.optimizer = "AdamW".into();
    cases.push(("another optimizer", wrong_name));
    let mut wrong_dtype = sd.clone();
    wrong_dtype.dtype = "float64".into();
    cases.push(("another dtype", wrong_dtype));
    let mut two_groups = sd.clone();
    two_groups.param_groups.push(two_groups.param_groups[0].clone());
    cases.push(("two groups", two_groups));
    let mut one_param = sd.clone();
    one_param.param_groups[0].params.pop();
    cases.push(("a parameter short", one_param));
    let mut twice = sd.clone();
    twice.param_groups[0].params = vec![0, 0];
    cases.push(("an index twice", twice));
    let mut missing = sd.clone();
    missing.state.get_mut(&1).unwrap().tensors.remove("exp_avg_sq");
    cases.push(("a missing state", missing));
    let mut reshaped = sd.clone();
    let state = reshaped.state.get_mut(&1).unwrap();
    state.tensors.insert("exp_avg".into(), ArrayD::zeros(vec![5, 3]));
    cases.push(("a state of another shape", reshaped));
    let mut bad_lr = sd.clone();
    bad_lr.param_groups[0].hyper.insert("lr".into(), optim::HyperValue::Float(-1.0));
    cases.push(("a negative learning rate", bad_lr));
    let mut stranger = sd.clone();
    let entry = stranger.state[&0].clone();
    stranger.state.insert(9, entry);
    cases.push(("state for an unknown index", stranger));

    for (what, bad) in &cases {
        let error = target.load_state_dict(bad).expect_err(what);
        assert!(matches!(error, OptimError::Checkpoint(_)), "{what}: {error:?}");
        assert_eq!(format!("{target:?}"), before, "{what} changed the optimizer");
    }
    let error = target.load_state_dict(&cases[3].1);
    let counted = CheckpointError::ParamCount { group: 0, expected: 2, found: 1 };
    assert!(matches!(error, Err(OptimError::Checkpoint(e)) if format!("{e:?}") == format!("{counted:?}")));
}

#[test]
fn a_checkpoint_moves_between_bf16_weights_and_float32_master_weights() {
    let (p, opt, sd) = trained();
    let masters: Vec<Param<f32>> = p.iter().map(|p| Param::new(p.value().mapv(f32::from))).collect();
    let mut master_opt = Optimizer::<Adam, f32>::new(masters, Adam::hyper()).unwrap();
    master_opt.load_state_dict(&sd).unwrap();
    assert_eq!(master_opt.state_dict(), sd);

    let mut back = Bf16Optimizer::<Adam>::new(p, Adam::hyper()).unwrap();
    back.load_state_dict(&master_opt.state_dict()).unwrap();
    assert_eq!(back.state_dict(), opt.state_dict());
}
