optim::optimizer! {
    pub Adamish {
        hyper { lr = 0.1, amsgrad = false }
        state { v = 0, v_max = 0 if amsgrad }
        step {
            v = 0.9 * v + 0.1 * grad * grad;
            v_max = max(v_max, v);
            param -= lr * grad / sqrt(v_max + 1e-8);
        }
    }
}
fn main() {}
