optim::optimizer! {
    pub Descent {
        hyper { lr = 0.1 }
        step { param -= lr * gard; }
    }
}
fn main() {}
