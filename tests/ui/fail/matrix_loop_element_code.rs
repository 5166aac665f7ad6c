optim::optimizer! {
    pub Looped {
        hyper { lr = 0.1, steps = 3 }
        step {
            for _ in 0..steps {
                param -= lr * grad;
            }
        }
    }
}
fn main() {}
