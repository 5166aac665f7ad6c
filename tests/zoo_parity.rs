//! Parity with trajectories recorded from `pytorch_optimizer` 4.1.0 (`tests/data/zoo-golden.json`,
//! or the file named by `OPTIM_ZOO_GOLDEN`): params and every recorded state value after every
//! step, for every rule of `optim::zoo`.

mod golden;

use optim::zoo::{
    AdEmaMix, AdaBelief, AdaBound, AdaFactor, AdaMod, Adan, DiffGrad, LaProp, Lamb, Lars, Lion, Madgrad, NovoGrad,
    QHAdam, SignSgd, Tiger, Yogi,
};
use serde_json::Value;

use golden::{ExpectedSkip, Worst, check_parity, recording, replay};

/// Every optimizer of the recordings is replayed: none may be skipped.
const EXPECTED_SKIPS: &[ExpectedSkip] = &[];

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
    let case = &split_beta_triple(case);
    golden::by_name!(case, replay, {
        "AdaFactor" => AdaFactor,
        "Lion" => Lion,
        "AdaBelief" => AdaBelief,
        "Yogi" => Yogi,
        "Adan" => Adan,
        "AdaBound" => AdaBound,
        "QHAdam" => QHAdam,
        "AdEMAMix" => AdEmaMix,
        "Tiger" => Tiger,
        "SignSGD" => SignSgd,
        "LaProp" => LaProp,
        "DiffGrad" => DiffGrad,
        "AdaMod" => AdaMod,
        "MADGRAD" => Madgrad,
        "Lamb" => Lamb,
        "LARS" => Lars,
        "NovoGrad" => NovoGrad,
    })
}

/// Replays every case of `recording`, prints one line per case and the summary line, and fails
/// on the first mismatch of each failing case.
fn check(title: &str, recording: &Value) {
    let overrides = ["OPTIM_ZOO_GOLDEN", "OPTIM_ZOO_FLAGS_GOLDEN", "OPTIM_ZOO_ADAFACTOR_GOLDEN"];
    check_parity(recording, EXPECTED_SKIPS, replay_case, |tally| tally.summary(title), &overrides);
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

/// AdaFactor's branches and shapes beyond the defaults: `ams_bound`, coupled/decoupled/fixed
/// weight decay, `maximize`, a fixed `lr` without parameter scaling, warm-up, another
/// `decay_rate`, `clip_threshold`, `eps2`, and parameters of 3 and 4 axes (stacked matrices)
/// and of one row or one column (`tests/data/gen_zoo_adafactor.py`; or the file named by
/// `OPTIM_ZOO_ADAFACTOR_GOLDEN`).
#[test]
fn every_recorded_adafactor_configuration_matches_pytorch_optimizer() {
    check("zoo adafactor parity", &recording("OPTIM_ZOO_ADAFACTOR_GOLDEN", "zoo-adafactor-golden.json"));
}
