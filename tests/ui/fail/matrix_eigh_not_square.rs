optim::optimizer! {
    pub Eigen {
        hyper { lr = 0.1 }
        step {
            let q = eigh(grad);
            param -= lr * matmul(transpose(q), grad);
        }
    }
}
fn main() {}
