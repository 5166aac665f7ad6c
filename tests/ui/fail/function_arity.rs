optim::optimizer! {
    pub Clipped {
        hyper { lr = 0.1 }
        step { param -= lr * max(grad); }
    }
}
fn main() {}
