//! Replays recorded `torch.optim` trajectories through our optimizers and compares every value.
#![allow(dead_code)] // each test crate uses its own subset of these helpers

use std::fmt::Display;

use ndarray::{ArrayD, IxDyn};
use optim::{Element, Group, HyperSet, HyperValue, Optimizer, Param, ParamState, Rule};
use serde_json::Value;

/// `by_name!(case, replay, { "SGD" => Sgd, ... })`: `replay::<Sgd, f64>(case)` (`f32` for a
/// float32 case) for the rule listed under the case's optimizer name; `None` for a name not listed.
#[allow(unused_macros)] // each test crate uses its own subset of these helpers
macro_rules! by_name {
    ($case:expr, $replay:ident, { $($name:literal => $rule:ty),* $(,)? }) => {{
        let case = $case;
        let f64 = case["dtype"] == "float64";
        match case["optimizer"].as_str() {
            $(Some($name) => Some(if f64 { $replay::<$rule, f64>(case) } else { $replay::<$rule, f32>(case) }),)*
            _ => None,
        }
    }};
}
#[allow(unused_imports)]
pub(crate) use by_name;

/// Reads a JSON recording.
pub fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not valid JSON: {e}"))
}

/// The recording named by the environment variable `env_var`, else `tests/data/{default_file}`.
pub fn recording(env_var: &str, default_file: &str) -> Value {
    let path =
        std::env::var(env_var).unwrap_or_else(|_| format!("{}/tests/data/{default_file}", env!("CARGO_MANIFEST_DIR")));
    load(&path)
}

/// A recorded optimizer a suite knows it cannot replay, and why: the only way a case may be
/// skipped. A case no rule replays and no expected skip names is a failure, and so is an
/// expected skip that no case needed (the list must say what the recording holds).
#[derive(Clone, Copy)]
pub struct ExpectedSkip {
    /// The recorded optimizer's name.
    pub optimizer: &'static str,
    /// Why it cannot be replayed.
    pub reason: &'static str,
}

/// The outcome of a parity run: cases checked, skipped and failed, and the worst error per dtype.
#[derive(Default)]
pub struct Tally {
    pub checked: usize,
    /// The optimizers of skipped cases, one entry per case.
    pub skipped: Vec<String>,
    pub worst64: f64,
    pub worst32: f64,
    failures: Vec<String>,
}

impl Tally {
    /// Counts a passing case of `dtype` (`"float64"` or not) whose worst relative error is `error`.
    pub fn pass(&mut self, dtype: &str, error: f64) {
        self.checked += 1;
        let slot = if dtype == "float64" { &mut self.worst64 } else { &mut self.worst32 };
        *slot = slot.max(error);
    }

    pub fn fail(&mut self, label: impl Display, mismatch: impl Display) {
        self.failures.push(format!("{label}: {mismatch}"));
    }

    pub fn skip(&mut self, optimizer: &str) {
        self.skipped.push(optimizer.to_owned());
    }

    /// `{title}: N cases checked, M skipped (expected: ...), worst relative error f64 X, f32 Y`.
    pub fn summary(&self, title: &str) -> String {
        self.summary_naming(title, "expected")
    }

    /// [`Tally::summary`] with another word before the skipped names (`unsupported`).
    pub fn summary_naming(&self, title: &str, skips: &str) -> String {
        let mut names = self.skipped.clone();
        names.dedup();
        format!(
            "{title}: {} cases checked, {} skipped ({skips}: {}), worst relative error {}",
            self.checked,
            self.skipped.len(),
            if names.is_empty() { "none".to_string() } else { names.join(", ") },
            self.worst()
        )
    }

    /// `f64 X, f32 Y`.
    pub fn worst(&self) -> String {
        format!("f64 {:.2e}, f32 {:.2e}", self.worst64, self.worst32)
    }

    /// Every mismatch seen, labelled.
    pub fn failures(&self) -> &[String] {
        &self.failures
    }

    /// Fails the test with every mismatch seen.
    pub fn assert_no_failures(&self) {
        assert!(self.failures.is_empty(), "{} mismatches:\n{}", self.failures.len(), self.failures.join("\n"));
    }
}

/// Replays every `cases[]` entry with `replay_case` (`None`: a rule we do not have), printing the
/// worst error of each passing case. A case `replay_case` cannot run is skipped only when
/// `expected_skips` names its optimizer; otherwise it fails, and so does an expected skip no
/// case needed.
pub fn replay_cases(
    cases: &[Value],
    expected_skips: &[ExpectedSkip],
    replay_case: impl Fn(&Value) -> Option<Result<Worst, String>>,
) -> Tally {
    let mut tally = Tally::default();
    for (index, case) in cases.iter().enumerate() {
        let label = format!("case {index} {} {} {}", case["optimizer"], case["dtype"], case["hyper"]);
        let optimizer = case["optimizer"].as_str().unwrap_or_default();
        match replay_case(case) {
            None => match expected_skips.iter().find(|skip| skip.optimizer == optimizer) {
                Some(skip) => {
                    println!("{label}: skipped as expected ({})", skip.reason);
                    tally.skip(optimizer);
                }
                None => tally.fail(label, "no rule replays it and no expected skip names it"),
            },
            Some(Err(mismatch)) => tally.fail(label, mismatch),
            Some(Ok(worst)) => {
                println!("{label}: worst relative error {:.2e} at {}", worst.error, worst.at);
                tally.pass(case["dtype"].as_str().unwrap_or_default(), worst.error);
            }
        }
    }
    let unneeded: Vec<&str> = expected_skips
        .iter()
        .map(|skip| skip.optimizer)
        .filter(|name| !tally.skipped.iter().any(|s| s == name))
        .collect();
    for name in unneeded {
        tally.fail(format!("expected skip of {name}"), "no case of the recording needed it");
    }
    tally
}

/// Replays every case of `recording`, prints one line per case and the summary line
/// (`summary_of` the tally), fails on any mismatch, and checks the README shows that line
/// (unless one of `env_vars` points the suite at another recording).
pub fn check_parity(
    recording: &Value,
    expected_skips: &[ExpectedSkip],
    replay_case: impl Fn(&Value) -> Option<Result<Worst, String>>,
    summary_of: impl Fn(&Tally) -> String,
    env_vars: &[&str],
) {
    let cases = recording["cases"].as_array().expect("cases");
    let tally = replay_cases(cases, expected_skips, replay_case);
    let summary = summary_of(&tally);
    println!("{summary}");
    tally.assert_no_failures();
    assert_readme_agrees(&summary, env_vars);
    assert!(tally.checked > 0, "no case was checked");
}

/// Relative and absolute tolerance per dtype: a value passes when `|ours - torch| <= rel * |torch| + abs`.
pub fn tolerance(dtype: &str) -> (f64, f64) {
    if dtype == "float64" { FLOAT64_TOLERANCE.with(|t| t.get()).unwrap_or((1e-12, 1e-14)) } else { (1e-5, 1e-7) }
}

thread_local! {
    static FLOAT64_TOLERANCE: std::cell::Cell<Option<(f64, f64)>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` with the float64 tolerance `(rel, abs)` in place of `(1e-12, 1e-14)`, for a suite
/// whose reference no implementation can match closer (its caller says why, with the
/// measurement). Each test runs on its own thread, so no other test sees it.
pub fn with_float64_tolerance<R>(tolerance: (f64, f64), f: impl FnOnce() -> R) -> R {
    let before = FLOAT64_TOLERANCE.with(|t| t.replace(Some(tolerance)));
    let result = f();
    FLOAT64_TOLERANCE.with(|t| t.set(before));
    result
}

/// The shared comparison of every parity suite: the worst error of `ours` against `torch` (one
/// tensor's values) and where it is, or a description of the first value out of tolerance.
///
/// The error of a value is `|ours - torch| / (scale + abs / rel)`, at most `rel` when passing.
/// In float64 the scale is `|torch|`. In float32 it is `max(|torch|, RMS of the torch tensor)`:
/// a float32 value that is the small difference of large terms (RMSprop's momentum buffer in a
/// tensor of order 5) carries the rounding of those terms, an ulp of the tensor's scale, not an
/// ulp of itself.
pub fn compare_values(dtype: &str, ours: &[f64], torch: &[f64]) -> Result<(f64, usize), String> {
    if ours.len() != torch.len() {
        return Err(format!("{} values, torch has {}", ours.len(), torch.len()));
    }
    let (rel, abs) = tolerance(dtype);
    let floor = if dtype == "float64" || torch.is_empty() {
        0.0
    } else {
        (torch.iter().map(|b| b * b).sum::<f64>() / torch.len() as f64).sqrt()
    };
    let mut worst = (0.0, 0);
    for (i, (a, b)) in ours.iter().zip(torch).enumerate() {
        let error = (a - b).abs() / (b.abs().max(floor) + abs / rel);
        if error.is_nan() || error > rel {
            return Err(format!("[{i}]: ours {a:e}, torch {b:e} (relative error {error:e} > {rel:e})"));
        }
        if error > worst.0 {
            worst = (error, i);
        }
    }
    Ok(worst)
}

/// The worst error seen over a run, as [`compare_values`] measures it, and where.
#[derive(Default)]
pub struct Worst {
    pub error: f64,
    pub at: String,
}

impl Worst {
    pub fn compare(&mut self, dtype: &str, ours: &[f64], torch: &[f64], what: &str) -> Result<(), String> {
        let (error, _) = compare_values(dtype, ours, torch).map_err(|mismatch| format!("{what}{mismatch}"))?;
        if error > self.error {
            self.error = error;
            self.at = what.to_string();
        }
        Ok(())
    }
}

/// `items` as a list of exactly `len` entries (a recording whose lists disagree in length would
/// otherwise be cut short by `zip` and pass unchecked).
pub fn exactly(items: &Value, len: usize, what: &str) -> Result<Vec<Value>, String> {
    let list = items.as_array().ok_or_else(|| format!("{what} is not a list"))?;
    if list.len() != len {
        return Err(format!("{what} has {} entries, expected {len}", list.len()));
    }
    Ok(list.clone())
}

pub fn flatten(value: &Value, out: &mut Vec<f64>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| flatten(v, out)),
        Value::Number(n) => out.push(n.as_f64().unwrap_or(f64::NAN)),
        other => panic!("expected numbers in the recording, found {other}"),
    }
}

pub fn numbers(value: &Value) -> Vec<f64> {
    let mut out = Vec::new();
    flatten(value, &mut out);
    out
}

pub fn shape(value: &Value) -> Vec<usize> {
    value.as_array().expect("a shape is a list").iter().map(|d| d.as_u64().expect("a dimension") as usize).collect()
}

pub fn tensor<T: Element>(shape: &[usize], values: &Value) -> ArrayD<T> {
    let data: Vec<T> = numbers(values).into_iter().map(T::from_f64).collect();
    ArrayD::from_shape_vec(IxDyn(shape), data).expect("recorded values match the recorded shape")
}

pub fn hyper_value(value: &Value) -> HyperValue {
    match value {
        Value::Bool(b) => HyperValue::Bool(*b),
        Value::Number(n) if n.is_i64() => HyperValue::Int(n.as_i64().unwrap_or_default()),
        Value::Number(n) => HyperValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        Value::Array(pair) if pair.len() == 2 => {
            let v = numbers(value);
            HyperValue::Pair(v[0], v[1])
        }
        Value::Array(triple) if triple.len() == 3 => {
            let v = numbers(value);
            HyperValue::Triple(v[0], v[1], v[2])
        }
        Value::String(name) => HyperValue::Choice(optim::ChoiceName::new(name).expect("a short choice name")),
        Value::Null => HyperValue::Unset,
        other => panic!("unsupported hyperparameter value {other}"),
    }
}

/// Sets every recorded keyword argument; an unknown name or a wrongly typed value is a failure.
pub fn hyper_from<H: HyperSet>(kwargs: &Value) -> Result<H, String> {
    let mut hyper = H::default();
    for (name, value) in kwargs.as_object().into_iter().flatten() {
        hyper.set(name, hyper_value(value)).map_err(|e| e.to_string())?;
    }
    Ok(hyper)
}

impl Worst {
    /// Compares every state the reference recorded for one parameter (`"step"` is its step
    /// count; tensors and per-parameter scalars by name); a recorded state we lack is a mismatch.
    pub fn compare_states<T: Element>(
        &mut self,
        dtype: &str,
        state: &ParamState<T>,
        recorded: &Value,
        at: &str,
    ) -> Result<(), String> {
        for (key, expected) in recorded.as_object().ok_or("state is a dict")? {
            let what = format!("{at} state {key}");
            let ours: Vec<f64> = if key == "step" {
                vec![state.step() as f64]
            } else if let Some(tensor) = state.tensor(key) {
                tensor.iter().map(|v| v.to_f64()).collect()
            } else if let Some(scalar) = state.scalar(key) {
                vec![scalar]
            } else {
                return Err(format!("{what}: the reference has it, we do not"));
            };
            self.compare(dtype, &ours, &numbers(expected), &what)?;
        }
        Ok(())
    }
}

/// Replays one `cases[]` entry; returns the worst error or a description of the first mismatch.
pub fn replay<R: Rule, T: Element>(case: &Value) -> Result<Worst, String> {
    replay_checking::<R, T>(case, |_| Ok(()), |_, _, _, _| Ok(()))
}

/// [`replay`], with `setup` run on the optimizer before the first step and `after_step` after
/// every step's parameter and state comparisons (for what a suite records beside them).
pub fn replay_checking<R: Rule, T: Element>(
    case: &Value,
    setup: impl FnOnce(&mut Optimizer<R, T>) -> Result<(), String>,
    mut after_step: impl FnMut(&mut Optimizer<R, T>, &[Param<T>], usize, &mut Worst) -> Result<(), String>,
) -> Result<Worst, String> {
    let dtype = case["dtype"].as_str().unwrap_or_default();
    let shapes: Vec<Vec<usize>> = case["shapes"].as_array().ok_or("no shapes")?.iter().map(shape).collect();
    let init = exactly(&case["init"], shapes.len(), "init")?;
    let params: Vec<Param<T>> = shapes.iter().zip(&init).map(|(s, v)| Param::new(tensor(s, v))).collect();
    let hyper = hyper_from::<R::Hyper>(&case["hyper"])?;
    let mut opt = Optimizer::<R, T>::new(params.clone(), hyper).map_err(|e| e.to_string())?;
    setup(&mut opt)?;
    let mut worst = Worst::default();
    let steps = case["grads"].as_array().ok_or("no grads")?;
    let after = exactly(&case["params_after_step"], steps.len(), "params_after_step")?;
    let states_after = exactly(&case["state_after_step"], steps.len(), "state_after_step")?;
    for (t, grads) in steps.iter().enumerate() {
        for ((p, s), g) in params.iter().zip(&shapes).zip(&exactly(grads, params.len(), "grads of a step")?) {
            p.set_grad(tensor(s, g));
        }
        opt.step().map_err(|e| e.to_string())?;
        let after = exactly(&after[t], params.len(), "params after a step")?;
        let states_after = exactly(&states_after[t], params.len(), "states after a step")?;
        for (i, p) in params.iter().enumerate() {
            let ours: Vec<f64> = p.value().iter().map(|v| v.to_f64()).collect();
            let torch = numbers(&after[i]);
            worst.compare(dtype, &ours, &torch, &format!("step {} param {i}", t + 1))?;
            let state = opt.state(0, i).ok_or_else(|| format!("no state for param {i}"))?;
            worst.compare_states(dtype, state, &states_after[i], &format!("step {} param {i}", t + 1))?;
        }
        after_step(&mut opt, &params, t, &mut worst)?;
    }
    Ok(worst)
}

/// Replays the `param_groups` entry: groups with overrides, then `add_param_group` mid-run.
pub fn replay_groups<R: Rule>(case: &Value) -> Result<Worst, String> {
    let init = case["init"].as_array().ok_or("no init")?;
    let params: Vec<Param<f64>> = init
        .iter()
        .map(|v| {
            let data = numbers(v);
            let shape = infer_shape(v);
            Param::new(ArrayD::from_shape_vec(IxDyn(&shape), data).expect("shape of nested lists"))
        })
        .collect();
    let group = |spec: &Value| -> Group<f64> {
        let members =
            spec["params"].as_array().into_iter().flatten().map(|i| params[i.as_u64().unwrap_or(0) as usize].clone());
        let mut group = Group::new(members.collect());
        for (name, value) in spec.as_object().into_iter().flatten().filter(|(k, _)| *k != "params") {
            group = group.with(name, hyper_value(value));
        }
        group
    };
    let defaults = hyper_from::<R::Hyper>(&case["defaults"])?;
    let groups = case["groups"].as_array().ok_or("no groups")?.iter().map(group).collect();
    let mut opt = Optimizer::<R, f64>::with_groups(groups, defaults).map_err(|e| e.to_string())?;
    let add_at = case["add_param_group_at_step"].as_u64().ok_or("no add step")? as usize;
    let mut worst = Worst::default();
    for (t, step) in case["steps"].as_array().ok_or("no steps")?.iter().enumerate() {
        if t == add_at {
            opt.add_param_group(group(&case["added_group"])).map_err(|e| e.to_string())?;
        }
        // the recording lists the parameters optimized so far: the groups' before the addition
        let active = opt.param_groups().iter().map(|g| g.params().len()).sum::<usize>();
        let params = &params[..active.min(params.len())];
        let grads = exactly(&step["grads"], params.len(), "grads of a groups step")?;
        for (p, g) in params.iter().zip(&grads) {
            let shape = p.value().shape().to_vec();
            p.set_grad(tensor(&shape, g));
        }
        opt.step().map_err(|e| e.to_string())?;
        let after = exactly(&step["params_after_step"], params.len(), "params after a groups step")?;
        for (i, (p, expected)) in params.iter().zip(&after).enumerate() {
            let ours: Vec<f64> = p.value().iter().copied().collect();
            worst.compare("float64", &ours, &numbers(expected), &format!("groups step {} param {i}", t + 1))?;
        }
    }
    Ok(worst)
}

fn infer_shape(value: &Value) -> Vec<usize> {
    match value {
        Value::Array(items) => {
            let mut shape = vec![items.len()];
            if let Some(first) = items.first() {
                shape.extend(infer_shape(first));
            }
            shape
        }
        _ => Vec::new(),
    }
}

/// Checks that the README's line for this suite (the line starting with the summary's title)
/// shows the counts this run printed, so the README's figures come from the tests' output
/// (`scripts/readme_figures.py` rewrites them). Only for the recordings in the repository:
/// `env_vars` naming another recording skip it. Worst errors are shown, not compared: they
/// may differ in the last digit with another platform's `libm`.
pub fn assert_readme_agrees(summary: &str, env_vars: &[&str]) {
    // the script that rewrites the README runs the tests with OPTIM_UPDATING_README set
    if env_vars.iter().chain(&["OPTIM_UPDATING_README"]).any(|var| std::env::var_os(var).is_some()) {
        return;
    }
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md");
    let title = summary.split(':').next().unwrap_or_default();
    let line = readme.lines().find(|line| line.starts_with(&format!("{title}:")));
    let counts = |line: &str| line.split(", worst").next().unwrap_or_default().to_owned();
    let line = line.unwrap_or_else(|| panic!("README.md has no `{title}:` line; run scripts/readme_figures.py"));
    assert_eq!(counts(line), counts(summary), "README.md's figures are stale; run scripts/readme_figures.py");
}
