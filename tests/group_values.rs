//! Whole-group values against scalar evaluation written here: group reductions of element-wise
//! values and of per-tensor numbers, group state, the group's own step count, tensors without a
//! gradient, several groups, checkpoints of group values, thread-count independence.

use ndarray::{ArrayD, IxDyn};
use optim::zoo::Prodigy;
use optim::{CheckpointError, Group, OptimError, Optimizer, Param, RowSparse, optimizer};

optimizer! {
    /// Descent normalised by the group's gradient norm, with group-wide bookkeeping.
    pub GroupNormalised {
        hyper { lr = 0.1 }
        state {
            group step = 0,
            group elements = 0,
            group largest = 0,
            group norm_seen = 0,
            group rounded = 0,
        }
        step {
            step += 1;
            let total = group_norm(grad);
            norm_seen = total;
            elements = group_sum(numel);
            largest = group_amax(amax(abs(grad)));
            rounded = group_sum_f32(sum(grad));
            param -= lr * step * grad / total;
        }
    }
}

fn param(values: &[f64]) -> Param<f64> {
    Param::new(ArrayD::from_shape_vec(IxDyn(&[values.len()]), values.to_vec()).unwrap())
}

#[test]
fn group_reductions_and_group_state_match_scalar_evaluation() {
    let (a, b, c) = (param(&[1.0, 2.0, 3.0]), param(&[-1.0, 0.5]), param(&[7.0]));
    let mut opt = GroupNormalised::optimizer(vec![a.clone(), b.clone(), c.clone()], GroupNormalised::hyper()).unwrap();
    let (ga, gb) = ([0.3, -0.4, 1.2], [2.5, -0.1]);
    a.set_grad(ArrayD::from_shape_vec(IxDyn(&[3]), ga.to_vec()).unwrap());
    b.set_grad(ArrayD::from_shape_vec(IxDyn(&[2]), gb.to_vec()).unwrap());
    // c has no gradient: it is skipped and adds nothing to the group's sums
    for step in 1..=2 {
        opt.step().unwrap();
        let all: Vec<f64> = ga.iter().chain(&gb).copied().collect();
        let norm = all.iter().map(|g| g * g).sum::<f64>().sqrt();
        let group = &opt.param_groups()[0];
        assert_eq!(group.value("step"), Some(step as f64));
        assert!((group.value("norm_seen").unwrap() - norm).abs() < 1e-15);
        assert_eq!(group.value("elements"), Some(5.0));
        assert_eq!(group.value("largest"), Some(2.5));
        let f32_sum = ((0.3f64 - 0.4 + 1.2) as f32 + (2.5f64 - 0.1) as f32) as f64;
        assert_eq!(group.value("rounded"), Some(f32_sum));
    }
    let expected_a0 = 1.0 - 0.1 * 0.3 / norm_of(&ga, &gb) - 0.1 * 2.0 * 0.3 / norm_of(&ga, &gb);
    assert!((a.value()[0] - expected_a0).abs() < 1e-14);
    assert_eq!(c.value()[0], 7.0);
    assert!(opt.state(0, 2).is_none());
}

fn norm_of(a: &[f64], b: &[f64]) -> f64 {
    a.iter().chain(b).map(|g| g * g).sum::<f64>().sqrt()
}

#[test]
fn each_param_group_keeps_its_own_values() {
    let (a, b) = (param(&[1.0]), param(&[1.0]));
    let groups = vec![Group::new(vec![a.clone()]), Group::new(vec![b.clone()])];
    let mut opt = Optimizer::<GroupNormalised, f64>::with_groups(groups, GroupNormalised::hyper()).unwrap();
    a.set_grad(ArrayD::from_elem(IxDyn(&[1]), 3.0));
    b.set_grad(ArrayD::from_elem(IxDyn(&[1]), -4.0));
    opt.step().unwrap();
    b.lock().grad = None;
    opt.step().unwrap();
    let (first, second) = (&opt.param_groups()[0], &opt.param_groups()[1]);
    assert_eq!((first.value("step"), first.value("norm_seen")), (Some(2.0), Some(3.0)));
    // a group none of whose parameters has a gradient still updates its values, as the
    // references' loops over param_groups do: its reductions are over nothing
    assert_eq!((second.value("step"), second.value("norm_seen")), (Some(2.0), Some(0.0)));
    assert_eq!((second.value("elements"), second.value("rounded")), (Some(0.0), Some(0.0)));
    assert_eq!(second.value("largest"), Some(f64::NEG_INFINITY));
    assert_eq!(b.value()[0], 1.0 - 0.1 * -4.0 / 4.0, "its parameter moved in the first step only");
}

#[test]
fn group_rules_refuse_row_sparse_gradients() {
    let w = Param::new(ArrayD::<f64>::zeros(IxDyn(&[3, 2])));
    let mut opt = Prodigy::optimizer(vec![w.clone()], Prodigy::hyper()).unwrap();
    w.set_sparse_grad(RowSparse::new(vec![1], ArrayD::ones(IxDyn(&[1, 2]))).unwrap()).unwrap();
    assert!(matches!(opt.step(), Err(OptimError::SparseUnsupported { .. })));
    assert_eq!(opt.param_groups()[0].value("k"), Some(0.0));
}

fn trained_prodigy(threads: usize) -> (Vec<Vec<f32>>, Vec<(&'static str, f64)>) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        // several tensors above the chunk size, so chunks and tensors run on different threads
        let sizes = [300_000usize, 70_000, 5, 140_001];
        let params: Vec<Param<f32>> = sizes
            .iter()
            .map(|&n| Param::new(ArrayD::from_shape_fn(IxDyn(&[n]), |i| ((i[0] * 7919) % 1000) as f32 / 500.0 - 1.0)))
            .collect();
        let mut opt = Prodigy::optimizer(params.clone(), Prodigy::hyper().weight_decay(0.01)).unwrap();
        for step in 0..4 {
            for p in &params {
                let g = p.value().mapv(|x| x * 0.5 + 0.1 + step as f32 * 0.01);
                p.set_grad(g);
            }
            opt.step().unwrap();
        }
        let values = params.iter().map(|p| p.value().iter().copied().collect()).collect();
        (values, opt.param_groups()[0].values().collect())
    })
}

#[test]
fn a_group_reduction_rule_gives_the_same_bits_at_any_thread_count() {
    let one = trained_prodigy(1);
    assert!(one.1.iter().any(|(name, d)| *name == "d" && *d > 1e-6), "d should grow: {:?}", one.1);
    for threads in [2, 3] {
        let other = trained_prodigy(threads);
        assert_eq!(one.1, other.1, "group values differ at {threads} threads");
        assert!(one.0 == other.0, "parameters differ at {threads} threads");
    }
}

#[test]
fn group_values_round_trip_through_a_checkpoint_and_are_validated() {
    let w = Param::new(ArrayD::from_shape_fn(IxDyn(&[4]), |i| i[0] as f64 - 1.5));
    let mut opt = Prodigy::optimizer(vec![w.clone()], Prodigy::hyper()).unwrap();
    for _ in 0..3 {
        w.set_grad(w.value().mapv(|x| 2.0 * x + 0.3));
        opt.step().unwrap();
    }
    let bytes = opt.state_dict().to_bytes().unwrap();
    let sd = optim::StateDict::<f64>::from_bytes(&bytes).unwrap();
    assert_eq!(sd.param_groups[0].values["k"], 3.0);
    let w2 = Param::new(w.value());
    let mut resumed = Prodigy::optimizer(vec![w2.clone()], Prodigy::hyper()).unwrap();
    resumed.load_state_dict(&sd).unwrap();
    assert_eq!(
        resumed.param_groups()[0].values().collect::<Vec<_>>(),
        opt.param_groups()[0].values().collect::<Vec<_>>()
    );
    for (p, o) in [(&w, &mut opt), (&w2, &mut resumed)] {
        p.set_grad(p.value().mapv(|x| 2.0 * x + 0.3));
        o.step().unwrap();
    }
    assert_eq!(w.value(), w2.value());

    let before = resumed.state_dict();
    let mut missing = sd.clone();
    missing.param_groups[0].values.remove("d");
    let err = resumed.load_state_dict(&missing).unwrap_err();
    assert!(matches!(err, OptimError::Checkpoint(CheckpointError::MissingGroupValue { group: 0, name: "d" })));
    let mut unknown = sd.clone();
    unknown.param_groups[0].values.insert("weight_sum".into(), 1.0);
    let err = resumed.load_state_dict(&unknown).unwrap_err();
    assert!(matches!(err, OptimError::Checkpoint(CheckpointError::UnknownGroupValue { .. })));
    let mut evaluating = sd.clone();
    evaluating.param_groups[0].eval_mode = true;
    let err = resumed.load_state_dict(&evaluating).unwrap_err();
    assert!(matches!(err, OptimError::Checkpoint(CheckpointError::UnknownGroupValue { .. })));
    assert_eq!(resumed.state_dict(), before);
}
