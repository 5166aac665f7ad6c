optim::optimizer! {
    pub Looped {
        hyper { lr = 0.1 }
        step {
            for i in 0..3 {
                param -= lr * grad;
            }
        }
    }
}
fn main() {}
