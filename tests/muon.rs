//! Muon beyond the recording: a closed-form step (no Newton–Schulz iteration) for both
//! learning-rate adjustments on tall and wide matrices, a convolution kernel seen as a matrix,
//! the typed refusal of vectors and checkpoints. Thread counts, SIMD levels and allocations are
//! checked with every other rule, through the registry in `rules/`.

mod noise;
use noise::Noise;

use ndarray::{ArrayD, IxDyn};
use optim::zoo::{Muon, MuonAdjustLrFn, MuonHyper, MuonNsDtype};
use optim::{Element, Group, OptimError, Optimizer, Param, Rule};

fn array<T: Element>(shape: &[usize], seed: u64) -> ArrayD<T> {
    ArrayD::from_shape_vec(IxDyn(shape), Noise(seed * 7919 + 1).vec(shape.iter().product())).unwrap()
}

/// One step of Muon with `ns_steps = 0` computed by hand: the momentum (`(1 - m) g` after one
/// step), Nesterov's look-ahead, the update divided by its Frobenius norm, the adjusted
/// learning rate and decoupled weight decay.
#[test]
fn one_step_without_iteration_matches_the_closed_form() {
    for shape in [[6usize, 4], [3, 7]] {
        for (adjust, name) in
            [(MuonAdjustLrFn::Original, "original"), (MuonAdjustLrFn::MatchRmsAdamw, "match_rms_adamw")]
        {
            let (lr, momentum, decay) = (0.05, 0.9, 0.1);
            let p0 = array::<f64>(&shape, 1);
            let g = array::<f64>(&shape, 2);
            let param = Param::new(p0.clone());
            let hyper = Muon::hyper()
                .lr(lr)
                .momentum(momentum)
                .weight_decay(decay)
                .ns_steps(0)
                .adjust_lr_fn(adjust)
                .ns_dtype(MuonNsDtype::Param);
            let mut opt = Muon::optimizer(vec![param.clone()], hyper).unwrap();
            param.set_grad(g.clone());
            opt.step().unwrap();
            let buf: Vec<f64> = g.iter().map(|g| (1.0 - momentum) * g).collect();
            let update: Vec<f64> = g.iter().zip(&buf).map(|(g, b)| g + momentum * (b - g)).collect();
            let norm = update.iter().map(|u| u * u).sum::<f64>().sqrt();
            let (rows, cols) = (shape[0] as f64, shape[1] as f64);
            let ratio = if name == "original" { (rows / cols).max(1.0).sqrt() } else { 0.2 * rows.max(cols).sqrt() };
            for ((ours, p), u) in param.value().iter().zip(&p0).zip(&update) {
                let expected = p * (1.0 - lr * decay) - lr * ratio * u / norm;
                assert!(
                    (ours - expected).abs() <= 1e-15 * expected.abs().max(1.0),
                    "{shape:?} {name}: {ours} vs {expected}"
                );
            }
        }
    }
}

fn trajectory<T: Element>(hyper: &MuonHyper, shapes: &[Vec<usize>], steps: u64) -> Vec<u64> {
    let params: Vec<Param<T>> = shapes.iter().enumerate().map(|(i, s)| Param::new(array(s, i as u64))).collect();
    let mut opt = Optimizer::<Muon, T>::new(params.clone(), *hyper).unwrap();
    for step in 0..steps {
        for (i, (p, s)) in params.iter().zip(shapes).enumerate() {
            p.set_grad(array(s, 100 * step + i as u64));
        }
        opt.step().unwrap();
    }
    params.iter().flat_map(|p| p.value().iter().map(|v| v.to_f64().to_bits()).collect::<Vec<_>>()).collect()
}

/// A convolution kernel `(out, in, h, w)` is the matrix `out x (in·h·w)`, as Muon's
/// reference flattens it.
#[test]
fn a_convolution_kernel_steps_as_its_matrix() {
    let hyper = Muon::hyper().lr(0.02).ns_dtype(MuonNsDtype::Param);
    let kernel = trajectory::<f64>(&hyper, &[vec![8, 3, 3, 3]], 3);
    let matrix = trajectory::<f64>(&hyper, &[vec![8, 27]], 3);
    assert_eq!(kernel, matrix);
}

#[test]
fn vectors_are_refused_at_construction_naming_them() {
    let weight = Param::new(array::<f32>(&[4, 3], 0));
    let bias = Param::new(array::<f32>(&[4], 1));
    let err = Muon::optimizer(vec![weight.clone(), bias.clone()], Muon::hyper()).unwrap_err();
    assert_eq!(err, OptimError::NotAMatrix { optimizer: "Muon", group: 0, index: 1, shape: vec![4] });
    assert!(err.to_string().contains("AdamW"), "{err}");
    let mut opt = Muon::optimizer(vec![weight], Muon::hyper()).unwrap();
    let err = opt.add_param_group(Group::new(vec![bias])).unwrap_err();
    assert!(matches!(err, OptimError::NotAMatrix { group: 1, index: 0, .. }));
    assert_eq!(opt.param_groups().len(), 1, "a refused group is not added");
    // a matrix replaced by a vector after construction is refused at the step, nothing changed
    let weight = opt.param_groups()[0].params()[0].clone();
    weight.lock().value = array::<f32>(&[12], 3);
    weight.set_grad(array::<f32>(&[12], 4));
    assert!(matches!(opt.step(), Err(OptimError::NotAMatrix { group: 0, index: 0, .. })));
    assert_eq!(weight.value(), array::<f32>(&[12], 3));
}

/// Saving after two steps and loading into a fresh optimizer continues exactly as the
/// uninterrupted run, `ns_dtype` and `ns_coefficients` included.
#[test]
fn a_checkpoint_continues_the_run_exactly() {
    let shape = [12usize, 9];
    let hyper = Muon::hyper().lr(0.03).ns_coefficients((3.0, -3.2, 1.2)).ns_steps(4).nesterov(false);
    let grads: Vec<ArrayD<f32>> = (0..4).map(|s| array(&shape, 50 + s)).collect();
    let whole = Param::new(array::<f32>(&shape, 7));
    let mut opt = Muon::optimizer(vec![whole.clone()], hyper).unwrap();
    for g in &grads {
        whole.set_grad(g.clone());
        opt.step().unwrap();
    }
    let resumed = Param::new(array::<f32>(&shape, 7));
    let mut first = Muon::optimizer(vec![resumed.clone()], hyper).unwrap();
    for g in &grads[..2] {
        resumed.set_grad(g.clone());
        first.step().unwrap();
    }
    let saved = first.state_dict();
    let mut second = Muon::optimizer(vec![resumed.clone()], Muon::hyper()).unwrap();
    second.load_state_dict(&saved).unwrap();
    assert_eq!(second.param_groups()[0].hyper.ns_coefficients, (3.0, -3.2, 1.2));
    for g in &grads[2..] {
        resumed.set_grad(g.clone());
        second.step().unwrap();
    }
    assert_eq!(whole.value(), resumed.value());
}

/// The names of the rule's hyperparameters and state are torch's.
#[test]
fn names_are_torchs() {
    use optim::HyperSet;
    let names = Muon::hyper().names().to_vec();
    for name in ["lr", "weight_decay", "momentum", "nesterov", "ns_coefficients", "eps", "ns_steps", "adjust_lr_fn"] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    assert_eq!(Muon::STATES[0].name, "momentum_buffer");
    assert_eq!(Muon::NAME, "Muon");
}

/// Empty matrices (a layer with no rows or no columns) step without touching anything, as
/// torch's do.
#[test]
fn empty_matrices_step() {
    for shape in [[0usize, 5], [4, 0], [0, 0]] {
        let param = Param::new(ArrayD::<f32>::zeros(IxDyn(&shape)));
        let mut opt = Muon::optimizer(vec![param.clone()], Muon::hyper()).unwrap();
        param.set_grad(ArrayD::zeros(IxDyn(&shape)));
        opt.step().unwrap();
        assert_eq!(param.value().shape(), &shape);
    }
}

/// A gradient of NaN gives NaN, as in torch (no panic, no error): the step is arithmetic.
#[test]
fn a_nan_gradient_propagates() {
    let param = Param::new(array::<f64>(&[3, 4], 5));
    let mut opt = Muon::optimizer(vec![param.clone()], Muon::hyper().ns_dtype(MuonNsDtype::Param)).unwrap();
    let mut grad = array::<f64>(&[3, 4], 6);
    grad[[1, 2]] = f64::NAN;
    param.set_grad(grad);
    opt.step().unwrap();
    assert!(param.value().iter().all(|v| v.is_nan()));
}
