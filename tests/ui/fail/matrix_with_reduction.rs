optim::optimizer! {
    pub Mixed {
        hyper { lr = 0.1 }
        step {
            let scale = norm(grad);
            let x = transpose(transpose(grad));
            param -= lr * x / scale;
        }
    }
}
fn main() {}
