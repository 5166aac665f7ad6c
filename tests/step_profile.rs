//! `Optimizer::step_profiled`: the same step as `step` (bit for bit, errors included), with one
//! timed entry per reduction pass the rule's rustdoc states, and the counts of what it stepped.

use ndarray::ArrayD;
use optim::builtins::{Adam, AdamW};
use optim::half::bf16;
use optim::zoo::{AdaFactor, DAdaptAdam, Lamb, Muon, Prodigy};
use optim::{Bf16Optimizer, Bf16Rounding, GradClip, OptimError, Optimizer, Param, PassTime, Rule, StepProfile};

/// Tensors of these shapes, values and gradients from a fixed formula (`seed` varies them).
fn params(shapes: &[&[usize]], seed: usize) -> Vec<Param<f64>> {
    shapes
        .iter()
        .enumerate()
        .map(|(t, shape)| {
            let n: usize = shape.iter().product();
            let value = |k: usize, scale: f64| ((k * 7 + t * 13 + seed) % 23) as f64 * scale - 0.3;
            let p =
                Param::new(ArrayD::from_shape_vec(shape.to_vec(), (0..n).map(|k| value(k, 0.05)).collect()).unwrap());
            p.set_grad(ArrayD::from_shape_vec(shape.to_vec(), (0..n).map(|k| value(k + 5, 0.01)).collect()).unwrap());
            p
        })
        .collect()
}

/// Steps two twins `steps` times, one with `step`, one with `step_profiled`, new gradients each
/// time; asserts the same bits and returns the last profile.
fn twins<R: Rule>(shapes: &[&[usize]], hyper: R::Hyper, clip: Option<GradClip>, steps: usize) -> StepProfile {
    let plain = params(shapes, 0);
    let timed = params(shapes, 0);
    let mut a = Optimizer::<R, f64>::new(plain.clone(), hyper.clone()).unwrap();
    let mut b = Optimizer::<R, f64>::new(timed.clone(), hyper).unwrap();
    a.set_grad_clip(clip).unwrap();
    b.set_grad_clip(clip).unwrap();
    let mut last = StepProfile::default();
    for step in 0..steps {
        for ((p, q), fresh) in plain.iter().zip(&timed).zip(params(shapes, step + 1)) {
            let g = fresh.lock().grad.clone().expect("a gradient");
            p.set_grad(g.clone());
            q.set_grad(g);
        }
        a.step().unwrap();
        last = b.step_profiled().unwrap();
        assert_eq!(a.last_grad_norm().map(f64::to_bits), b.last_grad_norm().map(f64::to_bits));
    }
    for (p, q) in plain.iter().zip(&timed) {
        let bits = |x: &ArrayD<f64>| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&p.value()), bits(&q.value()), "{}: profiled step differs from step", R::NAME);
    }
    assert_eq!(a.state_dict(), b.state_dict(), "{}: states or group values differ", R::NAME);
    last
}

fn parts_within_total(profile: &StepProfile) {
    let parts = profile.prepare
        + profile.clip_norm.unwrap_or_default()
        + profile.reduction_passes.iter().map(|p| p.time).sum()
        + profile.stages
        + profile.update;
    assert!(parts <= profile.total, "{profile:?}");
    assert!(profile.update > std::time::Duration::ZERO, "{profile:?}");
}

#[test]
fn each_rule_reports_the_passes_its_docs_state_and_steps_as_step_does() {
    let shapes: &[&[usize]] = &[&[40, 30], &[30], &[5, 4, 3]];
    let elements = 40 * 30 + 30 + 5 * 4 * 3;
    // (rule, reduction passes as its rustdoc states them)
    let cases: [(&str, StepProfile, usize); 5] = [
        ("Adam (one fused pass)", twins::<Adam>(shapes, Adam::hyper(), None, 3), 0),
        ("Lamb (the norms, then the update)", twins::<Lamb>(shapes, Lamb::hyper(), None, 3), 1),
        ("Prodigy (the two sums, then the update)", twins::<Prodigy>(shapes, Prodigy::hyper(), None, 3), 1),
        (
            "DAdaptAdam (the two group sums, then the update)",
            twins::<DAdaptAdam>(shapes, DAdaptAdam::hyper(), None, 3),
            1,
        ),
        ("AdaFactor (RMS and means, update norm, update)", twins::<AdaFactor>(shapes, AdaFactor::hyper(), None, 3), 2),
    ];
    for (rule, profile, passes) in cases {
        eprintln!("{rule}: {profile:?}");
        let ran: Vec<&PassTime> = profile.reduction_passes.iter().filter(|p| p.ran()).collect();
        assert_eq!(ran.len(), passes, "{rule}: {profile:?}");
        assert_eq!((profile.tensors, profile.elements), (3, elements), "{rule}");
        assert_eq!(profile.clip_norm, None, "{rule}");
        parts_within_total(&profile);
    }
}

#[test]
fn a_pass_no_tensor_needs_reads_nothing() {
    // AdaFactor over a vector: the RMS and the update's norm in one pass, no second one
    let vector = twins::<AdaFactor>(&[&[300]], AdaFactor::hyper(), None, 2);
    let elements: Vec<usize> = vector.reduction_passes.iter().map(|p| p.elements).collect();
    assert_eq!(elements, [300, 0], "{vector:?}");
    // beside a matrix, the second pass reads the matrix only
    let mixed = twins::<AdaFactor>(&[&[300], &[12, 10]], AdaFactor::hyper(), None, 2);
    let elements: Vec<usize> = mixed.reduction_passes.iter().map(|p| p.elements).collect();
    assert_eq!(elements, [420, 120], "{mixed:?}");
}

#[test]
fn fused_clipping_and_matrix_rules_are_profiled_too() {
    let shapes: &[&[usize]] = &[&[16, 8], &[8]];
    let clipped = twins::<AdamW>(shapes, AdamW::hyper(), Some(GradClip::norm(0.05)), 3);
    assert!(clipped.clip_norm.is_some_and(|t| t > std::time::Duration::ZERO), "{clipped:?}");
    assert!(!clipped.reduction_passes.iter().any(PassTime::ran), "cautious is off: {clipped:?}");
    parts_within_total(&clipped);
    // a matrix rule: the whole matrix stage is the update, no memory reduction passes
    let muon = twins::<Muon>(&[&[16, 8], &[6, 10]], Muon::hyper(), None, 3);
    assert!(muon.reduction_passes.is_empty(), "{muon:?}");
    assert_eq!((muon.tensors, muon.elements), (2, 16 * 8 + 60));
    parts_within_total(&muon);
}

#[test]
fn only_tensors_with_a_gradient_are_counted() {
    let ps = params(&[&[10], &[20], &[30]], 0);
    ps[1].lock().grad = None;
    let mut opt = Optimizer::<Adam, f64>::new(ps, Adam::hyper()).unwrap();
    let profile = opt.step_profiled().unwrap();
    assert_eq!((profile.tensors, profile.elements), (2, 40));
}

#[test]
fn a_refused_profiled_step_changes_nothing() {
    let ps = params(&[&[4, 3], &[3]], 0);
    let before: Vec<_> = ps.iter().map(|p| p.value()).collect();
    let mut opt = Optimizer::<Lamb, f64>::new(ps.clone(), Lamb::hyper()).unwrap();
    ps[1].set_grad(ArrayD::zeros(vec![4]));
    assert!(matches!(opt.step_profiled(), Err(OptimError::GradShape { .. })));
    assert_eq!(ps.iter().map(|p| p.value()).collect::<Vec<_>>(), before);
    assert_eq!(opt.steps_taken(), 0);
    assert!(opt.state(0, 0).is_none());
}

#[test]
fn bfloat16_parameters_are_profiled_too() {
    let shapes: [&[usize]; 3] = [&[40, 30], &[30], &[7]];
    let make = |seed: usize| -> Vec<Param<bf16>> {
        params(&shapes, seed)
            .iter()
            .map(|p| {
                let p = p.lock();
                let q = Param::new(p.value.mapv(bf16::from_f64));
                q.set_grad(p.grad.as_ref().expect("a gradient").mapv(bf16::from_f64));
                q
            })
            .collect()
    };
    let (plain, timed) = (make(0), make(0));
    let optimizer = |ps: &Vec<Param<bf16>>| {
        Bf16Optimizer::<AdamW>::new(ps.clone(), AdamW::hyper().lr(0.01))
            .unwrap()
            .with_rounding(Bf16Rounding::Stochastic { seed: 3 })
    };
    let (mut a, mut b) = (optimizer(&plain), optimizer(&timed));
    timed[2].lock().grad = None;
    plain[2].lock().grad = None;
    let mut last = StepProfile::default();
    for _ in 0..3 {
        a.step().unwrap();
        last = b.step_profiled().unwrap();
    }
    for (p, q) in plain.iter().zip(&timed) {
        let bits = |x: &ArrayD<bf16>| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&p.value()), bits(&q.value()), "profiled step differs from step");
    }
    assert_eq!(a.state_dict(), b.state_dict());
    // the tensor without a gradient is not counted; an element-wise rule has no other pass
    assert_eq!((last.tensors, last.elements), (2, 40 * 30 + 30));
    assert!(last.reduction_passes.is_empty() && last.clip_norm.is_none(), "{last:?}");
    parts_within_total(&last);
    // a refused step changes nothing and is not counted
    let before: Vec<_> = timed.iter().map(|p| p.value()).collect();
    timed[1].set_grad(ArrayD::from_elem(vec![31], bf16::ONE));
    assert!(matches!(b.step_profiled(), Err(OptimError::GradShape { .. })));
    assert_eq!(timed.iter().map(|p| p.value()).collect::<Vec<_>>(), before);
    assert_eq!(b.steps_taken(), 3);
}
