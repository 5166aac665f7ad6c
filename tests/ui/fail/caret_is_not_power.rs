optim::optimizer! {
    pub Decay {
        hyper { lr = 0.1, gamma = 0.9 }
        step { param -= lr * gamma ^ step * grad; }
    }
}
fn main() {}
