//! The built-ins under benchmark, each with its fused rule's hyperparameters and the naive
//! version configured the same way. PyTorch's defaults throughout, except SGD, which gets a
//! momentum of 0.9 so that it has a state to stream.

#![allow(dead_code)]

use optim::Rule;
use optim::builtins::*;

use crate::naive::{self, Naive};

/// Something done once per built-in, generic over its rule.
pub trait Visit {
    /// Called with the rule's label (PyTorch's class name), its hyperparameters and a
    /// constructor of the matching naive version.
    fn visit<R: Rule>(&mut self, label: &'static str, hyper: R::Hyper, naive: fn() -> Box<dyn Naive>);
}

/// Calls `visitor` for every built-in, in the order of the results tables.
pub fn builtins(visitor: &mut impl Visit) {
    visitor.visit::<Sgd>("SGD", Sgd::hyper().momentum(0.9), || {
        Box::new(naive::Sgd { momentum: 0.9, ..Default::default() })
    });
    visitor.visit::<Adam>("Adam", Adam::hyper(), || Box::new(naive::Adam::default()));
    visitor.visit::<AdamW>("AdamW", AdamW::hyper(), || Box::new(naive::Adam::adamw()));
    visitor.visit::<RmsProp>("RMSprop", RmsProp::hyper(), || Box::new(naive::RmsProp::default()));
    visitor.visit::<Adagrad>("Adagrad", Adagrad::hyper(), || Box::new(naive::Adagrad::default()));
    visitor.visit::<Adadelta>("Adadelta", Adadelta::hyper(), || Box::new(naive::Adadelta::default()));
    visitor.visit::<Adamax>("Adamax", Adamax::hyper(), || Box::new(naive::Adamax::default()));
    visitor.visit::<NAdam>("NAdam", NAdam::hyper(), || Box::new(naive::NAdam::default()));
    visitor.visit::<RAdam>("RAdam", RAdam::hyper(), || Box::new(naive::RAdam::default()));
    visitor.visit::<Rprop>("Rprop", Rprop::hyper(), || Box::new(naive::Rprop::default()));
    visitor.visit::<Asgd>("ASGD", Asgd::hyper(), || Box::new(naive::Asgd::default()));
    visitor.visit::<SparseAdam>("SparseAdam", SparseAdam::hyper(), || Box::new(naive::SparseAdam::default()));
}
