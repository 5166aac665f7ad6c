optim::optimizer! {
    pub Descent {
        hyper { lr = 0.1, maximize = false in 0.0..1.0 }
        step { param -= lr * grad; }
    }
}
fn main() {}
