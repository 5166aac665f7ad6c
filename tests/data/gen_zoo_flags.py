"""Record pytorch-optimizer trajectories for the flags and branches `zoo-golden.json` leaves at their defaults.

Usage: python3 gen_zoo_flags.py SEED STEPS OUT.json   (zoo-flags-golden.json: SEED=2 STEPS=12,
pytorch-optimizer 4.1.0, torch 2.15, foreach=False). Same JSON shape as zoo-golden.json.
"""
import json, sys, torch, pytorch_optimizer as po
from importlib.metadata import version

seed, steps, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
torch.manual_seed(seed)
CASES = [
    ("Lion", {"lr": 1e-3, "weight_decay": 0.1, "weight_decouple": False, "maximize": True}),
    ("Lion", {"lr": 1e-3, "weight_decay": 0.1, "fixed_decay": True}),
    ("AdaBelief", {"lr": 1e-2, "weight_decay": 0.1, "weight_decouple": False, "ams_bound": True, "maximize": True}),
    ("AdaBelief", {"lr": 1e-2, "rectify": True, "degenerated_to_sgd": False, "weight_decay": 0.1, "fixed_decay": True}),
    ("AdaBelief", {"lr": 1e-2, "rectify": True, "ams_bound": True, "n_sma_threshold": 4}),
    ("Yogi", {"initial_accumulator": 0.5, "weight_decay": 0.1, "weight_decouple": False, "maximize": True}),
    ("Adan", {"maximize": True, "weight_decay": 0.05}),
    ("Adan", {"lr": 1e-2, "betas": (0.9, 0.8, 0.95)}),
    ("AdaBound", {"lr": 1e-2, "final_lr": 0.05, "gamma": 0.1, "ams_bound": True, "weight_decay": 0.1,
                  "weight_decouple": False}),
    ("AdaBound", {"maximize": True, "weight_decay": 0.1, "fixed_decay": True}),
    ("QHAdam", {"nus": (0.7, 0.8), "weight_decay": 0.1, "maximize": True}),
    ("QHAdam", {"betas": (0.8, 0.9), "weight_decay": 0.1, "weight_decouple": True}),
    ("AdEMAMix", {"t_alpha_beta3": 5.0, "betas": (0.8, 0.99, 0.999), "weight_decay": 0.1}),
    ("AdEMAMix", {"alpha": 2.0, "weight_decay": 0.1, "weight_decouple": True, "maximize": True}),
    ("Tiger", {"weight_decay": 0.1, "weight_decouple": False, "maximize": True}),
    ("Tiger", {"fixed_decay": True}),
    ("SignSGD", {"momentum": 0.0, "weight_decay": 0.1, "weight_decouple": False}),
    ("SignSGD", {"weight_decay": 0.1, "maximize": True}),
    ("LaProp", {"lr": 1e-2, "centered": True, "steps_before_using_centered": 3, "ams_bound": True,
                "weight_decay": 0.1}),
    ("LaProp", {"lr": 1e-2, "centered": True, "weight_decay": 0.1, "weight_decouple": False, "maximize": True}),
    ("DiffGrad", {"lr": 1e-2, "rectify": True, "ams_bound": True, "weight_decay": 0.1, "weight_decouple": False}),
    ("DiffGrad", {"lr": 1e-2, "rectify": True, "degenerated_to_sgd": False, "maximize": True}),
    ("AdaMod", {"betas": (0.8, 0.9, 0.99), "weight_decay": 0.1, "weight_decouple": False, "maximize": True}),
    ("MADGRAD", {"momentum": 0.0, "weight_decay": 0.1}),
    ("MADGRAD", {"lr": 1e-2, "weight_decay": 0.1, "weight_decouple": True, "maximize": True}),
    ("MADGRAD", {"momentum": 0.0, "eps": 0.0}),
]
SHAPES = [(4, 3), (5,)]


def tl(t):
    return t.detach().to(torch.float64).tolist()


def run_case(name, kw, dtype):
    params = [torch.randn(s, dtype=dtype) for s in SHAPES]
    init = [tl(p) for p in params]
    ps = [p.clone().requires_grad_(True) for p in params]
    opt = getattr(po, name)(ps, foreach=False, **kw)
    grads, after, states = [], [], []
    for _ in range(steps):
        gs = [torch.randn(s, dtype=dtype) for s in SHAPES]
        for p, g in zip(ps, gs):
            p.grad = g.clone()
        opt.step()
        grads.append([tl(g) for g in gs])
        after.append([tl(p) for p in ps])
        states.append([
            {k: tl(v) if torch.is_tensor(v) else float(v) for k, v in opt.state[p].items()
             if torch.is_tensor(v) or isinstance(v, (int, float))}
            for p in ps
        ])
    return {"optimizer": name, "library": "pytorch-optimizer " + version("pytorch_optimizer"),
            "hyper": {k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()},
            "dtype": str(dtype).replace("torch.", ""), "shapes": [list(s) for s in SHAPES],
            "init": init, "grads": grads, "params_after_step": after, "state_after_step": states}


cases = [run_case(name, kw, dtype) for dtype in (torch.float64, torch.float32) for name, kw in CASES]
json.dump({"generator": "torch " + torch.__version__, "seed": seed, "steps": steps, "cases": cases}, open(out, "w"))
print("wrote", out, len(cases))
