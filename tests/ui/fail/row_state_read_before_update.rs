optim::optimizer! {
    pub Factored {
        hyper { lr = 0.1 }
        state { row r = 1 }
        step {
            param -= r * grad;
            r = row_mean(grad * grad);
        }
    }
}
fn main() {}
