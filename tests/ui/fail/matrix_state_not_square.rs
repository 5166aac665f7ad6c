optim::optimizer! {
    pub Rectangular {
        hyper { lr = 0.1 }
        state { matrix(rows, cols) gg = 0 }
        step {
            gg = matmul(grad, transpose(grad));
            param -= lr * grad;
        }
    }
}
fn main() {}
