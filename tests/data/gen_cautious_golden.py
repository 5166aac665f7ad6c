"""Record cautious-update trajectories (Liang et al., 2024): timm's `AdamWLegacy(caution=True)` and
pytorch-optimizer's `Lion(cautious=True)`.

Usage: python3 gen_cautious_golden.py SEED STEPS OUT.json   (cautious-golden.json: SEED=3 STEPS=12,
timm 1.0.31, pytorch-optimizer 4.1.0, torch 2.15, foreach=False). Same JSON shape as zoo-golden.json,
with a "library" per case; hyperparameters under each library's own names.
"""
import json, sys, torch, timm.optim, pytorch_optimizer as po
from importlib.metadata import version

seed, steps, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
torch.manual_seed(seed)
CASES = [
    ("timm", "AdamW", {"lr": 1e-2, "caution": True}),
    ("timm", "AdamW", {"lr": 1e-2, "caution": True, "amsgrad": True, "maximize": True, "weight_decay": 0.1}),
    ("timm", "AdamW", {"lr": 1e-2, "caution": False}),
    ("pytorch_optimizer", "Lion", {"lr": 1e-3, "cautious": True}),
    ("pytorch_optimizer", "Lion", {"lr": 1e-3, "cautious": True, "weight_decay": 0.1, "weight_decouple": False,
                                   "maximize": True}),
]
SHAPES = [(6, 5), (7,)]


def tl(t):
    return t.detach().to(torch.float64).tolist()


def make(library, name, params, kw):
    if library == "timm":
        # timm's AdamW with `caution` is `AdamWLegacy` (its `AdamW` is torch's, without caution)
        return timm.optim.AdamWLegacy(params, foreach=False, **kw)
    return getattr(po, name)(params, foreach=False, **kw)


def run_case(library, name, kw, dtype):
    params = [torch.randn(s, dtype=dtype) for s in SHAPES]
    init = [tl(p) for p in params]
    ps = [p.clone().requires_grad_(True) for p in params]
    opt = make(library, name, ps, kw)
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
    package = "timm" if library == "timm" else "pytorch_optimizer"
    return {"optimizer": name, "library": f"{package} {version(package)}",
            "hyper": {k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()},
            "dtype": str(dtype).replace("torch.", ""), "shapes": [list(s) for s in SHAPES],
            "init": init, "grads": grads, "params_after_step": after, "state_after_step": states}


cases = [run_case(lib, name, kw, dtype) for dtype in (torch.float64, torch.float32) for lib, name, kw in CASES]
json.dump({"generator": "torch " + torch.__version__, "seed": seed, "steps": steps, "cases": cases}, open(out, "w"))
print("wrote", out, len(cases))
