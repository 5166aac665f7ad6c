optim::optimizer! {
    pub Clipped {
        hyper { lr = 0.1 }
        state { total = 0 }
        step {
            if grad > 0 { total = total + sum(grad); }
            param -= lr * grad;
        }
    }
}
fn main() {}
