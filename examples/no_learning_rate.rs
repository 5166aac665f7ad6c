//! Training without a learning rate to tune, or without a schedule: Prodigy estimates its step
//! size `d` from the whole model (one `d` over both param groups, as `prodigyopt` does), and
//! Schedule-Free AdamW trains at `y` and is evaluated at its running average `x`
//! (`optimizer.eval()` / `optimizer.train()`, as the `schedulefree` package). The values both
//! keep per group are in `param_groups()` and survive a checkpoint.
//!
//! ```text
//! cargo run --release --example no_learning_rate
//! ```

use ndarray::{Array1, Array2, ArrayD, Axis, Ix1};
use optim::prelude::*;
use optim::zoo::{AdamWScheduleFree, Prodigy};

/// A linear regression `y = X · w_true + 0.5` on 256 points with 8 features.
struct Regression {
    x: Array2<f32>,
    y: Array1<f32>,
}

impl Regression {
    fn new() -> Self {
        let (n, d) = (256, 8);
        let x = Array2::from_shape_fn((n, d), |(i, j)| (((i * 31 + j * 17) % 97) as f32 / 48.5) - 1.0);
        let w_true = Array1::from_iter((0..d).map(|j| j as f32 * 0.25 - 1.0));
        let y = x.dot(&w_true) + 0.5;
        Regression { x, y }
    }

    /// The mean squared error at (`w`, `b`), and its gradient set on both parameters.
    fn loss_and_grads(&self, w: &Param<f32>, b: &Param<f32>) -> f32 {
        let n = self.y.len() as f32;
        let (wv, bv) = (w.value().into_dimensionality::<Ix1>().expect("1-D"), b.value()[0]);
        let residual = self.x.dot(&wv) + bv - &self.y;
        w.set_grad((self.x.t().dot(&residual) * (2.0 / n)).into_dyn());
        b.set_grad(ArrayD::from_elem(vec![1], residual.sum_axis(Axis(0)).into_scalar() * 2.0 / n));
        residual.mapv(|r| r * r).mean().unwrap_or(0.0)
    }
}

fn params() -> (Param<f32>, Param<f32>) {
    (Param::new(ArrayD::zeros(vec![8])), Param::new(ArrayD::zeros(vec![1])))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let task = Regression::new();

    // Prodigy: lr stays 1; weight decay on the weights, none on the bias (two groups, one d).
    let (w, b) = params();
    let groups = vec![Group::new(vec![w.clone()]).with("weight_decay", 1e-3), Group::new(vec![b.clone()])];
    let mut prodigy = Optimizer::<Prodigy, f32>::with_groups(groups, Prodigy::hyper())?;
    println!("Prodigy (lr = 1):");
    let mut loss = f32::INFINITY;
    for step in 0..=300 {
        loss = task.loss_and_grads(&w, &b);
        prodigy.step()?;
        if step % 50 == 0 {
            let d = prodigy.param_groups()[0].value("d").unwrap_or_default();
            println!("  step {step:3}  loss {loss:.3e}  d {d:.3e}");
        }
    }
    assert!(loss < 1e-4, "Prodigy did not fit the regression: {loss}");
    let saved = prodigy.to_bytes()?;
    let mut resumed = Optimizer::<Prodigy, f32>::with_groups(
        vec![Group::new(vec![w.clone()]).with("weight_decay", 1e-3), Group::new(vec![b.clone()])],
        Prodigy::hyper(),
    )?;
    resumed.load_bytes(&saved)?;
    assert!(resumed.param_groups()[1].values().eq(prodigy.param_groups()[0].values()));
    println!(
        "  a checkpoint restores d = {:.3e} in both groups",
        resumed.param_groups()[1].value("d").unwrap_or_default()
    );

    // Schedule-Free AdamW: no schedule; evaluate at x, step at y.
    let (w, b) = params();
    let hyper = AdamWScheduleFree::hyper().lr(0.05).warmup_steps(20);
    let mut schedule_free = AdamWScheduleFree::optimizer(vec![w.clone(), b.clone()], hyper)?;
    println!("Schedule-Free AdamW (lr = 0.05, 20 warmup steps):");
    for step in 0..=300 {
        let at_y = task.loss_and_grads(&w, &b);
        schedule_free.step()?;
        if step % 50 == 0 {
            schedule_free.eval(); // the averaged point, for evaluation
            let at_x = task.loss_and_grads(&w, &b);
            schedule_free.train(); // back to the training point before the next step
            let k = schedule_free.param_groups()[0].value("k").unwrap_or_default();
            println!("  step {step:3}  loss at y {at_y:.3e}  at x {at_x:.3e}  k {k}");
        }
    }
    schedule_free.eval();
    let final_loss = task.loss_and_grads(&w, &b);
    println!("  evaluated at x: loss {final_loss:.3e}");
    assert!(final_loss < 1e-2, "Schedule-Free did not fit the regression: {final_loss}");
    Ok(())
}
