#![deny(warnings)]

optim::optimizer! {
    /// The smallest rule.
    pub Descent {
        hyper { lr = 0.1 in 0.0.. }
        step { param -= lr * grad; }
    }
}

fn main() {
    let p = optim::Param::new(ndarray::arr1(&[1.0f64]).into_dyn());
    let mut opt = Descent::optimizer(vec![p.clone()], Descent::hyper().lr(0.5)).unwrap();
    p.set_grad(ndarray::arr1(&[1.0]).into_dyn());
    opt.step().unwrap();
    assert_eq!(p.value()[0], 0.5);
}
