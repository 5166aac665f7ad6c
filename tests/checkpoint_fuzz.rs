//! Hostile checkpoint files: every truncation and every bit flip of a small file, then random
//! damage (flips, cuts, insertions, overwritten words, splices between files) to a corpus of
//! files of every kind of state, under a time budget. Each input must be refused with a
//! checkpoint error that leaves the optimizer exactly as it was, or load exactly what was saved:
//! no panic, no other error, no change on refusal, no damaged file accepted.
//!
//! Then hand-built state dicts: a saved one with random edits to every field, loaded with
//! `load_state_dict`. `OPTIM_FUZZ_SECONDS` (default 3) and `PROPTEST_CASES` (default 2000) size
//! each random part; CI runs the defaults.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use ndarray::ArrayD;
use optim::builtins::{Adam, NAdam, Sgd};
use optim::checkpoint::CheckpointError;
use optim::zoo::AdaFactor;
use optim::{Element, OptimError, Optimizer, Param, Rule};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};

/// What a run of hostile inputs did: the figures the issue asks for.
#[derive(Default, Debug)]
struct Figures {
    inputs: u64,
    panics: u64,
    untyped_errors: u64,
    state_changes: u64,
    bad_inputs_accepted: u64,
    intact_loads: u64,
    refusals: BTreeMap<String, u64>,
}

impl Figures {
    fn assert_clean(&self, title: &str) {
        println!(
            "{title}: {} inputs tried, {} panics, {} untyped errors, {} state changes, {} bad inputs accepted \
             ({} loaded intact; refusals by kind: {:?})",
            self.inputs,
            self.panics,
            self.untyped_errors,
            self.state_changes,
            self.bad_inputs_accepted,
            self.intact_loads,
            self.refusals
        );
        assert!(self.inputs > 0);
        let bad = (self.panics, self.untyped_errors, self.state_changes, self.bad_inputs_accepted);
        assert_eq!(bad, (0, 0, 0, 0), "{self:?}");
    }
}

/// The kind of a refusal, for the tally: the variant, and the corruption kind where there is one.
fn refusal_kind(error: &CheckpointError) -> String {
    match error {
        CheckpointError::Corrupt { kind, .. } => format!("Corrupt({kind:?})"),
        other => format!("{other:?}").split([' ', '(', '{']).next().unwrap_or_default().to_owned(),
    }
}

/// Loads an input into a fresh optimizer of a seed's structure and records the outcome.
type Loader = Box<dyn Fn(&[u8], &mut Figures)>;

/// One seed of the corpus: a saved optimizer, and how to build a fresh one of the same structure
/// for each input to be loaded into.
struct Seed {
    bytes: Vec<u8>,
    load: Loader,
}

fn seed<R: Rule + Debug, T: Element>(hyper: R::Hyper, shapes: &[&[usize]], steps: usize) -> Seed {
    let build = {
        let (hyper, shapes): (R::Hyper, Vec<Vec<usize>>) = (hyper.clone(), shapes.iter().map(|s| s.to_vec()).collect());
        move || {
            let params: Vec<Param<T>> =
                shapes.iter().map(|s| Param::new(ArrayD::from_elem(s.clone(), T::from_f64(0.5)))).collect();
            (Optimizer::<R, T>::new(params.clone(), hyper.clone()).unwrap(), params)
        }
    };
    let (mut saved, params) = build();
    for step in 0..steps {
        for p in &params {
            let shape = p.value().shape().to_vec();
            p.set_grad(ArrayD::from_elem(shape, T::from_f64(0.1 * step as f64 - 0.15)));
        }
        saved.step().unwrap();
    }
    let expected = saved.state_dict();
    let bytes = saved.to_bytes().unwrap();
    let load = move |input: &[u8], figures: &mut Figures| {
        let (mut target, _) = build();
        let before = format!("{target:?}");
        figures.inputs += 1;
        match catch_unwind(AssertUnwindSafe(|| target.load_bytes(input))) {
            Err(_) => figures.panics += 1,
            Ok(Ok(())) if target.state_dict() == expected => figures.intact_loads += 1,
            Ok(Ok(())) => figures.bad_inputs_accepted += 1,
            Ok(Err(OptimError::Checkpoint(error))) => {
                *figures.refusals.entry(refusal_kind(&error)).or_default() += 1;
                if format!("{target:?}") != before {
                    figures.state_changes += 1;
                }
            }
            Ok(Err(_)) => figures.untyped_errors += 1,
        }
    };
    Seed { bytes, load: Box::new(load) }
}

/// Files of every kind of state: momentum, two groups in f64 with amsgrad, scalar states,
/// factored row/column state beside a vector's full state, and no state at all.
fn corpus() -> Vec<Seed> {
    vec![
        seed::<Sgd, f32>(Sgd::hyper().momentum(0.9), &[&[2]], 2),
        seed::<Adam, f64>(Adam::hyper().amsgrad(true), &[&[2, 3], &[4]], 3),
        seed::<NAdam, f32>(NAdam::hyper(), &[&[3]], 2),
        seed::<AdaFactor, f32>(AdaFactor::hyper(), &[&[3, 4], &[5]], 2),
        seed::<Adam, f32>(Adam::hyper(), &[&[1]], 0),
    ]
}

#[test]
fn every_truncation_and_bit_flip_of_a_small_file() {
    let seeds = corpus();
    let small = &seeds[0];
    let mut figures = Figures::default();
    (small.load)(&small.bytes, &mut figures);
    for len in 0..small.bytes.len() {
        (small.load)(&small.bytes[..len], &mut figures);
    }
    for at in 0..small.bytes.len() {
        for bit in 0..8 {
            let mut flipped = small.bytes.clone();
            flipped[at] ^= 1 << bit;
            (small.load)(&flipped, &mut figures);
        }
    }
    figures.assert_clean(&format!("exhaustive ({} bytes)", small.bytes.len()));
    assert_eq!(figures.intact_loads, 1, "only the undamaged file loads");
}

#[derive(Debug, Clone)]
enum Damage {
    FlipBit(prop::sample::Index, u8),
    Truncate(prop::sample::Index),
    Insert(prop::sample::Index, u8),
    /// A little-endian word written over the file (the length prefix, offsets, sizes).
    Overwrite(prop::sample::Index, u64),
    /// A piece of another file of the corpus pasted in.
    Splice(prop::sample::Index, prop::sample::Index, prop::sample::Index, usize),
}

fn damage() -> impl Strategy<Value = Damage> {
    let index = any::<prop::sample::Index>;
    prop_oneof![
        3 => (index(), 0u8..8).prop_map(|(at, bit)| Damage::FlipBit(at, bit)),
        1 => index().prop_map(Damage::Truncate),
        2 => (index(), any::<u8>()).prop_map(|(at, byte)| Damage::Insert(at, byte)),
        2 => (index(), any::<u64>()).prop_map(|(at, word)| Damage::Overwrite(at, word)),
        1 => (index(), index(), index(), 1usize..64).prop_map(|(s, from, to, len)| Damage::Splice(s, from, to, len)),
    ]
}

fn apply(mut bytes: Vec<u8>, damages: &[Damage], corpus: &[Seed]) -> Vec<u8> {
    for damage in damages {
        let len = bytes.len();
        match damage {
            Damage::Insert(at, byte) => bytes.insert(at.index(len + 1), *byte),
            _ if len == 0 => {}
            Damage::FlipBit(at, bit) => bytes[at.index(len)] ^= 1 << bit,
            Damage::Truncate(to) => bytes.truncate(to.index(len)),
            Damage::Overwrite(at, word) => {
                let at = at.index(len);
                let end = (at + 8).min(len);
                bytes[at..end].copy_from_slice(&word.to_le_bytes()[..end - at]);
            }
            Damage::Splice(seed, from, to, piece) => {
                let other = &corpus[seed.index(corpus.len())].bytes;
                let from = from.index(other.len());
                let piece = &other[from..(from + piece).min(other.len())];
                let to = to.index(len);
                let end = (to + piece.len()).min(len);
                bytes[to..end].copy_from_slice(&piece[..end - to]);
            }
        }
    }
    bytes
}

/// Runs `body` on values drawn from `strategy`: `PROPTEST_CASES` of them (default 2000), for
/// at most `OPTIM_FUZZ_SECONDS` (default 3). A value after which `figures` counts a failure is
/// printed, so a CI failure can be reproduced.
fn fuzz<S: Strategy>(strategy: S, figures: &mut Figures, mut body: impl FnMut(&S::Value, &mut Figures))
where
    S::Value: Debug,
{
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<f64>().ok());
    let budget = Duration::from_secs_f64(env("OPTIM_FUZZ_SECONDS").unwrap_or(3.0));
    let cases = env("PROPTEST_CASES").unwrap_or(2000.0) as u64;
    let mut runner = TestRunner::new(Config { failure_persistence: None, ..Config::default() });
    let started = Instant::now();
    for _ in 0..cases {
        if started.elapsed() > budget {
            break;
        }
        let value = strategy.new_tree(&mut runner).expect("a value").current();
        let failures = |f: &Figures| f.panics + f.untyped_errors + f.state_changes + f.bad_inputs_accepted;
        let before = failures(figures);
        body(&value, figures);
        if failures(figures) > before {
            eprintln!("failing input: {value:?}");
        }
    }
}

#[test]
fn random_damage_to_a_corpus_of_files() {
    let corpus = corpus();
    let mut figures = Figures::default();
    let started = Instant::now();
    let strategy = (any::<prop::sample::Index>(), prop::collection::vec(damage(), 1..4));
    fuzz(strategy, &mut figures, |(which, damages), figures| {
        let seed = &corpus[which.index(corpus.len())];
        (seed.load)(&apply(seed.bytes.clone(), damages, &corpus), figures);
    });
    figures.assert_clean(&format!("random damage ({:.1?})", started.elapsed()));
}

/// One edit of a hand-built state dict.
#[derive(Debug, Clone)]
enum Edit {
    Steps(u64),
    ParamStep(prop::sample::Index, u64),
    DropTensor(prop::sample::Index, prop::sample::Index),
    Tensor(prop::sample::Index, &'static str, Vec<usize>),
    Scalar(prop::sample::Index, &'static str, f64),
    Hyper(prop::sample::Index, &'static str, optim::HyperValue),
    DropHyper(prop::sample::Index, prop::sample::Index),
    ParamIndex(prop::sample::Index, prop::sample::Index, usize),
    DropEntry(prop::sample::Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    use optim::HyperValue::{Bool, Float, Int, Pair};
    let index = any::<prop::sample::Index>;
    let name = prop::sample::select(vec!["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer", "lr", "x"]);
    let float = prop_oneof![any::<f64>(), Just(f64::NAN), Just(f64::INFINITY), Just(-1.0), Just(0.0), Just(1e300)];
    let hyper = prop_oneof![
        float.clone().prop_map(Float),
        any::<bool>().prop_map(Bool),
        any::<i64>().prop_map(Int),
        (float.clone(), float.clone()).prop_map(|(a, b)| Pair(a, b)),
    ];
    let steps = prop_oneof![Just(0u64), Just(1 << 53), Just((1 << 53) + 1), Just(u64::MAX), 0u64..10];
    prop_oneof![
        steps.clone().prop_map(Edit::Steps),
        (index(), steps).prop_map(|(i, s)| Edit::ParamStep(i, s)),
        (index(), index()).prop_map(|(i, t)| Edit::DropTensor(i, t)),
        (index(), name.clone(), prop::collection::vec(0usize..5, 0..3)).prop_map(|(i, n, s)| Edit::Tensor(i, n, s)),
        (index(), name.clone(), float).prop_map(|(i, n, v)| Edit::Scalar(i, n, v)),
        (index(), name.clone(), hyper).prop_map(|(g, n, v)| Edit::Hyper(g, n, v)),
        (index(), index()).prop_map(|(g, k)| Edit::DropHyper(g, k)),
        (index(), index(), 0usize..6).prop_map(|(g, p, v)| Edit::ParamIndex(g, p, v)),
        index().prop_map(Edit::DropEntry),
    ]
}

fn edit_dict(sd: &mut optim::StateDict<f64>, edit: &Edit) {
    let entry_keys: Vec<usize> = sd.state.keys().copied().collect();
    let entry = |i: &prop::sample::Index| (!entry_keys.is_empty()).then(|| entry_keys[i.index(entry_keys.len())]);
    match edit {
        Edit::Steps(s) => sd.steps_taken = *s,
        Edit::ParamStep(i, s) => {
            if let Some(k) = entry(i) {
                sd.state.get_mut(&k).unwrap().step = *s;
            }
        }
        Edit::DropTensor(i, t) => {
            if let Some(k) = entry(i) {
                let tensors = &mut sd.state.get_mut(&k).unwrap().tensors;
                if let Some(name) = tensors.keys().nth(t.index(tensors.len().max(1))).cloned() {
                    tensors.remove(&name);
                }
            }
        }
        Edit::Tensor(i, name, shape) => {
            if let Some(k) = entry(i) {
                let tensor = ArrayD::from_elem(shape.clone(), 0.25);
                sd.state.get_mut(&k).unwrap().tensors.insert((*name).to_owned(), tensor);
            }
        }
        Edit::Scalar(i, name, v) => {
            if let Some(k) = entry(i) {
                sd.state.get_mut(&k).unwrap().scalars.insert((*name).to_owned(), *v);
            }
        }
        Edit::Hyper(g, name, v) => {
            let len = sd.param_groups.len();
            sd.param_groups[g.index(len)].hyper.insert((*name).to_owned(), *v);
        }
        Edit::DropHyper(g, k) => {
            let len = sd.param_groups.len();
            let hyper = &mut sd.param_groups[g.index(len)].hyper;
            if let Some(name) = hyper.keys().nth(k.index(hyper.len().max(1))).cloned() {
                hyper.remove(&name);
            }
        }
        Edit::ParamIndex(g, p, v) => {
            let len = sd.param_groups.len();
            let params = &mut sd.param_groups[g.index(len)].params;
            let at = p.index(params.len());
            params[at] = *v;
        }
        Edit::DropEntry(i) => {
            if let Some(k) = entry(i) {
                sd.state.remove(&k);
            }
        }
    }
}

/// What loading `sd` must give when it is accepted: as PyTorch, parameters are matched by
/// position, so the checkpoint's indices are renumbered in order; an integer given for a float
/// hyperparameter reads as that float.
fn canonical(sd: &optim::StateDict<f64>) -> optim::StateDict<f64> {
    let mut out = sd.clone();
    let mut position = 0;
    out.state.clear();
    for group in &mut out.param_groups {
        for index in &mut group.params {
            if let Some(entry) = sd.state.get(index) {
                out.state.insert(position, entry.clone());
            }
            *index = position;
            position += 1;
        }
        for value in group.hyper.values_mut() {
            if let optim::HyperValue::Int(i) = *value {
                *value = optim::HyperValue::Float(i as f64);
            }
        }
    }
    out
}

/// Hand-built state dicts: a saved one (two groups, amsgrad) with random edits to every field.
/// Each is refused leaving the optimizer as it was, or loaded and then saved back unchanged.
#[test]
fn hand_built_state_dicts() {
    let build = || {
        let params: Vec<Param<f64>> =
            [&[2usize, 3][..], &[4]].iter().map(|s| Param::new(ArrayD::ones(s.to_vec()))).collect();
        let groups = vec![
            optim::Group::new(vec![params[0].clone()]),
            optim::Group::new(vec![params[1].clone()]).with("lr", 0.5),
        ];
        (Optimizer::<Adam, f64>::with_groups(groups, Adam::hyper().amsgrad(true)).unwrap(), params)
    };
    let (mut source, params) = build();
    for p in &params {
        p.set_grad(ArrayD::from_elem(p.value().shape().to_vec(), 0.3));
    }
    source.step().unwrap();
    let saved = source.state_dict();
    let mut figures = Figures::default();
    fuzz(prop::collection::vec(edit(), 1..4), &mut figures, |edits, figures| {
        let mut sd = saved.clone();
        for e in edits {
            edit_dict(&mut sd, e);
        }
        let (mut target, _) = build();
        let before = format!("{target:?}");
        figures.inputs += 1;
        match catch_unwind(AssertUnwindSafe(|| target.load_state_dict(&sd))) {
            Err(_) => figures.panics += 1,
            Ok(Ok(())) if target.state_dict() == canonical(&sd) => figures.intact_loads += 1,
            Ok(Ok(())) => figures.bad_inputs_accepted += 1,
            Ok(Err(OptimError::Checkpoint(error))) => {
                *figures.refusals.entry(refusal_kind(&error)).or_default() += 1;
                if format!("{target:?}") != before {
                    figures.state_changes += 1;
                }
            }
            Ok(Err(_)) => figures.untyped_errors += 1,
        }
    });
    figures.assert_clean("hand-built state dicts");
}
