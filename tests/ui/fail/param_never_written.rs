optim::optimizer! {
    pub Watcher {
        hyper { lr = 0.1 }
        state { seen = 0 }
        step { seen = grad; }
    }
}
fn main() {}
