//! Parity with trajectories of whole-group rules (`tests/data/group-golden.json`, recorded by
//! `gen_v2.py` from prodigyopt 1.1.2, schedulefree 1.4.1, pytorch-optimizer 4.1.0 and torch
//! 2.15; or the file named by `OPTIM_GROUP_GOLDEN`): after every step, the parameters, every
//! recorded state, the values the reference keeps in the param group (Prodigy's `d`,
//! Schedule-Free's `weight_sum`, ...) and, for Schedule-Free, the evaluation point `x`.
//! The clipped AdamW case runs clipping fused into the step.

mod golden;

use optim::builtins::AdamW;
use optim::zoo::{AdamWScheduleFree, Adopt, DAdaptAdam, Mars, Prodigy, SGDScheduleFree};
use optim::{Element, GradClip, Optimizer, Param, Rule};
use serde_json::Value;

use golden::{ExpectedSkip, Tally, Worst, check_parity, exactly, numbers, recording, replay_checking};

/// Every recorded optimizer is replayed: none may be skipped.
const EXPECTED_SKIPS: &[ExpectedSkip] = &[];

fn values<T: Element>(param: &Param<T>) -> Vec<f64> {
    param.value().iter().map(|v| v.to_f64()).collect()
}

/// Replays one case through rule `R` (parameters and states as every suite does, then the
/// group values and Schedule-Free's evaluation point); returns the worst error or the first
/// mismatch.
fn replay_group<R: Rule, T: Element>(case: &Value) -> Result<Worst, String> {
    let dtype = case["dtype"].as_str().unwrap_or_default();
    let steps = case["grads"].as_array().ok_or("no grads")?.len();
    let groups_after = exactly(&case["group_after_step"], steps, "group_after_step")?;
    let evals = match &case["eval_params_after_step"] {
        Value::Null => None,
        recorded => Some(exactly(recorded, steps, "eval_params_after_step")?),
    };
    let setup = |opt: &mut Optimizer<R, T>| match case["clip_max_norm"].as_f64() {
        Some(max_norm) => opt.set_grad_clip(Some(GradClip::norm(max_norm))).map_err(|e| e.to_string()),
        None => Ok(()),
    };
    let after_step = |opt: &mut Optimizer<R, T>, params: &[Param<T>], t: usize, worst: &mut Worst| {
        for (key, expected) in groups_after[t].as_object().ok_or("group values are a dict")? {
            let what = format!("step {} group value {key}", t + 1);
            let ours =
                opt.param_groups()[0].value(key).ok_or_else(|| format!("{what}: the reference keeps it, we do not"))?;
            worst.compare(dtype, &[ours], &numbers(expected), &what)?;
        }
        if let Some(evals) = &evals {
            // the reference evaluates a copy; here the same optimizer goes to x and back, and the
            // training point is restored bit for bit so the run goes on undisturbed
            let training: Vec<_> = params.iter().map(Param::value).collect();
            opt.eval();
            let at_x = exactly(&evals[t], params.len(), "eval params of a step")?;
            for (i, p) in params.iter().enumerate() {
                worst.compare(dtype, &values(p), &numbers(&at_x[i]), &format!("step {} eval param {i}", t + 1))?;
            }
            opt.train();
            for (p, y) in params.iter().zip(training) {
                p.lock().value = y;
            }
        }
        Ok(())
    };
    replay_checking::<R, T>(case, setup, after_step)
}

fn replay_case(case: &Value) -> Option<Result<Worst, String>> {
    golden::by_name!(case, replay_group, {
        "Prodigy" => Prodigy,
        "DAdaptAdam" => DAdaptAdam,
        "AdamWScheduleFree" => AdamWScheduleFree,
        "SGDScheduleFree" => SGDScheduleFree,
        "ADOPT" => Adopt,
        "MARS" => Mars,
        "AdamW" => AdamW,
    })
}

/// Prodigy (defaults; weight decay with bias correction and safeguard warmup), DAdaptAdam,
/// Schedule-Free AdamW (with warmup and weight decay) and SGD, ADOPT (decoupled decay), MARS
/// (adamw and lion), AdamW with global-norm clipping; float64 and float32.
#[test]
fn every_recorded_whole_group_case_matches_the_reference() {
    let recording = recording("OPTIM_GROUP_GOLDEN", "group-golden.json");
    let summary = |tally: &Tally| tally.summary_naming("group parity", "unsupported");
    check_parity(&recording, EXPECTED_SKIPS, replay_case, summary, &["OPTIM_GROUP_GOLDEN"]);
}
