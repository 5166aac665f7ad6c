//! Stock `torch.optim.Muon` (its Newton–Schulz iteration in bfloat16, as shipped) against ours
//! with `ns_dtype = "bfloat16"` (the default), on float32 parameters
//! (`tests/data/muon-bf16-golden.json`, recorded by `scripts/gen_muon_bf16.py` with torch 2.15).
//!
//! The tolerance is not float32's. Both sides round every matrix of the iteration to bfloat16
//! (8 significant bits) after each product, and compute it in float32; but torch's CPU kernel
//! (oneDNN) sums each product in its own order, and where its float32 sum and faer's straddle a
//! bfloat16 rounding boundary one element differs by one bfloat16 step (2⁻⁸ relative): 37 of
//! 291 132 product elements on Muon's shapes, measured against torch 2.15's `addmm`. The
//! iteration carries such a step on, so the parameters are compared by the largest difference
//! relative to the RMS of the change the steps made to the tensor: [`BOUND`] is 1e-4, twelve
//! times the worst seen (8.5e-6), and over 300 times below how far the same run with a float32
//! iteration lands from stock torch (3–5e-2), which the test also checks, so the bound tells
//! the bfloat16 iteration from the float32 one.

mod golden;

use optim::zoo::{Muon, MuonNsDtype};
use optim::{Element, HyperSet, Optimizer, Param};
use serde_json::Value;

use golden::{exactly, hyper_from, load, numbers, shape, tensor};

/// The largest difference allowed between a parameter of ours and stock torch's, relative to
/// the size of the change the steps made to that tensor (its RMS over the run).
const BOUND: f64 = 1e-4;

/// The worst difference over the run, per tensor, relative to the RMS of the tensor's change.
fn worst_relative_to_change(case: &Value, dtype: MuonNsDtype) -> f64 {
    let shapes: Vec<Vec<usize>> = case["shapes"].as_array().unwrap().iter().map(shape).collect();
    let init = exactly(&case["init"], shapes.len(), "init").unwrap();
    let params: Vec<Param<f32>> = shapes.iter().zip(&init).map(|(s, v)| Param::new(tensor(s, v))).collect();
    let mut hyper = hyper_from::<optim::zoo::MuonHyper>(&case["hyper"]).unwrap();
    hyper.set("ns_dtype", optim::HyperValue::Choice(optim::ChoiceName::new(dtype.as_str()).unwrap())).unwrap();
    let mut opt = Optimizer::<Muon, f32>::new(params.clone(), hyper).unwrap();
    let mut worst: f64 = 0.0;
    for (t, grads) in case["grads"].as_array().unwrap().iter().enumerate() {
        for ((p, s), g) in params.iter().zip(&shapes).zip(grads.as_array().unwrap()) {
            p.set_grad(tensor(s, g));
        }
        opt.step().unwrap();
        for (i, p) in params.iter().enumerate() {
            let torch = numbers(&case["params_after_step"][t][i]);
            let start = numbers(&init[i]);
            let change =
                (torch.iter().zip(&start).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / torch.len() as f64).sqrt();
            for (ours, theirs) in p.value().iter().zip(&torch) {
                worst = worst.max((ours.to_f64() - theirs).abs() / change);
            }
        }
    }
    worst
}

#[test]
fn stock_bfloat16_muon_is_reproduced_to_bfloat16_precision() {
    let recording = load(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/muon-bf16-golden.json"));
    let mut lines = Vec::new();
    for (index, case) in recording["cases"].as_array().unwrap().iter().enumerate() {
        let bf16 = worst_relative_to_change(case, MuonNsDtype::Bfloat16);
        let param = worst_relative_to_change(case, MuonNsDtype::Param);
        lines.push(format!("case {index} {}: bfloat16 {bf16:.2e}, param dtype {param:.2e}", case["hyper"]));
        assert!(bf16 <= BOUND, "case {index}: {bf16:e} > {BOUND:e}");
        assert!(
            param > 100.0 * BOUND,
            "case {index}: the float32 iteration ({param:e}) lands within the bound of stock torch"
        );
    }
    println!("{}", lines.join("\n"));
}
