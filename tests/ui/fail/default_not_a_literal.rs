optim::optimizer! {
    pub Descent {
        hyper { lr = "fast" }
        step { param -= lr * grad; }
    }
}
fn main() {}
