optim::optimizer! {
    pub Factored {
        hyper { lr = 0.1 }
        state { row r = 0 }
        step {
            r = grad * grad;
            param -= lr * r * grad;
        }
    }
}
fn main() {}
