optim::optimizer! {
    pub Reshaped {
        hyper { lr = 0.1, steps = 2 }
        step {
            let mut x = grad;
            for _ in 0..steps {
                x = matmul(transpose(x), x);
            }
            param -= lr * x;
        }
    }
}
fn main() {}
