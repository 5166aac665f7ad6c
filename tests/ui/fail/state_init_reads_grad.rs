optim::optimizer! {
    pub FromGrad {
        hyper { lr = 0.1 }
        state { z = grad }
        step {
            z = z + grad;
            param -= lr * z;
        }
    }
}
fn main() {}
