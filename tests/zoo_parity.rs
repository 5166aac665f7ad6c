//! Parity with trajectories recorded from `pytorch_optimizer` 4.1.0 (`tests/data/zoo-golden.json`,
//! or the file named by `OPTIM_ZOO_GOLDEN`): params and every recorded state value after every
//! step, for every rule of `optim::zoo`.

mod golden;

use optim::zoo::{
    AdEmaMix, AdaBelief, AdaBound, AdaMod, Adan, DiffGrad, LaProp, Lamb, Lars, Lion, Madgrad, NovoGrad, QHAdam,
    SignSgd, Tiger, Yogi,
};
use serde_json::Value;

use golden::{Worst, replay, unsupported};

const SUPPORTED: [&str; 16] = [
    "Lamb",
    "LARS",
    "NovoGrad",
    "Lion",
    "AdaBelief",
    "Yogi",
    "Adan",
    "AdaBound",
    "QHAdam",
    "AdEMAMix",
    "Tiger",
    "SignSGD",
    "LaProp",
    "DiffGrad",
    "AdaMod",
    "MADGRAD",
];

fn recording(env: &str, file: &str) -> Value {
    let path = std::env::var(env).unwrap_or_else(|_| format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR")));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not valid JSON: {e}"))
}

/// The package gives Adan, AdEMAMix and AdaMod three betas; our rules take the pair `betas` and
/// `beta3`, so a recorded triple is split before replaying.
fn split_beta_triple(case: &Value) -> Value {
    let mut case = case.clone();
    if let Some(hyper) = case["hyper"].as_object_mut()
        && let Some(Value::Array(betas)) = hyper.get("betas").cloned()
        && betas.len() == 3
    {
        hyper.insert("betas".into(), Value::Array(betas[..2].to_vec()));
        hyper.insert("beta3".into(), betas[2].clone());
    }
    case
}

fn replay_case(case: &Value) -> Option<Result<Worst, String>> {
    let f64 = case["dtype"] == "float64";
    let case = &split_beta_triple(case);
    macro_rules! run {
        ($rule:ty) => {
            Some(if f64 { replay::<$rule, f64>(case) } else { replay::<$rule, f32>(case) })
        };
    }
    match case["optimizer"].as_str()? {
        "Lion" => run!(Lion),
        "AdaBelief" => run!(AdaBelief),
        "Yogi" => run!(Yogi),
        "Adan" => run!(Adan),
        "AdaBound" => run!(AdaBound),
        "QHAdam" => run!(QHAdam),
        "AdEMAMix" => run!(AdEmaMix),
        "Tiger" => run!(Tiger),
        "SignSGD" => run!(SignSgd),
        "LaProp" => run!(LaProp),
        "DiffGrad" => run!(DiffGrad),
        "AdaMod" => run!(AdaMod),
        "MADGRAD" => run!(Madgrad),
        "Lamb" => run!(Lamb),
        "LARS" => run!(Lars),
        "NovoGrad" => run!(NovoGrad),
        _ => None,
    }
}

/// Replays every case of `recording`, prints one line per case and the summary line, and fails
/// on the first mismatch of each failing case.
fn check(title: &str, recording: &Value) {
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
    let missing: Vec<String> = unsupported(cases, &SUPPORTED).into_iter().collect();
    println!(
        "{title}: {checked} cases checked, {skipped} skipped (unsupported: {}), worst relative error f64 {worst64:.2e}, f32 {worst32:.2e}",
        if missing.is_empty() { "none".to_string() } else { missing.join(", ") }
    );
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
    assert!(checked > 0, "no case was checked");
}

/// The recording's configurations: mostly defaults, plus rectified AdaBelief, decoupled Adan
/// decay, QHAdam's `nus` and Lion's betas.
#[test]
fn every_recorded_elementwise_case_matches_pytorch_optimizer() {
    check("zoo parity", &recording("OPTIM_ZOO_GOLDEN", "zoo-golden.json"));
}

/// The branches the defaults leave untaken: `maximize`, L2/decoupled/fixed/proximal weight decay,
/// `ams_bound`, rectification without SGD fallback, LaProp's centring, AdEMAMix's warmup,
/// momentum-free SignSGD and MADGRAD (with `eps = 0`), three-beta configurations
/// (`tests/data/gen_zoo_flags.py`; or the file named by `OPTIM_ZOO_FLAGS_GOLDEN`).
#[test]
fn every_recorded_flag_combination_matches_pytorch_optimizer() {
    check("zoo flags parity", &recording("OPTIM_ZOO_FLAGS_GOLDEN", "zoo-flags-golden.json"));
}
