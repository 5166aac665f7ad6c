//! Save, stop, resume: a candle model trained for 40 steps straight, and the same model trained
//! for 20 steps, saved (model with candle, optimizer state with optim), dropped, rebuilt from
//! the two files and trained for 20 more, end bit-identical.
//!
//! ```text
//! cargo run --release --example checkpoint_resume
//! ```

use std::path::Path;

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Sequential, VarBuilder, VarMap};
use optim::prelude::*;
use optim_candle::{CandleOptimizer, sorted_vars};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A fresh 64-32-10 MLP; its VarMap holds the weights.
fn model() -> Result<(VarMap, Sequential)> {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let net = candle_nn::seq()
        .add(candle_nn::linear(64, 32, vb.pp("fc1"))?)
        .add_fn(|x| x.tanh())
        .add(candle_nn::linear(32, 10, vb.pp("fc2"))?);
    Ok((varmap, net))
}

/// The optimizer over the VarMap's Vars in name order, so that a checkpoint's parameter
/// numbering means the same Vars in the next process (`all_vars()` is in hash order).
fn optimizer(varmap: &VarMap) -> Result<CandleOptimizer<NAdam>> {
    let vars = sorted_vars(varmap).into_iter().map(|(_, var)| var).collect();
    Ok(CandleOptimizer::new(vars, NAdam::hyper().lr(2e-3))?)
}

fn train(net: &Sequential, opt: &mut CandleOptimizer<NAdam>, steps: std::ops::Range<usize>) -> Result<()> {
    let digits = showcase::data::Dataset::embedded()?;
    for step in steps {
        let rows: Vec<usize> = (0..32).map(|i| (step * 32 + i) % digits.len()).collect();
        let batch = digits.select(&rows);
        let x = Tensor::from_iter(batch.images.iter().copied(), &Device::Cpu)?.reshape((32, 64))?;
        let y = Tensor::from_iter(batch.labels.iter().map(|&l| l as u32), &Device::Cpu)?;
        opt.backward_step(&candle_nn::loss::cross_entropy(&net.forward(&x)?, &y)?)?;
    }
    Ok(())
}

fn weights(varmap: &VarMap) -> Result<Vec<Vec<f32>>> {
    let named = sorted_vars(varmap);
    Ok(named.iter().map(|(_, v)| v.as_tensor().flatten_all()?.to_vec1::<f32>()).collect::<candle_core::Result<_>>()?)
}

fn main() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("optim-checkpoint-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = |name: &str| dir.join(name);

    // Uninterrupted: 40 steps. Its starting weights are saved so the resumed run starts equal.
    let (varmap, net) = model()?;
    varmap.save(file("initial.safetensors"))?;
    let mut opt = optimizer(&varmap)?;
    train(&net, &mut opt, 0..40)?;
    let straight = weights(&varmap)?;

    // Interrupted: 20 steps, save both halves of the training state, drop everything.
    {
        let (mut varmap, net) = model()?;
        varmap.load(file("initial.safetensors"))?;
        let mut opt = optimizer(&varmap)?;
        train(&net, &mut opt, 0..20)?;
        varmap.save(file("model.safetensors"))?; // candle: the weights
        opt.save(file("optimizer.safetensors"))?; // optim: state, step counts, hyperparameters
    }
    // ...a new process would start here: build the model, load both files, continue.
    let (mut varmap, net) = model()?;
    varmap.load(file("model.safetensors"))?;
    let mut opt = optimizer(&varmap)?;
    opt.load(file("optimizer.safetensors"))?;
    train(&net, &mut opt, 20..40)?;
    let resumed = weights(&varmap)?;

    let identical = straight == resumed;
    println!("40 steps straight vs 20 + save + load + 20: bit-identical = {identical}");
    println!(
        "optimizer checkpoint: {} bytes at {}",
        std::fs::metadata(file("optimizer.safetensors"))?.len(),
        show(&dir)
    );
    std::fs::remove_dir_all(&dir)?;
    if !identical {
        return Err("the resumed run diverged".into());
    }
    Ok(())
}

fn show(path: &Path) -> String {
    path.display().to_string()
}
