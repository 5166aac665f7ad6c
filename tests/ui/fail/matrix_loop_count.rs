optim::optimizer! {
    pub Counted {
        hyper { lr = 0.1 }
        step {
            let mut x = grad;
            for _ in 0..grad {
                x = 2 * x;
            }
            param -= lr * x;
        }
    }
}
fn main() {}
