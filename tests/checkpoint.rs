//! Checkpoints: resuming from a file is bit-for-bit the same run for every built-in, and the
//! file holds exactly the state dict (refusals and fuzz: `checkpoint_refusals.rs`).

mod checkpoints;

use ndarray::ArrayD;
use optim::builtins::*;
use optim::checkpoint::StateDict;
use optim::{Element, HyperValue, Optimizer, Param, Rule};

use checkpoints::*;

// ---------------------------------------------------------------------------------------------
// Resume identity: N steps straight == K steps, save, load into a fresh optimizer, N - K steps.

const N: usize = 10;
const K: usize = 4;

fn resume_identity<R: Rule, T: Element>(hyper: R::Hyper) {
    let straight_model = model::<T>();
    let mut straight = optimizer::<R, T>(&straight_model, hyper.clone(), Some(GROUP1_LR));
    run(&mut straight, &straight_model, 0..N);

    let first_model = model::<T>();
    let mut first = optimizer::<R, T>(&first_model, hyper, Some(GROUP1_LR));
    run(&mut first, &first_model, 0..K);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("optimizer.safetensors");
    first.save(&path).unwrap();
    let saved = first.state_dict();
    assert!(saved.state.contains_key(&0) && !saved.state.contains_key(&3), "the fixture covers stateless params");
    let resumed_model = copy_of(&first_model);
    drop((first, first_model));

    let mut resumed = optimizer::<R, T>(&resumed_model, R::Hyper::default(), None);
    resumed.load(&path).unwrap();
    assert_eq!(fingerprint(&resumed.state_dict()), fingerprint(&saved), "loaded state differs from the saved one");
    run(&mut resumed, &resumed_model, K..N);

    assert_eq!(model_bits(&resumed_model), model_bits(&straight_model), "{} {}: parameters differ", R::NAME, T::DTYPE);
    assert_eq!(
        fingerprint(&resumed.state_dict()),
        fingerprint(&straight.state_dict()),
        "{} {}: state differs",
        R::NAME,
        T::DTYPE
    );
}

/// One resume-identity test per rule and configuration, at f32 and f64.
macro_rules! resume_identity {
    ($($test:ident: $rule:ty = $hyper:expr;)*) => {$(
        #[test]
        fn $test() {
            resume_identity::<$rule, f32>($hyper);
            resume_identity::<$rule, f64>($hyper);
        }
    )*};
}

resume_identity! {
    resume_sgd_momentum: Sgd = Sgd::hyper().lr(0.05).momentum(0.9).dampening(0.1).weight_decay(0.01);
    resume_sgd_nesterov: Sgd = Sgd::hyper().lr(0.05).momentum(0.9).nesterov(true);
    resume_adam_amsgrad: Adam = Adam::hyper().lr(0.01).amsgrad(true).weight_decay(0.01);
    resume_adamw: AdamW = AdamW::hyper().lr(0.01);
    resume_rmsprop_centered_momentum: RmsProp = RmsProp::hyper().lr(0.01).centered(true).momentum(0.5);
    resume_adagrad: Adagrad = Adagrad::hyper().lr(0.1).lr_decay(0.01).initial_accumulator_value(0.1);
    resume_adadelta: Adadelta = Adadelta::hyper().lr(0.5);
    resume_adamax: Adamax = Adamax::hyper().lr(0.01);
    resume_nadam: NAdam = NAdam::hyper().lr(0.01).weight_decay(0.01).decoupled_weight_decay(true);
    resume_radam: RAdam = RAdam::hyper().lr(0.01);
    resume_rprop: Rprop = Rprop::hyper().lr(0.01);
    resume_asgd: Asgd = Asgd::hyper().lr(0.05).t0(2.0);
    resume_sparse_adam: SparseAdam = SparseAdam::hyper().lr(0.01);
    resume_adafactor_factored_state: optim::zoo::AdaFactor = optim::zoo::AdaFactor::hyper().ams_bound(true);
    resume_lamb_reductions: optim::zoo::Lamb = optim::zoo::Lamb::hyper().weight_decay(0.01);
}

/// Row and column states are saved with their own shapes, and a file whose row state has the
/// parameter's shape is refused with the shape it should have.
#[test]
fn factored_state_keeps_its_shape_and_a_wrong_one_is_refused() {
    use optim::zoo::AdaFactor;
    let p = Param::new(ArrayD::<f64>::ones(vec![2, 4, 3]));
    let mut opt = Optimizer::<AdaFactor, f64>::new(vec![p.clone()], AdaFactor::hyper()).unwrap();
    p.set_grad(ArrayD::from_elem(vec![2, 4, 3], 0.5));
    opt.step().unwrap();
    let mut sd = opt.state_dict();
    assert_eq!(sd.state[&0].tensors["exp_avg_sq_row"].shape(), &[2, 4]);
    assert_eq!(sd.state[&0].tensors["exp_avg_sq_col"].shape(), &[2, 3]);
    let before = opt.state_dict();
    sd.state.get_mut(&0).unwrap().tensors.insert("exp_avg_sq_row".into(), ArrayD::zeros(vec![2, 4, 3]));
    let error = opt.load_state_dict(&sd).unwrap_err();
    assert!(error.to_string().contains("[2, 4]"), "{error}");
    assert_eq!(fingerprint(&opt.state_dict()), fingerprint(&before), "a refused load changed the optimizer");
}

#[test]
fn the_file_holds_exactly_the_state_dict() {
    let m = model::<f64>();
    let mut opt = optimizer::<NAdam, f64>(&m, NAdam::hyper(), Some(GROUP1_LR));
    run(&mut opt, &m, 0..3);
    let sd = opt.state_dict();
    let back = StateDict::<f64>::from_bytes(&sd.to_bytes().unwrap()).unwrap();
    assert_eq!(fingerprint(&back), fingerprint(&sd));
    assert_eq!(sd.param_groups[1].params, vec![3, 4]);
    assert!(sd.state[&0].scalars.contains_key("mu_product"));
}

#[test]
fn non_finite_values_survive_the_file() {
    let p = Param::new(ndarray::arr1(&[1.0f32, f32::NAN]).into_dyn());
    let mut opt = Sgd::optimizer(vec![p.clone()], Sgd::hyper().momentum(0.5).dampening(f64::NEG_INFINITY)).unwrap();
    p.set_grad(ndarray::arr1(&[f32::INFINITY, -0.0]).into_dyn());
    opt.step().unwrap();
    let sd = opt.state_dict();
    let back = StateDict::<f32>::from_bytes(&sd.to_bytes().unwrap()).unwrap();
    assert_eq!(fingerprint(&back), fingerprint(&sd));
    assert_eq!(back.param_groups[0].hyper["dampening"], HyperValue::Float(f64::NEG_INFINITY));
}

#[test]
fn loading_replaces_all_state_including_its_absence() {
    let m = model::<f32>();
    let mut trained = optimizer::<Adam, f32>(&m, Adam::hyper(), None);
    run(&mut trained, &m, 0..8);
    assert!(trained.state(1, 0).is_some());
    let fresh = optimizer::<Adam, f32>(&model(), Adam::hyper().lr(0.5), None);
    trained.load_state_dict(&fresh.state_dict()).unwrap();
    assert!(trained.state(1, 0).is_none() && trained.state(0, 0).is_none());
    assert_eq!((trained.steps_taken(), trained.param_groups()[0].hyper.lr), (0, 0.5));
}

// ---------------------------------------------------------------------------------------------
// Tolerated: conditional states whose condition changed since the last step, as PyTorch does.

#[test]
fn a_conditional_state_kept_after_its_flag_went_off_loads() {
    let m = model::<f64>();
    let mut opt = optimizer::<Adam, f64>(&m, Adam::hyper().amsgrad(true), None);
    run(&mut opt, &m, 0..3);
    for group in opt.param_groups_mut() {
        group.hyper.amsgrad = false;
    }
    let sd = opt.state_dict();
    assert!(sd.state[&0].tensors.contains_key("max_exp_avg_sq"));
    let mut other = optimizer::<Adam, f64>(&copy_of(&m), Adam::hyper(), None);
    other.load_state_dict(&sd).unwrap();
    assert_eq!(fingerprint(&other.state_dict()), fingerprint(&sd));
}

#[test]
fn a_conditional_state_not_yet_created_after_its_flag_went_on_loads_and_resumes() {
    let m = model::<f64>();
    let mut opt = optimizer::<RmsProp, f64>(&m, RmsProp::hyper(), None);
    run(&mut opt, &m, 0..3);
    for group in opt.param_groups_mut() {
        group.hyper.centered = true;
    }
    let sd = opt.state_dict();
    assert!(!sd.state[&0].tensors.contains_key("grad_avg"));
    let m2 = copy_of(&m);
    let mut other = optimizer::<RmsProp, f64>(&m2, RmsProp::hyper(), None);
    other.load_state_dict(&sd).unwrap();
    run(&mut opt, &m, 3..6);
    run(&mut other, &m2, 3..6);
    assert_eq!(model_bits(&m2), model_bits(&m));
    assert_eq!(fingerprint(&other.state_dict()), fingerprint(&opt.state_dict()));
}
