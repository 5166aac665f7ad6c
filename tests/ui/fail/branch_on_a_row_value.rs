optim::optimizer! {
    pub Factored {
        hyper { lr = 0.1 }
        step {
            let r = row_mean(grad);
            if r > 0 { param -= lr * grad; }
        }
    }
}
fn main() {}
