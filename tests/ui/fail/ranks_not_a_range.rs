optim::optimizer! {
    #[ranks(2)]
    pub Ranked {
        hyper { lr = 0.1 }
        step {
            param -= lr * grad;
        }
    }
}
fn main() {}
