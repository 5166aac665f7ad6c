//! The rules with reduction passes and what they are compared with, each with the bytes it must
//! move per element, split into its read-only passes and its update pass (shared through
//! `#[path]` by `examples/bench_reduce.rs` and `benches/kernels.rs`).

#![allow(dead_code)]

use ndarray::ArrayD;
use optim::builtins::{Adam, AdamW};
use optim::prelude::*;
use optim::zoo::{AdaFactor, AdamWScheduleFree, DAdaptAdam, Lamb, Lars, NovoGrad, Prodigy};
use optim::{GradClip, Optimizer, Rule, StepProfile};

use crate::fixture::{grad_value, param_value, staggered};

optimizer! {
    /// One read-only pass, `sum(grad²)`, then the update `param -= lr · grad / sqrt(s + 1)`: the
    /// smallest rule with a reduction (4 + 12 bytes per element).
    pub SumSquares {
        hyper {
            /// Step size.
            lr = 1e-3 in 0.0..,
        }
        step {
            let s = sum(grad * grad);
            param -= lr * grad / sqrt(s + 1);
        }
    }
}

/// The parameters of a run: `count` tensors of `rows` × `cols` (two-dimensional, so AdaFactor
/// factors its second moment and LARS applies its trust ratio).
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
}

/// The same elements as one vector: AdaFactor keeps a full second moment for a 1-D tensor,
/// a path of its own (`bench_table`'s zoo rows measure it too, among every other rule).
fn one_vector(setup: Setup) -> Vec<Param<f32>> {
    let len = setup.elements();
    let param = Param::new(staggered(0, len, param_value).into_dyn());
    param.set_grad(staggered(1, len, grad_value).into_dyn());
    vec![param]
}

impl Setup {
    /// Elements over all tensors.
    pub fn elements(self) -> usize {
        self.count * self.rows * self.cols
    }

    /// The tensors, each with its gradient set, staggered within their pages.
    pub fn params(self) -> Vec<Param<f32>> {
        let len = self.rows * self.cols;
        let shaped = |a: ndarray::Array1<f32>| -> ArrayD<f32> {
            a.into_shape_with_order((self.rows, self.cols)).expect("contiguous").into_dyn()
        };
        (0..self.count)
            .map(|t| {
                let param = Param::new(shaped(staggered(2 * t, len, param_value)));
                param.set_grad(shaped(staggered(2 * t + 1, len, grad_value)));
                param
            })
            .collect()
    }
}

/// A step to time, ready after its first step created the state: `stepper(true)` is a step
/// through `Optimizer::step_profiled` and returns its profile (`None` for a row that is not
/// one optimizer's step), `stepper(false)` a plain `step()`.
pub type Stepper = Box<dyn FnMut(bool) -> Option<StepProfile>>;

/// One row of the table.
pub struct Case {
    pub label: &'static str,
    /// Passes over memory: read-only ones and the update.
    pub passes: usize,
    /// Bytes per element: read by the read-only passes, moved by the update pass.
    pub bytes: (usize, usize),
    /// Bytes per element moved beyond those (a separate clipping's rewrite of the gradients).
    pub extra_bytes: usize,
    /// The arrays each read-only pass reads together (4 bytes each; they sum to `bytes.0`): a
    /// pass over several arrays is held to the read probe with as many streams.
    pub reads: &'static [usize],
    make: fn(Setup) -> Stepper,
}

fn stepper<R: Rule>(setup: Setup, hyper: R::Hyper, clip: Option<GradClip>) -> Stepper {
    stepper_over::<R>(setup.params(), hyper, clip)
}

fn stepper_over<R: Rule>(params: Vec<Param<f32>>, hyper: R::Hyper, clip: Option<GradClip>) -> Stepper {
    let mut optimizer = Optimizer::<R, f32>::new(params, hyper).expect("valid hyperparameters");
    optimizer.set_grad_clip(clip).expect("a valid clip");
    optimizer.step().expect("valid step");
    Box::new(move |profiled| {
        if profiled {
            return Some(optimizer.step_profiled().expect("valid step"));
        }
        optimizer.step().expect("valid step");
        None
    })
}

/// AdamW after `clip_grad_norm_` over the same parameters, as a training loop without fused
/// clipping runs it.
fn separately_clipped(setup: Setup) -> Stepper {
    let params = setup.params();
    let mut optimizer = Optimizer::<AdamW, f32>::new(params.clone(), AdamW::hyper()).expect("valid hyperparameters");
    optimizer.step().expect("valid step");
    Box::new(move |_| {
        optim::clip::clip_grad_norm_(&params, CLIP, 2.0, false).expect("a finite norm");
        optimizer.step().expect("valid step");
        None
    })
}

/// `get_total_norm` over the parameters: the read-only pass of clipping by itself.
fn total_norm(setup: Setup) -> Stepper {
    let params = setup.params();
    Box::new(move |_| {
        std::hint::black_box(optim::clip::get_total_norm(&params, 2.0, false).expect("a norm"));
        None
    })
}

/// The clipping threshold: below the gradients' norm (about 15 at 16M elements), so every step
/// clips.
const CLIP: f64 = 1.0;

impl Case {
    /// Every row, in table order.
    pub const ALL: [Case; 14] = [
        // the global norm alone: a read-only pass over every gradient, nothing written
        Case { label: "get_total_norm", passes: 1, bytes: (4, 0), extra_bytes: 0, reads: &[1], make: total_norm },
        Case {
            label: "Adam",
            passes: 1,
            bytes: (0, 28),
            extra_bytes: 0,
            reads: &[],
            make: |s| stepper::<Adam>(s, Adam::hyper(), None),
        },
        Case {
            label: "AdamW",
            passes: 1,
            bytes: (0, 28),
            extra_bytes: 0,
            reads: &[],
            make: |s| stepper::<AdamW>(s, AdamW::hyper(), None),
        },
        Case {
            label: "AdamW + fused clip",
            passes: 2,
            bytes: (4, 28),
            extra_bytes: 0,
            reads: &[1],
            make: |s| stepper::<AdamW>(s, AdamW::hyper(), Some(GradClip::norm(CLIP))),
        },
        // the norm (4 bytes), then the gradients rewritten (8 more), then the step
        Case {
            label: "AdamW + clip_grad_norm_",
            passes: 3,
            bytes: (4, 28),
            extra_bytes: 8,
            reads: &[1],
            make: separately_clipped,
        },
        // sum(grad²) reads the gradient; the update rewrites param
        Case {
            label: "sum(grad²) rule",
            passes: 2,
            bytes: (4, 12),
            extra_bytes: 0,
            reads: &[1],
            make: |s| stepper::<SumSquares>(s, SumSquares::hyper(), None),
        },
        // the norms of param and of Adam's update read param, grad and both moments
        Case {
            label: "LAMB",
            passes: 2,
            bytes: (16, 28),
            extra_bytes: 0,
            reads: &[4],
            make: |s| stepper::<Lamb>(s, Lamb::hyper(), None),
        },
        // the norms of param and grad; the update has the momentum buffer
        Case {
            label: "LARS",
            passes: 2,
            bytes: (8, 20),
            extra_bytes: 0,
            reads: &[2],
            make: |s| stepper::<Lars>(s, Lars::hyper(), None),
        },
        // sum(grad²) reads the gradient; the update has the moments
        Case {
            label: "NovoGrad",
            passes: 2,
            bytes: (4, 20),
            extra_bytes: 0,
            reads: &[1],
            make: |s| stepper::<NovoGrad>(s, NovoGrad::hyper(), None),
        },
        // norm(param) with the row and column sums of grad² (param, grad), then the norm of the
        // update (grad); the update has exp_avg (the factored moments are a row and a column)
        Case {
            label: "AdaFactor",
            passes: 3,
            bytes: (12, 20),
            extra_bytes: 0,
            reads: &[2, 1],
            make: |s| stepper::<AdaFactor>(s, AdaFactor::hyper(), None),
        },
        // the same elements as one vector: a full second moment; one read-only pass (param, grad,
        // exp_avg_sq: both norms), the update has exp_avg and exp_avg_sq
        Case {
            label: "AdaFactor (vector)",
            passes: 2,
            bytes: (12, 28),
            extra_bytes: 0,
            reads: &[3],
            make: |s| stepper_over::<AdaFactor>(one_vector(s), AdaFactor::hyper(), None),
        },
        // the group sums read param, grad, p0 and s; the update has s and both moments
        Case {
            label: "Prodigy",
            passes: 2,
            bytes: (16, 36),
            extra_bytes: 0,
            reads: &[4],
            make: |s| stepper::<Prodigy>(s, Prodigy::hyper(), None),
        },
        // both group sums in one pass (the numerator's of grad, s and exp_avg_sq, Σ|s| of the
        // new s from grad and s: `Optimizer::step_profiled` shows the second pass reads
        // nothing); the update has s and both moments
        Case {
            label: "DAdaptAdam",
            passes: 2,
            bytes: (12, 36),
            extra_bytes: 0,
            reads: &[3],
            make: |s| stepper::<DAdaptAdam>(s, DAdaptAdam::hyper(), None),
        },
        // group values only, no reduction pass: z and exp_avg_sq
        Case {
            label: "AdamWScheduleFree",
            passes: 1,
            bytes: (0, 28),
            extra_bytes: 0,
            reads: &[],
            make: |s| stepper::<AdamWScheduleFree>(s, AdamWScheduleFree::hyper(), None),
        },
    ];

    /// The case's optimizer over `setup`'s tensors, after one step.
    pub fn build(&self, setup: Setup) -> Stepper {
        (self.make)(setup)
    }
}
