#!/usr/bin/env python3
"""Record stock `torch.optim.Muon` trajectories on float32 parameters: no patch, so its
Newton–Schulz iteration runs in bfloat16 as shipped (`_zeropower_via_newtonschulz` casts to
bfloat16 and returns bfloat16, which `param.add_` upcasts).

Usage::

    python3 scripts/gen_muon_bf16.py OUT.json              # seed 11, 8 steps
    python3 scripts/gen_muon_bf16.py OUT.json --deviation  # also: stock bf16 vs float32 iteration

Same JSON shape as tests/data/matrix-golden.json, without "group_after_step": parameters from
`torch.randn(shape)`, then per step gradients `torch.randn(shape) * 0.5 + 0.1` (one generator,
seeded once, cases in order), `params_after_step` and `state_after_step` ({"momentum_buffer"})
after every step; all values float32 widened exactly to float64. Recorded with torch 2.15.0.

`--deviation` prints how far one default Muon step (the first step of the first case) with the
stock bfloat16 iteration lands from the same step with the iteration in float32 (the patch
below), to size the tolerance of a bfloat16 parity test.
"""
import argparse
import json
import sys
import os

import torch
import torch.optim._muon as muon_module

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_torch import newton_schulz_float32  # noqa: E402

SEED, STEPS = 11, 8
CASES = [
    ({}, [[8, 5], [6, 16]]),
    ({"nesterov": False, "weight_decay": 0.01, "adjust_lr_fn": "match_rms_adamw", "lr": 0.02}, [[12, 12], [3, 20]]),
    ({"ns_steps": 3, "momentum": 0.9}, [[32, 16]]),
]


def tl(t):
    return t.detach().to(torch.float64).tolist()


# the same float32 iteration compare_torch.py times (one definition for both scripts)
newton_schulz_f32 = newton_schulz_float32(torch)


def run_case(hyper, shapes):
    params = [torch.randn(s) for s in shapes]
    init = [tl(p) for p in params]
    ps = [p.clone().requires_grad_(True) for p in params]
    optimizer = torch.optim.Muon(ps, **hyper)
    grads, after, states = [], [], []
    for _ in range(STEPS):
        gs = [torch.randn(s) * 0.5 + 0.1 for s in shapes]
        for p, g in zip(ps, gs):
            p.grad = g.clone()
        optimizer.step()
        grads.append([tl(g) for g in gs])
        after.append([tl(p) for p in ps])
        states.append([{"momentum_buffer": tl(optimizer.state[p]["momentum_buffer"])} for p in ps])
    return {"optimizer": "Muon", "library": "torch " + torch.__version__, "hyper": hyper, "dtype": "float32",
            "shapes": shapes, "init": init, "grads": grads, "params_after_step": after,
            "state_after_step": states}


def one_step(init, grad, patched):
    p = init.clone().requires_grad_(True)
    p.grad = grad.clone()
    stock = muon_module._zeropower_via_newtonschulz
    if patched:
        muon_module._zeropower_via_newtonschulz = newton_schulz_f32
    try:
        torch.optim.Muon([p]).step()
    finally:
        muon_module._zeropower_via_newtonschulz = stock
    return p.detach()


def deviation(case):
    """Stock (bfloat16) against float32 iteration, one default step of the first parameter."""
    init = torch.tensor(case["init"][0], dtype=torch.float32)
    grad = torch.tensor(case["grads"][0][0], dtype=torch.float32)
    bf16, f32 = one_step(init, grad, False), one_step(init, grad, True)
    decayed = init * (1 - 1e-3 * 0.1)  # defaults: lr 1e-3, weight decay 0.1, applied before the update
    step_bf16, step_f32 = bf16 - decayed, f32 - decayed
    diff = (step_bf16 - step_f32).abs()
    print(f"shape {case['shapes'][0]}, one default step, torch {torch.__version__}:")
    print(f"  params: max |bf16 - f32| = {(bf16 - f32).abs().max():.3e}, "
          f"max relative = {((bf16 - f32).abs() / f32.abs()).max():.3e}")
    print(f"  update (param change): max |bf16 - f32| = {diff.max():.3e}, "
          f"max relative = {(diff / step_f32.abs()).max():.3e}, "
          f"relative to max |update| = {diff.max() / step_f32.abs().max():.3e}, "
          f"median relative = {(diff / step_f32.abs()).median():.3e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="where to write the JSON recording")
    parser.add_argument("--deviation", action="store_true", help="also print stock bf16 vs float32 iteration")
    args = parser.parse_args()
    torch.manual_seed(SEED)
    cases = [run_case(hyper, shapes) for hyper, shapes in CASES]
    with open(args.out, "w") as f:
        json.dump({"generator": "gen_muon_bf16.py, torch " + torch.__version__, "seed": SEED, "steps": STEPS,
                   "cases": cases}, f)
    print("wrote", args.out, len(cases), "cases")
    if args.deviation:
        deviation(cases[0])


if __name__ == "__main__":
    main()
