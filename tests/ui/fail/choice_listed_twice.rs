optim::optimizer! {
    pub Twice {
        hyper { lr = 0.1, kind = "plain" | "sign" | "plain" }
        step {
            param -= lr * grad;
        }
    }
}
fn main() {}
