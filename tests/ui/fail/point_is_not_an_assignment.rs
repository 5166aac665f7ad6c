optim::optimizer! {
    pub Averaged {
        hyper { lr = 0.1 }
        state { z = param }
        step {
            z -= lr * grad;
            param = lerp(param, z, 0.5);
        }
        eval { z = param; }
        train { param = lerp(param, z, -1); }
    }
}
fn main() {}
