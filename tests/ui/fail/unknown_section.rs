optim::optimizer! {
    pub Descent {
        hyper { lr = 0.1 }
        stat { v = 0 }
        step { param -= lr * grad; }
    }
}
fn main() {}
