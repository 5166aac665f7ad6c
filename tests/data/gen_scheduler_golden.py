"""Records learning rates (and cycled momenta) from torch.optim.lr_scheduler for
tests/lr_scheduler_parity.rs: writes tests/data/torch-schedulers-golden.json.

    python tests/data/gen_scheduler_golden.py                 # with torch installed
    python tests/data/gen_scheduler_golden.py --stub FILE     # FILE = torch/optim/lr_scheduler.py

The schedulers are pure Python over an optimizer's param-group dicts, so `--stub` runs a copy of
torch's own lr_scheduler.py against a minimal stand-in for `torch` and `torch.optim` (param groups,
`defaults`, a no-op `step`) where the full torch cannot be imported.

A case: an optimizer (SGD or Adam) with one or more param groups, a scheduler spec (nested for
SequentialLR and ChainedScheduler; closures named from LAMBDAS), and per step the lr of every group
and, when the schedule cycles momentum, the momentum (SGD) or first beta (Adam) of every group.
The loop is `record; optimizer.step(); scheduler.step()`; for ReduceLROnPlateau it is
`optimizer.step(); scheduler.step(metric); record`.
"""

import argparse
import importlib.util
import json
import os
import re
import sys
import types

LAMBDAS = {
    "pow095": lambda e: 0.95**e,
    "inverse": lambda e: 1.0 / (e + 1),
    "step3": lambda e: float(e // 3),
    "warmup4": lambda e: min(1.0, (e + 1) / 4),
    "shrink": lambda e: 1.0 - 0.01 * e,
}


def install_stub(path):
    torch = types.ModuleType("torch")
    torch.inf = float("inf")

    class Tensor:
        pass

    torch.Tensor = Tensor
    optim = types.ModuleType("torch.optim")
    optim.__path__ = []
    optimizer_mod = types.ModuleType("torch.optim.optimizer")

    class Optimizer:
        def __init__(self, groups, defaults):
            self.defaults = defaults
            self.param_groups = [{**defaults, **g} for g in groups]

        def step(self):
            pass

    optimizer_mod.Optimizer = Optimizer
    optimizer_mod._to_scalar = lambda x: x

    class SGD(Optimizer):
        def __init__(self, groups, lr=1e-3, momentum=0.0):
            super().__init__(groups, dict(lr=lr, momentum=momentum, dampening=0, weight_decay=0, nesterov=False))

    class Adam(Optimizer):
        def __init__(self, groups, lr=1e-3, betas=(0.9, 0.999)):
            super().__init__(groups, dict(lr=lr, betas=betas, eps=1e-8, weight_decay=0, amsgrad=False))

    optim.SGD, optim.Adam, optim.optimizer = SGD, Adam, optimizer_mod
    torch.optim = optim
    sys.modules.update({"torch": torch, "torch.optim": optim, "torch.optim.optimizer": optimizer_mod})
    spec = importlib.util.spec_from_file_location("torch.optim.lr_scheduler", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["torch.optim.lr_scheduler"] = module
    spec.loader.exec_module(module)
    optim.lr_scheduler = module
    torch.__version__ = "stub"
    return torch, lambda: None


def real_torch():
    import torch

    return torch, lambda: torch.nn.Parameter(torch.zeros(1))


def make_optimizer(torch, new_param, kind, groups):
    params = [new_param() for _ in groups]
    groups = [dict(g, params=[p] if p is not None else []) for g, p in zip(groups, params)]
    if kind == "SGD":
        return torch.optim.SGD(groups, lr=0.1)
    return torch.optim.Adam(groups, lr=0.1)


def build(torch, opt, spec):
    sched = torch.optim.lr_scheduler
    kind, args = spec["type"], dict(spec.get("args", {}))
    if kind in ("SequentialLR", "ChainedScheduler"):
        members = [build(torch, opt, s) for s in spec["schedulers"]]
        if kind == "SequentialLR":
            return sched.SequentialLR(opt, members, milestones=spec["milestones"])
        return sched.ChainedScheduler(members, optimizer=opt)
    if kind in ("LambdaLR", "MultiplicativeLR"):
        names = args.pop("lr_lambda")
        args["lr_lambda"] = [LAMBDAS[n] for n in names] if isinstance(names, list) else LAMBDAS[names]
    return getattr(sched, kind)(opt, **args)


def momentum_key(spec, kind):
    if spec["type"] in ("CyclicLR", "OneCycleLR") and spec.get("args", {}).get("cycle_momentum", True):
        return "betas" if kind == "Adam" else "momentum"
    for member in spec.get("schedulers", []):
        key = momentum_key(member, kind)
        if key:
            return key
    return None


def record(torch, new_param, case):
    opt = make_optimizer(torch, new_param, case["optimizer"], case["groups"])
    scheduler = build(torch, opt, case["spec"])
    key = momentum_key(case["spec"], case["optimizer"])
    lrs, momenta = [], []

    def snapshot():
        lrs.append([float(g["lr"]) for g in opt.param_groups])
        if key:
            momenta.append([float(g[key][0] if key == "betas" else g[key]) for g in opt.param_groups])

    if case["spec"]["type"] == "ReduceLROnPlateau":
        for metric in case["metrics"]:
            opt.step()
            scheduler.step(metric)
            snapshot()
    else:
        for _ in range(case["steps"]):
            snapshot()
            opt.step()
            scheduler.step()
    out = dict(case, lr=lrs)
    if key:
        out["momentum"] = momenta
    return out


def leaf(kind, **args):
    return {"type": kind, "args": args}


SGD1 = [{"lr": 0.1}]
SGD2 = [{"lr": 0.1}, {"lr": 0.02}]
ADAM2 = [{"lr": 1e-3, "betas": (0.9, 0.99)}, {"lr": 5e-3, "betas": (0.8, 0.999)}]

CASES = [
    ("StepLR two groups", "SGD", SGD2, leaf("StepLR", step_size=4, gamma=0.7), 25),
    ("MultiStepLR repeated milestone", "SGD", SGD2, leaf("MultiStepLR", milestones=[6, 3, 6, 11], gamma=0.5), 20),
    ("ConstantLR default", "SGD", SGD2, leaf("ConstantLR"), 10),
    ("LinearLR decay", "SGD", SGD2, leaf("LinearLR", start_factor=1.0, end_factor=0.05, total_iters=9), 15),
    ("ExponentialLR", "Adam", ADAM2, leaf("ExponentialLR", gamma=0.97), 30),
    ("PolynomialLR sqrt", "SGD", SGD2, leaf("PolynomialLR", total_iters=7, power=0.5), 12),
    ("CosineAnnealingLR long", "SGD", SGD2, leaf("CosineAnnealingLR", T_max=6, eta_min=0.002), 40),
    ("CosineAnnealingWarmRestarts T_mult 1", "SGD", SGD2, leaf("CosineAnnealingWarmRestarts", T_0=5, eta_min=0.001), 23),
    ("CosineAnnealingWarmRestarts T_mult 3", "Adam", ADAM2, leaf("CosineAnnealingWarmRestarts", T_0=2, T_mult=3), 30),
    ("LambdaLR per group", "SGD", SGD2, leaf("LambdaLR", lr_lambda=["pow095", "step3"]), 15),
    ("MultiplicativeLR", "SGD", SGD2, leaf("MultiplicativeLR", lr_lambda="shrink"), 15),
    (
        "CyclicLR triangular2 on SGD momentum",
        "SGD",
        SGD2,
        leaf("CyclicLR", base_lr=[0.01, 0.001], max_lr=[0.1, 0.05], step_size_up=4, step_size_down=2, mode="triangular2"),
        30,
    ),
    (
        "CyclicLR exp_range on Adam betas",
        "Adam",
        ADAM2,
        leaf("CyclicLR", base_lr=1e-4, max_lr=1e-2, step_size_up=3, mode="exp_range", gamma=0.9, base_momentum=0.7, max_momentum=0.95),
        25,
    ),
    (
        "CyclicLR without momentum",
        "SGD",
        SGD1,
        leaf("CyclicLR", base_lr=0.05, max_lr=0.5, step_size_up=5, cycle_momentum=False),
        22,
    ),
    (
        "OneCycleLR three-phase linear on Adam betas",
        "Adam",
        ADAM2,
        leaf("OneCycleLR", max_lr=[0.01, 0.05], total_steps=30, pct_start=0.25, anneal_strategy="linear", three_phase=True),
        30,
    ),
    (
        "OneCycleLR epochs on SGD momentum",
        "SGD",
        SGD2,
        leaf("OneCycleLR", max_lr=0.4, epochs=4, steps_per_epoch=6, div_factor=10.0, final_div_factor=100.0, base_momentum=0.8, max_momentum=0.9),
        24,
    ),
    (
        "SequentialLR warmup then cosine",
        "SGD",
        SGD2,
        {
            "type": "SequentialLR",
            "schedulers": [leaf("LinearLR", start_factor=0.1, total_iters=4), leaf("CosineAnnealingLR", T_max=8, eta_min=0.001)],
            "milestones": [4],
        },
        20,
    ),
    (
        "SequentialLR three members",
        "SGD",
        SGD2,
        {
            "type": "SequentialLR",
            "schedulers": [leaf("ConstantLR", factor=0.25, total_iters=10), leaf("LambdaLR", lr_lambda="inverse"), leaf("StepLR", step_size=2, gamma=0.5)],
            "milestones": [3, 7],
        },
        16,
    ),
    (
        "ChainedScheduler constant and exponential",
        "SGD",
        SGD2,
        {"type": "ChainedScheduler", "schedulers": [leaf("ConstantLR", factor=0.1, total_iters=3), leaf("ExponentialLR", gamma=0.9)]},
        12,
    ),
    (
        "ChainedScheduler warmup lambda and cosine",
        "SGD",
        SGD2,
        {"type": "ChainedScheduler", "schedulers": [leaf("LambdaLR", lr_lambda="warmup4"), leaf("CosineAnnealingLR", T_max=5)]},
        14,
    ),
    (
        "SequentialLR of a chain",
        "SGD",
        SGD2,
        {
            "type": "SequentialLR",
            "schedulers": [
                {"type": "ChainedScheduler", "schedulers": [leaf("ConstantLR", factor=0.5, total_iters=2), leaf("ExponentialLR", gamma=0.9)]},
                leaf("StepLR", step_size=2, gamma=0.5),
            ],
            "milestones": [4],
        },
        12,
    ),
    (
        "ChainedScheduler of a sequence",
        "Adam",
        ADAM2,
        {
            "type": "ChainedScheduler",
            "schedulers": [
                {"type": "SequentialLR", "schedulers": [leaf("LinearLR", start_factor=0.2, total_iters=3), leaf("ExponentialLR", gamma=0.8)], "milestones": [3]},
                leaf("MultiplicativeLR", lr_lambda="shrink"),
            ],
        },
        12,
    ),
]

PLATEAUS = [
    ("ReduceLROnPlateau max abs cooldown", SGD2, dict(mode="max", factor=0.5, patience=1, threshold=0.05, threshold_mode="abs", cooldown=2, min_lr=[0.0, 0.015]),
     [0.1, 0.2, 0.22, 0.24, 0.23, 0.3, 0.31, 0.31, 0.31, 0.31, 0.5, 0.5, 0.5, 0.5, 0.5]),
    ("ReduceLROnPlateau min rel eps", SGD1, dict(factor=0.3, patience=0, threshold=0.01, min_lr=1e-3, eps=1e-3),
     [1.0, 0.995, 0.99, 0.8, 0.8, 0.79, 0.795, 0.7, 0.7, 0.7, 0.7]),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--stub", help="torch/optim/lr_scheduler.py to run without torch")
    parser.add_argument("--out", default="tests/data/torch-schedulers-golden.json")
    args = parser.parse_args()
    if args.stub:
        torch, new_param = install_stub(args.stub)
        version = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(args.stub))), "version.py")
        found = re.search(r"__version__ = '([^']+)'", open(version).read()) if os.path.exists(version) else None
        generator = f"torch {found.group(1) if found else '(unknown version)'} lr_scheduler.py over a stub optimizer"
    else:
        torch, new_param = real_torch()
        generator = f"torch {torch.__version__}"
    cases = [
        record(torch, new_param, {"name": n, "optimizer": o, "groups": g, "spec": s, "steps": k})
        for n, o, g, s, k in CASES
    ]
    for name, groups, plateau_args, metrics in PLATEAUS:
        spec = {"type": "ReduceLROnPlateau", "args": plateau_args}
        cases.append(record(torch, new_param, {"name": name, "optimizer": "SGD", "groups": groups, "spec": spec, "metrics": metrics}))
    with open(args.out, "w") as f:
        json.dump({"generator": generator, "lambdas": sorted(LAMBDAS), "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
