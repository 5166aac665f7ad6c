optim::optimizer! {
    #[across_groups(lr)]
    pub Shared {
        hyper { lr = 0.1 }
        step { param -= lr * grad; }
    }
}
fn main() {}
