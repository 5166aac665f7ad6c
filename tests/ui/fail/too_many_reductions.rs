optim::optimizer! {
    pub Sums {
        hyper { lr = 0.1 }
        step {
            let total = sum(grad * 1) + sum(grad * 2) + sum(grad * 3) + sum(grad * 4) + sum(grad * 5) + sum(grad * 6) + sum(grad * 7) + sum(grad * 8) + sum(grad * 9) + sum(grad * 10) + sum(grad * 11) + sum(grad * 12) + sum(grad * 13) + sum(grad * 14) + sum(grad * 15) + sum(grad * 16) + sum(grad * 17) + sum(grad * 18) + sum(grad * 19) + sum(grad * 20) + sum(grad * 21) + sum(grad * 22) + sum(grad * 23) + sum(grad * 24) + sum(grad * 25) + sum(grad * 26) + sum(grad * 27) + sum(grad * 28) + sum(grad * 29) + sum(grad * 30) + sum(grad * 31) + sum(grad * 32) + sum(grad * 33);
            param -= lr * total * grad;
        }
    }
}
fn main() {}
