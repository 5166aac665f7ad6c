optim::optimizer! {
    pub Descent {
        hyper { lr = 0.1 }
        step {
            lr * grad;
            param -= lr * grad;
        }
    }
}
fn main() {}
