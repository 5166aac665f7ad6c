optim::optimizer! {
    pub Counted {
        hyper { lr = 0.1 }
        state { group total = 0 }
        step {
            total = total + numel;
            param -= lr * grad;
        }
    }
}
fn main() {}
