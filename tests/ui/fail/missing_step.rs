optim::optimizer! {
    pub Descent {
        hyper { lr = 0.1 }
    }
}
fn main() {}
