"""Record whole-group rules over several param groups: Prodigy and DAdaptAdam estimate one step
size for the whole model, summing over every group and writing the result into each;
Schedule-Free AdamW, ADOPT and MARS keep their numbers per group, and advance them for a group
without gradients too.

Usage: python3 gen_multi_group.py SEED STEPS OUT.json   (multi-group-golden.json: SEED=4
STEPS=10, prodigyopt 1.1.2, schedulefree 1.4.1, pytorch-optimizer 4.1.0, torch 2.15,
foreach=False).

Gradients are those of a quadratic bowl plus noise. Two groups: a matrix and a vector with weight decay, and a vector without. Some steps leave a
parameter without a gradient (`null` in "grads"), and one leaves the second group without any.
Per case: "groups" (hyper overrides, shapes, init), and per step "grads", "params_after_step",
"state_after_step" (per group, per parameter) and "group_after_step" (per group: the numbers the
reference keeps in the group).
"""
import json, sys, torch, prodigyopt, schedulefree, pytorch_optimizer as po
from importlib.metadata import version

seed, steps, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
torch.manual_seed(seed)
GROUP_SHAPES = [[(5, 4), (4,)], [(3,)]]
# (step, group, param) without a gradient; at step 6 the second group has none at all
MISSING = {(3, 0, 1), (6, 1, 0), (8, 0, 0)}
CASES = [
    ("prodigyopt", "Prodigy", {}, [{"weight_decay": 0.1}, {"weight_decay": 0.0}]),
    ("prodigyopt", "Prodigy", {"use_bias_correction": True, "safeguard_warmup": True, "d_coef": 2.0},
     [{"weight_decay": 0.05, "eps": 1e-6}, {"weight_decay": 0.0, "safeguard_warmup": False}]),
    ("pytorch_optimizer", "DAdaptAdam", {"weight_decouple": True},
     [{"weight_decay": 0.1}, {"weight_decay": 0.0, "eps": 1e-6}]),
    ("schedulefree", "AdamWScheduleFree", {"lr": 0.01, "warmup_steps": 3},
     [{"weight_decay": 0.1}, {"weight_decay": 0.0, "lr": 0.02}]),
    ("pytorch_optimizer", "ADOPT", {"lr": 0.01}, [{"weight_decay": 0.1}, {"weight_decay": 0.0}]),
    ("pytorch_optimizer", "MARS", {"lr": 0.01}, [{"weight_decay": 0.1}, {"weight_decay": 0.0}]),
]
KEEP = {"Prodigy": ["d", "d_max", "d_numerator", "d_denom", "d_hat", "k"],
        "DAdaptAdam": ["d", "numerator_weighted", "step"],
        "AdamWScheduleFree": ["k", "weight_sum", "lr_max", "scheduled_lr"],
        "ADOPT": ["step"], "MARS": ["step"]}


def tl(t):
    return t.detach().to(torch.float64).tolist()


def number(v):
    return float(v.item()) if torch.is_tensor(v) else float(v)


def run_case(package, name, common, overrides, dtype):
    groups = []
    for shapes, extra in zip(GROUP_SHAPES, overrides):
        groups.append({"shapes": [list(s) for s in shapes], "hyper": extra,
                       "params": [torch.randn(s, dtype=dtype).requires_grad_(True) for s in shapes]})
    inits = [[tl(p) for p in g["params"]] for g in groups]
    torch_groups = [{"params": g["params"], **g["hyper"]} for g in groups]
    if package == "prodigyopt":
        opt = prodigyopt.Prodigy(torch_groups, **common)
    elif package == "schedulefree":
        opt = schedulefree.AdamWScheduleFree(torch_groups, foreach=False, **common)
        opt.train()
    else:
        opt = getattr(po, name)(torch_groups, foreach=False, **common)
    record = {"grads": [], "params_after_step": [], "state_after_step": [], "group_after_step": []}
    for t in range(1, steps + 1):
        grads = []
        for gi, g in enumerate(groups):
            row = []
            for pi, p in enumerate(g["params"]):
                # a quadratic bowl plus noise: a descent direction, so the estimate of d grows
                grad = 2.0 * p.detach() + 0.5 * torch.randn(p.shape, dtype=dtype)
                if (t, gi, pi) in MISSING:
                    p.grad = None
                    row.append(None)
                else:
                    p.grad = grad.clone()
                    row.append(tl(grad))
            grads.append(row)
        opt.step()
        record["grads"].append(grads)
        record["params_after_step"].append([[tl(p) for p in g["params"]] for g in groups])
        record["state_after_step"].append([[
            {k: tl(v) if torch.is_tensor(v) and v.dim() > 0 else number(v) for k, v in opt.state[p].items()
             if torch.is_tensor(v) or isinstance(v, (int, float))}
            for p in g["params"]] for g in groups])
        record["group_after_step"].append([{k: number(pg[k]) for k in KEEP[name] if k in pg}
                                           for pg in opt.param_groups])
    return {"optimizer": name, "library": f"{package} {version(package)}",
            "hyper": {k: (list(v) if isinstance(v, tuple) else v) for k, v in common.items()},
            "dtype": str(dtype).replace("torch.", ""),
            "groups": [{"shapes": g["shapes"], "hyper": g["hyper"], "init": init} for g, init in zip(groups, inits)],
            **record}


cases = [run_case(*case, dtype) for dtype in (torch.float64, torch.float32) for case in CASES]
json.dump({"generator": "torch " + torch.__version__, "seed": seed, "steps": steps, "cases": cases}, open(out, "w"))
print("wrote", out, len(cases))
