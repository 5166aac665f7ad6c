optim::optimizer! {
    pub Momentum {
        hyper { lr = 0.1 }
        state { buf = grad }
        step {
            buf = 0.9 * buf + grad;
            param -= lr * buf;
        }
    }
}
fn main() {}
