//! Parity of the `cautious` option (Liang et al., 2024) with its references
//! (`tests/data/cautious-golden.json`, made by `tests/data/gen_cautious_golden.py`, or the file
//! named by `OPTIM_CAUTIOUS_GOLDEN`): built-in AdamW against timm's `AdamWLegacy(caution=True)`
//! and zoo Lion against `pytorch_optimizer.Lion(cautious=True)`, params and every state after
//! every step. A case with the option off checks that the same recording replays plain AdamW.

mod golden;

use optim::builtins::AdamW;
use optim::zoo::Lion;
use serde_json::Value;

use golden::{ExpectedSkip, Worst, recording, replay, replay_cases};

/// Every case of the recording is replayed: none may be skipped.
const EXPECTED_SKIPS: &[ExpectedSkip] = &[];

/// timm names the option `caution`; ours is `cautious`, as pytorch-optimizer names it.
fn our_names(case: &Value) -> Value {
    let mut case = case.clone();
    if let Some(hyper) = case["hyper"].as_object_mut()
        && let Some(value) = hyper.remove("caution")
    {
        hyper.insert("cautious".into(), value);
    }
    case
}

fn replay_case(case: &Value) -> Option<Result<Worst, String>> {
    let f64 = case["dtype"] == "float64";
    let case = &our_names(case);
    macro_rules! run {
        ($rule:ty) => {
            Some(if f64 { replay::<$rule, f64>(case) } else { replay::<$rule, f32>(case) })
        };
    }
    match case["optimizer"].as_str()? {
        "AdamW" => run!(AdamW),
        "Lion" => run!(Lion),
        _ => None,
    }
}

#[test]
fn cautious_adamw_and_lion_match_their_references() {
    let recording = recording("OPTIM_CAUTIOUS_GOLDEN", "cautious-golden.json");
    let cases = recording["cases"].as_array().expect("cases");
    let tally = replay_cases(cases, EXPECTED_SKIPS, replay_case);
    let summary = tally.summary("cautious parity");
    println!("{summary}");
    golden::assert_readme_agrees(&summary, &["OPTIM_CAUTIOUS_GOLDEN"]);
    tally.assert_no_failures();
    assert!(tally.checked > 0, "no case was checked");
}
