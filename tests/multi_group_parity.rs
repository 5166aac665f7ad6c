//! Whole-group rules over several param groups that differ in weight decay, `eps` or `lr`, with
//! parameters and a whole group left without gradients on some steps
//! (`tests/data/multi-group-golden.json`, made by `tests/data/gen_multi_group.py`; or the file
//! named by `OPTIM_MULTI_GROUP_GOLDEN`): Prodigy (prodigyopt 1.1.2) and DAdaptAdam
//! (pytorch-optimizer 4.1.0) estimate one step size for the whole model; Schedule-Free AdamW
//! (schedulefree 1.4.1), ADOPT and MARS keep their numbers per group and advance them for a
//! group without gradients. After every step: every parameter, every state and the values every
//! group keeps. Also: groups that disagree on a shared hyperparameter are refused, and a
//! checkpoint whose groups disagree on a shared value is refused.

mod golden;

use optim::checkpoint::CheckpointError;
use optim::zoo::{AdamWScheduleFree, Adopt, DAdaptAdam, Mars, Prodigy};
use optim::{Element, Group, OptimError, Optimizer, Param, Rule};
use serde_json::Value;

use golden::{
    ExpectedSkip, Tally, Worst, check_parity, exactly, hyper_from, hyper_value, numbers, recording, shape, tensor,
};

/// Every recorded case is replayed: none may be skipped.
const EXPECTED_SKIPS: &[ExpectedSkip] = &[];

/// Each group's parameters, and the optimizer over them.
type Built<R, T> = (Vec<Vec<Param<T>>>, Optimizer<R, T>);

/// The groups of a case: their parameters, and the optimizer over them.
fn build<R: Rule, T: Element>(case: &Value) -> Result<Built<R, T>, String> {
    let mut params = Vec::new();
    let mut groups = Vec::new();
    for recorded in case["groups"].as_array().ok_or("no groups")? {
        let shapes: Vec<Vec<usize>> = recorded["shapes"].as_array().ok_or("no shapes")?.iter().map(shape).collect();
        let init = exactly(&recorded["init"], shapes.len(), "init")?;
        let group_params: Vec<Param<T>> = shapes.iter().zip(&init).map(|(s, v)| Param::new(tensor(s, v))).collect();
        let mut group = Group::new(group_params.clone());
        for (name, value) in recorded["hyper"].as_object().ok_or("group hyper is a dict")? {
            group = group.with(name, hyper_value(value));
        }
        params.push(group_params);
        groups.push(group);
    }
    let defaults = hyper_from::<R::Hyper>(&case["hyper"])?;
    let opt = Optimizer::<R, T>::with_groups(groups, defaults).map_err(|e| e.to_string())?;
    Ok((params, opt))
}

fn replay<R: Rule, T: Element>(case: &Value) -> Result<Worst, String> {
    let dtype = case["dtype"].as_str().unwrap_or_default();
    let (params, mut opt) = build::<R, T>(case)?;
    let mut worst = Worst::default();
    let steps = case["grads"].as_array().ok_or("no grads")?;
    for (t, grads) in steps.iter().enumerate() {
        opt.zero_grad();
        for (group, grads) in params.iter().zip(exactly(grads, params.len(), "groups of a step")?) {
            for (p, g) in group.iter().zip(exactly(&grads, group.len(), "grads of a group")?) {
                if !g.is_null() {
                    p.set_grad(tensor(p.value().shape(), &g));
                }
            }
        }
        opt.step().map_err(|e| e.to_string())?;
        let after = exactly(&case["params_after_step"][t], params.len(), "params after a step")?;
        let states = exactly(&case["state_after_step"][t], params.len(), "states after a step")?;
        let values = exactly(&case["group_after_step"][t], params.len(), "group values after a step")?;
        for (g, group) in params.iter().enumerate() {
            let after = exactly(&after[g], group.len(), "params of a group")?;
            let states = exactly(&states[g], group.len(), "states of a group")?;
            for (i, p) in group.iter().enumerate() {
                let ours: Vec<f64> = p.value().iter().map(|v| v.to_f64()).collect();
                worst.compare(dtype, &ours, &numbers(&after[i]), &format!("step {} group {g} param {i}", t + 1))?;
                let state = opt.state(g, i).ok_or_else(|| format!("no state for group {g} param {i}"))?;
                worst.compare_states(dtype, state, &states[i], &format!("step {} group {g} param {i}", t + 1))?;
            }
            for (key, expected) in values[g].as_object().ok_or("group values are a dict")? {
                let what = format!("step {} group {g} value {key}", t + 1);
                let ours = opt.param_groups()[g].value(key).ok_or_else(|| format!("{what}: we keep no such value"))?;
                worst.compare(dtype, &[ours], &numbers(expected), &what)?;
            }
        }
    }
    Ok(worst)
}

fn replay_case(case: &Value) -> Option<Result<Worst, String>> {
    golden::by_name!(case, replay, {
        "Prodigy" => Prodigy,
        "DAdaptAdam" => DAdaptAdam,
        "AdamWScheduleFree" => AdamWScheduleFree,
        "ADOPT" => Adopt,
        "MARS" => Mars,
    })
}

#[test]
fn every_recorded_multi_group_case_matches_the_reference() {
    let recording = recording("OPTIM_MULTI_GROUP_GOLDEN", "multi-group-golden.json");
    let summary = |tally: &Tally| tally.summary("multi-group parity");
    check_parity(&recording, EXPECTED_SKIPS, replay_case, summary, &["OPTIM_MULTI_GROUP_GOLDEN"]);
}

fn two_groups(second_lr: f64) -> (Param<f64>, Param<f64>, Optimizer<Prodigy, f64>) {
    let a = Param::new(ndarray::arr1(&[1.0f64, -2.0]).into_dyn());
    let b = Param::new(ndarray::arr1(&[0.5f64]).into_dyn());
    let groups = vec![Group::new(vec![a.clone()]), Group::new(vec![b.clone()]).with("lr", second_lr)];
    let opt = Optimizer::<Prodigy, f64>::with_groups(groups, Prodigy::hyper().weight_decay(0.1)).unwrap();
    (a, b, opt)
}

#[test]
fn groups_that_disagree_on_a_shared_hyperparameter_are_refused_unchanged() {
    let (a, b, mut opt) = two_groups(0.5);
    a.set_grad(ndarray::arr1(&[1.0, 1.0]).into_dyn());
    b.set_grad(ndarray::arr1(&[1.0]).into_dyn());
    let before = format!("{opt:?}");
    assert_eq!(opt.step(), Err(OptimError::GroupsDisagree { optimizer: "Prodigy", name: "lr", group: 1 }));
    assert_eq!(format!("{opt:?}"), before);
    assert_eq!(a.value(), ndarray::arr1(&[1.0, -2.0]).into_dyn());
    opt.param_groups_mut()[1].hyper.lr = 1.0;
    opt.step().unwrap();
}

#[test]
fn a_group_added_later_joins_the_current_estimate() {
    let (a, b, mut opt) = two_groups(1.0);
    for _ in 0..5 {
        a.set_grad(a.value().mapv(|x| 2.0 * x));
        b.set_grad(b.value().mapv(|x| 2.0 * x));
        opt.step().unwrap();
    }
    let c = Param::new(ndarray::arr1(&[3.0f64]).into_dyn());
    opt.add_param_group(Group::new(vec![c])).unwrap();
    let groups = opt.param_groups();
    assert!(groups[2].values().eq(groups[0].values()));
    assert_ne!(groups[0].value("d"), Some(1e-6), "the estimate moved in five steps");
}

#[test]
fn a_checkpoint_whose_groups_disagree_on_a_shared_value_is_refused() {
    let (a, b, mut opt) = two_groups(1.0);
    a.set_grad(ndarray::arr1(&[1.0, 1.0]).into_dyn());
    b.set_grad(ndarray::arr1(&[1.0]).into_dyn());
    opt.step().unwrap();
    let mut sd = opt.state_dict();
    *sd.param_groups[1].values.get_mut("d_denom").unwrap() *= 2.0;
    let err = opt.load_state_dict(&sd).unwrap_err();
    let expected = CheckpointError::GroupValuesDisagree { group: 1, optimizer: "Prodigy", name: "d_denom" };
    assert_eq!(err, expected.into());

    // a shared hyperparameter is checked at load too, not left for the next step to refuse
    let mut sd = opt.state_dict();
    sd.param_groups[1].hyper.insert("d_coef".into(), optim::HyperValue::Float(2.0));
    let err = opt.load_state_dict(&sd).unwrap_err();
    let disagree = OptimError::GroupsDisagree { optimizer: "Prodigy", name: "d_coef", group: 1 };
    assert_eq!(err, CheckpointError::Hyper { group: 1, error: Box::new(disagree) }.into());
}
