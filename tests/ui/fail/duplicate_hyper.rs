optim::optimizer! {
    pub Descent {
        hyper { lr = 0.1, lr = 0.2 }
        step { param -= lr * grad; }
    }
}
fn main() {}
