//! A candle training loop driven by optim: an MLP on the handwritten digits, built with
//! `candle_nn` (VarMap, `linear`, autograd), trained with optim's AdamW through the bridge.
//!
//! ```text
//! cargo run --release --example candle_mlp
//! ```
//!
//! Compared with the same loop on `candle_nn::AdamW`, one line changes (the optimizer's
//! construction); param groups (no weight decay on biases) and the cosine schedule are extras
//! candle's optimizers do not have.

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{VarBuilder, VarMap};
use optim::lr_scheduler::{CosineAnnealingLR, LrScheduler};
use optim::prelude::*;
use optim_candle::{CandleOptimizer, decay_groups};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let device = Device::Cpu;
    // The 1,797 8×8 digits embedded in the showcase (no download), 80 / 20 split.
    let (train, test) = showcase::data::Dataset::embedded()?.split(0.2, 7);
    let tensors = |d: &showcase::data::Dataset| -> candle_core::Result<(Tensor, Tensor)> {
        let pixels = Tensor::from_iter(d.images.iter().copied(), &device)?.reshape((d.len(), 64))?;
        let labels = Tensor::from_iter(d.labels.iter().map(|&l| l as u32), &device)?;
        Ok((pixels, labels))
    };
    let ((train_x, train_y), (test_x, test_y)) = (tensors(&train)?, tensors(&test)?);

    // An ordinary candle model.
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &device);
    let model = candle_nn::seq()
        .add(candle_nn::linear(64, 64, vb.pp("fc1"))?)
        .add_fn(|x| x.relu())
        .add(candle_nn::linear(64, 10, vb.pp("fc2"))?);

    // The one line: was `candle_nn::AdamW::new(varmap.all_vars(), ParamsAdamW { lr: 1e-2, .. })?`.
    // Here with two groups (biases without weight decay); `CandleOptimizer::<AdamW>::new(
    // varmap.all_vars(), AdamW::hyper().lr(1e-2))?` is the literal one-line swap.
    let mut opt = CandleOptimizer::<AdamW>::with_groups(
        decay_groups(&varmap, |name| name.ends_with(".bias")),
        AdamW::hyper().lr(1e-2).weight_decay(0.01),
    )?;
    let (epochs, batch) = (10, 64);
    let batches = train.len().div_ceil(batch);
    let mut schedule = CosineAnnealingLR::new(&mut opt, (epochs * batches) as u64, 1e-4)?;

    for epoch in 1..=epochs {
        let mut total = 0.0;
        for b in 0..batches {
            let start = b * batch;
            let len = batch.min(train.len() - start);
            let (x, y) = (train_x.narrow(0, start, len)?, train_y.narrow(0, start, len)?);
            let loss = candle_nn::loss::cross_entropy(&model.forward(&x)?, &y)?;
            opt.backward_step(&loss)?; // candle's autograd, optim's fused AdamW, in place
            schedule.step(&mut opt)?;
            total += loss.to_scalar::<f32>()?;
        }
        let predicted = model.forward(&test_x)?.argmax(1)?;
        let correct = predicted.eq(&test_y)?.to_dtype(DType::F32)?.sum_all()?.to_scalar::<f32>()?;
        println!(
            "epoch {epoch:2}  train loss {:.4}  test accuracy {:.1}%  lr {:.2e}",
            total / batches as f32,
            100.0 * correct / test.len() as f32,
            opt.param_groups()[0].hyper.lr
        );
    }
    Ok(())
}
