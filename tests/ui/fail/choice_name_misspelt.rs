optim::optimizer! {
    pub Kinds {
        hyper { lr = 0.1, kind = "plain" | "sign" }
        step {
            if kind == "sgin" { param -= lr * sign(grad); } else { param -= lr * grad; }
        }
    }
}
fn main() {}
