optim::optimizer! {
    pub Casted {
        hyper { lr = 0.1 }
        step {
            let g = grad as f32;
            param -= lr * g;
        }
    }
}
fn main() {}
