optim::optimizer! {
    pub Broken {
        hyper { lr = 0.1, lr = 0.2 }
        state { v = 0 }
        step {
            grad = grad * 2;
            param -= lr * gard;
        }
    }
}
fn main() {}
