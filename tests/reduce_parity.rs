//! Rules with per-tensor reductions against `pytorch_optimizer` 4.1.0 (`tests/data/zoo-golden.json`
//! or `OPTIM_ZOO_GOLDEN`): LAMB, LARS, NovoGrad.

mod golden;

use optim::reduce::{Lamb, Lars, NovoGrad};
use serde_json::Value;

use golden::{Worst, replay};

fn recording() -> Value {
    let path = std::env::var("OPTIM_ZOO_GOLDEN")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/zoo-golden.json").to_string());
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
        "Lamb" => run!(Lamb),
        "LARS" => run!(Lars),
        "NovoGrad" => run!(NovoGrad),
        _ => None,
    }
}

#[test]
fn reduction_rules_match_pytorch_optimizer() {
    let recording = recording();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (index, case) in recording["cases"].as_array().expect("cases").iter().enumerate() {
        match replay_case(case) {
            None => {}
            Some(Ok(worst)) => {
                checked += 1;
                println!(
                    "case {index} {} {} {}: worst {:.2e} at {}",
                    case["optimizer"], case["dtype"], case["hyper"], worst.error, worst.at
                );
            }
            Some(Err(e)) => {
                failures.push(format!("case {index} {} {} {}: {e}", case["optimizer"], case["dtype"], case["hyper"]))
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(checked, 10);
}
