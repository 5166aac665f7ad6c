optim::optimizer! {
    pub Follow {
        hyper { lr = 0.1 }
        step {
            let g = gard * 2;
            let h = g * g;
            param -= lr * h;
        }
    }
}
fn main() {}
