"""Record pytorch-optimizer AdaFactor trajectories for the flags and branches `zoo-golden.json` leaves at their defaults.

Usage: python3 gen_zoo_adafactor.py SEED STEPS OUT.json   (zoo-adafactor-golden.json: SEED=4 STEPS=12,
pytorch-optimizer 4.1.0, torch 2.15, foreach=False). Same JSON shape as zoo-golden.json / zoo-flags-golden.json,
with per-case parameter shapes (factored 2-D/3-D/4-D, a (1, n) matrix, and 1-D vectors).
"""
import json, sys, torch, pytorch_optimizer as po
from importlib.metadata import version

seed, steps, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
torch.manual_seed(seed)
CASES = [
    ("AdaFactor", {"ams_bound": True, "weight_decay": 0.1}, [(2, 4, 3), (5,)]),
    ("AdaFactor", {"weight_decay": 0.1, "weight_decouple": False, "maximize": True}, [(4, 3), (5,)]),
    ("AdaFactor", {"weight_decay": 0.1, "fixed_decay": True, "clip_threshold": 0.5}, [(3, 2, 2, 3), (6,)]),
    ("AdaFactor", {"relative_step": False, "lr": 1e-2, "scale_parameter": False}, [(4, 3), (1, 5)]),
    ("AdaFactor", {"warmup_init": True, "decay_rate": -0.5, "betas": (0.8, 0.99)}, [(2, 4, 3), (5,)]),
    ("AdaFactor", {"eps2": 0.5, "ams_bound": True, "maximize": True, "weight_decay": 0.05,
                   "weight_decouple": False}, [(5, 1), (3,)]),
]


def tl(t):
    return t.detach().to(torch.float64).tolist()


def run_case(name, kw, shapes, dtype):
    params = [torch.randn(s, dtype=dtype) for s in shapes]
    init = [tl(p) for p in params]
    ps = [p.clone().requires_grad_(True) for p in params]
    opt = getattr(po, name)(ps, foreach=False, **kw)
    grads, after, states = [], [], []
    for _ in range(steps):
        gs = [torch.randn(s, dtype=dtype) for s in shapes]
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
            "dtype": str(dtype).replace("torch.", ""), "shapes": [list(s) for s in shapes],
            "init": init, "grads": grads, "params_after_step": after, "state_after_step": states}


cases = [run_case(name, kw, shapes, dtype) for dtype in (torch.float64, torch.float32) for name, kw, shapes in CASES]
json.dump({"generator": "torch " + torch.__version__, "seed": seed, "steps": steps, "cases": cases}, open(out, "w"))
print("wrote", out, len(cases))
