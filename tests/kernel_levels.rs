//! Every SIMD clone of every rule (built-in and zoo, from the one registry in `rules/`) gives
//! bit-identical results to the baseline clone, over sizes with every kind of remainder; the
//! vector loop gives the same bits as an element-at-a-time evaluation (so the comparison means
//! something on a CPU with the baseline level only); and a step's result does not depend on the
//! thread count.

use optim::{Element, Optimizer, Param, Rule, SimdLevel};

mod noise;
mod rules;
use noise::Noise;
use rules::{Visit, every_rule};

const SIZES: [usize; 16] = [1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 127, 1000, 4099];

/// State buffers for `shape`, present ones filled with their initial value.
fn fresh_states<R: Rule, T: Element>(hyper: &R::Hyper, shape: &[usize]) -> Vec<Vec<T>> {
    (0..R::STATES.len())
        .map(|i| {
            if R::state_present(hyper, shape, i) {
                vec![T::from_f64(R::state_init(hyper, i)); R::STATES[i].shape.len(shape)]
            } else {
                Vec::new()
            }
        })
        .collect()
}

/// Runs five steps of `R` at `level` on a parameter of `shape` and returns the bits of param and
/// every state.
fn run<R: Rule, T: Element>(hyper: &R::Hyper, level: SimdLevel, shape: &[usize], seed: u64) -> Vec<u64> {
    let n = shape.iter().product();
    let mut noise = Noise(seed);
    let mut param: Vec<T> = noise.vec(n);
    let mut states = fresh_states::<R, T>(hyper, shape);
    let mut scalars: Vec<f64> = (0..R::SCALAR_STATES.len()).map(|i| R::scalar_state_init(hyper, i)).collect();
    for step in 1..=5 {
        let grad: Vec<T> = noise.vec(n);
        let mut slices: Vec<&mut [T]> = states.iter_mut().map(|s| s.as_mut_slice()).collect();
        R::step_slices(level, hyper, step, &mut scalars, shape, &mut param, &grad, &mut slices);
    }
    param.iter().chain(states.iter().flatten()).map(|v| v.to_f64().to_bits()).collect()
}

/// The shapes a rule is run at: vectors of every size, and matrices too for factored rules;
/// for a matrix rule (which refuses vectors), wide and tall matrices of every size.
fn shapes<R: Rule>() -> Vec<Vec<usize>> {
    if R::MATRIX.is_used() {
        return SIZES.iter().flat_map(|&n| [vec![3, n], vec![n, 2]]).collect();
    }
    let vectors = SIZES.iter().map(|&n| vec![n]);
    let matrices = SIZES.iter().filter(|_| R::FACTORED).map(|&n| vec![3, n]);
    vectors.chain(matrices).collect()
}

struct LevelsAgree;

impl Visit for LevelsAgree {
    fn visit<R: Rule>(&mut self, label: &str, hyper: R::Hyper) {
        for (k, shape) in shapes::<R>().iter().enumerate() {
            let seed = 7 + k as u64;
            let reference64 = run::<R, f64>(&hyper, SimdLevel::Baseline, shape, seed);
            let reference32 = run::<R, f32>(&hyper, SimdLevel::Baseline, shape, seed);
            for level in SimdLevel::available() {
                assert!(run::<R, f64>(&hyper, level, shape, seed) == reference64, "{label} f64 {level:?} {shape:?}");
                assert!(run::<R, f32>(&hyper, level, shape, seed) == reference32, "{label} f32 {level:?} {shape:?}");
            }
        }
    }
}

#[test]
fn registry_names_every_exported_rule() {
    assert_eq!(rules::registered_rules(), rules::exported_rules());
}

/// Debug builds compile every shipped rule's kernels once, in optim-core
/// (`optim-core/src/instantiate.rs`); a rule missing there still works, but every test binary
/// and example compiles it again.
#[cfg(debug_assertions)]
#[test]
fn debug_builds_instantiate_every_exported_rule_once() {
    let mut instantiated: Vec<String> =
        optim_core::instantiate::every_rule(false).into_iter().map(String::from).collect();
    instantiated.sort();
    assert_eq!(instantiated, rules::exported_rules());
}

#[test]
fn every_clone_of_every_rule_is_bit_identical_to_the_baseline() {
    let levels = SimdLevel::available();
    println!("levels on this machine: {levels:?}");
    if levels.len() == 1 {
        println!(
            "only the baseline level here: this comparison is vacuous on this machine; \
             the_vector_loop_matches_an_element_at_a_time_evaluation still checks the loops"
        );
    }
    every_rule(&mut LevelsAgree);
}

/// Five steps of an element-wise rule through the kernel layer (`prepare_stage` + `apply_at`),
/// over the whole slice at once, or one element at a time (every element then goes through the
/// loop's scalar remainder, never its vector body).
fn elementwise<R: Rule, T: Element>(hyper: &R::Hyper, level: SimdLevel, n: usize, whole: bool) -> Vec<u64> {
    let mut noise = Noise(11 + n as u64);
    let mut param: Vec<T> = noise.vec(n);
    let mut states = fresh_states::<R, T>(hyper, &[n]);
    let mut scalars: Vec<f64> = (0..R::SCALAR_STATES.len()).map(|i| R::scalar_state_init(hyper, i)).collect();
    for step in 1..=5 {
        let grad: Vec<T> = noise.vec(n);
        let prep = R::prepare_stage(hyper, step, &mut scalars, &[n], &[], 0);
        if whole {
            let mut slices: Vec<&mut [T]> = states.iter_mut().map(|s| s.as_mut_slice()).collect();
            R::apply_at(level, &prep, &mut param, &grad, &mut slices);
            continue;
        }
        for i in 0..n {
            let mut slices: Vec<&mut [T]> =
                states.iter_mut().map(|s| if s.is_empty() { &mut s[..] } else { &mut s[i..=i] }).collect();
            R::apply_at(level, &prep, &mut param[i..=i], &grad[i..=i], &mut slices);
        }
    }
    param.iter().chain(states.iter().flatten()).map(|v| v.to_f64().to_bits()).collect()
}

struct ElementAtATime {
    covered: Vec<String>,
    not_elementwise: Vec<String>,
}

impl Visit for ElementAtATime {
    fn visit<R: Rule>(&mut self, label: &str, hyper: R::Hyper) {
        if R::PASSES > 1 || R::FACTORED {
            // a per-tensor reduction or a row/column value is not a function of one element
            self.not_elementwise.push(label.to_owned());
            return;
        }
        for level in SimdLevel::available() {
            for n in [1, 7, 64, 65, 127, 1000] {
                let whole = elementwise::<R, f64>(&hyper, level, n, true);
                assert!(whole == elementwise::<R, f64>(&hyper, level, n, false), "{label} f64 {level:?} n={n}");
                let whole = elementwise::<R, f32>(&hyper, level, n, true);
                assert!(whole == elementwise::<R, f32>(&hyper, level, n, false), "{label} f32 {level:?} n={n}");
            }
        }
        self.covered.push(label.to_owned());
    }
}

#[test]
fn the_vector_loop_matches_an_element_at_a_time_evaluation() {
    let mut visit = ElementAtATime { covered: Vec::new(), not_elementwise: Vec::new() };
    every_rule(&mut visit);
    println!(
        "{} configurations checked element at a time; not element-wise (covered by the level and \
         reference tests): {}",
        visit.covered.len(),
        visit.not_elementwise.join(", ")
    );
    assert!(visit.covered.len() > visit.not_elementwise.len(), "{:?}", visit.covered);
}

/// Bits of every parameter, state tensor and scalar state after two steps of `R` over a mix of
/// tensors large enough to be cut into chunks (a matrix whose chunks split rows) and small ones
/// batched together, run inside a rayon pool of `threads` threads.
fn thread_run<R: Rule>(hyper: &R::Hyper, threads: usize) -> Vec<u64> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let mut noise = Noise(99);
    let shapes: &[&[usize]] = if R::MATRIX.is_used() {
        // a matrix rule takes matrices only: large ones (chunked, their products threaded) and small
        &[&[300, 257], &[5, 2], &[2, 70_000], &[3, 7]]
    } else {
        &[&[140_000], &[5], &[300, 257], &[4096], &[1], &[3, 7]]
    };
    let array = |noise: &mut Noise, shape: &[usize]| {
        ndarray::ArrayD::from_shape_vec(shape, noise.vec::<f32>(shape.iter().product())).unwrap()
    };
    let params: Vec<Param<f32>> = shapes.iter().map(|s| Param::new(array(&mut noise, s))).collect();
    let mut opt = Optimizer::<R, f32>::new(params.clone(), hyper.clone()).unwrap();
    for _ in 0..2 {
        for (p, s) in params.iter().zip(shapes.iter().copied()) {
            p.set_grad(array(&mut noise, s));
        }
        pool.install(|| opt.step()).unwrap();
    }
    let mut bits: Vec<u64> =
        params.iter().flat_map(|p| p.value().iter().map(|v| v.to_bits() as u64).collect::<Vec<_>>()).collect();
    for i in 0..shapes.len() {
        let state = opt.state(0, i).unwrap();
        for name in state.tensor_names() {
            bits.extend(state.tensor(name).unwrap().iter().map(|v| v.to_bits() as u64));
        }
        bits.extend(R::SCALAR_STATES.iter().map(|name| state.scalar(name).unwrap().to_bits()));
    }
    bits
}

struct ThreadCounts;

impl Visit for ThreadCounts {
    fn visit<R: Rule>(&mut self, label: &str, hyper: R::Hyper) {
        let one = thread_run::<R>(&hyper, 1);
        for threads in [2, 8] {
            assert!(thread_run::<R>(&hyper, threads) == one, "{label}: {threads} threads differ from 1");
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    every_rule(&mut ThreadCounts);
}
