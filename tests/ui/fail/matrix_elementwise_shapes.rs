optim::optimizer! {
    pub Mixed {
        hyper { lr = 0.1 }
        step {
            let gram = matmul(grad, transpose(grad));
            let m = gram * as_matrix(grad);
            param -= lr * m;
        }
    }
}
fn main() {}
