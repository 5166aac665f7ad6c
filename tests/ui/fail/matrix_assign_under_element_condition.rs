optim::optimizer! {
    pub Masked {
        hyper { lr = 0.1 }
        state { matrix(rows, rows) gg = 0 }
        step {
            if grad > 0 {
                gg = matmul(grad, transpose(grad));
            }
            param -= lr * matmul(gg, grad);
        }
    }
}
fn main() {}
