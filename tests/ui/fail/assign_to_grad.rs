optim::optimizer! {
    pub Descent {
        hyper { lr = 0.1, weight_decay = 0.0 }
        step {
            grad += weight_decay * param;
            param -= lr * grad;
        }
    }
}
fn main() {}
