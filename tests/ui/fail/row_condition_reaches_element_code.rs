optim::optimizer! {
    pub RowCond {
        hyper { lr = 0.1 }
        step {
            let r = row_mean(grad * grad);
            param -= lr * select(r > 1 && grad > 0, 1, 0) * grad;
        }
    }
}
fn main() {}
