//! Every built-in written the way a user writes it with ndarray arithmetic: one expression per
//! line of PyTorch's documented algorithm (`torch.optim.*`, single-tensor path), each operator a
//! separate pass over memory with its own temporary.
//!
//! They are written from the algorithms and PyTorch's code paths, not from this crate's specs,
//! so they double as an independent cross-check of the fused kernels (`tests/naive_reference.rs`)
//! as well as the baseline the benchmarks compare against. Scalars are computed in `f64`, as
//! Python computes them, and rounded to `f32` where they meet a tensor.
//!
//! Each optimizer is a struct whose first fields are its hyperparameters (PyTorch's defaults in
//! `Default`) and whose last are its state, empty until the first step, so that
//! `naive::Adam { lr: 0.1, ..Default::default() }` builds one.

// shared through `#[path]` by the benches, an example and a test, each using part of it
#![allow(dead_code)]

use ndarray::{Array1, Zip};

/// One optimizer over one tensor, holding its own state.
pub trait Naive: Send {
    /// One step: updates `param` in place from `grad`.
    fn step(&mut self, param: &mut Array1<f32>, grad: &Array1<f32>);
    /// The per-element states under PyTorch's names, in this crate's declaration order.
    fn states(&self) -> Vec<(&'static str, &Array1<f32>)>;
}

fn s(value: f64) -> f32 {
    value as f32
}

/// `maximize` and L2 `weight_decay` as every optimizer's first two lines.
fn direction(param: &Array1<f32>, grad: &Array1<f32>, maximize: bool, weight_decay: f64) -> Array1<f32> {
    let g = if maximize { -grad } else { grad.clone() };
    if weight_decay != 0.0 { &g + &(param * s(weight_decay)) } else { g }
}

/// `torch.Tensor.lerp_(end, weight)` for a scalar weight, as PyTorch evaluates it.
fn lerp(start: &mut Array1<f32>, end: &Array1<f32>, weight: f64) {
    let w = s(weight);
    let diff = end - &*start;
    if w < 0.5 {
        *start += &(&diff * w);
    } else {
        *start = end - &(&diff * (1.0 - w));
    }
}

fn sqrt(a: &Array1<f32>) -> Array1<f32> {
    a.mapv(f32::sqrt)
}

fn maximum(a: &Array1<f32>, b: &Array1<f32>) -> Array1<f32> {
    Zip::from(a).and(b).map_collect(|x, y| x.max(*y))
}

/// `torch.sign`: zero for zero, unlike `f32::signum`.
fn sign(a: &Array1<f32>) -> Array1<f32> {
    a.mapv(|x| {
        if x > 0.0 {
            1.0
        } else if x < 0.0 {
            -1.0
        } else {
            0.0
        }
    })
}

fn zeros(n: usize) -> Array1<f32> {
    Array1::zeros(n)
}

#[path = "naive/adam_family.rs"]
mod adam_family;
#[path = "naive/adaptive.rs"]
mod adaptive;
#[path = "naive/sgd_family.rs"]
mod sgd_family;

pub use adam_family::*;
pub use adaptive::*;
pub use sgd_family::*;
