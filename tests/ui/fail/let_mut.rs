optim::optimizer! {
    pub Descent {
        hyper { lr = 0.1 }
        step {
            let mut g = grad;
            param -= lr * g;
        }
    }
}
fn main() {}
