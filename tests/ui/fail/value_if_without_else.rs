optim::optimizer! {
    pub Descent {
        hyper { lr = 0.1, maximize = false }
        step { param -= lr * if maximize { -grad }; }
    }
}
fn main() {}
