optim::optimizer! {
    pub Descent {
        hyper { lr = 0.1, step = 1.0 }
        step { param -= lr * grad; }
    }
}
fn main() {}
