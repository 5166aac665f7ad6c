"""Record optimizers stepping bfloat16 parameters on CPU, with float32 math inside.

Usage: python3 gen_bf16_params.py SEED STEPS OUT.json
Cases: torch.optim's fused CPU kernels (AdamW, Adam, SGD, Adagrad with fused=True: bfloat16
parameters, gradients and state, math in float32, results rounded to nearest even) and torchao's
AdamW8bit on bfloat16 parameters (8-bit state, float32 math, parameters rounded to nearest even:
bf16_stochastic_round=False). Per case: optimizer, library, hyper, shapes, init[param],
grads[step][param], params_after_step[step][param]; values are bfloat16, written exactly.
"""
import json, sys, torch
import torchao
from torchao.optim import AdamW8bit

seed, steps, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
torch.manual_seed(seed)
SHAPES = [(32, 128), (300,)]
CASES = [
    ("AdamW", "torch", {"lr": 1e-2, "weight_decay": 0.01}),
    ("Adam", "torch", {"lr": 3e-3, "betas": (0.8, 0.99), "weight_decay": 0.05}),
    ("SGD", "torch", {"lr": 5e-2, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}),
    ("Adagrad", "torch", {"lr": 5e-2, "lr_decay": 0.01}),
    ("AdamW8bit", "torchao", {"lr": 1e-2, "weight_decay": 0.01}),
]

def tl(t):
    # bfloat16 values are exact in float32, and float32 in JSON round-trips with 9 digits
    return json.loads(json.dumps(t.detach().to(torch.float32).tolist(), default=float),
                      parse_float=lambda x: float(f"{float(x):.9g}"))

cases = []
for name, library, kw in CASES:
    # torchao keeps the state of a tensor too small to quantize in the parameter's dtype
    # (bfloat16 here): only the quantized tensor is recorded for it
    shapes = SHAPES if library == "torch" else SHAPES[:1]
    init = [torch.randn(s).to(torch.bfloat16) for s in shapes]
    ps = [p.clone().requires_grad_(True) for p in init]
    if library == "torch":
        opt = getattr(torch.optim, name)(ps, fused=True, **kw)
    else:
        opt = AdamW8bit(ps, bf16_stochastic_round=False, **kw)
    grads, after = [], []
    for _ in range(steps):
        gs = [(torch.randn(s) * 0.5 + 0.05).to(torch.bfloat16) for s in shapes]
        for p, g in zip(ps, gs):
            p.grad = g.clone()
        opt.step()
        grads.append([tl(g) for g in gs])
        after.append([tl(p) for p in ps])
    version = torch.__version__ if library == "torch" else torchao.__version__
    kwj = {k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()}
    cases.append({"optimizer": name, "library": f"{library} {version}", "hyper": kwj,
                  "shapes": [list(s) for s in shapes], "init": [tl(p) for p in init],
                  "grads": grads, "params_after_step": after})
json.dump({"generator": "gen_bf16_params.py, torch " + torch.__version__, "seed": seed, "steps": steps,
           "cases": cases}, open(out, "w"))
print("wrote", out, len(cases))
