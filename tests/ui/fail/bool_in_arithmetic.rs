optim::optimizer! {
    pub Descent {
        hyper { lr = 0.1, nesterov = false }
        step { param -= lr * nesterov * grad; }
    }
}
fn main() {}
