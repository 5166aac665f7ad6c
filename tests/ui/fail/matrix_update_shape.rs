optim::optimizer! {
    pub WrongShape {
        hyper { lr = 0.1 }
        step {
            let g = grad;
            let gram = matmul(transpose(g), g);
            param -= lr * gram;
        }
    }
}
fn main() {}
