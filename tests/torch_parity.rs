//! Parity with trajectories recorded from real `torch.optim` (`tests/data/torch-golden.json`, or
//! the file named by `OPTIM_TORCH_GOLDEN`): params and every state value after every step.

mod golden;

use optim::builtins::{Adadelta, Adagrad, Adam, AdamW, Adamax, Asgd, NAdam, RAdam, RmsProp, Rprop, Sgd};
use serde_json::Value;

use golden::{Worst, recording, replay, replay_cases, replay_groups, unsupported};

const SUPPORTED: [&str; 11] =
    ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "Rprop", "ASGD"];

fn replay_case(case: &Value) -> Option<Result<Worst, String>> {
    let f64 = case["dtype"] == "float64";
    macro_rules! run {
        ($rule:ty) => {
            Some(if f64 { replay::<$rule, f64>(case) } else { replay::<$rule, f32>(case) })
        };
    }
    match case["optimizer"].as_str()? {
        "SGD" => run!(Sgd),
        "Adam" => run!(Adam),
        "AdamW" => run!(AdamW),
        "RMSprop" => run!(RmsProp),
        "Adagrad" => run!(Adagrad),
        "Adadelta" => run!(Adadelta),
        "Adamax" => run!(Adamax),
        "NAdam" => run!(NAdam),
        "RAdam" => run!(RAdam),
        "Rprop" => run!(Rprop),
        "ASGD" => run!(Asgd),
        _ => None,
    }
}

#[test]
fn every_recorded_case_matches_torch() {
    let recording = recording("OPTIM_TORCH_GOLDEN", "torch-golden.json");
    let cases = recording["cases"].as_array().expect("cases");
    let mut tally = replay_cases(cases, replay_case);
    if recording.get("param_groups").is_some() {
        match replay_groups::<Adam>(&recording["param_groups"]) {
            Ok(worst) => tally.pass("float64", worst.error),
            Err(mismatch) => tally.fail("param_groups", mismatch),
        }
    }
    println!("{}", tally.summary("torch parity", &unsupported(cases, &SUPPORTED)));
    tally.assert_no_failures();
    assert!(tally.checked > 0, "no case was checked");
}
