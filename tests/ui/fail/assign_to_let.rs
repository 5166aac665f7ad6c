optim::optimizer! {
    pub Descent {
        hyper { lr = 0.1 }
        step {
            let g = grad;
            g = g * 2;
            param -= lr * g;
        }
    }
}
fn main() {}
