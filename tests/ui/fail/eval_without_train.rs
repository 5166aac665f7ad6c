optim::optimizer! {
    pub Averaged {
        hyper { lr = 0.1 }
        state { z = param }
        step {
            z -= lr * grad;
            param = lerp(param, z, 0.5);
        }
        eval { param = z; }
    }
}
fn main() {}
