//! The sign analysis on small specs: what it proves, and what it must not.

use proc_macro2::TokenStream;
use quote::quote;

use super::interval::Iv;
use super::non_negative;
use crate::ast::Spec;

/// The states proven non-negative, by name.
fn proven(spec: TokenStream) -> Vec<String> {
    let spec: Spec = syn::parse2(spec).expect("the spec parses");
    let flags = non_negative(&spec);
    spec.states.iter().zip(flags).filter(|(_, proven)| *proven).map(|(state, _)| state.name.to_string()).collect()
}

#[test]
fn adam_second_moments_are_non_negative_the_first_is_not() {
    let spec = quote! {
        pub Adam {
            hyper { lr = 1e-3 in 0.0.., betas = (0.9, 0.999) in 0.0..1.0, eps = 1e-8 in 0.0..,
                    weight_decay = 0.0 in 0.0.., amsgrad = false, maximize = false }
            state { exp_avg = 0, exp_avg_sq = 0, max_exp_avg_sq = 0 if amsgrad }
            step {
                let (b1, b2) = betas;
                let g = if maximize { -grad } else { grad };
                let g = if weight_decay != 0 { g + weight_decay * param } else { g };
                exp_avg = lerp(exp_avg, g, 1 - b1);
                exp_avg_sq = b2 * exp_avg_sq + (1 - b2) * g * g;
                let v = if amsgrad { max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq); max_exp_avg_sq } else { exp_avg_sq };
                param -= lr / (1 - pow(b1, step)) * exp_avg / (sqrt(v) / sqrt(1 - pow(b2, step)) + eps);
            }
        }
    };
    assert_eq!(proven(spec), ["exp_avg_sq", "max_exp_avg_sq"]);
}

#[test]
fn a_negated_gradient_is_not() {
    let spec = quote! { S { state { m = 0, s = 0 } step { m = -grad; s = -grad * -grad; } } };
    assert_eq!(proven(spec), ["s"]);
}

#[test]
fn a_state_from_the_parameter_is_not_one_from_a_constant_is() {
    let spec =
        quote! { S { hyper { lr = 0.1 in 0.0.. } state { z = param, c = 2, l = lr } step { param -= z * c * l; } } };
    assert_eq!(proven(spec), ["c", "l"]);
}

#[test]
fn a_hyperparameter_without_a_range_can_be_anything() {
    let rule = |range: TokenStream| {
        quote! {
            S {
                hyper { beta = 0.9 #range, init = 0.0 }
                state { v = 0, w = init }
                step { v = beta * v + (1 - beta) * grad * grad; w = w + grad * grad; }
            }
        }
    };
    assert_eq!(proven(rule(quote!())), Vec::<String>::new());
    assert_eq!(proven(rule(quote!(in 0.0..=1.0))), ["v"]);
    // above one, `1 - beta` is negative
    assert_eq!(proven(rule(quote!(in 0.0..))), Vec::<String>::new());
}

#[test]
fn a_proof_leaning_on_a_failed_candidate_fails_too() {
    // `b` holds while `a` is believed non-negative; `a` fails, then `b` does
    let spec = quote! { S { state { a = 0, b = 0, c = 0 } step { b = b + a; c = max(c, a); a = a - grad; } } };
    assert_eq!(proven(spec), ["c"]);
}

#[test]
fn candidates_lean_on_each_other() {
    let spec = quote! { S { state { a = 0, b = 1 } step { a = b * 2; b = a + b; } } };
    assert_eq!(proven(spec), ["a", "b"]);
}

#[test]
fn branches_join() {
    // an assignment inside a branch of a value counts like any other
    let spec = quote! {
        S {
            hyper { flag = false }
            state { a = 0, b = 0, c = 0, d = 0 }
            step {
                if flag { a = 1; } else { a = 2; }
                if flag { b = -1; }
                let e = if flag { { c = -c; c } } else { 0 };
                c = abs(e);
                d = if flag { 1 } else { grad * grad };
            }
        }
    };
    assert_eq!(proven(spec), ["a", "d"]);
}

#[test]
fn shadowed_bindings_take_their_new_value() {
    let spec = quote! { S { state { v = 0 } step { let g = grad * grad; let g = -g; v = g; } } };
    assert!(proven(spec).is_empty());
}

#[test]
fn interpolation_needs_a_weight_within_zero_and_one() {
    let rule = |range: TokenStream| {
        quote! {
            S {
                hyper { w = 0.5 #range }
                state { a = 0, b = 0 }
                step { a = lerp(a, grad * grad, w); b = b + (grad * grad - b) * w; }
            }
        }
    };
    assert_eq!(proven(rule(quote!(in 0.0..=1.0))), ["a", "b"]);
    assert!(proven(rule(quote!(in 0.0..))).is_empty());
    assert!(proven(rule(quote!(in -1.0..=1.0))).is_empty());
}

#[test]
fn squares_are_found_in_longer_products() {
    let spec = quote! {
        S {
            state { a = 0, b = 0, c = 0, d = 0 }
            step {
                let m = grad * 3;
                a = 2 * (grad - m) * 0.5 * (grad - m);
                b = grad * param;
                c = grad * 2 * grad * param * param;
                d = grad * 2 * grad * param;
            }
        }
    };
    assert_eq!(proven(spec), ["a", "c"]);
}

#[test]
fn a_divisor_that_may_be_zero_bounds_nothing() {
    // `-0.0` passes the range check `0.0 <= w`, and `1 / -0.0` is `-inf`
    let spec = quote! {
        S { hyper { w = 1.0 in 0.0.. } state { a = 0, b = 0 } step { a = grad * grad / w; b = grad * grad / (w + 1); } }
    };
    assert_eq!(proven(spec), ["b"]);
}

#[test]
fn a_loop_leaves_what_it_assigns_unknown() {
    let spec = quote! { S { state { a = 0, b = 0 } step { for _ in 0..3 { a = a + 1; } b = b + 1; } } };
    assert_eq!(proven(spec), ["b"]);
}

#[test]
fn eval_and_train_assume_no_hyperparameter_range() {
    let spec = quote! {
        S { hyper { lr = 0.1 in 0.0.. } state { a = 0, b = 0 } step { a = a * lr; b = b * lr; } eval { a = a * lr; } }
    };
    assert_eq!(proven(spec), ["b"]);
}

#[test]
fn scalar_states_and_pairs_carry_their_bounds() {
    // QHAdam: the weight is at least one after its update, so its reciprocal is a lerp weight
    let spec = quote! {
        S {
            hyper { betas = (0.9, 0.999) in 0.0..1.0, beta3 = None in 0.0..=1.0 }
            state { scalar weight = 0, v = 0, u = 0 }
            step {
                weight = round_f32(weight * betas.1 + 1);
                v = lerp(v, grad * grad, round_f32(1 / weight));
                u = lerp(u, grad * grad, beta3.unwrap_or(sqrt(betas.0)));
            }
        }
    };
    assert_eq!(proven(spec), ["weight", "v", "u"]);
}

#[test]
fn builtin_names() {
    let spec = quote! {
        S {
            state { a = 0, b = 0, c = 0, group step = 0 }
            step { step += 1; a = pow(step, -0.5); b = numel - 1; c = sign(sum(grad * grad)) + norm(grad); }
        }
    };
    assert_eq!(proven(spec), ["a", "c", "step"]);
}

#[test]
fn bounds_survive_rounding() {
    assert_eq!(Iv::literal(0.5), Iv::new(0.5, 0.5));
    let tenth = Iv::literal(0.1);
    assert!(tenth.lo < 0.1 && tenth.hi > 0.1 && tenth.lo > 0.0);
    // `x - 0.1` with `x >= 0.1`: rounded to `f32`, `x` may sit below the `f64` 0.1
    assert!(!tenth.sub(tenth).non_negative());
    assert!(Iv::literal(1.0).sub(Iv::new(0.0, 1.0)).non_negative());
    assert_eq!(Iv::new(0.0, f64::INFINITY).mul(Iv::new(-1.0, 0.0)).hi, 0.0);
}
