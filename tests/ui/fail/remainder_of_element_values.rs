optim::optimizer! {
    pub Remainder {
        hyper { lr = 0.1 }
        step {
            param -= lr * (grad % 2);
        }
    }
}
fn main() {}
