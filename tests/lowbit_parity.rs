//! Parity with torchao's quantized-state optimizers (`tests/data/lowbit-golden.json`, recorded
//! by `gen_lowbit.py` from torchao 0.18 on CPU; or the file named by `OPTIM_LOWBIT_GOLDEN`):
//! each torchao class is one of our rules with one [`StateFormat`]. After every step the
//! parameters, at steps 1, 2 and the last the decoded states, and after the last the raw codes
//! and scales.
//!
//! torchao's step is compiled by `torch.compile`, whose float32 arithmetic may round a value the
//! other way where it lies within rounding of the midpoint between two codes; such a code
//! differs by one step of the map. Those are counted (the summary's "codes differing") and must
//! stay under 0.1% of all codes; every other value must agree to float32 tolerance.

mod golden;

use optim::builtins::{Adam, AdamW};
use optim::{Optimizer, Param, Rule, StateFormat};
use serde_json::Value;

use golden::{Worst, compare_values, exactly, hyper_from, numbers, recording, shape, tensor};

/// The rule and state format each torchao class is.
fn class(name: &str) -> Option<(bool, StateFormat)> {
    let (adamw, format) = match name {
        "AdamW8bit" => (true, StateFormat::Int8),
        "AdamW4bit" => (true, StateFormat::Int4),
        "AdamWFp8" => (true, StateFormat::Fp8),
        "Adam8bit" => (false, StateFormat::Int8),
        "Adam4bit" => (false, StateFormat::Int4),
        "AdamFp8" => (false, StateFormat::Fp8),
        _ => return None,
    };
    Some((adamw, format))
}

/// What one case gave: its worst relative error and its codes, compared and differing.
#[derive(Default)]
struct Outcome {
    worst: Worst,
    codes: usize,
    differing: usize,
}

/// Compares a decoded quantized state: a value off by more than float32 tolerance must be one
/// code away (an adjacent entry of the map, times the block's scale), and is counted.
fn compare_quantized(
    ours: &[f64],
    theirs: &[f64],
    step_of: impl Fn(usize) -> f64,
    what: &str,
) -> Result<usize, String> {
    let mut differing = 0;
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        if compare_values("float32", &[*a], &[*b]).is_ok() {
            continue;
        }
        if (a - b).abs() > step_of(i) * 1.0001 {
            return Err(format!("{what}[{i}]: ours {a:e}, torchao {b:e}: more than one code apart"));
        }
        differing += 1;
    }
    Ok(differing)
}

fn replay<R: Rule>(case: &Value, format: StateFormat) -> Result<Outcome, String> {
    let shapes: Vec<Vec<usize>> = case["shapes"].as_array().ok_or("no shapes")?.iter().map(shape).collect();
    let init = exactly(&case["init"], shapes.len(), "init")?;
    let params: Vec<Param<f32>> = shapes.iter().zip(&init).map(|(s, v)| Param::new(tensor(s, v))).collect();
    let hyper = hyper_from::<R::Hyper>(&case["hyper"])?;
    let mut opt = Optimizer::<R, f32>::new(params.clone(), hyper).map_err(|e| e.to_string())?;
    opt.set_state_format(format).map_err(|e| e.to_string())?;
    if case["block_size"].as_u64() != Some(format.block_size() as u64) {
        return Err(format!("block size {} recorded, {} in our format", case["block_size"], format.block_size()));
    }
    let mut outcome = Outcome::default();
    let steps = case["grads"].as_array().ok_or("no grads")?;
    let after = exactly(&case["params_after_step"], steps.len(), "params_after_step")?;
    let states_after = exactly(&case["state_after_step"], steps.len(), "state_after_step")?;
    for (t, grads) in steps.iter().enumerate() {
        for ((p, s), g) in params.iter().zip(&shapes).zip(&exactly(grads, params.len(), "grads of a step")?) {
            p.set_grad(tensor(s, g));
        }
        opt.step().map_err(|e| e.to_string())?;
        let after = exactly(&after[t], params.len(), "params after a step")?;
        for (i, p) in params.iter().enumerate() {
            let ours: Vec<f64> = p.value().iter().map(|&v| f64::from(v)).collect();
            outcome.worst.compare("float32", &ours, &numbers(&after[i]), &format!("step {} param {i}", t + 1))?;
            let Some(recorded) = states_after[t].as_array() else { continue };
            let state = opt.state(0, i).ok_or("no state")?;
            for name in ["exp_avg", "exp_avg_sq"] {
                let what = format!("step {} param {i} {name}", t + 1);
                let quantized = recorded[i]["quantized"].as_bool().ok_or("no `quantized`")?;
                let ours_format = state.format(name).ok_or_else(|| format!("{what}: we have no such state"))?;
                if quantized != (ours_format == format) {
                    return Err(format!("{what}: torchao quantized it: {quantized}; ours is {ours_format:?}"));
                }
                let ours: Vec<f64> = state.tensor(name).ok_or("no tensor")?.iter().map(|&v| f64::from(v)).collect();
                let theirs = numbers(&recorded[i][name]);
                if quantized {
                    let codes = state.codes(name).ok_or("no codes")?;
                    let step_of = |index: usize| code_step(codes, index);
                    compare_quantized(&ours, &theirs, step_of, &what)?;
                } else {
                    outcome.worst.compare("float32", &ours, &theirs, &what)?;
                }
            }
        }
    }
    for (i, recorded) in exactly(&case["final_codes"], params.len(), "final_codes")?.iter().enumerate() {
        let state = opt.state(0, i).ok_or("no state")?;
        for (name, saved) in recorded.as_object().into_iter().flatten() {
            let what = format!("final param {i} {name}");
            let codes = state.codes(name).ok_or_else(|| format!("{what}: not packed here"))?;
            let scales: Vec<f64> = codes.scales.iter().map(|&s| f64::from(s)).collect();
            let their_scales = numbers(&saved["scale"]);
            outcome.worst.compare("float32", &scales, &their_scales, &format!("{what} scales"))?;
            let theirs = numbers(&saved["codes"]);
            let ours = our_codes(codes);
            let theirs: Vec<f64> = if codes.format == StateFormat::Fp8 {
                // torchao's int64 conversion of float8 codes keeps their value, not their bits:
                // recover the bits from the decoded state and the scale
                let state = numbers(&states_after[steps.len() - 1][i][name.as_str()]);
                state.iter().enumerate().map(|(k, v)| fp8_code(*v / their_scales[k / 256])).collect()
            } else {
                unpacked(codes.format, &theirs)
            };
            if ours.len() != theirs.len() {
                return Err(format!("{what}: {} codes, torchao has {}", ours.len(), theirs.len()));
            }
            outcome.codes += ours.len();
            outcome.differing += ours.iter().zip(&theirs).filter(|(a, b)| **a != **b).count();
        }
    }
    Ok(outcome)
}

/// Every code of a packed state, one per element, as numbers.
fn our_codes(codes: optim::Codes<'_>) -> Vec<f64> {
    unpacked(codes.format, &codes.codes.iter().map(|&c| f64::from(c)).collect::<Vec<_>>())
}

/// Codes one per element: 4-bit bytes (both torchao's and ours) hold two, the even element's
/// in the high half.
fn unpacked(format: StateFormat, codes: &[f64]) -> Vec<f64> {
    if format != StateFormat::Int4 {
        return codes.to_vec();
    }
    codes.iter().flat_map(|&byte| [(byte as u8 >> 4) as f64, (byte as u8 & 15) as f64]).collect()
}

fn fp8_code(value: f64) -> f64 {
    f64::from(float8::F8E4M3::from_f32(value as f32).to_bits())
}

/// The distance from element `index`'s decoded value to the farther of its neighbouring codes'
/// values: how far a value one code away can be.
fn code_step(codes: optim::Codes<'_>, index: usize) -> f64 {
    let block = codes.format.block_size();
    let scale = f64::from(codes.scales[index / block]);
    match codes.format {
        // an e4m3fn step is at most 1/8 of the value's binade, and at most 32 of 448
        StateFormat::Fp8 => scale * 32.0,
        // the widest step of the 8-bit maps is 1/64 of the unit interval; of the 4-bit ones, 0.225
        StateFormat::Int8 => scale / 64.0 + 1e-30,
        _ => scale * 0.23,
    }
}

/// What replaying a recording found: cases checked, codes compared and differing, the worst
/// relative error, and one line per case that failed.
struct Tally {
    checked: usize,
    codes: usize,
    differing: usize,
    worst: f64,
    failures: Vec<String>,
}

/// Replays every case of `recording`, mapping each torchao class to a rule and a format.
fn replay_recording(recording: &Value) -> Tally {
    let cases = recording["cases"].as_array().expect("cases");
    let mut tally = Tally { checked: 0, codes: 0, differing: 0, worst: 0.0, failures: Vec::new() };
    for (index, case) in cases.iter().enumerate() {
        let name = case["optimizer"].as_str().unwrap_or_default();
        let label = format!("case {index} {name} {}", case["hyper"]);
        let outcome = match class(name) {
            Some((true, format)) => replay::<AdamW>(case, format),
            Some((false, format)) => replay::<Adam>(case, format),
            None => Err("no rule and format replays this class".to_owned()),
        };
        match outcome {
            Ok(outcome) => {
                println!(
                    "{label}: worst relative error {:.2e} at {}, codes differing {} of {}",
                    outcome.worst.error, outcome.worst.at, outcome.differing, outcome.codes
                );
                tally.checked += 1;
                tally.codes += outcome.codes;
                tally.differing += outcome.differing;
                tally.worst = tally.worst.max(outcome.worst.error);
            }
            Err(mismatch) => tally.failures.push(format!("{label}: {mismatch}")),
        }
    }
    tally
}

/// Fails unless every case replayed, something was compared, and at most 0.1% of codes differ.
fn assert_passed(tally: &Tally) {
    let Tally { checked, codes, differing, failures, .. } = tally;
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
    assert!(*checked > 0 && *codes > 0, "nothing was checked");
    assert!(differing * 1000 <= *codes, "{differing} of {codes} codes differ: more than 0.1%");
}

#[test]
fn every_recorded_lowbit_case_matches_torchao() {
    let recording = recording("OPTIM_LOWBIT_GOLDEN", "lowbit-golden.json");
    let tally = replay_recording(&recording);
    let summary = format!(
        "lowbit parity: {} cases checked, 0 skipped (unsupported: none), worst relative error f32 {:.2e}, codes differing {} of {}",
        tally.checked, tally.worst, tally.differing, tally.codes
    );
    println!("{summary}");
    assert_passed(&tally);
    golden::assert_readme_agrees(&summary, &["OPTIM_LOWBIT_GOLDEN"]);
}

/// torchao's `Adam8bit`, `Adam4bit` and `AdamFp8` (Adam with L2 weight decay, not decoupled)
/// replay as `Adam` with the matching state format (`lowbit-classes-golden.json`, recorded by
/// `gen_lowbit.py ... classes` from torchao 0.18 on CPU).
#[test]
fn torchao_adam_classes_replay_as_adam_with_a_state_format() {
    let recording = recording("OPTIM_LOWBIT_CLASSES_GOLDEN", "lowbit-classes-golden.json");
    let names: Vec<&str> =
        recording["cases"].as_array().expect("cases").iter().filter_map(|c| c["optimizer"].as_str()).collect();
    assert_eq!(names, ["Adam8bit", "Adam4bit", "AdamFp8"], "the recording's classes");
    let tally = replay_recording(&recording);
    println!(
        "lowbit classes: {} cases checked, worst relative error f32 {:.2e}, codes differing {} of {}",
        tally.checked, tally.worst, tally.differing, tally.codes
    );
    assert_passed(&tally);
}
