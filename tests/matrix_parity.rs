//! Parity with trajectories of matrix rules (`tests/data/matrix-golden.json`, recorded by
//! `gen_v2.py` from torch 2.15's `torch.optim.Muon` and pytorch-optimizer 4.1.0's SOAP; or the
//! file named by `OPTIM_MATRIX_GOLDEN`): after every step, the parameters and every recorded
//! state.
//!
//! The recording runs Muon's Newton–Schulz iteration in the parameter's dtype (its generator
//! patches out torch's cast to bfloat16, so float64 can be compared exactly): each Muon case is
//! replayed with `ns_dtype = "param"`, the choice that does the same. Stock torch's bfloat16
//! iteration is checked by `muon_bf16_parity.rs`.

mod golden;

use optim::zoo::Muon;
use optim::{Element, Rule};
use serde_json::Value;

use golden::{ExpectedSkip, Tally, Worst, check_parity, recording, replay_checking};

/// SOAP needs symmetric eigendecompositions, QR factorisations and matrix state in the
/// language; Muon is replayed in full.
const EXPECTED_SKIPS: &[ExpectedSkip] =
    &[ExpectedSkip { optimizer: "SOAP", reason: "eigendecomposition and matrix state not yet in the language" }];

fn replay_matrix<R: Rule, T: Element>(case: &Value) -> Result<Worst, String> {
    let mut case = case.clone();
    if case["optimizer"] == "Muon" {
        // the recording's documented patch: the iteration in the parameter's dtype
        case["hyper"]["ns_dtype"] = Value::from("param");
    }
    replay_checking::<R, T>(&case, |_| Ok(()), |_, _, _, _| Ok(()))
}

fn replay_case(case: &Value) -> Option<Result<Worst, String>> {
    golden::by_name!(case, replay_matrix, {
        "Muon" => Muon,
    })
}

/// Muon (defaults; no Nesterov with weight decay and the AdamW-matching learning rate), on a
/// tall and a wide matrix, in float64 and float32.
#[test]
fn every_recorded_matrix_case_matches_the_reference() {
    let recording = recording("OPTIM_MATRIX_GOLDEN", "matrix-golden.json");
    let summary = |tally: &Tally| tally.summary_naming("matrix parity", "unsupported");
    check_parity(&recording, EXPECTED_SKIPS, replay_case, summary, &["OPTIM_MATRIX_GOLDEN"]);
}
