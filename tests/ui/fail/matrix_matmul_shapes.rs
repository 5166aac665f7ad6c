optim::optimizer! {
    pub Mismatched {
        hyper { lr = 0.1 }
        step {
            let g = grad;
            param -= lr * matmul(g, g);
        }
    }
}
fn main() {}
