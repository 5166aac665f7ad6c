optim::optimizer! {
    pub Waiting {
        hyper { lr = 0.1 }
        step {
            while lr > 0 {
                param -= lr * grad;
            }
        }
    }
}
fn main() {}
