//! Linear warmup then cosine decay, over any optimizer: the same schedule drives an optim
//! `Optimizer` on `Param`s and a `CandleOptimizer` on candle Vars (anything implementing
//! `LrTarget`), as PyTorch's `SequentialLR([LinearLR, CosineAnnealingLR])`.
//!
//! ```text
//! cargo run --release --example schedulers
//! ```

use candle_core::{Device, Var};
use optim::lr_scheduler::{CosineAnnealingLR, LinearLR, LrScheduler, LrTarget, SequentialLR};
use optim::prelude::*;
use optim_candle::CandleOptimizer;

/// Warmup from 1% of the base rate over `warmup` steps, then cosine down to `min_lr` over the rest.
fn warmup_cosine(opt: &mut dyn LrTarget, warmup: u64, total: u64, min_lr: f64) -> Result<SequentialLR, OptimError> {
    let ramp = LinearLR::new(opt, 0.01, 1.0, warmup)?;
    let cosine = CosineAnnealingLR::new(opt, total - warmup, min_lr)?;
    SequentialLR::new(opt, vec![Box::new(ramp), Box::new(cosine)], vec![warmup])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (warmup, total) = (10, 100);

    // optim's own optimizer on an ndarray parameter.
    let w = Param::new(ndarray::ArrayD::<f32>::zeros(vec![4]));
    let mut sgd = Optimizer::<Sgd, f32>::new(vec![w.clone()], Sgd::hyper().lr(0.1).momentum(0.9))?;
    let mut sgd_schedule = warmup_cosine(&mut sgd, warmup, total, 1e-4)?;

    // The bridge on a candle Var: the same scheduler type, the same code.
    let v = Var::zeros(4, candle_core::DType::F32, &Device::Cpu)?;
    let mut adamw = CandleOptimizer::<AdamW>::new(vec![v.clone()], AdamW::hyper().lr(1e-3))?;
    let mut adamw_schedule = warmup_cosine(&mut adamw, warmup, total, 1e-5)?;

    println!("step   SGD lr      AdamW lr");
    for step in 0..total {
        w.set_grad(ndarray::ArrayD::from_elem(vec![4], 0.1)); // from your backward pass
        sgd.step()?;
        sgd_schedule.step(&mut sgd)?;

        let loss = v.as_tensor().sqr()?.sum_all()?; // candle's backward pass
        adamw.backward_step(&loss)?;
        adamw_schedule.step(&mut adamw)?;

        if step % 10 == 9 || step < 3 {
            let (a, b) = (sgd.param_groups()[0].hyper.lr, adamw.param_groups()[0].hyper.lr);
            println!("{:4}   {a:.3e}   {b:.3e}", step + 1);
        }
    }
    Ok(())
}
