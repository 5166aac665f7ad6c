optim::optimizer! {
    pub Decay {
        hyper { lr = 0.1 }
        step {
            lr = lr * 0.99;
            param -= lr * grad;
        }
    }
}
fn main() {}
