//! Checkpoints refused: every bad input is a typed error that leaves the optimizer untouched,
//! and damaged files never panic.

mod checkpoints;

use std::cell::{Cell, RefCell};
use std::fmt::Debug;
use std::time::Instant;

use ndarray::ArrayD;
use optim::builtins::*;
use optim::checkpoint::{CheckpointError, StateDict};
use optim::{Element, HyperValue, OptimError, Optimizer, Param, Rule};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use checkpoints::*;

// ---------------------------------------------------------------------------------------------
// Refused: one test per bad input, each checking the optimizer is exactly as it was.

/// A trained Adam (amsgrad) over the two-group model, to load into.
fn target() -> Optimizer<Adam, f32> {
    let m = model::<f32>();
    let mut opt = optimizer::<Adam, f32>(&m, Adam::hyper().lr(0.02).amsgrad(true), Some(GROUP1_LR));
    run(&mut opt, &m, 0..7);
    opt
}

/// A checkpoint of another Adam run over the same structure.
fn source() -> StateDict<f32> {
    let m = model::<f32>();
    let mut opt = optimizer::<Adam, f32>(&m, Adam::hyper().lr(0.001).amsgrad(true), None);
    run(&mut opt, &m, 0..4);
    opt.state_dict()
}

/// Runs `attempt` on `opt`, expects a checkpoint error, and checks nothing changed.
fn refused<R: Rule + Debug, T: Element>(
    opt: &mut Optimizer<R, T>,
    attempt: impl FnOnce(&mut Optimizer<R, T>) -> Result<(), OptimError>,
) -> CheckpointError {
    let (debug, state) = (format!("{opt:?}"), fingerprint(&opt.state_dict()));
    let values: Vec<_> = opt.param_groups().iter().flat_map(|g| g.params()).map(|p| p.value()).collect();
    let err = attempt(opt).expect_err("the bad input was accepted");
    assert_eq!(format!("{opt:?}"), debug, "the optimizer changed");
    assert_eq!(fingerprint(&opt.state_dict()), state, "the state changed");
    let after: Vec<_> = opt.param_groups().iter().flat_map(|g| g.params()).map(|p| p.value()).collect();
    assert_eq!(after, values, "a parameter changed");
    assert!(!err.to_string().is_empty());
    match err {
        OptimError::Checkpoint(err) => err,
        other => panic!("expected a checkpoint error, got {other:?}"),
    }
}

fn refuse_dict(edit: impl FnOnce(&mut StateDict<f32>)) -> CheckpointError {
    let mut sd = source();
    edit(&mut sd);
    refused(&mut target(), |opt| opt.load_state_dict(&sd))
}

fn refuse_bytes(bytes: &[u8]) -> CheckpointError {
    refused(&mut target(), |opt| opt.load_bytes(bytes))
}

fn hyper_error(err: CheckpointError) -> (usize, OptimError) {
    match err {
        CheckpointError::Hyper { group, error } => (group, *error),
        other => panic!("expected a hyperparameter error, got {other:?}"),
    }
}

#[test]
fn wrong_optimizer_kind() {
    let m = model::<f32>();
    let adamw = optimizer::<AdamW, f32>(&m, AdamW::hyper(), None);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("adamw.safetensors");
    adamw.save(&path).unwrap();
    let err = refused(&mut target(), |opt| opt.load(&path));
    assert_eq!(err, CheckpointError::WrongOptimizer { expected: "Adam", found: "AdamW".into() });
    let err = refuse_dict(|sd| sd.optimizer = "SGD".into());
    assert_eq!(err, CheckpointError::WrongOptimizer { expected: "Adam", found: "SGD".into() });
}

#[test]
fn wrong_dtype() {
    let m = model::<f64>();
    let mut f64_opt = optimizer::<Adam, f64>(&m, Adam::hyper(), None);
    run(&mut f64_opt, &m, 0..2);
    let err = refuse_bytes(&f64_opt.to_bytes().unwrap());
    assert_eq!(err, CheckpointError::WrongDtype { expected: "float32", found: "float64".into() });
    let err = refuse_dict(|sd| sd.dtype = "float64".into());
    assert_eq!(err, CheckpointError::WrongDtype { expected: "float32", found: "float64".into() });
}

#[test]
fn wrong_group_count() {
    let err = refuse_dict(|sd| {
        sd.param_groups.pop();
    });
    assert_eq!(err, CheckpointError::GroupCount { expected: 2, found: 1 });
    let one_group = Adam::optimizer(model::<f32>().concat(), Adam::hyper()).unwrap();
    let err = refuse_bytes(&one_group.to_bytes().unwrap());
    assert_eq!(err, CheckpointError::GroupCount { expected: 2, found: 1 });
}

#[test]
fn wrong_param_count_in_a_group() {
    let err = refuse_dict(|sd| sd.param_groups[1].params.push(5));
    assert_eq!(err, CheckpointError::ParamCount { group: 1, expected: 2, found: 3 });
    let err = refuse_dict(|sd| {
        let moved = sd.param_groups[0].params.pop().unwrap();
        sd.param_groups[1].params.push(moved);
    });
    assert_eq!(err, CheckpointError::ParamCount { group: 0, expected: 3, found: 2 });
}

#[test]
fn a_parameter_index_listed_twice() {
    let err = refuse_dict(|sd| sd.param_groups[1].params[0] = 0);
    assert_eq!(err, CheckpointError::DuplicateParam { index: 0 });
}

#[test]
fn state_for_a_parameter_no_group_lists() {
    let err = refuse_dict(|sd| {
        let entry = sd.state[&0].clone();
        sd.state.insert(42, entry);
    });
    assert_eq!(err, CheckpointError::UnknownParam { index: 42 });
}

#[test]
fn a_state_tensor_shaped_unlike_its_parameter() {
    let err = refuse_dict(|sd| {
        sd.state.get_mut(&0).unwrap().tensors.insert("exp_avg".into(), ArrayD::zeros(vec![4, 3]));
    });
    assert_eq!(
        err,
        CheckpointError::StateShape { param: 0, name: "exp_avg".into(), expected: vec![3, 4], found: vec![4, 3] }
    );
    // The same through a file, from a model whose first parameter is transposed.
    let transposed: Model<f32> = vec![
        vec![
            Param::new(ArrayD::zeros(vec![4, 3])),
            Param::new(ArrayD::zeros(vec![5])),
            Param::new(ArrayD::zeros(vec![2, 1, 3])),
        ],
        vec![Param::new(ArrayD::zeros(vec![7])), Param::new(ArrayD::zeros(vec![0, 3]))],
    ];
    let mut other = optimizer::<Adam, f32>(&transposed, Adam::hyper().amsgrad(true), None);
    run(&mut other, &transposed, 0..1);
    let err = refuse_bytes(&other.to_bytes().unwrap());
    assert!(
        matches!(err, CheckpointError::StateShape { param: 0, expected, found, .. } if expected == [3, 4] && found == [4, 3])
    );
}

#[test]
fn a_step_count_out_of_range() {
    let err = refuse_dict(|sd| sd.state.get_mut(&4).unwrap().step = u64::MAX);
    assert_eq!(err, CheckpointError::StepCount { param: Some(4), found: u64::MAX });
    let err = refuse_dict(|sd| sd.steps_taken = (1 << 53) + 1);
    assert_eq!(err, CheckpointError::StepCount { param: None, found: (1 << 53) + 1 });
}

#[test]
fn a_missing_state_tensor() {
    let err = refuse_dict(|sd| {
        sd.state.get_mut(&1).unwrap().tensors.remove("exp_avg_sq");
    });
    assert_eq!(err, CheckpointError::MissingState { param: 1, name: "exp_avg_sq" });
}

#[test]
fn a_missing_scalar_state() {
    let m = model::<f64>();
    let mut nadam = optimizer::<NAdam, f64>(&m, NAdam::hyper(), None);
    run(&mut nadam, &m, 0..2);
    let mut sd = nadam.state_dict();
    sd.state.get_mut(&0).unwrap().scalars.remove("mu_product");
    let err = refused(&mut nadam, |opt| opt.load_state_dict(&sd));
    assert_eq!(err, CheckpointError::MissingState { param: 0, name: "mu_product" });
}

#[test]
fn an_unknown_state_tensor() {
    let err = refuse_dict(|sd| {
        sd.state.get_mut(&0).unwrap().tensors.insert("momentum_buffer".into(), ArrayD::zeros(vec![3, 4]));
    });
    assert_eq!(err, CheckpointError::UnknownState { param: 0, optimizer: "Adam", name: "momentum_buffer".into() });
}

#[test]
fn an_unknown_scalar_state() {
    let err = refuse_dict(|sd| {
        sd.state.get_mut(&2).unwrap().scalars.insert("mu_product".into(), 0.5);
    });
    assert_eq!(err, CheckpointError::UnknownState { param: 2, optimizer: "Adam", name: "mu_product".into() });
}

#[test]
fn a_hyperparameter_of_the_wrong_type() {
    for (name, value, expected) in [
        ("lr", HyperValue::Bool(true), "a float"),
        ("amsgrad", HyperValue::Float(1.0), "a bool"),
        ("betas", HyperValue::Float(0.9), "a float pair"),
    ] {
        let err = refuse_dict(|sd| {
            sd.param_groups[1].hyper.insert(name.into(), value);
        });
        let (group, error) = hyper_error(err);
        assert_eq!(group, 1);
        assert!(
            matches!(error, OptimError::HyperType { name: n, expected: e, .. } if n == name && e == expected),
            "{error:?}"
        );
    }
}

#[test]
fn an_unknown_hyperparameter() {
    let err = refuse_dict(|sd| {
        sd.param_groups[0].hyper.insert("momentum".into(), HyperValue::Float(0.9));
    });
    let (group, error) = hyper_error(err);
    assert_eq!(group, 0);
    assert!(matches!(error, OptimError::UnknownHyper { ref name, .. } if name == "momentum"), "{error:?}");
}

#[test]
fn a_missing_hyperparameter() {
    let err = refuse_dict(|sd| {
        sd.param_groups[1].hyper.remove("eps");
    });
    assert_eq!(err, CheckpointError::MissingHyper { group: 1, name: "eps" });
}

/// A hyperparameter added after checkpoints were written (`#[optional_on_load]`, AdamW's
/// `cautious`) may be missing: the file loads with the spec's default (the step it was saved
/// with), not the optimizer's current setting. Any other missing one is still refused.
#[test]
fn a_hyperparameter_added_later_loads_with_the_spec_default() {
    let m = model::<f32>();
    let mut saved = optimizer::<AdamW, f32>(&m, AdamW::hyper().lr(0.01), None);
    run(&mut saved, &m, 0..3);
    let mut sd = saved.state_dict();
    for group in &mut sd.param_groups {
        assert_eq!(group.hyper.remove("cautious"), Some(HyperValue::Bool(false)));
    }
    let mut target = optimizer::<AdamW, f32>(&m, AdamW::hyper().cautious(true), None);
    target.load_state_dict(&sd).unwrap();
    for group in target.param_groups() {
        assert!(!group.hyper.cautious);
    }

    sd.param_groups[0].hyper.remove("amsgrad");
    let err = refused(&mut target, |opt| opt.load_state_dict(&sd));
    assert_eq!(err, CheckpointError::MissingHyper { group: 0, name: "amsgrad" });
}

#[test]
fn an_out_of_range_hyperparameter() {
    let err = refuse_dict(|sd| {
        sd.param_groups[0].hyper.insert("lr".into(), HyperValue::Float(-1.0));
    });
    let (group, error) = hyper_error(err);
    assert_eq!(group, 0);
    assert!(matches!(error, OptimError::InvalidHyper { name: "lr", .. }), "{error:?}");
    let err = refuse_dict(|sd| {
        sd.param_groups[1].hyper.insert("betas".into(), HyperValue::Pair(0.9, 1.5));
    });
    assert!(matches!(hyper_error(err), (1, OptimError::InvalidHyper { name: "betas", .. })));
}

#[test]
fn an_invalid_hyperparameter_combination() {
    let m = model::<f32>();
    let mut sgd = optimizer::<Sgd, f32>(&m, Sgd::hyper().momentum(0.9).nesterov(true), None);
    run(&mut sgd, &m, 0..2);
    let mut sd = sgd.state_dict();
    sd.param_groups[0].hyper.insert("momentum".into(), HyperValue::Float(0.0));
    let err = refused(&mut sgd, |opt| opt.load_state_dict(&sd));
    assert!(matches!(hyper_error(err), (0, OptimError::InvalidHyperCombination { .. })));
}

#[test]
fn a_truncated_file() {
    let bytes = source().to_bytes().unwrap();
    for len in [0, 1, 7, 8, 9, 40, bytes.len() / 2, bytes.len() - 4, bytes.len() - 1] {
        let err = refuse_bytes(&bytes[..len]);
        assert!(matches!(err, CheckpointError::Corrupt { .. }), "truncated to {len}: {err:?}");
    }
}

#[test]
fn a_file_with_damaged_values() {
    let bytes = source().to_bytes().unwrap();
    let mut damaged = bytes.clone();
    let last = damaged.len() - 3;
    damaged[last] ^= 0x10; // inside the last tensor's data
    assert!(matches!(refuse_bytes(&damaged), CheckpointError::Checksum { .. }));
}

#[test]
fn a_file_with_edited_json_metadata() {
    // Same-length edits keep the safetensors structure valid; the checksum catches them.
    let bytes = source().to_bytes().unwrap();
    for (from, to) in [
        (&b"\\\"step\\\":"[..], &b"\\\"stop\\\":"[..]),
        (b"\\\"lr\\\":0.001", b"\\\"lr\\\":0.002"),
        (b"{\\\"0\\\"", b"[\\\"0\\\""),
    ] {
        let at = bytes.windows(from.len()).position(|w| w == from).expect("the pattern is in the file");
        let mut edited = bytes.clone();
        edited[at..at + to.len()].copy_from_slice(to);
        assert!(matches!(refuse_bytes(&edited), CheckpointError::Checksum { .. }));
    }
}

#[test]
fn a_file_that_is_not_a_checkpoint() {
    assert!(matches!(refuse_bytes(b"not a safetensors file at all"), CheckpointError::Corrupt { .. }));
    let mut json_garbage = 16u64.to_le_bytes().to_vec();
    json_garbage.extend_from_slice(b"{\"a\": [1, 2, 3]}");
    assert!(matches!(refuse_bytes(&json_garbage), CheckpointError::Corrupt { .. }));
    let mut empty_header = 2u64.to_le_bytes().to_vec();
    empty_header.extend_from_slice(b"{}");
    assert_eq!(refuse_bytes(&empty_header), CheckpointError::MissingMetadata { key: "format" });
}

#[test]
fn file_system_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.safetensors");
    let err = refused(&mut target(), |opt| opt.load(&missing));
    assert!(matches!(err, CheckpointError::Io { action: "read", kind: std::io::ErrorKind::NotFound, .. }));
    let err = target().save(dir.path().join("no/such/dir/x.safetensors")).unwrap_err();
    assert!(matches!(err, OptimError::Checkpoint(CheckpointError::Io { action: "write", .. })), "{err:?}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no temporary file is left behind");
}

// ---------------------------------------------------------------------------------------------
// Fuzz: damaged files never panic, and a load either fails leaving everything as it was, or
// succeeds with exactly the saved state (the checksum leaves no third outcome).

#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(prop::sample::Index, u8),
    Truncate(prop::sample::Index),
    Insert(prop::sample::Index, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<prop::sample::Index>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit(at, bit)),
        1 => any::<prop::sample::Index>().prop_map(Mutation::Truncate),
        2 => (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert(at, byte)),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        match mutation {
            Mutation::FlipBit(_, _) | Mutation::Truncate(_) if bytes.is_empty() => {}
            Mutation::FlipBit(at, bit) => {
                let at = at.index(bytes.len());
                bytes[at] ^= 1 << bit;
            }
            Mutation::Truncate(to) => bytes.truncate(to.index(bytes.len())),
            Mutation::Insert(at, byte) => {
                let at = at.index(bytes.len() + 1);
                bytes.insert(at, *byte);
            }
        }
    }
    bytes
}

#[test]
fn fuzz_damaged_files_never_panic_or_half_load() {
    let saved = source();
    let valid = saved.to_bytes().unwrap();
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let opt = RefCell::new(target());
    let pristine = snapshot(&opt.borrow());
    let (loaded, refused) = (Cell::new(0u32), Cell::new(0u32));
    let started = Instant::now();
    runner
        .run(&prop::collection::vec(mutation(), 1..4), |mutations| {
            let bytes = mutate(valid.clone(), &mutations);
            let result = opt.borrow_mut().load_bytes(&bytes);
            match result {
                Ok(()) => {
                    loaded.set(loaded.get() + 1);
                    prop_assert_eq!(fingerprint(&opt.borrow().state_dict()), fingerprint(&saved));
                    opt.replace(target());
                }
                Err(_) => {
                    refused.set(refused.get() + 1);
                    prop_assert_eq!(&snapshot(&opt.borrow()), &pristine);
                }
            }
            Ok(())
        })
        .unwrap();
    println!(
        "fuzz: {} damaged files ({} bytes when valid) in {:.2?}: {} refused, {} loaded intact",
        loaded.get() + refused.get(),
        valid.len(),
        started.elapsed(),
        refused.get(),
        loaded.get(),
    );
}

fn snapshot<R: Rule + Debug, T: Element>(opt: &Optimizer<R, T>) -> (String, Vec<(String, Vec<u64>)>) {
    (format!("{opt:?}"), fingerprint(&opt.state_dict()))
}
