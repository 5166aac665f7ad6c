optim::optimizer! {
    pub Squash {
        hyper { lr = 0.1 }
        step { param -= lr * tanh(grad); }
    }
}
fn main() {}
