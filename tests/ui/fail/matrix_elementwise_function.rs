optim::optimizer! {
    pub Rooted {
        hyper { lr = 0.1 }
        step {
            let g = grad;
            param -= lr * sqrt(matmul(g, transpose(g)));
        }
    }
}
fn main() {}
