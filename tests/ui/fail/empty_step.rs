optim::optimizer! {
    pub Nothing {
        hyper { lr = 0.1 }
        step { }
    }
}
fn main() {}
