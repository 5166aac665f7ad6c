//! Which rules a [`Bf16Optimizer`](super::Bf16Optimizer) can run: those whose step, with the
//! hyperparameters given, is one element-wise pass over each tensor.

use crate::{GroupScalars, MAX_REDUCTIONS, OptimError, Rule};

/// Why rule `R` can never step bfloat16 parameters, if it cannot.
pub(crate) fn check<R: Rule>() -> Result<(), OptimError> {
    let reason = if R::FACTORED {
        "it keeps row and column (factored) state"
    } else if R::MATRIX.is_used() {
        "its step runs a matrix program"
    } else if !R::GROUP_STATES.is_empty() {
        "it keeps values per param group"
    } else if R::POINTS {
        "it keeps a training and an evaluation point"
    } else {
        return Ok(());
    };
    Err(OptimError::Bf16Unsupported { optimizer: R::NAME, reason })
}

/// The rule's scalar program for one tensor through every stage, as `Optimizer::step` runs it
/// when every reduction pass is off for the tensor (its results then 0); an error if a pass is
/// on (a flag such as `cautious` turns one on), since a tile-by-tile step cannot read a whole
/// tensor first.
pub(crate) fn stages<R: Rule>(
    hyper: &R::Hyper,
    step: u64,
    scalars: &mut [f64],
    shape: &[usize],
) -> Result<R::Prep, OptimError> {
    let zeros = [0.0f64; MAX_REDUCTIONS];
    let results = &zeros[..R::REDUCTIONS.len().min(MAX_REDUCTIONS)];
    let alone = || GroupScalars { current: &[], next: &mut [] };
    let mut prep = R::prepare_in_group(hyper, step, scalars, alone(), shape, &[], 0);
    for pass in 1..R::PASSES {
        if R::pass_needed(&prep, pass) {
            let reason =
                "with these hyperparameters its step reads a norm or sum over a whole tensor (a reduction pass)";
            return Err(OptimError::Bf16Unsupported { optimizer: R::NAME, reason });
        }
        prep = R::prepare_in_group(hyper, step, scalars, alone(), shape, results, pass);
    }
    Ok(prep)
}
