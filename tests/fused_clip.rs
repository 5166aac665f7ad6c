//! Clipping by the global gradient norm fused into the step (`Optimizer::set_grad_clip`) gives
//! the bits of `clip_grad_norm_` followed by `step()`, for dense and row-sparse gradients, any
//! norm order and any thread count, without writing the gradients; a refused step changes
//! nothing.

use ndarray::{ArrayD, IxDyn};
use optim::builtins::{AdamW, Sgd};
use optim::clip::clip_grad_norm_;
use optim::zoo::{Lamb, Lion};
use optim::{Element, GradClip, OptimError, Optimizer, Param, RowSparse, Rule, SimdLevel};

mod noise;
use noise::Noise;

const SHAPES: [&[usize]; 3] = [&[70_001], &[33], &[7, 5]];

fn params<T: Element>(seed: u64) -> Vec<Param<T>> {
    let mut noise = Noise(seed);
    SHAPES
        .iter()
        .map(|s| Param::new(ArrayD::from_shape_vec(IxDyn(s), noise.vec(s.iter().product())).unwrap()))
        .collect()
}

fn set_grads<T: Element>(params: &[Param<T>], noise: &mut Noise, scale: f64) {
    for p in params {
        let g: Vec<T> = noise.vec::<T>(p.value().len()).into_iter().map(|x| T::from_f64(x.to_f64() * scale)).collect();
        p.set_grad(ArrayD::from_shape_vec(p.value().raw_dim(), g).unwrap());
    }
}

fn bits<T: Element>(params: &[Param<T>]) -> Vec<u64> {
    params.iter().flat_map(|p| p.value().iter().map(|v| v.to_f64().to_bits()).collect::<Vec<_>>()).collect()
}

/// Four steps clipped either way; returns the parameters' bits and the norms seen.
fn trajectory<R: Rule, T: Element>(hyper: &R::Hyper, clip: GradClip, fused: bool) -> (Vec<u64>, Vec<f64>) {
    let params = params::<T>(3);
    let mut opt = Optimizer::<R, T>::new(params.clone(), hyper.clone()).unwrap();
    if fused {
        opt.set_grad_clip(Some(clip)).unwrap();
    }
    let mut noise = Noise(11);
    let mut norms = Vec::new();
    for step in 0..4 {
        // the last step's gradients are small: under max_norm, the coefficient is 1
        set_grads(&params, &mut noise, if step == 3 { 1e-4 } else { 1.0 });
        let before: Vec<_> = params.iter().map(|p| p.lock().grad.clone()).collect();
        if fused {
            opt.step().unwrap();
            norms.push(opt.last_grad_norm().unwrap());
            let after: Vec<_> = params.iter().map(|p| p.lock().grad.clone()).collect();
            assert!(before == after, "the fused step wrote the gradients");
        } else {
            norms.push(clip_grad_norm_(&params, clip.max_norm, clip.norm_type, false).unwrap());
            opt.step().unwrap();
        }
    }
    (bits(&params), norms)
}

fn fused_matches_separate<R: Rule, T: Element>(hyper: R::Hyper) {
    for norm_type in [2.0, 1.0, 3.0, f64::INFINITY] {
        let clip = GradClip::norm(0.5).norm_type(norm_type);
        let separate = trajectory::<R, T>(&hyper, clip, false);
        let fused = trajectory::<R, T>(&hyper, clip, true);
        assert_eq!(fused.1, separate.1, "{} {} norm {norm_type}: norms", R::NAME, T::DTYPE);
        assert!(fused.0 == separate.0, "{} {} norm {norm_type}: parameters differ", R::NAME, T::DTYPE);
    }
}

#[test]
fn fused_clipping_gives_the_bits_of_clip_grad_norm_then_step() {
    fused_matches_separate::<AdamW, f32>(AdamW::hyper().lr(0.01));
    fused_matches_separate::<AdamW, f64>(AdamW::hyper().amsgrad(true));
    fused_matches_separate::<Lamb, f32>(Lamb::hyper().weight_decay(0.01));
    fused_matches_separate::<Sgd, f64>(Sgd::hyper().lr(0.1).momentum(0.9));
}

#[test]
fn fused_clipping_of_row_sparse_gradients_matches_clip_grad_norm_() {
    let run = |fused: bool| {
        let w = Param::new(ArrayD::from_shape_fn(IxDyn(&[6, 3]), |i| (i[0] * 3 + i[1]) as f64 * 0.1));
        let mut opt = Optimizer::<Sgd, f64>::new(vec![w.clone()], Sgd::hyper().lr(0.5).momentum(0.5)).unwrap();
        if fused {
            opt.set_grad_clip(Some(GradClip::norm(0.3))).unwrap();
        }
        for rows in [vec![0, 4], vec![1, 2, 5]] {
            let values = ArrayD::from_shape_fn(IxDyn(&[rows.len(), 3]), |i| (i[0] + 2 * i[1]) as f64 - 1.5);
            w.set_sparse_grad(RowSparse::new(rows, values).unwrap()).unwrap();
            if !fused {
                clip_grad_norm_(std::slice::from_ref(&w), 0.3, 2.0, false).unwrap();
            }
            opt.step().unwrap();
        }
        w.value()
    };
    assert_eq!(run(true), run(false));
}

#[test]
fn fused_clipping_gives_the_same_bits_at_any_thread_count() {
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| trajectory::<AdamW, f32>(&AdamW::hyper(), GradClip::norm(0.5), true))
    };
    let one = run(1);
    for threads in [2, 3] {
        assert!(run(threads) == one, "fused clipping differs at {threads} threads");
    }
}

#[test]
fn a_non_finite_norm_refuses_the_step_and_changes_nothing() {
    let params = params::<f32>(5);
    let mut opt = Optimizer::<AdamW, f32>::new(params.clone(), AdamW::hyper()).unwrap();
    opt.set_grad_clip(Some(GradClip::norm(1.0).error_if_nonfinite(true))).unwrap();
    let mut noise = Noise(2);
    set_grads(&params, &mut noise, 1.0);
    opt.step().unwrap();
    let (before, sd) = (bits(&params), opt.state_dict());
    set_grads(&params, &mut noise, 1.0);
    params[1].lock().grad.as_mut().unwrap()[3] = f32::NAN;
    let err = opt.step().unwrap_err();
    assert!(matches!(err, OptimError::NonFiniteNorm { .. }), "{err}");
    assert_eq!(bits(&params), before);
    assert_eq!(opt.state_dict(), sd);
    assert_eq!(opt.steps_taken(), 1);
    // the parameters were given back: the next step with a finite gradient goes through
    set_grads(&params, &mut noise, 1.0);
    opt.step().unwrap();
    assert_eq!(opt.steps_taken(), 2);
    // without error_if_nonfinite the NaN flows into the step, as with torch
    opt.set_grad_clip(Some(GradClip::norm(1.0))).unwrap();
    params[0].lock().grad.as_mut().unwrap()[0] = f32::INFINITY;
    opt.step().unwrap();
    assert!(opt.last_grad_norm().unwrap().is_infinite());
}

/// The scaled gradient load the fused step uses (`Rule::scale_grad`), at every SIMD level this
/// CPU has: the bits of the baseline clone fed gradients multiplied beforehand, as
/// `clip_grad_norm_` multiplies them, over sizes with every kind of loop remainder.
fn scaled_kernel_matches_prescaled<R: Rule, T: Element>(hyper: &R::Hyper) {
    const SCALE: f64 = 0.37;
    for n in [1, 7, 64, 65, 1000, 4099] {
        let run = |level: SimdLevel, fused: bool| {
            let mut noise = Noise(5 + n as u64);
            let mut param: Vec<T> = noise.vec(n);
            let mut states: Vec<Vec<T>> =
                (0..R::STATES.len()).map(|i| vec![T::from_f64(R::state_init(hyper, i)); n]).collect();
            let mut scalars: Vec<f64> = (0..R::SCALAR_STATES.len()).map(|i| R::scalar_state_init(hyper, i)).collect();
            for step in 1..=4 {
                let grad: Vec<T> = noise.vec(n);
                let mut prep = R::prepare_stage(hyper, step, &mut scalars, &[n], &[], 0);
                let grad: Vec<T> = if fused {
                    assert!(R::scale_grad(&mut prep, SCALE));
                    grad
                } else {
                    grad.iter().map(|&g| g * T::from_f64(SCALE)).collect()
                };
                let mut slices: Vec<&mut [T]> = states.iter_mut().map(|s| s.as_mut_slice()).collect();
                R::apply_at(level, &prep, &mut param, &grad, &mut slices);
            }
            param.iter().chain(states.iter().flatten()).map(|v| v.to_f64().to_bits()).collect::<Vec<u64>>()
        };
        let prescaled = run(SimdLevel::Baseline, false);
        for level in SimdLevel::available() {
            assert!(run(level, true) == prescaled, "{} {level:?} n={n}", R::NAME);
        }
    }
}

#[test]
fn the_scaled_gradient_load_is_bit_identical_at_every_simd_level() {
    println!("levels on this machine: {:?}", SimdLevel::available());
    scaled_kernel_matches_prescaled::<AdamW, f32>(&AdamW::hyper().lr(0.01).amsgrad(true));
    scaled_kernel_matches_prescaled::<AdamW, f64>(&AdamW::hyper().lr(0.01));
    scaled_kernel_matches_prescaled::<Sgd, f32>(&Sgd::hyper().lr(0.1).momentum(0.9).nesterov(true));
    scaled_kernel_matches_prescaled::<Lion, f32>(&Lion::hyper().lr(0.01).weight_decay(0.1));
}
