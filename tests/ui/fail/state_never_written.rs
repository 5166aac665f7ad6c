optim::optimizer! {
    pub Descent {
        hyper { lr = 0.1 }
        state { velocity = 0 }
        step { param -= lr * (grad + velocity); }
    }
}
fn main() {}
