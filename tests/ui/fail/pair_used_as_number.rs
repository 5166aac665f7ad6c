optim::optimizer! {
    pub Descent {
        hyper { betas = (0.9, 0.99) }
        step { param -= betas * grad; }
    }
}
fn main() {}
