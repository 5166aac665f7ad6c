//! Parity with learning rates recorded from real `torch.optim.lr_scheduler`:
//!
//! - the `schedulers` entries of `tests/data/torch-golden.json` (or of the file named by
//!   `OPTIM_TORCH_GOLDEN`): SGD(lr=0.1) driven for some epochs, the lr in force at every step;
//! - `tests/data/torch-schedulers-golden.json` (written by `tests/data/gen_scheduler_golden.py`):
//!   every policy including the closures and the composites, several param groups, SGD and Adam,
//!   and the momentum (or first beta) that CyclicLR and OneCycleLR cycle.
//!
//! The loop is torch's: record, `optimizer.step()`, `scheduler.step()`; for ReduceLROnPlateau,
//! `optimizer.step()`, `scheduler.step(metric)`, record.

mod golden;

use optim::builtins::{Adam, Sgd};
use optim::lr_scheduler::{
    Anneal, ChainedScheduler, ConstantLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, CyclicConfig, CyclicLR,
    CyclicMode, ExponentialLR, LambdaLR, LinearLR, LrScheduler, LrTarget, MultiStepLR, MultiplicativeLR,
    OneCycleConfig, OneCycleLR, PerGroup, PlateauConfig, PlateauMode, PolynomialLR, ReduceLROnPlateau, SequentialLR,
    StepLR, ThresholdMode,
};
use optim::{Group, HyperValue, Optimizer, Param, Rule};
use serde_json::{Map, Value, json};

const REL: f64 = 1e-12;

/// The recorded keyword arguments, each read at most once; `finish` refuses any left unread so
/// that an argument in a recording cannot be silently ignored.
struct Args<'a> {
    map: &'a Map<String, Value>,
    read: Vec<&'a str>,
}

impl<'a> Args<'a> {
    fn new(spec: &'a Value) -> Self {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        let map = spec.get("args").and_then(Value::as_object).unwrap_or_else(|| EMPTY.get_or_init(Map::new));
        Args { map, read: Vec::new() }
    }

    fn value(&mut self, key: &'a str) -> Option<&'a Value> {
        self.read.push(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn float(&mut self, key: &'a str, default: f64) -> f64 {
        self.value(key).map_or(default, |v| v.as_f64().unwrap_or_else(|| panic!("{key} is not a number")))
    }

    fn count(&mut self, key: &'a str, default: u64) -> u64 {
        self.value(key).map_or(default, |v| v.as_u64().unwrap_or_else(|| panic!("{key} is not a count")))
    }

    fn counts(&mut self, key: &'a str) -> Vec<u64> {
        let values = self.value(key).and_then(Value::as_array).unwrap_or_else(|| panic!("{key} is not a list"));
        values.iter().map(|v| v.as_u64().expect("count")).collect()
    }

    fn text(&mut self, key: &'a str, default: &'a str) -> &'a str {
        self.value(key).map_or(default, |v| v.as_str().unwrap_or_else(|| panic!("{key} is not a string")))
    }

    fn flag(&mut self, key: &'a str, default: bool) -> bool {
        self.value(key).map_or(default, |v| v.as_bool().unwrap_or_else(|| panic!("{key} is not a bool")))
    }

    fn per_group(&mut self, key: &'a str, default: f64) -> PerGroup {
        match self.value(key) {
            None => PerGroup::All(default),
            Some(Value::Array(values)) => PerGroup::Each(values.iter().map(|v| v.as_f64().expect("number")).collect()),
            Some(v) => PerGroup::All(v.as_f64().unwrap_or_else(|| panic!("{key} is not a number"))),
        }
    }

    fn finish(self) -> Result<(), String> {
        match self.map.keys().find(|k| !self.read.contains(&k.as_str())) {
            None => Ok(()),
            Some(key) => Err(format!("argument `{key}` is not replayed by this test")),
        }
    }
}

/// The closures of `gen_scheduler_golden.py`, by name, with Python's arithmetic.
fn lambda(name: &str) -> Box<dyn Fn(u64) -> f64 + Send + Sync> {
    match name {
        "pow095" => Box::new(|e| 0.95f64.powf(e as f64)),
        "inverse" => Box::new(|e| 1.0 / (e + 1) as f64),
        "step3" => Box::new(|e| (e / 3) as f64),
        "warmup4" => Box::new(|e| {
            let ramp = (e + 1) as f64 / 4.0;
            if ramp < 1.0 { ramp } else { 1.0 }
        }),
        "shrink" => Box::new(|e| 1.0 - 0.01 * e as f64),
        other => panic!("unknown lambda {other}"),
    }
}

fn lambdas(args: &mut Args<'_>, groups: usize) -> Vec<Box<dyn Fn(u64) -> f64 + Send + Sync>> {
    match args.value("lr_lambda").expect("lr_lambda") {
        Value::Array(names) => names.iter().map(|n| lambda(n.as_str().expect("lambda name"))).collect(),
        name => (0..groups).map(|_| lambda(name.as_str().expect("lambda name"))).collect(),
    }
}

fn build(spec: &Value, opt: &mut dyn LrTarget) -> Result<Box<dyn LrScheduler>, String> {
    let kind = spec["type"].as_str().expect("type");
    if kind == "SequentialLR" || kind == "ChainedScheduler" {
        let members = spec["schedulers"].as_array().expect("schedulers");
        let members = members.iter().map(|m| build(m, opt)).collect::<Result<Vec<_>, _>>()?;
        return if kind == "SequentialLR" {
            let milestones = spec["milestones"].as_array().expect("milestones").iter();
            let milestones = milestones.map(|m| m.as_u64().expect("milestone")).collect();
            SequentialLR::new(opt, members, milestones).map(|s| Box::new(s) as _).map_err(|e| e.to_string())
        } else {
            ChainedScheduler::new(opt, members).map(|s| Box::new(s) as _).map_err(|e| e.to_string())
        };
    }
    let mut args = Args::new(spec);
    let groups = opt.group_count();
    let sched: Result<Box<dyn LrScheduler>, _> = match kind {
        "StepLR" => StepLR::new(opt, args.count("step_size", 0), args.float("gamma", 0.1)).map(|s| Box::new(s) as _),
        "MultiStepLR" => {
            MultiStepLR::new(opt, args.counts("milestones"), args.float("gamma", 0.1)).map(|s| Box::new(s) as _)
        }
        "ConstantLR" => ConstantLR::new(opt, args.float("factor", 1.0 / 3.0), args.count("total_iters", 5))
            .map(|s| Box::new(s) as _),
        "LinearLR" => LinearLR::new(
            opt,
            args.float("start_factor", 1.0 / 3.0),
            args.float("end_factor", 1.0),
            args.count("total_iters", 5),
        )
        .map(|s| Box::new(s) as _),
        "ExponentialLR" => ExponentialLR::new(opt, args.float("gamma", f64::NAN)).map(|s| Box::new(s) as _),
        "PolynomialLR" => {
            PolynomialLR::new(opt, args.count("total_iters", 5), args.float("power", 1.0)).map(|s| Box::new(s) as _)
        }
        "CosineAnnealingLR" => {
            CosineAnnealingLR::new(opt, args.count("T_max", 0), args.float("eta_min", 0.0)).map(|s| Box::new(s) as _)
        }
        "CosineAnnealingWarmRestarts" => CosineAnnealingWarmRestarts::new(
            opt,
            args.count("T_0", 0),
            args.count("T_mult", 1),
            args.float("eta_min", 0.0),
        )
        .map(|s| Box::new(s) as _),
        "LambdaLR" => LambdaLR::per_group(opt, lambdas(&mut args, groups)).map(|s| Box::new(s) as _),
        "MultiplicativeLR" => MultiplicativeLR::per_group(opt, lambdas(&mut args, groups)).map(|s| Box::new(s) as _),
        "OneCycleLR" => {
            let mut config = match args.value("total_steps") {
                Some(total) => OneCycleConfig::new(0.0, total.as_u64().expect("total_steps")),
                None => OneCycleConfig::from_epochs(0.0, args.count("epochs", 0), args.count("steps_per_epoch", 0)),
            };
            config.max_lr = args.per_group("max_lr", f64::NAN);
            config.pct_start = args.float("pct_start", 0.3);
            config.anneal = match args.text("anneal_strategy", "cos") {
                "cos" => Anneal::Cos,
                "linear" => Anneal::Linear,
                other => panic!("anneal_strategy {other}"),
            };
            config.cycle_momentum = args.flag("cycle_momentum", true);
            config.base_momentum = args.per_group("base_momentum", 0.85);
            config.max_momentum = args.per_group("max_momentum", 0.95);
            config.div_factor = args.float("div_factor", 25.0);
            config.final_div_factor = args.float("final_div_factor", 1e4);
            config.three_phase = args.flag("three_phase", false);
            OneCycleLR::new(opt, config).map(|s| Box::new(s) as _)
        }
        "CyclicLR" => {
            let mut config = CyclicConfig::new(args.per_group("base_lr", f64::NAN), args.per_group("max_lr", f64::NAN));
            config.step_size_up = args.count("step_size_up", 2000);
            config.step_size_down = args.value("step_size_down").map(|v| v.as_u64().expect("step_size_down"));
            let gamma = args.float("gamma", 1.0);
            config.mode = match args.text("mode", "triangular") {
                "triangular" => CyclicMode::Triangular,
                "triangular2" => CyclicMode::Triangular2,
                "exp_range" => CyclicMode::ExpRange { gamma },
                other => panic!("mode {other}"),
            };
            config.cycle_momentum = args.flag("cycle_momentum", true);
            config.base_momentum = args.per_group("base_momentum", 0.8);
            config.max_momentum = args.per_group("max_momentum", 0.9);
            CyclicLR::new(opt, config).map(|s| Box::new(s) as _)
        }
        other => return Err(format!("no replay for {other}")),
    };
    args.finish()?;
    sched.map_err(|e| e.to_string())
}

fn plateau(spec: &Value, opt: &dyn LrTarget) -> Result<ReduceLROnPlateau, String> {
    let mut args = Args::new(spec);
    let config = PlateauConfig {
        mode: match args.text("mode", "min") {
            "min" => PlateauMode::Min,
            "max" => PlateauMode::Max,
            other => panic!("mode {other}"),
        },
        factor: args.float("factor", 0.1),
        patience: args.count("patience", 10),
        threshold: args.float("threshold", 1e-4),
        threshold_mode: match args.text("threshold_mode", "rel") {
            "rel" => ThresholdMode::Rel,
            "abs" => ThresholdMode::Abs,
            other => panic!("threshold_mode {other}"),
        },
        cooldown: args.count("cooldown", 0),
        min_lr: args.per_group("min_lr", 0.0),
        eps: args.float("eps", 1e-8),
    };
    args.finish()?;
    ReduceLROnPlateau::new(opt, config).map_err(|e| e.to_string())
}

/// The worst relative error seen so far.
#[derive(Default)]
struct Worst(f64);

impl Worst {
    fn compare(&mut self, ours: f64, torch: f64, what: &str) -> Result<(), String> {
        let error = if ours == torch { 0.0 } else { (ours - torch).abs() / torch.abs() };
        if error.is_nan() || error > REL {
            return Err(format!("{what}: ours {ours:e}, torch {torch:e} (relative error {error:e})"));
        }
        self.0 = self.0.max(error);
        Ok(())
    }
}

fn matrix(value: &Value) -> Vec<Vec<f64>> {
    let rows = value.as_array().expect("a list of steps");
    rows.iter()
        .map(|r| r.as_array().expect("a list of groups").iter().map(|v| v.as_f64().expect("f64")).collect())
        .collect()
}

fn lr(opt: &dyn LrTarget, group: usize) -> f64 {
    opt.group_hyper(group, "lr").and_then(HyperValue::as_f64).expect("lr")
}

/// The cycled momentum of `group`: `momentum`, or the first of `betas`.
fn momentum(opt: &dyn LrTarget, group: usize) -> f64 {
    match opt.group_hyper(group, if opt.has_hyper("betas") { "betas" } else { "momentum" }) {
        Some(HyperValue::Pair(beta1, _)) => beta1,
        Some(HyperValue::Float(m)) => m,
        other => panic!("no momentum: {other:?}"),
    }
}

/// Replays one case (the format of `torch-schedulers-golden.json`) on an optimizer of rule `R`.
fn replay<R: Rule>(case: &Value, defaults: R::Hyper) -> Result<f64, String> {
    let specs = case["groups"].as_array().expect("groups");
    let params: Vec<Param<f64>> = specs.iter().map(|_| Param::new(ndarray::arr1(&[1.0f64, -2.0]).into_dyn())).collect();
    let mut groups = Vec::new();
    for (spec, param) in specs.iter().zip(&params) {
        let mut group = Group::new(vec![param.clone()]);
        for (name, value) in spec.as_object().expect("group") {
            group = match value {
                Value::Array(pair) => group.with(name, (pair[0].as_f64().unwrap(), pair[1].as_f64().unwrap())),
                v => group.with(name, v.as_f64().expect("hyperparameter")),
            };
        }
        groups.push(group);
    }
    let mut opt = Optimizer::<R, f64>::with_groups(groups, defaults).map_err(|e| e.to_string())?;
    let spec = &case["spec"];
    let expected_lr = matrix(&case["lr"]);
    let expected_momentum = case.get("momentum").map(matrix);
    let mut worst = Worst::default();
    let check = |opt: &Optimizer<R, f64>, step: usize, worst: &mut Worst| -> Result<(), String> {
        for (g, &torch) in expected_lr[step].iter().enumerate() {
            worst.compare(lr(opt, g), torch, &format!("lr of group {g} at step {step}"))?;
        }
        if let Some(expected) = &expected_momentum {
            for (g, &torch) in expected[step].iter().enumerate() {
                worst.compare(momentum(opt, g), torch, &format!("momentum of group {g} at step {step}"))?;
            }
        }
        Ok(())
    };
    let grads = |params: &[Param<f64>]| params.iter().for_each(|p| p.set_grad(ndarray::arr1(&[0.5, -0.25]).into_dyn()));
    if spec["type"] == "ReduceLROnPlateau" {
        let mut sched = plateau(spec, &opt)?;
        let metrics: Vec<f64> =
            case["metrics"].as_array().expect("metrics").iter().map(|m| m.as_f64().unwrap()).collect();
        for (step, &metric) in metrics.iter().enumerate() {
            grads(&params);
            opt.step().map_err(|e| format!("optimizer step {step}: {e}"))?;
            sched.step(&mut opt, metric).map_err(|e| format!("scheduler step {step}: {e}"))?;
            check(&opt, step, &mut worst)?;
            let last: Vec<f64> = (0..opt.group_count()).map(|g| lr(&opt, g)).collect();
            if sched.get_last_lr() != last.as_slice() {
                return Err(format!("get_last_lr {:?} differs from the groups' {last:?}", sched.get_last_lr()));
            }
        }
    } else {
        let mut sched = build(spec, &mut opt)?;
        for step in 0..expected_lr.len() {
            check(&opt, step, &mut worst)?;
            grads(&params);
            opt.step().map_err(|e| format!("optimizer step {step}: {e}"))?;
            sched.step(&mut opt).map_err(|e| format!("scheduler step {step}: {e}"))?;
        }
    }
    if !params.iter().all(|p| p.value().iter().all(|x| x.is_finite())) {
        return Err("parameters are not finite".into());
    }
    Ok(worst.0)
}

fn replay_any(case: &Value) -> Result<f64, String> {
    match case["optimizer"].as_str().expect("optimizer") {
        "SGD" => replay::<Sgd>(case, Sgd::hyper().lr(0.1)),
        "Adam" => replay::<Adam>(case, Adam::hyper().lr(0.1)),
        other => Err(format!("no optimizer {other}")),
    }
}

/// A `schedulers` entry of `torch-golden.json` in the format of `torch-schedulers-golden.json`.
fn from_torch_golden(entry: &Value) -> Value {
    let name = entry["scheduler"].as_str().expect("scheduler");
    let mut case = json!({
        "name": name,
        "optimizer": "SGD",
        "groups": [{"lr": entry["base_lr"]}],
        "spec": {"type": name, "args": entry["args"]},
    });
    let column = |key: &str| Value::Array(entry[key].as_array().expect(key).iter().map(|v| json!([v])).collect());
    if name == "ReduceLROnPlateau" {
        case["metrics"] = entry["metrics"].clone();
        case["lr"] = column("lr_after_metric");
    } else {
        case["lr"] = column("lr_per_step");
    }
    case
}

#[test]
fn every_recorded_schedule_matches_torch() {
    let golden = golden::recording("OPTIM_TORCH_GOLDEN", "torch-golden.json");
    let extended = golden::load(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/torch-schedulers-golden.json"));
    let mut cases: Vec<(String, Value)> = Vec::new();
    for entry in golden["schedulers"].as_array().expect("schedulers") {
        cases.push((format!("torch-golden {} {}", entry["scheduler"], entry["args"]), from_torch_golden(entry)));
    }
    for case in extended["cases"].as_array().expect("cases") {
        cases.push((format!("torch-schedulers-golden {}", case["name"]), case.clone()));
    }
    let mut tally = golden::Tally::default();
    for (label, case) in &cases {
        match replay_any(case) {
            Ok(error) => {
                println!("{label}: worst relative error {error:.2e}");
                tally.pass("float64", error);
            }
            Err(mismatch) => tally.fail(label, mismatch),
        }
    }
    let summary =
        format!("scheduler parity: {} cases checked, worst relative error {:.2e}", tally.checked, tally.worst64);
    println!("{summary}");
    golden::assert_readme_agrees(&summary, &["OPTIM_TORCH_GOLDEN"]);
    tally.assert_no_failures();
    let checked = tally.checked;
    assert!(checked >= 30, "only {checked} scheduler cases were checked");
}
