//! The constructs added for whole-group and matrix rules, under the strictest lints and with
//! prelude names shadowed: a state that starts from the parameter, `inf`, optional and choice
//! hyperparameters, and reductions under a flag (as statements and as a value).
#![deny(warnings)]
#![allow(dead_code)]

struct Result;
struct Option;
struct Some;
struct None;
mod core {}
mod std {}

optim::optimizer! {
    /// Everything new at once.
    pub Options {
        hyper {
            lr = 1e-2 in 0.0..,
            growth = inf in 1.0..,
            beta3 = None in 0.0..1.0,
            floor = Some(0.5),
            kind = "plain" | "sign" | "match_rms",
            cautious = false,
        }
        state { z = param, y = 2 * param + lr, count = 0 }
        step {
            let b3 = beta3.unwrap_or(0.9);
            let lo = floor.unwrap_or(0.0);
            z = b3 * z + (1 - b3) * grad;
            y = y + select(beta3.is_some() && floor.is_none(), grad, 0);
            count = count + 1;
            let mask = select(z * grad > 0, 1, 0);
            let u = if cautious { z * mask / max(mean(mask), 1e-3) } else { z };
            let size = min(lr * growth, lr + lo);
            if kind == "sign" {
                param -= size * sign(u);
            } else if kind != "plain" {
                let rms = sqrt(mean(u * u)) + 1e-12;
                param -= size * u / rms;
            } else {
                param -= size * u;
            }
        }
    }
}

fn main() {
    use optim::{Optimizer, Param};
    let p = Param::new(ndarray::arr1(&[1.0f32, 2.0]).into_dyn());
    let hyper = Options::hyper().kind(OptionsKind::MatchRms).beta3(::core::option::Option::Some(0.5)).cautious(true);
    let mut opt = Optimizer::<Options, f32>::new(::std::vec![p.clone()], hyper).unwrap();
    p.set_grad(ndarray::arr1(&[0.5f32, -0.5]).into_dyn());
    opt.step().unwrap();
    assert!(p.value()[0] < 1.0);
}
