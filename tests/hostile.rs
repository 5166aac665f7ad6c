//! Reproductions of the holes a hostile client found (issue 16): each test drives the public
//! API the way the attack did and asserts a typed refusal that leaves everything unchanged (or,
//! where refusing is not the right answer, a correct result).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ndarray::ArrayD;
use optim::builtins::{Adam, Sgd};
use optim::checkpoint::CheckpointError;
use optim::clip::clip_grad_norm_;
use optim::lr_scheduler::{CosineAnnealingLR, LrScheduler, StateValue, StepLR};
use optim::zoo::AdaFactor;
use optim::{Group, OptimError, Optimizer, Param};

/// Item 1: a factored rule's row and column state depends on the shape alone (`ndim >= 2`), so
/// a checkpoint without it cannot come from a flag switched on between steps: it is damaged.
#[test]
fn factored_state_missing_from_a_checkpoint_is_refused() {
    let w = Param::new(ArrayD::<f32>::ones(vec![4, 3]));
    let mut opt = AdaFactor::optimizer(vec![w.clone()], AdaFactor::hyper()).unwrap();
    w.set_grad(ArrayD::from_elem(vec![4, 3], 0.5));
    opt.step().unwrap();
    let saved = opt.state_dict();
    for name in ["exp_avg_sq_row", "exp_avg_sq_col"] {
        let mut damaged = saved.clone();
        damaged.state.get_mut(&0).unwrap().tensors.remove(name);
        let fresh = Param::new(w.value());
        let mut target = AdaFactor::optimizer(vec![fresh], AdaFactor::hyper()).unwrap();
        let before = target.state_dict();
        let err = target.load_state_dict(&damaged).unwrap_err();
        assert_eq!(err, OptimError::Checkpoint(CheckpointError::MissingState { param: 0, name }));
        assert_eq!(target.state_dict(), before);
    }
    // and the vector-only state of a matrix cannot be there either
    let mut extra = saved.clone();
    extra.state.get_mut(&0).unwrap().tensors.insert("exp_avg_sq".into(), ArrayD::ones(vec![4, 3]));
    let mut target = AdaFactor::optimizer(vec![Param::new(w.value())], AdaFactor::hyper()).unwrap();
    let err = target.load_state_dict(&extra).unwrap_err();
    let expected = CheckpointError::StateForShape { param: 0, name: "exp_avg_sq", shape: vec![4, 3] };
    assert_eq!(err, OptimError::Checkpoint(expected));
    target.load_state_dict(&saved).unwrap();
}

/// Item 2: a parameter whose shape changed after its state was created is refused at the next
/// step, and nothing changes.
#[test]
fn a_parameter_reshaped_after_its_state_exists_is_refused() {
    let p = Param::new(ArrayD::<f32>::ones(vec![4]));
    let mut opt = Optimizer::<Adam, f32>::new(vec![p.clone()], Adam::hyper().lr(0.1)).unwrap();
    p.set_grad(ArrayD::from_elem(vec![4], 0.5));
    opt.step().unwrap();
    let state = opt.state_dict();
    {
        let mut data = p.lock();
        data.value = ArrayD::ones(vec![6]);
        data.grad = Some(ArrayD::from_elem(vec![6], 0.5));
    }
    let err = opt.step().unwrap_err();
    assert_eq!(err, OptimError::ParamShape { group: 0, index: 0, state: vec![4], param: vec![6] });
    assert_eq!(p.value(), ArrayD::<f32>::ones(vec![6]));
    assert_eq!(opt.state_dict(), state);
    assert_eq!(opt.steps_taken(), 1);
    // its own checkpoint still loads
    let mut again = Optimizer::<Adam, f32>::new(vec![Param::new(ArrayD::ones(vec![4]))], Adam::hyper()).unwrap();
    again.load_state_dict(&state).unwrap();
}

/// Item 3: a gradient swapped between two shapes while steps run never yields a step that
/// updated part of the tensor: each step is either refused or applied to every element.
#[test]
fn a_gradient_swapped_during_a_step_is_never_half_applied() {
    const N: usize = 1 << 12;
    let p = Param::new(ArrayD::<f32>::zeros(vec![N]));
    p.set_grad(ArrayD::ones(vec![N]));
    // many small parameters after it widen the window between checking `p` and updating it
    let mut params = vec![p.clone()];
    for _ in 0..2000 {
        let filler = Param::new(ArrayD::<f32>::zeros(vec![1]));
        filler.set_grad(ArrayD::ones(vec![1]));
        params.push(filler);
    }
    let mut opt = Optimizer::<Sgd, f32>::new(params, Sgd::hyper().lr(1.0)).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (p, stop) = (p.clone(), stop.clone());
        let (whole, half) = (ArrayD::<f32>::ones(vec![N]), ArrayD::<f32>::ones(vec![N / 2]));
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                p.set_grad(whole.clone());
                p.set_grad(half.clone());
                swaps += 1;
            }
            swaps
        })
    };
    let (mut applied, mut refused) = (0u32, 0u32);
    for _ in 0..1000 {
        match opt.step() {
            Ok(()) => applied += 1,
            Err(OptimError::GradShape { .. }) => refused += 1,
            Err(other) => panic!("unexpected error {other:?}"),
        }
        let value = p.value();
        let expected = -(applied as f32);
        let wrong = value.iter().filter(|&&v| v != expected).count();
        assert_eq!(wrong, 0, "after {applied} applied steps, {wrong} of {N} elements disagree");
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    println!("{applied} steps applied, {refused} refused, {swaps} gradient swaps");
    assert_eq!(opt.steps_taken(), u64::from(applied));
}

/// Item 4: a total norm that overflows `f32` still clips correctly; it never zeroes gradients.
#[test]
fn clipping_gradients_whose_norm_overflows_f32() {
    for error_if_nonfinite in [true, false] {
        let p = Param::new(ArrayD::<f32>::zeros(vec![2]));
        p.set_grad(ndarray::arr1(&[3e38f32, 3e38]).into_dyn());
        let total = clip_grad_norm_(std::slice::from_ref(&p), 1.0, 2.0, error_if_nonfinite).unwrap();
        assert!((total - 3e38 * 2f64.sqrt()).abs() / total < 1e-6, "{total}");
        let grad = p.lock().grad.clone().unwrap();
        for g in grad.iter() {
            assert!((f64::from(*g) - 0.5f64.sqrt()).abs() < 1e-6, "{grad:?}");
        }
    }
}

/// Item 5: epoch counters that would overflow are refused with a typed error, never a panic
/// (debug) or a wrap (release).
#[test]
fn scheduler_counters_near_overflow_are_refused() {
    let p = Param::new(ArrayD::<f64>::zeros(vec![1]));
    let mut opt = Sgd::optimizer(vec![p], Sgd::hyper().lr(0.1)).unwrap();
    let mut sched = StepLR::new(&mut opt, 2, 0.5).unwrap();
    let mut state = sched.state_dict();
    for (key, value) in &mut state.entries {
        if key == "last_epoch" {
            *value = StateValue::Int(i64::MAX);
        }
    }
    let before = sched.state_dict();
    match sched.load_state_dict(&state) {
        Err(err) => assert!(matches!(err, OptimError::SchedulerState { .. }), "{err:?}"),
        Ok(()) => panic!("a last_epoch of i64::MAX was accepted"),
    }
    assert_eq!(sched.state_dict(), before);
    sched.step(&mut opt).unwrap();

    let err = CosineAnnealingLR::new(&mut opt, i64::MAX as u64, 0.0).unwrap_err();
    assert!(matches!(err, OptimError::InvalidArgument { .. }), "{err:?}");
    let mut cosine = CosineAnnealingLR::new(&mut opt, 1 << 53, 0.0).unwrap();
    for _ in 0..3 {
        cosine.step(&mut opt).unwrap();
    }
}

/// Item 6: an optimizer without any group is refused, as `new(vec![])` is and as PyTorch
/// refuses both.
#[test]
fn an_optimizer_without_groups_is_refused() {
    let err = Optimizer::<Sgd, f32>::with_groups(Vec::<Group<f32>>::new(), Sgd::hyper()).unwrap_err();
    assert_eq!(err, OptimError::EmptyGroup);
    let err = Optimizer::<Sgd, f32>::new(vec![], Sgd::hyper()).unwrap_err();
    assert_eq!(err, OptimError::EmptyGroup);
}

// ---------------------------------------------------------------------------------------------
// Item 7: the smaller holes.

/// A file rebuilt with its header text edited (the checksum covers the metadata's entries and
/// the tensors, not the header's layout, so these edits keep it valid).
fn with_header(bytes: &[u8], edit: impl FnOnce(&str) -> String) -> Vec<u8> {
    let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = edit(std::str::from_utf8(&bytes[8..8 + len]).unwrap().trim_end());
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&bytes[8 + len..]);
    out
}

fn trained_adam() -> (Optimizer<Adam, f32>, Vec<u8>) {
    let p = Param::new(ArrayD::<f32>::ones(vec![3]));
    let mut opt = Optimizer::<Adam, f32>::new(vec![p.clone()], Adam::hyper()).unwrap();
    p.set_grad(ArrayD::from_elem(vec![3], 0.5));
    opt.step().unwrap();
    let bytes = opt.to_bytes().unwrap();
    (opt, bytes)
}

fn corrupt_kind(result: Result<(), OptimError>) -> optim::CorruptKind {
    match result {
        Err(OptimError::Checkpoint(CheckpointError::Corrupt { kind, .. })) => kind,
        other => panic!("expected a corrupt-file error, got {other:?}"),
    }
}

#[test]
fn duplicate_keys_and_unknown_fields_in_the_header_are_refused() {
    use optim::CorruptKind;
    let (mut opt, bytes) = trained_adam();
    let before = opt.state_dict();
    // the same tensor named twice, both entries pointing at the same bytes
    let twice = with_header(&bytes, |h| {
        let start = h.find("\"state.0.exp_avg\"").unwrap();
        let end = start + h[start..].find('}').unwrap() + 1;
        format!("{},{}", &h[..end], &h[start..])
    });
    assert_eq!(corrupt_kind(opt.load_bytes(&twice)), CorruptKind::Header);
    // a metadata entry given twice with one value
    let meta = with_header(&bytes, |h| h.replacen("\"format\":", "\"format\":\"optim-checkpoint/1\",\"format\":", 1));
    assert_eq!(corrupt_kind(opt.load_bytes(&meta)), CorruptKind::Header);
    // a field the format does not define in a tensor entry
    let extra = with_header(&bytes, |h| h.replacen("\"data_offsets\"", "\"note\":1,\"data_offsets\"", 1));
    assert_eq!(corrupt_kind(opt.load_bytes(&extra)), CorruptKind::Header);
    // and the untouched layout still loads
    opt.load_bytes(&with_header(&bytes, str::to_owned)).unwrap();
    assert_eq!(opt.state_dict(), before);
}

#[test]
fn truncation_and_trailing_bytes_are_told_apart() {
    use optim::CorruptKind;
    let (mut opt, bytes) = trained_adam();
    for cut in [0, 5, 8, 20, bytes.len() - 1] {
        assert_eq!(corrupt_kind(opt.load_bytes(&bytes[..cut])), CorruptKind::Truncated, "cut at {cut}");
    }
    let mut long = bytes.clone();
    long.extend_from_slice(b"tail");
    assert_eq!(corrupt_kind(opt.load_bytes(&long)), CorruptKind::TrailingBytes);
    assert_eq!(corrupt_kind(opt.load_bytes(&u64::MAX.to_le_bytes())), CorruptKind::HeaderTooLarge);
}

#[cfg(unix)]
#[test]
fn an_endless_file_is_refused() {
    let (mut opt, _) = trained_adam();
    let err = opt.load("/dev/zero").unwrap_err();
    assert!(matches!(err, OptimError::Checkpoint(CheckpointError::Corrupt { .. })), "{err:?}");
}

#[cfg(unix)]
#[test]
fn saving_through_a_symlink_keeps_the_link_and_the_permissions() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let (opt, _) = trained_adam();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("run-7.safetensors");
    let link = dir.path().join("latest.safetensors");
    std::fs::write(&target, b"stale").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    symlink(&target, &link).unwrap();
    opt.save(&link).unwrap();
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(optim::StateDict::<f32>::load(&target).unwrap(), opt.state_dict());
    assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn a_scheduler_cannot_set_a_nan_learning_rate() {
    use optim::lr_scheduler::{LambdaLR, LrTarget};
    let p = Param::new(ArrayD::<f64>::zeros(vec![1]));
    let mut opt = Sgd::optimizer(vec![p], Sgd::hyper().lr(0.1)).unwrap();
    let mut sched = LambdaLR::new(&mut opt, |epoch| if epoch >= 1 { f64::NAN } else { 1.0 }).unwrap();
    let err = sched.step(&mut opt).unwrap_err();
    assert!(matches!(err, OptimError::InvalidHyper { name: "lr", .. }), "{err:?}");
    assert_eq!(opt.param_groups()[0].hyper.lr, 0.1);
    let err = opt.set_group_hyper(0, "lr", optim::HyperValue::Float(f64::NAN)).unwrap_err();
    assert!(matches!(err, OptimError::InvalidHyper { name: "lr", .. }), "{err:?}");
    assert_eq!(opt.param_groups()[0].hyper.lr, 0.1);
}
