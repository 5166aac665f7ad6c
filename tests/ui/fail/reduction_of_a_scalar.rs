optim::optimizer! {
    pub Scaled {
        hyper { lr = 0.1 }
        step { param -= lr * grad / sum(lr); }
    }
}
fn main() {}
