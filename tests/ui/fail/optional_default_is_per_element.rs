optim::optimizer! {
    pub OptElem {
        hyper { lr = 0.1, beta3 = None }
        step {
            param -= lr * beta3.unwrap_or(grad) * grad;
        }
    }
}
fn main() {}
