//! The one registry of every rule the crate ships, with configurations that take their optional
//! branches. The kernel-level, thread-count and allocation tests iterate it, and
//! `registry_names_every_exported_rule` (in `kernel_levels.rs`) checks it against the exports
//! of `builtins` and `zoo`, so a new rule cannot be left out of them.
#![allow(dead_code)] // each test crate uses its own subset

use optim::builtins::*;
use optim::zoo::*;
use optim::{HyperSet, HyperValue, Rule};

/// What a test does with each registered rule and configuration.
pub trait Visit {
    fn visit<R: Rule>(&mut self, label: &str, hyper: R::Hyper);
}

/// `hyper` with each of `settings` set (a misspelt name fails the test).
pub fn with<H: HyperSet>(mut hyper: H, settings: &[(&str, HyperValue)]) -> H {
    for (name, value) in settings {
        hyper.set(name, *value).unwrap_or_else(|e| panic!("registry configuration: {e}"));
    }
    hyper
}

/// Visits every built-in and zoo rule, each with its defaults and with the branches the
/// defaults leave untaken.
pub fn every_rule(v: &mut impl Visit) {
    use HyperValue::{Bool, Float};
    let decay = ("weight_decay", Float(0.01));
    v.visit::<Sgd>("SGD", Sgd::hyper().lr(0.1));
    v.visit::<Sgd>("SGD nesterov", Sgd::hyper().lr(0.1).momentum(0.9).nesterov(true).weight_decay(0.01));
    v.visit::<Adam>("Adam", Adam::hyper());
    v.visit::<Adam>("Adam amsgrad", with(Adam::hyper(), &[("amsgrad", Bool(true)), ("weight_decay", Float(0.1))]));
    v.visit::<AdamW>("AdamW amsgrad", AdamW::hyper().amsgrad(true));
    v.visit::<RmsProp>("RMSprop", RmsProp::hyper());
    v.visit::<RmsProp>("RMSprop centered", RmsProp::hyper().centered(true).momentum(0.5));
    v.visit::<Adagrad>("Adagrad", Adagrad::hyper().lr_decay(0.01).weight_decay(0.1));
    v.visit::<Adadelta>("Adadelta", Adadelta::hyper());
    v.visit::<Adamax>("Adamax", Adamax::hyper());
    v.visit::<NAdam>("NAdam", NAdam::hyper().decoupled_weight_decay(true).weight_decay(0.01));
    v.visit::<RAdam>("RAdam", RAdam::hyper());
    v.visit::<Rprop>("Rprop", Rprop::hyper());
    v.visit::<Asgd>("ASGD", Asgd::hyper().t0(2.0));
    v.visit::<SparseAdam>("SparseAdam", SparseAdam::hyper());
    v.visit::<AdEmaMix>("AdEMAMix", AdEmaMix::hyper());
    v.visit::<AdaBelief>("AdaBelief", with(AdaBelief::hyper(), &[("rectify", Bool(true)), decay]));
    v.visit::<AdaBound>("AdaBound", with(AdaBound::hyper(), &[("ams_bound", Bool(true))]));
    v.visit::<AdaFactor>("AdaFactor", AdaFactor::hyper());
    v.visit::<AdaFactor>("AdaFactor ams", with(AdaFactor::hyper(), &[("ams_bound", Bool(true)), decay]));
    v.visit::<AdaMod>("AdaMod", AdaMod::hyper());
    v.visit::<Adan>("Adan", with(Adan::hyper(), &[decay]));
    v.visit::<DiffGrad>("DiffGrad", DiffGrad::hyper());
    v.visit::<LaProp>("LaProp", with(LaProp::hyper(), &[("centered", Bool(true))]));
    v.visit::<Lamb>("LAMB", Lamb::hyper().weight_decay(0.01));
    v.visit::<Lars>("LARS", Lars::hyper().nesterov(true).weight_decay(1e-4));
    v.visit::<Lion>("Lion", with(Lion::hyper(), &[decay]));
    v.visit::<Madgrad>("MADGRAD", Madgrad::hyper());
    v.visit::<NovoGrad>("NovoGrad", NovoGrad::hyper().grad_averaging(true));
    v.visit::<QHAdam>("QHAdam", QHAdam::hyper());
    v.visit::<SignSgd>("SignSGD", SignSgd::hyper());
    v.visit::<Tiger>("Tiger", Tiger::hyper());
    v.visit::<Yogi>("Yogi", Yogi::hyper());
    let bias = ("use_bias_correction", Bool(true));
    v.visit::<Prodigy>("Prodigy", with(Prodigy::hyper(), &[decay, bias, ("safeguard_warmup", Bool(true))]));
    v.visit::<Prodigy>("Prodigy coupled", with(Prodigy::hyper(), &[decay, ("decouple", Bool(false))]));
    v.visit::<DAdaptAdam>("DAdaptAdam", with(DAdaptAdam::hyper(), &[decay, ("bias_correction", Bool(true))]));
    v.visit::<AdamWScheduleFree>(
        "AdamWScheduleFree",
        with(AdamWScheduleFree::hyper(), &[decay, ("warmup_steps", HyperValue::Int(2))]),
    );
    v.visit::<SGDScheduleFree>("SGDScheduleFree", with(SGDScheduleFree::hyper(), &[decay]));
    v.visit::<Adopt>("ADOPT cautious", with(Adopt::hyper(), &[decay, ("cautious", Bool(true))]));
    v.visit::<Mars>("MARS cautious", with(Mars::hyper(), &[decay, ("cautious", Bool(true))]));
    v.visit::<Mars>("MARS lion", Mars::hyper().mars_type(MarsMarsType::Lion));
    // matrix rules: every visitor runs them on matrices only
    v.visit::<Muon>("Muon", Muon::hyper().lr(0.02));
    let param_dtype = ("ns_dtype", HyperValue::Choice(optim::ChoiceName::new("param").unwrap()));
    let adamw_rms = ("adjust_lr_fn", HyperValue::Choice(optim::ChoiceName::new("match_rms_adamw").unwrap()));
    v.visit::<Muon>(
        "Muon param dtype",
        with(Muon::hyper(), &[param_dtype, adamw_rms, decay, ("nesterov", Bool(false))]),
    );
    let every_step = ("precondition_frequency", HyperValue::Int(1));
    // sides up to 64 rotated (the visitors' 2..65-wide ones): larger sides (257, 300, 1000,
    // 4099, 70 000) are left alone, as `max_precondition_dim` leaves them, so that debug builds
    // do not decompose hundreds of rows at every step of every visitor
    let (every_other, up_to_64) =
        (("precondition_frequency", HyperValue::Int(2)), ("max_precondition_dim", HyperValue::Int(64)));
    v.visit::<Soap>("SOAP", with(Soap::hyper(), &[every_other, up_to_64]));
    v.visit::<Soap>(
        "SOAP one side, normalised",
        with(
            Soap::hyper(),
            &[every_step, ("max_precondition_dim", HyperValue::Int(6)), ("normalize_gradient", Bool(true))],
        ),
    );
}

/// The rule types `builtins` and `zoo` export, read from their `mod.rs` (`pub use x::{Rule,
/// RuleHyper};`), sorted.
pub fn exported_rules() -> Vec<String> {
    let mut names = Vec::new();
    for module in ["builtins", "zoo"] {
        let path = format!("{}/optim-core/src/{module}/mod.rs", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        for line in text.lines().filter(|l| l.starts_with("pub use ")) {
            let inside = line.split(['{', '}']).nth(1).unwrap_or_default();
            names.extend(
                inside.split(',').map(str::trim).filter(|n| !n.is_empty() && !n.ends_with("Hyper")).map(String::from),
            );
        }
    }
    names.sort();
    names
}

/// The rule types the registry visits, sorted and deduplicated.
pub fn registered_rules() -> Vec<String> {
    struct Names(Vec<String>);
    impl Visit for Names {
        fn visit<R: Rule>(&mut self, _: &str, _: R::Hyper) {
            let path = std::any::type_name::<R>();
            self.0.push(path.rsplit("::").next().unwrap_or(path).to_owned());
        }
    }
    let mut names = Names(Vec::new());
    every_rule(&mut names);
    names.0.sort();
    names.0.dedup();
    names.0
}
