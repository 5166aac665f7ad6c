optim::optimizer! {
    pub Counted {
        hyper { lr = 0.1 }
        state { group matrices = 0 }
        step {
            if ndim >= 2 { matrices += 1; }
            param -= lr * grad;
        }
    }
}
fn main() {}
