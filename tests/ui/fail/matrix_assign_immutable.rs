optim::optimizer! {
    pub Immutable {
        hyper { lr = 0.1, steps = 2 }
        step {
            let x = transpose(grad);
            for _ in 0..steps {
                x = 2 * x;
            }
            param -= lr * transpose(x);
        }
    }
}
fn main() {}
