//! Parity with trajectories recorded from real `torch.optim` (`tests/data/torch-golden.json`, or
//! the file named by `OPTIM_TORCH_GOLDEN`): params and every state value after every step.

mod golden;

use optim::builtins::{Adadelta, Adagrad, Adam, AdamW, Adamax, Asgd, NAdam, RAdam, RmsProp, Rprop, Sgd};
use serde_json::Value;

use golden::{ExpectedSkip, Worst, compare_values, recording, replay, replay_cases, replay_groups};

/// Every optimizer of the recording is replayed: none may be skipped.
const EXPECTED_SKIPS: &[ExpectedSkip] = &[];

fn replay_case(case: &Value) -> Option<Result<Worst, String>> {
    golden::by_name!(case, replay, {
        "SGD" => Sgd,
        "Adam" => Adam,
        "AdamW" => AdamW,
        "RMSprop" => RmsProp,
        "Adagrad" => Adagrad,
        "Adadelta" => Adadelta,
        "Adamax" => Adamax,
        "NAdam" => NAdam,
        "RAdam" => RAdam,
        "Rprop" => Rprop,
        "ASGD" => Asgd,
    })
}

#[test]
fn every_recorded_case_matches_torch() {
    let recording = recording("OPTIM_TORCH_GOLDEN", "torch-golden.json");
    let cases = recording["cases"].as_array().expect("cases");
    let mut tally = replay_cases(cases, EXPECTED_SKIPS, replay_case);
    // the param-groups replay is part of the recording's contract: its absence is a failure
    match recording.get("param_groups").ok_or_else(|| "the recording has none".to_string()) {
        Ok(groups) => match replay_groups::<Adam>(groups) {
            Ok(worst) => tally.pass("float64", worst.error),
            Err(mismatch) => tally.fail("param_groups", mismatch),
        },
        Err(missing) => tally.fail("param_groups", missing),
    }
    let summary = tally.summary("torch parity");
    println!("{summary}");
    golden::assert_readme_agrees(&summary, &["OPTIM_TORCH_GOLDEN"]);
    tally.assert_no_failures();
    assert!(tally.checked > 0, "no case was checked");
}

/// The shared comparison: a float32 value that is the small difference of large terms passes at
/// its tensor's scale (the RMSprop momentum buffer torch recorded as 0.0212760 among values of
/// order 5), while float64 stays strict and a real float32 error still fails.
#[test]
fn float32_values_are_compared_at_their_tensors_scale() {
    let torch = [5.1, -4.7, 0.021_276_0, 4.9];
    let ours = [5.1, -4.7, 0.021_276_4, 4.9];
    let (error, at) = compare_values("float32", &ours, &torch).unwrap();
    assert_eq!(at, 2);
    assert!(error < 1e-6, "{error}");
    assert!(compare_values("float64", &ours, &torch).is_err());
    let wrong = [5.1, -4.7, 0.0215, 4.9];
    assert!(compare_values("float32", &wrong, &torch).is_err());
    assert!(compare_values("float32", &[5.2, -4.7, 0.021_276_0, 4.9], &torch).is_err());
}

/// A case no rule replays fails unless an expected skip names it with a reason, and an expected
/// skip that no case needs fails too: a suite cannot pass by skipping.
#[test]
fn a_case_that_cannot_be_replayed_fails_unless_its_skip_is_expected() {
    let cases: Vec<Value> =
        serde_json::from_str(r#"[{"optimizer": "LBFGS", "dtype": "float64", "hyper": {}}]"#).unwrap();
    let tally = replay_cases(&cases, &[], replay_case);
    assert_eq!(tally.failures().len(), 1, "{:?}", tally.failures());
    let expected = [ExpectedSkip { optimizer: "LBFGS", reason: "needs a closure" }];
    let tally = replay_cases(&cases, &expected, replay_case);
    assert!(tally.failures().is_empty(), "{:?}", tally.failures());
    assert_eq!(tally.skipped, ["LBFGS"]);
    let stale = [ExpectedSkip { optimizer: "SparseAdam", reason: "no longer recorded" }];
    let tally = replay_cases(&cases, &[expected[0], stale[0]], replay_case);
    assert_eq!(tally.failures().len(), 1, "{:?}", tally.failures());
}
