optim::optimizer! {
    pub Rooted {
        hyper { lr = 0.1 }
        step { param -= lr * grad / sqr(abs(grad) + 1); }
    }
}
fn main() {}
