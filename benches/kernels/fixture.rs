//! What the kernel benchmarks time, set up once and run step after step: the naive ndarray
//! version, one SIMD clone through the kernel layer, and the full optimizer step.
//!
//! Every array is staggered within its page (see [`staggered`]); shared through `#[path]` by
//! `benches/kernels.rs` and `examples/bench_table.rs`.

#![allow(dead_code)]

use ndarray::{Array1, s};
use optim::{MAX_STATES, Optimizer, Param, Rule, SimdLevel, StateFormat};

use crate::naive::Naive;

/// The step number the kernel-layer fixtures start at, so that timings are of the loop a long
/// run spends its time in, not of special first steps (SGD's buffer copy, RAdam's warm-up).
pub const STEADY_STEP: u64 = 100;

/// A tensor layout to benchmark: `count` tensors of `len` elements each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// How many tensors.
    pub count: usize,
    /// Elements per tensor.
    pub len: usize,
}

impl Shape {
    /// One tensor of `len` elements.
    pub const fn one(len: usize) -> Shape {
        Shape { count: 1, len }
    }

    /// Elements over all tensors.
    pub fn elements(self) -> usize {
        self.count * self.len
    }

    /// `1K`, `16M`, `1000x4096`.
    pub fn label(self) -> String {
        let len = match self.len {
            n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{}M", n >> 20),
            n if n >= 1 << 10 && n % (1 << 10) == 0 && self.count == 1 => format!("{}K", n >> 10),
            n => n.to_string(),
        };
        if self.count == 1 { len } else { format!("{}x{len}", self.count) }
    }
}

/// An array of `len` elements, `fill(i)` at element `i`, whose data starts at a different offset
/// within a page for each `index`.
///
/// Large allocations all start at the same page offset; streams whose addresses agree in their
/// low 12 bits collide in the caches (4K aliasing) and some kernels then run 2-3x slower at
/// 8M-16M elements. Every page is written here, so none is first touched while timing.
pub fn staggered(index: usize, len: usize, fill: impl Fn(usize) -> f32) -> Array1<f32> {
    // 272 elements = 1,088 bytes = 17 cache lines: consecutive indices cycle through all 64
    // cache-line offsets of a page
    let start = index * 272 % 1024;
    let data: Vec<f32> = (0..start + len).map(|i| if i < start { 0.0 } else { fill(i - start) }).collect();
    Array1::from_vec(data).slice_move(s![start..])
}

/// Parameter values: near 1, varied.
pub fn param_value(i: usize) -> f32 {
    1.0 + (i % 5) as f32 * 0.1
}

/// Gradient values: small, both signs, no zeros.
pub fn grad_value(i: usize) -> f32 {
    ((i % 13) as f32 - 6.5) * 1e-3
}

/// Bytes a step of `R` must move per element: 4 × (param read and written, gradient read, each
/// present state read and written).
pub fn bytes_per_element<R: Rule>(hyper: &R::Hyper) -> usize {
    4 * (2 + 1 + 2 * present_states::<R>(hyper))
}

/// The states of `R` a large vector has with `hyper` (SGD without momentum has none).
pub fn present_states<R: Rule>(hyper: &R::Hyper) -> usize {
    (0..R::STATES.len()).filter(|&i| R::state_present(hyper, &[1 << 20], i)).count()
}

struct Tensor {
    param: Array1<f32>,
    grad: Array1<f32>,
    states: Vec<Array1<f32>>,
    scalars: Vec<f64>,
}

/// `R::prepare` + `R::apply_at` over slices the fixture owns: the kernel layer, on the caller's
/// thread.
pub struct Kernel<R: Rule> {
    hyper: R::Hyper,
    tensors: Vec<Tensor>,
    step: u64,
}

impl<R: Rule> Kernel<R> {
    /// Tensors of `shape` with states at their initial values.
    pub fn new(hyper: R::Hyper, shape: Shape) -> Self {
        let arrays = 2 + R::STATES.len();
        let tensors = (0..shape.count)
            .map(|t| {
                let index = |k: usize| t * arrays + k;
                let states = (0..R::STATES.len())
                    .map(|i| {
                        let len = if R::state_present(&hyper, &[shape.len], i) { shape.len } else { 0 };
                        let init = R::state_init(&hyper, i) as f32;
                        staggered(index(2 + i), len, |_| init)
                    })
                    .collect();
                Tensor {
                    param: staggered(index(0), shape.len, param_value),
                    grad: staggered(index(1), shape.len, grad_value),
                    states,
                    scalars: (0..R::SCALAR_STATES.len()).map(|i| R::scalar_state_init(&hyper, i)).collect(),
                }
            })
            .collect();
        Kernel { hyper, tensors, step: STEADY_STEP - 1 }
    }

    /// One step of every tensor with the clone for `level`.
    pub fn run(&mut self, level: SimdLevel) {
        self.step += 1;
        for tensor in &mut self.tensors {
            let prep = R::prepare(&self.hyper, self.step, &mut tensor.scalars);
            let mut slices: [&mut [f32]; MAX_STATES] = Default::default();
            for (slot, state) in slices.iter_mut().zip(&mut tensor.states) {
                *slot = state.as_slice_mut().expect("contiguous");
            }
            let param = tensor.param.as_slice_mut().expect("contiguous");
            let grad = tensor.grad.as_slice().expect("contiguous");
            R::apply_at(level, &prep, param, grad, &mut slices[..R::STATES.len()]);
        }
    }
}

/// A parameter, its gradient and its naive optimizer.
type NaiveTensor = (Array1<f32>, Array1<f32>, Box<dyn Naive>);

/// The naive ndarray version over tensors of a shape.
pub struct NaiveRun {
    tensors: Vec<NaiveTensor>,
}

impl NaiveRun {
    /// Tensors of `shape`, each with its own optimizer from `make`.
    pub fn new(make: fn() -> Box<dyn Naive>, shape: Shape) -> Self {
        let tensors = (0..shape.count)
            .map(|t| (staggered(2 * t, shape.len, param_value), staggered(2 * t + 1, shape.len, grad_value), make()))
            .collect();
        NaiveRun { tensors }
    }

    /// One step of every tensor.
    pub fn run(&mut self) {
        for (param, grad, naive) in &mut self.tensors {
            naive.step(param, grad);
        }
    }
}

/// The full optimizer: every tensor of `shape` a parameter of one group, gradients set once and
/// kept, so each [`Step::run`] is exactly one `Optimizer::step()`.
pub struct Step<R: Rule> {
    optimizer: Optimizer<R, f32>,
}

/// [`Step`] over parameters and gradients stored in bfloat16 (`optim::Bf16Optimizer`).
pub struct Bf16Step<R: Rule> {
    optimizer: optim::Bf16Optimizer<R>,
}

/// Parameters of `shape` in bfloat16 (the values of [`step_params`], rounded) with their
/// gradients set.
pub fn bf16_step_params(shape: Shape) -> Vec<Param<optim::half::bf16>> {
    use optim::half::bf16;
    (0..shape.count)
        .map(|t| {
            let param = Param::new(staggered(2 * t, shape.len, param_value).mapv(bf16::from_f32).into_dyn());
            param.set_grad(staggered(2 * t + 1, shape.len, grad_value).mapv(bf16::from_f32).into_dyn());
            param
        })
        .collect()
}

impl<R: Rule> Bf16Step<R> {
    /// An optimizer over `params` (from [`bf16_step_params`]) storing its states in `format`,
    /// after one step so that state exists.
    pub fn new(hyper: R::Hyper, params: Vec<Param<optim::half::bf16>>, format: StateFormat) -> Self {
        let mut optimizer = optim::Bf16Optimizer::new(params, hyper).expect("an element-wise rule");
        optimizer.set_state_formats(optim::StateFormats::all(format)).expect("a format for every state");
        optimizer.step().expect("valid step");
        Bf16Step { optimizer }
    }

    /// Bytes the states of every parameter occupy (`ParamState::state_bytes`).
    pub fn state_bytes(&self) -> usize {
        (0..self.optimizer.params().len()).filter_map(|i| self.optimizer.state(i)).map(|s| s.state_bytes()).sum()
    }

    /// One `Bf16Optimizer::step()`.
    pub fn run(&mut self) {
        self.optimizer.step().expect("valid step");
    }
}

/// Parameters of `shape` with their gradients set.
pub fn step_params(shape: Shape) -> Vec<Param<f32>> {
    (0..shape.count)
        .map(|t| {
            let param = Param::new(staggered(2 * t, shape.len, param_value).into_dyn());
            param.set_grad(staggered(2 * t + 1, shape.len, grad_value).into_dyn());
            param
        })
        .collect()
}

impl<R: Rule> Step<R> {
    /// Parameters of `shape`, after one step so that state exists.
    pub fn new(hyper: R::Hyper, shape: Shape) -> Self {
        Step::with_format(hyper, step_params(shape), StateFormat::Native)
    }

    /// An optimizer over `params` (from [`step_params`]) storing its states in `format`, after
    /// one step so that state exists. Split from the parameters so that what the optimizer
    /// allocates can be told from what they do.
    pub fn with_format(hyper: R::Hyper, params: Vec<Param<f32>>, format: StateFormat) -> Self {
        let mut optimizer = Optimizer::new(params, hyper).expect("valid hyperparameters");
        // the other benchmarks' optimizers stay exactly as they were built before formats existed
        if format != StateFormat::Native {
            optimizer.set_state_format(format).expect("a format for every state");
        }
        optimizer.step().expect("valid step");
        Step { optimizer }
    }

    /// Passes over memory one step makes (reduction passes that read something, and the
    /// update), counted by a profiled step: `R::PASSES` also counts passes whose reductions sit
    /// under conditions false here (`cautious` off).
    #[allow(dead_code)] // bench_table's zoo table reads it, the criterion bench does not
    pub fn passes_run(&mut self) -> usize {
        let profile = self.optimizer.step_profiled().expect("valid step");
        1 + profile.reduction_passes.iter().filter(|p| p.ran()).count()
    }

    /// Bytes the states of every parameter occupy (`ParamState::state_bytes`).
    pub fn state_bytes(&self) -> usize {
        let states = (0..).map_while(|i| self.optimizer.state(0, i));
        states.map(|state| state.state_bytes()).sum()
    }

    /// One `Optimizer::step()`.
    pub fn run(&mut self) {
        self.optimizer.step().expect("valid step");
    }
}
