optim::optimizer! {
    pub Opt {
        hyper { lr = 0.1, beta3 = None }
        step {
            param -= beta3 * grad;
        }
    }
}
fn main() {}
