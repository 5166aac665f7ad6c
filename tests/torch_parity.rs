//! Parity with trajectories recorded from real `torch.optim` (`tests/data/torch-golden.json`, or
//! the file named by `OPTIM_TORCH_GOLDEN`): params and every state value after every step.

mod golden;

use optim::builtins::{Adadelta, Adagrad, Adam, AdamW, Adamax, Asgd, NAdam, RAdam, RmsProp, Rprop, Sgd};
use serde_json::Value;

use golden::{Worst, replay, replay_groups, unsupported};

const SUPPORTED: [&str; 11] =
    ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "Rprop", "ASGD"];

fn recording() -> Value {
    let path = std::env::var("OPTIM_TORCH_GOLDEN")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/torch-golden.json").to_string());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not valid JSON: {e}"))
}

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
    let recording = recording();
    let cases = recording["cases"].as_array().expect("cases");
    let (mut checked, mut skipped) = (0, 0);
    let (mut worst64, mut worst32) = (0.0f64, 0.0f64);
    let mut failures = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let label = format!("case {index} {} {} {}", case["optimizer"], case["dtype"], case["hyper"]);
        match replay_case(case) {
            None => skipped += 1,
            Some(Err(mismatch)) => failures.push(format!("{label}: {mismatch}")),
            Some(Ok(worst)) => {
                checked += 1;
                println!("{label}: worst relative error {:.2e} at {}", worst.error, worst.at);
                let slot = if case["dtype"] == "float64" { &mut worst64 } else { &mut worst32 };
                *slot = slot.max(worst.error);
            }
        }
    }
    if recording.get("param_groups").is_some() {
        match replay_groups::<Adam>(&recording["param_groups"]) {
            Ok(worst) => {
                checked += 1;
                worst64 = worst64.max(worst.error);
            }
            Err(mismatch) => failures.push(format!("param_groups: {mismatch}")),
        }
    }
    let missing: Vec<String> = unsupported(cases, &SUPPORTED).into_iter().collect();
    println!(
        "torch parity: {checked} cases checked, {skipped} skipped (unsupported: {}), worst relative error f64 {worst64:.2e}, f32 {worst32:.2e}",
        if missing.is_empty() { "none".to_string() } else { missing.join(", ") }
    );
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
    assert!(checked > 0, "no case was checked");
}
