optim::optimizer! {
    pub Counted {
        hyper { lr = 0.1 }
        state { group last = 0 }
        step {
            last = grad;
            param -= lr * grad;
        }
    }
}
fn main() {}
