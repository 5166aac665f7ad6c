//! Parity of the `cautious` option (Liang et al., 2024) with its references
//! (`tests/data/cautious-golden.json`, made by `tests/data/gen_cautious_golden.py`, or the file
//! named by `OPTIM_CAUTIOUS_GOLDEN`): built-in AdamW against timm's `AdamWLegacy(caution=True)`
//! and zoo Lion against `pytorch_optimizer.Lion(cautious=True)`, params and every state after
//! every step. A case with the option off checks that the same recording replays plain AdamW.

mod golden;

use optim::builtins::AdamW;
use optim::zoo::Lion;
use serde_json::Value;

use golden::{ExpectedSkip, Tally, Worst, check_parity, recording, replay};

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
    let case = &our_names(case);
    golden::by_name!(case, replay, {
        "AdamW" => AdamW,
        "Lion" => Lion,
    })
}

#[test]
fn cautious_adamw_and_lion_match_their_references() {
    let recording = recording("OPTIM_CAUTIOUS_GOLDEN", "cautious-golden.json");
    let summary = |tally: &Tally| tally.summary("cautious parity");
    check_parity(&recording, EXPECTED_SKIPS, replay_case, summary, &["OPTIM_CAUTIOUS_GOLDEN"]);
}
