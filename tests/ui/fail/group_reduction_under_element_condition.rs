optim::optimizer! {
    pub Normalised {
        hyper { lr = 0.1 }
        step {
            let g = if grad > 0 { grad / group_norm(grad) } else { grad };
            param -= lr * g;
        }
    }
}
fn main() {}
