//! Which states of the built-in and zoo rules the macro proves never negative
//! (`StateDecl::non_negative`), the flag by which quantized state formats pick the unsigned map.
//! Each expectation was checked against its spec: a state listed is non-negative for every
//! hyperparameter value the rule accepts; a state left out can be negative, or (where noted)
//! is non-negative in fact but beyond what the analysis proves.

use optim::Rule;
use optim::builtins::*;
use optim::zoo::*;

/// The names of the states of `R` proven non-negative, in declaration order.
fn proven<R: Rule>() -> Vec<&'static str> {
    R::STATES.iter().filter(|state| state.non_negative).map(|state| state.name).collect()
}

#[test]
fn adam_family_second_moments() {
    assert_eq!(proven::<Adam>(), ["exp_avg_sq", "max_exp_avg_sq"]);
    assert_eq!(proven::<AdamW>(), ["exp_avg_sq", "max_exp_avg_sq"]);
    assert_eq!(proven::<NAdam>(), ["exp_avg_sq"]);
    assert_eq!(proven::<RAdam>(), ["exp_avg_sq"]);
    // `exp_avg_sq + (g * g - exp_avg_sq) * (1 - b2)` is read as an interpolation
    assert_eq!(proven::<SparseAdam>(), ["exp_avg_sq"]);
    // `max(exp_inf * b2, abs(g) + eps)`
    assert_eq!(proven::<Adamax>(), ["exp_inf"]);
}

#[test]
fn accumulators() {
    // `sum` starts at `initial_accumulator_value`, whose range is `0.0..`
    assert_eq!(proven::<Adagrad>(), ["sum"]);
    assert_eq!(proven::<Adadelta>(), ["square_avg", "acc_delta"]);
    // `alpha` is only `0.0..` (as in PyTorch): above one, `(1 - alpha) * g * g` is negative and
    // `square_avg` can be too
    assert_eq!(proven::<RmsProp>(), Vec::<&str>::new());
    // clamped between `step_sizes`, whose range is `0.0..`
    assert_eq!(proven::<Rprop>(), ["step_size"]);
}

#[test]
fn signed_states() {
    assert_eq!(proven::<Sgd>(), Vec::<&str>::new());
    assert_eq!(proven::<Asgd>(), Vec::<&str>::new());
    assert_eq!(proven::<Lars>(), Vec::<&str>::new());
    assert_eq!(proven::<Lion>(), Vec::<&str>::new());
    assert_eq!(proven::<Muon>(), Vec::<&str>::new());
    assert_eq!(proven::<NovoGrad>(), Vec::<&str>::new());
    assert_eq!(proven::<SignSgd>(), Vec::<&str>::new());
    assert_eq!(proven::<Tiger>(), Vec::<&str>::new());
    assert_eq!(proven::<SGDScheduleFree>(), Vec::<&str>::new());
}

#[test]
fn zoo_second_moments() {
    assert_eq!(proven::<AdEmaMix>(), ["exp_avg_sq"]);
    assert_eq!(proven::<AdaBelief>(), ["exp_avg_var", "max_exp_avg_var"]);
    assert_eq!(proven::<AdaBound>(), ["exp_avg_sq", "max_exp_avg_sq"]);
    assert_eq!(proven::<Adan>(), ["exp_avg_sq"]);
    // `step` here is a group state counted by the step itself
    assert_eq!(proven::<Adopt>(), ["exp_avg_sq"]);
    assert_eq!(proven::<DAdaptAdam>(), ["exp_avg_sq"]);
    assert_eq!(proven::<DiffGrad>(), ["exp_avg_sq", "max_exp_avg_sq"]);
    // `max_exp_avg_sq = max(max_exp_avg_sq, v)` holds even where `v` (centered) is negative
    assert_eq!(proven::<LaProp>(), ["exp_avg_sq", "max_exp_avg_sq"]);
    assert_eq!(proven::<Lamb>(), ["exp_avg_sq"]);
    // `lambda * g * g` with `lambda = lr * pow(step, 0.5)`
    assert_eq!(proven::<Madgrad>(), ["grad_sum_sq"]);
    assert_eq!(proven::<Mars>(), ["exp_avg_sq"]);
    // `d * d * (1 - b2) * (g * g)`: the group state `d` squared
    assert_eq!(proven::<Prodigy>(), ["exp_avg_sq"]);
    // the weight `1 / beta2_weight` is in [0, 1] because the scalar state is at least one
    assert_eq!(proven::<QHAdam>(), ["exp_avg_sq"]);
    assert_eq!(proven::<AdamWScheduleFree>(), ["exp_avg_sq"]);
}

#[test]
fn what_the_analysis_leaves_signed() {
    // `exp_avg_sq` (and its row and column factors) move by `lerp(.., w2)` with
    // `w2 = 1 - min(b2, 1 - pow(step, decay_rate))`; `decay_rate` has no range, and a positive
    // one makes `w2` exceed one, extrapolating below zero. `exp_avg_sq_hat` is a running max.
    assert_eq!(proven::<AdaFactor>(), ["exp_avg_sq_hat"]);
    // `exp_avg_lr` interpolates towards a non-negative step size in fact, but that step size
    // divides by `sqrt(exp_avg_sq) + eps` and by `1 - pow(b1, step)`, which the analysis cannot
    // keep from zero (and a zero divisor may be `-0.0`, giving `-inf`)
    assert_eq!(proven::<AdaMod>(), ["exp_avg_sq"]);
    // `initial_accumulator` has no range; and even from a non-negative start, Yogi's update
    // `v - (1 - b2) * sign(v - g * g) * g * g` stays non-negative only through the relation
    // between `v` and `g * g`, which intervals do not keep
    assert_eq!(proven::<Yogi>(), Vec::<&str>::new());
}

optim::optimizer! {
    /// A spec of this file, through the whole macro.
    pub Accumulate {
        hyper { lr = 0.1 in 0.0.., decay = 0.9 in 0.0..=1.0 }
        state { m = 0, acc = 0, scalar count = 0 }
        step {
            count += 1;
            m = lerp(m, grad, 1 - decay);
            acc = decay * acc + grad * grad / count;
            param -= lr * m / (sqrt(acc) + 1e-8);
        }
    }
}

#[test]
fn a_spec_of_this_file() {
    // `count` is a scalar state: proven at least one after its update, it carries no flag
    assert_eq!(proven::<Accumulate>(), ["acc"]);
}
