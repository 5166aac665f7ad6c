optim::optimizer! {
    #[across_groups(lr, beta)]
    pub Shared {
        hyper { lr = 0.1, betas = (0.9, 0.99) }
        state { group total = 0 }
        step {
            total = group_sum(grad * grad);
            param -= lr * grad / sqrt(total + 1);
        }
    }
}
fn main() {}
