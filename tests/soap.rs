//! SOAP beyond the recordings: ranks it takes and refuses, its matrix state as PyTorch users
//! look for it, a checkpoint that continues the run exactly (and refuses a basis of the wrong
//! shape), empty matrices and NaN. Thread counts, SIMD levels and allocations are checked with
//! every other rule, through the registry in `rules/`.

mod noise;
use noise::Noise;

use ndarray::{ArrayD, IxDyn};
use optim::zoo::Soap;
use optim::{Element, OptimError, Param, Rule, StateShape};

fn array<T: Element>(shape: &[usize], seed: u64) -> ArrayD<T> {
    ArrayD::from_shape_vec(IxDyn(shape), Noise(seed * 7919 + 1).vec(shape.iter().product())).unwrap()
}

/// Scalars, vectors and matrices step; a tensor of three axes is refused at construction,
/// naming it (the reference would precondition each of its axes).
#[test]
fn ranks_up_to_two_are_taken_and_more_refused_naming_the_parameter() {
    let params: Vec<Param<f64>> = [&[][..], &[5], &[4, 3]].iter().map(|s| Param::new(array(s, 1))).collect();
    let mut opt = Soap::optimizer(params.clone(), Soap::hyper()).unwrap();
    for _ in 0..3 {
        for (i, p) in params.iter().enumerate() {
            p.set_grad(array(p.value().shape(), 10 + i as u64));
        }
        opt.step().unwrap();
    }
    assert!(params.iter().all(|p| p.value().iter().all(|v| v.is_finite())));
    let kernel = Param::new(array::<f32>(&[2, 3, 2], 3));
    let bias = Param::new(array::<f32>(&[2], 4));
    match Soap::optimizer(vec![bias, kernel], Soap::hyper()) {
        Err(OptimError::RankUnsupported { group: 0, index: 1, shape, fewest: 0, most: 2, .. }) => {
            assert_eq!(shape, vec![2, 3, 2])
        }
        other => panic!("expected RankUnsupported, got {other:?}"),
    }
}

/// `GG_0`, `Q_0` (rows x rows) and `GG_1`, `Q_1` (cols x cols) are states of those shapes,
/// present only for the sides SOAP rotates: a side over `max_precondition_dim` has none, a
/// vector has none unless `precondition_1d`, and then only its columns' side.
#[test]
fn matrix_states_have_the_sides_shapes_and_exist_where_the_reference_keeps_them() {
    let shape_of = |name: &str| Soap::STATES.iter().find(|d| d.name == name).map(|d| d.shape);
    assert_eq!(shape_of("GG_0"), Some(StateShape::RowsByRows));
    assert_eq!(shape_of("Q_1"), Some(StateShape::ColsByCols));
    let matrix = Param::new(array::<f64>(&[3, 12], 1));
    let vector = Param::new(array::<f64>(&[4], 2));
    let hyper = Soap::hyper().max_precondition_dim(8).precondition_1d(true);
    let mut opt = Soap::optimizer(vec![matrix.clone(), vector.clone()], hyper).unwrap();
    matrix.set_grad(array(&[3, 12], 3));
    vector.set_grad(array(&[4], 4));
    opt.step().unwrap();
    let state = opt.state(0, 0).unwrap();
    assert_eq!(state.tensor("GG_0").unwrap().shape(), &[3, 3]);
    assert_eq!(state.tensor("Q_0").unwrap().shape(), &[3, 3]);
    assert!(state.tensor("GG_1").is_none() && state.tensor("Q_1").is_none(), "12 > max_precondition_dim");
    let state = opt.state(0, 1).unwrap();
    assert!(state.tensor("GG_0").is_none());
    assert_eq!(state.tensor("Q_1").unwrap().shape(), &[4, 4]);
    // the basis is orthonormal: QᵀQ = I
    let q = state.tensor("Q_1").unwrap();
    for i in 0..4 {
        for j in 0..4 {
            let dot: f64 = (0..4).map(|k| q[[k, i]] * q[[k, j]]).sum();
            assert!((dot - f64::from(u8::from(i == j))).abs() < 1e-12, "QᵀQ[{i}][{j}] = {dot}");
        }
    }
}

/// Saving after three steps (one refresh done) and loading into a fresh optimizer continues
/// exactly as the uninterrupted run; a checkpoint whose basis has the wrong shape is refused
/// and changes nothing.
#[test]
fn a_checkpoint_continues_the_run_exactly_and_a_wrong_basis_is_refused() {
    let shapes = [vec![5usize, 4], vec![3]];
    let hyper = Soap::hyper().precondition_frequency(2).lr(0.01).precondition_1d(true);
    let grads: Vec<Vec<ArrayD<f32>>> =
        (0..6).map(|s| shapes.iter().enumerate().map(|(i, sh)| array(sh, 50 + 10 * s + i as u64)).collect()).collect();
    let run = |params: &[Param<f32>], opt: &mut optim::Optimizer<Soap, f32>, steps: &[Vec<ArrayD<f32>>]| {
        for step in steps {
            for (p, g) in params.iter().zip(step) {
                p.set_grad(g.clone());
            }
            opt.step().unwrap();
        }
    };
    let fresh = || shapes.iter().enumerate().map(|(i, s)| Param::new(array::<f32>(s, i as u64))).collect::<Vec<_>>();
    let whole = fresh();
    let mut opt = Soap::optimizer(whole.clone(), hyper).unwrap();
    run(&whole, &mut opt, &grads);
    let resumed = fresh();
    let mut first = Soap::optimizer(resumed.clone(), hyper).unwrap();
    run(&resumed, &mut first, &grads[..3]);
    let saved = first.state_dict();

    let mut wrong = saved.clone();
    let q = wrong.state.get_mut(&0).and_then(|s| s.tensors.get_mut("Q_0")).expect("Q_0 saved");
    *q = ArrayD::zeros(IxDyn(&[4, 4]));
    let mut second = Soap::optimizer(resumed.clone(), Soap::hyper()).unwrap();
    assert!(second.load_state_dict(&wrong).is_err(), "a 4 x 4 basis for a 5 x 4 parameter");
    assert!(second.state(0, 0).is_none(), "a refused load changes nothing");

    second.load_state_dict(&saved).unwrap();
    run(&resumed, &mut second, &grads[3..]);
    for (a, b) in whole.iter().zip(&resumed) {
        assert_eq!(a.value(), b.value());
    }
}

/// Empty matrices step without touching anything; a NaN gradient gives NaN (no panic, no
/// error), as the reference's arithmetic does.
#[test]
fn empty_matrices_step_and_nan_propagates() {
    for shape in [[0usize, 5], [4, 0], [0, 0]] {
        let param = Param::new(ArrayD::<f32>::zeros(IxDyn(&shape)));
        let mut opt = Soap::optimizer(vec![param.clone()], Soap::hyper().precondition_frequency(1)).unwrap();
        for _ in 0..3 {
            param.set_grad(ArrayD::zeros(IxDyn(&shape)));
            opt.step().unwrap();
        }
        assert_eq!(param.value().shape(), &shape);
    }
    let param = Param::new(array::<f64>(&[3, 4], 5));
    let mut opt = Soap::optimizer(vec![param.clone()], Soap::hyper().precondition_frequency(1)).unwrap();
    for step in 0..3 {
        let mut grad = array::<f64>(&[3, 4], 6 + step);
        grad[[1, 2]] = f64::NAN;
        param.set_grad(grad);
        opt.step().unwrap();
    }
    assert!(param.value().iter().any(|v| v.is_nan()));
}
