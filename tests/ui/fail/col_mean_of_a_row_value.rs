optim::optimizer! {
    pub Factored {
        hyper { lr = 0.1 }
        state { row r = 0 }
        step {
            r = row_mean(grad);
            param -= lr * col_mean(r) * grad;
        }
    }
}
fn main() {}
