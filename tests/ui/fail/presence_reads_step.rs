optim::optimizer! {
    pub Warm {
        hyper { lr = 0.1 }
        state { m = 0 if step > 1 }
        step {
            m = grad;
            param -= lr * grad;
        }
    }
}
fn main() {}
