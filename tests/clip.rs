//! Gradient clipping against closed-form values: `torch.nn.utils.clip_grad_norm_` (any order)
//! and `clip_grad_value_`.

use ndarray::{ArrayD, IxDyn, s};
use optim::clip::{clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm};
use optim::{OptimError, Param};

fn with_grad(grad: &[f64]) -> Param<f64> {
    let p = Param::new(ArrayD::zeros(IxDyn(&[grad.len()])));
    p.set_grad(ndarray::arr1(grad).into_dyn());
    p
}

fn grad(p: &Param<f64>) -> Vec<f64> {
    p.lock().grad.as_ref().expect("grad").iter().copied().collect()
}

#[track_caller]
fn close(ours: f64, expected: f64) {
    assert!((ours - expected).abs() <= 1e-14 * expected.abs().max(1.0), "ours {ours:e}, expected {expected:e}");
}

#[test]
fn two_norm_scales_every_gradient_by_the_same_coefficient() {
    let (a, b) = (with_grad(&[3.0, 4.0]), with_grad(&[12.0]));
    let total = clip_grad_norm_(&[a.clone(), b.clone()], 6.5, 2.0, false).unwrap();
    assert_eq!(total, 13.0);
    let coef = 6.5 / (13.0 + 1e-6);
    for (ours, raw) in grad(&a).into_iter().chain(grad(&b)).zip([3.0, 4.0, 12.0]) {
        close(ours, raw * coef);
    }
}

#[test]
fn gradients_under_the_limit_are_unchanged() {
    let a = with_grad(&[0.1, -0.2, 0.3]);
    let total = clip_grad_norm_(std::slice::from_ref(&a), 1.0, 2.0, false).unwrap();
    close(total, (0.01f64 + 0.04 + 0.09).sqrt());
    assert_eq!(grad(&a), [0.1, -0.2, 0.3]);
}

#[test]
fn every_order_of_norm() {
    let grads = [vec![3.0, -1.0, 0.0], vec![2.0], vec![-0.5, 4.0]];
    let params: Vec<Param<f64>> = grads.iter().map(|g| with_grad(g)).collect();
    let all: Vec<f64> = grads.concat();
    for p in [1.0, 2.0, 3.0, 0.5, 7.25] {
        let expected = all.iter().map(|x| x.abs().powf(p)).sum::<f64>().powf(1.0 / p);
        let total = get_total_norm(&params, p, false).unwrap();
        assert!((total - expected).abs() <= 1e-12 * expected, "p = {p}: {total} vs {expected}");
    }
    assert_eq!(get_total_norm(&params, f64::INFINITY, false).unwrap(), 4.0);
    // PyTorch's norm of the per-tensor norms: -inf takes the smallest per-tensor minimum, and 0
    // counts the tensors with a non-zero count.
    assert_eq!(get_total_norm(&params, f64::NEG_INFINITY, false).unwrap(), 0.0);
    assert_eq!(get_total_norm(&params[1..], f64::NEG_INFINITY, false).unwrap(), 0.5);
    assert_eq!(get_total_norm(&params, 0.0, false).unwrap(), 3.0);
}

#[test]
fn infinity_norm_clips_by_the_largest_magnitude() {
    let (a, b) = (with_grad(&[1.0, -8.0]), with_grad(&[2.0]));
    let total = clip_grad_norm_(&[a.clone(), b.clone()], 2.0, f64::INFINITY, false).unwrap();
    assert_eq!(total, 8.0);
    let coef = 2.0 / (8.0 + 1e-6);
    close(grad(&a)[1], -8.0 * coef);
    close(grad(&b)[0], 2.0 * coef);
}

#[test]
fn parameters_without_gradients_are_skipped() {
    let bare = Param::new(ndarray::arr1(&[100.0f64]).into_dyn());
    let a = with_grad(&[6.0, 8.0]);
    let total = clip_grad_norm_(&[bare.clone(), a.clone()], 5.0, 2.0, false).unwrap();
    assert_eq!(total, 10.0);
    assert!(bare.lock().grad.is_none());
    assert_eq!(bare.value()[0], 100.0);
    close(grad(&a)[0], 6.0 * 5.0 / (10.0 + 1e-6));
    assert_eq!(clip_grad_norm_(&[bare], 1.0, 2.0, true).unwrap(), 0.0);
    assert_eq!(clip_grad_norm_::<f64>(&[], 1.0, 2.0, true).unwrap(), 0.0);
}

#[test]
fn a_non_finite_norm_is_refused_without_touching_anything() {
    for bad in [f64::NAN, f64::INFINITY] {
        let (a, b) = (with_grad(&[1.0, bad]), with_grad(&[3.0]));
        let err = clip_grad_norm_(&[a.clone(), b.clone()], 1.0, 2.0, true).unwrap_err();
        assert!(matches!(err, OptimError::NonFiniteNorm { norm_type: 2.0, .. }), "{err}");
        assert_eq!(grad(&b), [3.0]);
        assert_eq!(grad(&a)[0], 1.0);
        // Without the check PyTorch scales by the non-finite norm anyway.
        let total = clip_grad_norm_(&[a.clone(), b.clone()], 1.0, 2.0, false).unwrap();
        assert!(!total.is_finite());
        if bad.is_nan() {
            assert!(grad(&b)[0].is_nan());
        } else {
            assert_eq!(grad(&b), [0.0]);
            assert!(grad(&a)[1].is_nan());
        }
    }
    let a = with_grad(&[1.0]);
    assert!(matches!(get_total_norm(&[a], f64::NAN, false), Err(OptimError::InvalidArgument { .. })));
}

#[test]
fn float32_gradients_use_a_float32_coefficient() {
    let p = Param::new(ArrayD::<f32>::zeros(IxDyn(&[2])));
    p.set_grad(ndarray::arr1(&[30.0f32, 40.0]).into_dyn());
    let total = clip_grad_norm_(std::slice::from_ref(&p), 1.0, 2.0, false).unwrap();
    assert_eq!(total, 50.0);
    let coef = 1.0f32 / (50.0f32 + 1e-6f32) * 1.0f32;
    assert_eq!(p.lock().grad.as_ref().unwrap()[0], 30.0 * coef);
    assert_eq!(p.lock().grad.as_ref().unwrap()[1], 40.0 * coef);
}

#[test]
fn strided_gradients_and_repeated_parameters() {
    let full = ArrayD::from_shape_vec(IxDyn(&[2, 4]), vec![1.0, 9.0, 2.0, 9.0, 2.0, 9.0, 4.0, 9.0]).unwrap();
    let strided = full.slice_move(s![.., ..;2]).into_dyn();
    assert!(strided.as_slice_memory_order().is_none());
    let p = Param::new(ArrayD::<f64>::zeros(IxDyn(&[2, 2])));
    p.set_grad(strided);
    assert_eq!(get_total_norm(std::slice::from_ref(&p), 2.0, false).unwrap(), 5.0);
    // A parameter given twice counts twice, as in PyTorch, and must not deadlock.
    let total = clip_grad_norm_(&[p.clone(), p.clone()], 1e9, 1.0, false).unwrap();
    assert_eq!(total, 18.0);
    clip_grads_with_norm_(std::slice::from_ref(&p), 1.0, 9.0 - 1e-6);
    let g = p.lock().grad.clone().unwrap();
    close(g[[1, 1]], 4.0 / 9.0);
}

#[test]
fn clip_grad_value_clamps_elementwise() {
    let (a, b) = (with_grad(&[-3.0, 0.25, 7.0, f64::NAN]), Param::new(ndarray::arr1(&[50.0f64]).into_dyn()));
    clip_grad_value_(&[a.clone(), b.clone()], 0.5);
    let g = grad(&a);
    assert_eq!(&g[..3], [-0.5, 0.25, 0.5]);
    assert!(g[3].is_nan());
    assert!(b.lock().grad.is_none());
    // PyTorch clamps to the minimum first, so a negative limit pins everything to it.
    let c = with_grad(&[-3.0, 0.0, 2.0]);
    clip_grad_value_(std::slice::from_ref(&c), -1.0);
    assert_eq!(grad(&c), [-1.0, -1.0, -1.0]);
}

#[test]
fn row_sparse_gradients_are_clipped_by_their_values() {
    use optim::RowSparse;
    let table = Param::new(ndarray::ArrayD::<f64>::zeros(vec![10, 2]));
    let dense = Param::new(ndarray::ArrayD::<f64>::zeros(vec![1]));
    table.set_sparse_grad(RowSparse::new(vec![7], ndarray::arr2(&[[3.0, 4.0]]).into_dyn()).unwrap()).unwrap();
    dense.set_grad(ndarray::arr1(&[12.0]).into_dyn());
    // ‖(3, 4, 12)‖ = 13
    let total = clip_grad_norm_(&[table.clone(), dense.clone()], 1.0, 2.0, false).unwrap();
    assert_eq!(total, 13.0);
    let coef = 1.0 / (13.0 + 1e-6);
    let values = table.lock().sparse_grad.as_ref().unwrap().values().clone();
    assert!((values[[0, 0]] - 3.0 * coef).abs() < 1e-15 && (values[[0, 1]] - 4.0 * coef).abs() < 1e-15);
    clip_grad_value_(std::slice::from_ref(&table), 0.1);
    assert!(table.lock().sparse_grad.as_ref().unwrap().values().iter().all(|v| v.abs() <= 0.1));
}
