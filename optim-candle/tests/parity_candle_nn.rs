//! The same candle model trained with `candle_nn::AdamW` and with our `AdamW` through the bridge
//! reaches the same parameters: candle's optimizer is the independent reference.

mod common;

use candle_core::DType;
use candle_nn::ParamsAdamW;
use common::{max_difference, train};
use optim_candle::CandleOptimizer;
use optim_core::builtins::AdamW;

const STEPS: usize = 60;

fn candle_config() -> ParamsAdamW {
    ParamsAdamW { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01 }
}

fn ours() -> optim_core::builtins::AdamWHyper {
    AdamW::hyper().lr(1e-2).betas((0.9, 0.999)).eps(1e-8).weight_decay(0.01)
}

#[test]
fn adamw_matches_candle_nn_in_f64_and_f32() {
    let reference64 = train::<candle_nn::AdamW>(candle_config(), DType::F64, STEPS).unwrap();
    let bridged64 = train::<CandleOptimizer<AdamW, f64>>(ours(), DType::F64, STEPS).unwrap();
    let (abs64, rel64) = max_difference(&reference64, &bridged64).unwrap();

    let reference32 = train::<candle_nn::AdamW>(candle_config(), DType::F32, STEPS).unwrap();
    let bridged32 = train::<CandleOptimizer<AdamW, f32>>(ours(), DType::F32, STEPS).unwrap();
    let (abs32, rel32) = max_difference(&reference32, &bridged32).unwrap();
    println!(
        "candle_nn::AdamW parity: digits MLP 64-32-10, {STEPS} steps: f64 max abs {abs64:.2e} rel {rel64:.2e}, \
         f32 max abs {abs32:.2e} rel {rel32:.2e}"
    );
    assert!(rel64 < 1e-9, "f64: {rel64:e}");
    assert!(rel32 < 1e-4 && abs32 < 1e-6, "f32: abs {abs32:e} rel {rel32:e}");
}

#[test]
fn the_comparison_sees_a_different_weight_decay() {
    // The tolerance above must be far below what a semantic difference produces: coupled or
    // missing weight decay, or a changed eps, moves the parameters by much more.
    let reference = train::<candle_nn::AdamW>(candle_config(), DType::F64, STEPS).unwrap();
    for changed in [ours().weight_decay(0.0), ours().eps(1e-6), ours().betas((0.9, 0.99))] {
        let bridged = train::<CandleOptimizer<AdamW, f64>>(changed, DType::F64, STEPS).unwrap();
        let (_, rel) = max_difference(&reference, &bridged).unwrap();
        assert!(rel > 1e-4, "{changed:?}: {rel:e}");
    }
}
