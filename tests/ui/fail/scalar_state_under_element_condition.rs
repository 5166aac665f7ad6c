optim::optimizer! {
    pub Counter {
        hyper { lr = 0.1 }
        state { scalar positives = 0 }
        step {
            if grad > 0 { positives = positives + 1; }
            param -= lr * grad;
        }
    }
}
fn main() {}
