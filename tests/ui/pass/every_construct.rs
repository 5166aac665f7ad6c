//! Every DSL construct in one spec, compiled under the strictest lints and with common
//! prelude names shadowed, to prove the generated code is hygienic and warning-free.
#![deny(warnings)]
#![allow(dead_code)]

struct Result;
struct Option;
struct Vec;
mod core {}
mod std {}

optim::optimizer! {
    /// A rule that uses everything: pairs, flags, conditional and scalar state, selects,
    /// block values, method calls and the step counter.
    #[name = "Everything"]
    pub Everything {
        hyper {
            /// Learning rate.
            lr = 1e-2 in 0.0..,
            betas = (0.9, 0.99) in 0.0..1.0,
            warmup = 10,
            clip = 1.0 in 0.0..=100.0,
            amsgrad = false,
            maximize = false,
        }
        require { lr < 1 || !amsgrad => "lr must be below 1 with amsgrad" }
        state {
            m = 0,
            v = 1e-3,
            v_max = 0 if amsgrad,
            scalar count = 0,
        }
        step {
            let (b1, b2) = betas;
            let g = if maximize { -grad } else { grad };
            let g = clamp(g, -clip, clip);
            count += 1;
            m = lerp(m, g, 1 - b1);
            v = b2 * v + (1 - b2) * g * g;
            let denom = if amsgrad { v_max = max(v_max, v); v_max.sqrt() } else { v.sqrt() } + 1e-8;
            let scale = select(step < warmup, step / warmup, 1) * lr / (1 - pow(b1, step));
            param -= scale * select(abs(g) > 0, m / denom, 0);
        }
    }
}

fn main() {
    use optim::{Optimizer, Param};
    let p = Param::new(ndarray::arr1(&[1.0f32, 2.0]).into_dyn());
    let mut opt = Optimizer::<Everything, f32>::new(::std::vec![p.clone()], Everything::hyper().amsgrad(true)).unwrap();
    p.set_grad(ndarray::arr1(&[0.5f32, -0.5]).into_dyn());
    opt.step().unwrap();
    assert!(opt.state(0, 0).unwrap().tensor("v_max").is_some());
}
