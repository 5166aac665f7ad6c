//! The machine's own memory bandwidth, measured like STREAM over arrays staggered within their
//! pages, on one thread and on every thread of the current rayon pool:
//!
//! - *copy*, `b = a`: 8 bytes per f32 element;
//! - *triad*, `a = b + s·c`: 12 bytes per element;
//! - *rmw*, the streams of an optimizer step without its arithmetic: `x += g` for a parameter
//!   and `k` states that are read and rewritten, `g` only read; 4 × (3 + 2k) bytes per element
//!   (`rmw12` to `rmw44`);
//! - *read*, the sum of one array: 4 bytes per element, nothing written. The yardstick of a
//!   reduction pass (a per-tensor norm, a group sum, the global norm of clipping), which only
//!   reads.
//!
//! STREAM's counts leave out the read a cache does before it writes a line that was not read
//! (copy and triad really move 12 and 16 bytes per element), and one core's bandwidth grows with
//! the number of streams it keeps in flight; an optimizer step rewrites only arrays it reads, so
//! the *rmw* loop with the rule's byte count is its closest yardstick.
//!
//! The loops are written once and compiled at every SIMD level through
//! [`optim::simd::dispatch`], like the fused kernels.

#![allow(dead_code)]

use std::hint::black_box;

use ndarray::Array1;
use optim::SimdLevel;
use optim::simd::{Kernel, dispatch};

use crate::fixture::staggered;

/// One of the probe loops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loop {
    /// `b = a`.
    Copy,
    /// `a = b + s·c`.
    Triad,
    /// `x += g` over a parameter and this many states (at most four).
    Rmw(usize),
    /// The sum of this many arrays (one to five), read and never written: a read-only pass
    /// with a reduction pass's streams.
    Read(usize),
    /// One array read, each element squared and summed in 32 `f64` lanes: the arithmetic of a
    /// generated `sum(x * x)` pass (which keeps its sums in `f64` so that they do not depend on
    /// the SIMD level or the thread count), beside `read`'s `f32` sum of the same array.
    ReadSquaresF64,
}

impl Loop {
    /// Bytes per element, as STREAM counts them.
    pub fn bytes(self) -> usize {
        match self {
            Loop::Copy => 8,
            Loop::Triad => 12,
            Loop::Rmw(states) => 4 * (3 + 2 * states),
            Loop::Read(arrays) => 4 * arrays,
            Loop::ReadSquaresF64 => 4,
        }
    }

    /// `copy`, `triad`, `rmw28`.
    pub fn name(self) -> String {
        match self {
            Loop::Copy => "copy".into(),
            Loop::Triad => "triad".into(),
            Loop::Rmw(_) => format!("rmw{}", self.bytes()),
            Loop::Read(1) => "read".into(),
            Loop::Read(_) => format!("read{}", self.bytes()),
            Loop::ReadSquaresF64 => "read64".into(),
        }
    }

    /// The *rmw* loop that moves `bytes` per element, if there is one.
    pub fn rmw_moving(bytes: usize) -> Option<Loop> {
        (bytes >= 12 && bytes % 8 == 4).then(|| Loop::Rmw((bytes - 12) / 8))
    }
}

/// Lanes of the read probe's sum: enough independent accumulators for the adds to pipeline in
/// the widest vectors (two 16-lane registers).
const READ_LANES: usize = 32;

/// The sum of `input` and every array of `others` (at most four), read together block by
/// block (every stream in flight at once, as in a reduction pass), in [`READ_LANES`] lanes.
#[inline(always)]
fn sum_streams(input: &[f32], others: &[&mut [f32]]) -> f32 {
    match others {
        [] => sum_arrays([input]),
        [b] => sum_arrays([input, b]),
        [b, c] => sum_arrays([input, b, c]),
        [b, c, d] => sum_arrays([input, b, c, d]),
        [b, c, d, e, ..] => sum_arrays([input, b, c, d, e]),
    }
}

#[inline(always)]
fn sum_arrays<const N: usize>(arrays: [&[f32]; N]) -> f32 {
    let len = arrays.iter().map(|a| a.len()).min().unwrap_or(0);
    let mut lanes = [0.0f32; READ_LANES];
    let blocks = len / READ_LANES;
    for base in (0..blocks).map(|k| k * READ_LANES) {
        for array in arrays {
            let block: &[f32; READ_LANES] = array[base..base + READ_LANES].try_into().expect("a whole block");
            lanes.iter_mut().zip(block).for_each(|(lane, x)| *lane += x);
        }
    }
    let tail: f32 = arrays.iter().map(|a| a[blocks * READ_LANES..len].iter().sum::<f32>()).sum();
    lanes.iter().sum::<f32>() + tail
}

/// `Σ x²` of `input` in [`READ_LANES`] `f64` lanes, as groups of one AVX-512 register each
/// (the generated reduction passes' and `get_total_norm`'s layout).
#[inline(always)]
fn sum_squares_f64(input: &[f32]) -> f32 {
    const GROUP: usize = 8;
    let mut lanes = [[0.0f64; GROUP]; READ_LANES / GROUP];
    let blocks = input.len() / READ_LANES;
    for base in (0..blocks).map(|k| k * READ_LANES) {
        let block: &[f32; READ_LANES] = input[base..base + READ_LANES].try_into().expect("a whole block");
        for (g, group) in lanes.iter_mut().enumerate() {
            for (k, lane) in group.iter_mut().enumerate() {
                let x = block[g * GROUP + k];
                *lane += f64::from(x * x);
            }
        }
    }
    let tail: f64 = input[blocks * READ_LANES..].iter().map(|&x| f64::from(x * x)).sum();
    (lanes.iter().flatten().sum::<f64>() + tail) as f32
}

/// The loops as kernels: `out` is written (and read by `Rmw`; only its first element, the sum,
/// by `Read`), `input` only read, `extra` the triad's second input or the rewritten states.
struct Body {
    kind: Loop,
    scale: f32,
}

impl Kernel<f32> for Body {
    #[inline(always)]
    fn run(&self, out: &mut [f32], input: &[f32], extra: &mut [&mut [f32]]) {
        let scale = self.scale;
        match (self.kind, extra) {
            (Loop::Copy, _) => out.iter_mut().zip(input).for_each(|(b, a)| *b = *a),
            (Loop::Triad, [c, ..]) => {
                out.iter_mut().zip(input).zip(c.iter()).for_each(|((a, b), c)| *a = b + scale * c)
            }
            (Loop::Rmw(_), []) => out.iter_mut().zip(input).for_each(|(x, g)| *x += g),
            (Loop::Rmw(_), [s]) => out.iter_mut().zip(input).zip(s.iter_mut()).for_each(|((x, g), s)| {
                *x += g;
                *s += g;
            }),
            (Loop::Rmw(_), [s, t]) => {
                out.iter_mut().zip(input).zip(s.iter_mut()).zip(t.iter_mut()).for_each(|(((x, g), s), t)| {
                    *x += g;
                    *s += g;
                    *t += g;
                })
            }
            (Loop::Rmw(_), [s, t, u]) => {
                let streams = out.iter_mut().zip(input).zip(s.iter_mut()).zip(t.iter_mut()).zip(u.iter_mut());
                streams.for_each(|((((x, g), s), t), u)| {
                    *x += g;
                    *s += g;
                    *t += g;
                    *u += g;
                })
            }
            (Loop::Rmw(_), [s, t, u, v, ..]) => {
                let streams = out.iter_mut().zip(input).zip(s.iter_mut()).zip(t.iter_mut()).zip(u.iter_mut());
                streams.zip(v.iter_mut()).for_each(|(((((x, g), s), t), u), v)| {
                    *x += g;
                    *s += g;
                    *t += g;
                    *u += g;
                    *v += g;
                })
            }
            (Loop::Read(_), others) => {
                if let Some(first) = out.first_mut() {
                    *first = sum_streams(input, others);
                }
            }
            (Loop::ReadSquaresF64, _) => {
                if let Some(first) = out.first_mut() {
                    *first = sum_squares_f64(input);
                }
            }
            (Loop::Triad, []) => {}
        }
    }
}

/// The arrays of one probe loop.
pub struct Probe {
    kind: Loop,
    out: Array1<f32>,
    input: Array1<f32>,
    extra: Vec<Array1<f32>>,
}

/// Below this many elements a parallel pass is not split further.
const GRAIN: usize = 1 << 14;

/// Halves the slices recursively across the current rayon pool, as the optimizer's chunking does.
fn split(level: SimdLevel, body: &Body, out: &mut [f32], input: &[f32], extra: &mut [&mut [f32]], pieces: usize) {
    if pieces <= 1 || out.len() <= GRAIN {
        return dispatch(level, body, out, input, extra);
    }
    let middle = (out.len() / 2) & !63;
    let (out_left, out_right) = out.split_at_mut(middle);
    let (input_left, input_right) = input.split_at(middle);
    let mut left: [&mut [f32]; 4] = Default::default();
    let mut right: [&mut [f32]; 4] = Default::default();
    for ((array, l), r) in extra.iter_mut().zip(&mut left).zip(&mut right) {
        (*l, *r) = core::mem::take(array).split_at_mut(middle);
    }
    let count = extra.len();
    rayon::join(
        || split(level, body, out_left, input_left, &mut left[..count], pieces.div_ceil(2)),
        || split(level, body, out_right, input_right, &mut right[..count], pieces / 2),
    );
}

impl Probe {
    /// Arrays of `len` elements for `kind` (at most four states), every page written once.
    pub fn new(kind: Loop, len: usize) -> Self {
        let extra = match kind {
            Loop::Copy => 0,
            Loop::Triad => 1,
            Loop::Rmw(states) => states.min(4),
            Loop::Read(arrays) => arrays.clamp(1, 5) - 1,
            Loop::ReadSquaresF64 => 0,
        };
        Probe {
            kind,
            out: staggered(0, len, |_| 1.0),
            input: staggered(1, len, |_| 1e-3),
            extra: (0..extra).map(|i| staggered(2 + i, len, |_| 0.5)).collect(),
        }
    }

    /// Bytes one pass moves, as [`Loop::bytes`] counts them.
    pub fn bytes(&self) -> usize {
        self.kind.bytes() * self.out.len()
    }

    fn pass(&mut self, level: SimdLevel, pieces: usize) {
        let body = Body { kind: self.kind, scale: black_box(0.5) };
        let out = self.out.as_slice_mut().expect("contiguous");
        let input = self.input.as_slice().expect("contiguous");
        let count = self.extra.len();
        let mut extra: [&mut [f32]; 4] = Default::default();
        for (slot, array) in extra.iter_mut().zip(&mut self.extra) {
            *slot = array.as_slice_mut().expect("contiguous");
        }
        split(level, &body, out, black_box(input), &mut extra[..count], pieces);
        black_box(&mut self.out);
    }

    /// One pass on the caller's thread, compiled for `level`.
    pub fn run(&mut self, level: SimdLevel) {
        self.pass(level, 1);
    }

    /// One pass split over the current rayon pool, compiled for `level`.
    pub fn run_parallel(&mut self, level: SimdLevel) {
        self.pass(level, rayon::current_num_threads());
    }
}
