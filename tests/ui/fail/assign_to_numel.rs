optim::optimizer! {
    pub Sized {
        hyper { lr = 0.1 }
        step {
            numel = 2;
            param -= lr * grad / numel;
        }
    }
}
fn main() {}
