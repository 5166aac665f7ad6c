optim::optimizer! {
    pub Tracker {
        hyper { lr = 0.1 }
        state { scalar last = 0 }
        step {
            last = grad;
            param -= lr * grad;
        }
    }
}
fn main() {}
