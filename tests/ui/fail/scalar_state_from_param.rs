optim::optimizer! {
    pub ScalarFromParam {
        hyper { lr = 0.1 }
        state { scalar s = param }
        step {
            s = s + 1;
            param -= lr * grad;
        }
    }
}
fn main() {}
