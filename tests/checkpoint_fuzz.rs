//! Hostile checkpoint files: every truncation and every bit flip of a small file, then random
//! damage (flips, cuts, insertions, overwritten words, splices between files) to a corpus of
//! files of every kind of state, under a time budget. Each input must be refused with a
//! checkpoint error that leaves the optimizer exactly as it was, or load exactly what was saved:
//! no panic, no other error, no change on refusal, no damaged file accepted.
//!
//! `OPTIM_FUZZ_SECONDS` (default 3) and `PROPTEST_CASES` (default 2000) size the random part;
//! CI runs the defaults.

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

#[test]
fn random_damage_to_a_corpus_of_files() {
    let budget =
        Duration::from_secs_f64(std::env::var("OPTIM_FUZZ_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3.0));
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let corpus = corpus();
    let figures = std::cell::RefCell::new(Figures::default());
    let started = Instant::now();
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let strategy = (any::<prop::sample::Index>(), prop::collection::vec(damage(), 1..4));
    runner
        .run(&strategy, |(which, damages)| {
            if started.elapsed() > budget {
                return Ok(()); // over budget: the remaining cases are not run
            }
            let seed = &corpus[which.index(corpus.len())];
            let input = apply(seed.bytes.clone(), &damages, &corpus);
            (seed.load)(&input, &mut figures.borrow_mut());
            Ok(())
        })
        .unwrap();
    figures.borrow().assert_clean(&format!("random damage ({:.1?})", started.elapsed()));
}
