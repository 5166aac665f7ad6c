#!/usr/bin/env python3
"""Records pytorch-optimizer 4.1.0's SOAP on cases whose eigenbases are unique, into
`tests/data/soap-golden.json` (the layout of `shared/reference/matrix-golden.json`).

Why a recording of our own: the shared recording's SOAP case is a 6 x 4 parameter, whose
first `Gᵀ·G` (4 x 4) is fine but whose `G·Gᵀ` (6 x 6) has a 2-dimensional null space; LAPACK
picks that part of the basis from rounding noise, and the reference itself lands 1.2e-3 from
that recording on another machine (`scripts/soap_recording_check.py`). Here every
preconditioned side has full rank from the first step: square parameters, and sides that
`max_precondition_dim` leaves unpreconditioned (a 3 x 12 parameter preconditions its rows
only), plus vectors (`precondition_1d` off: Adam with SOAP's step count). Eigenvectors are
then unique up to sign, which SOAP's update cancels (each column of Q enters twice).

`--check` prints how far two equally valid runs land from each other on these cases: numpy's
LAPACK with random eigenvector signs in place of torch's `eigh`/`qr`, and the QR run in the
parameter's dtype instead of the reference's cast to float32 (which it does for float64 too).

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install torch numpy pytorch-optimizer==4.1.0
    /tmp/ref/bin/python tests/data/gen_soap_golden.py > tests/data/soap-golden.json
    /tmp/ref/bin/python tests/data/gen_soap_golden.py --check
"""

import json
import math
import sys

import numpy as np
from importlib.metadata import version
import torch
from pytorch_optimizer import SOAP

SEED, STEPS = 11, 12
CASES = [
    ({"precondition_frequency": 2}, [(5, 5), (3, 3), (7,)]),
    ({"precondition_frequency": 3, "betas": [0.9, 0.99], "shampoo_beta": 0.9, "weight_decay": 0.1,
      "max_precondition_dim": 8, "eps": 1e-6}, [(4, 4), (3, 12), (12, 3), (6,)]),
    ({"precondition_frequency": 1, "correct_bias": False, "normalize_gradient": True, "lr": 0.01},
     [(6, 6), (5,)]),
]


def tl(t):
    return t.detach().to(torch.float64).tolist()


def run(dtype, hyper, shapes, generator_seed, patch=None):
    torch.manual_seed(generator_seed)
    init = [torch.randn(s, dtype=dtype) for s in shapes]
    params = [x.clone().requires_grad_(True) for x in init]
    kw = {k: tuple(v) if isinstance(v, list) else v for k, v in hyper.items()}
    opt = SOAP(params, **kw)
    grads, after, states, groups = [], [], [], []
    stock = torch.linalg.eigh, torch.linalg.qr
    if patch is not None:
        torch.linalg.eigh, torch.linalg.qr = patch
    try:
        for _ in range(STEPS):
            gs = [torch.randn(s, dtype=dtype) * 0.5 + 0.1 for s in shapes]
            for p, g in zip(params, gs):
                p.grad = g.clone()
            opt.step()
            grads.append([tl(g) for g in gs])
            after.append([tl(p) for p in params])
            per_param = []
            for p in params:
                d = {}
                for k, v in opt.state[p].items():
                    if torch.is_tensor(v):
                        d[k] = tl(v)
                    elif isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                        d[k] = float(v)
                per_param.append(d)
            states.append(per_param)
            groups.append({"step": float(opt.param_groups[0]["step"])})
    finally:
        torch.linalg.eigh, torch.linalg.qr = stock
    return {"optimizer": "SOAP", "library": "pytorch-optimizer " + version("pytorch-optimizer"),
            "hyper": hyper, "dtype": str(dtype).replace("torch.", ""), "shapes": [list(s) for s in shapes],
            "init": [tl(x) for x in init], "grads": grads, "params_after_step": after,
            "state_after_step": states, "group_after_step": groups}


def numpy_lapack(seed):
    signs = np.random.default_rng(seed)

    def eigh(matrix, *args, **kwargs):
        values, vectors = np.linalg.eigh(matrix.numpy())
        flips = signs.choice([-1.0, 1.0], size=len(values))
        return torch.from_numpy(values), torch.from_numpy(vectors * flips).to(matrix.dtype)

    def qr(matrix, *args, **kwargs):
        q, r = np.linalg.qr(matrix.numpy())
        flips = signs.choice([-1.0, 1.0], size=q.shape[1])
        return torch.from_numpy(q * flips).to(matrix.dtype), torch.from_numpy(r)
    return eigh, qr


def worst(a, b):
    """The largest relative difference between two runs, element by element as the parity test
    measures it (`|a - b| / (|b| + 1e-6)`): parameters, then states (the second moment lives in
    the rotated basis, so it carries the bases' last bits)."""
    def rel(x, y):
        x, y = np.array(x), np.array(y)
        return float((np.abs(x - y) / (np.abs(y) + 1e-6)).max())
    params = max(rel(pa, pb) for sa, sb in zip(a["params_after_step"], b["params_after_step"])
                 for pa, pb in zip(sa, sb))
    states = max(rel(da[k], db[k]) for sa, sb in zip(a["state_after_step"], b["state_after_step"])
                 for da, db in zip(sa, sb) for k in da if isinstance(da[k], list))
    return params, states


def fmt(pair):
    return f"params {pair[0]:.1e}, states {pair[1]:.1e}"


def check():
    for dtype in (torch.float64, torch.float32):
        for index, (hyper, shapes) in enumerate(CASES):
            stock = run(dtype, hyper, shapes, SEED + index)
            other = [run(dtype, hyper, shapes, SEED + index, numpy_lapack(s)) for s in range(3)]
            spread = [worst(o, stock) for o in other]
            line = f"{dtype} case {index}: numpy LAPACK, random signs: {fmt(tuple(map(max, zip(*spread))))}"
            if dtype == torch.float64:
                # the QR in float64: the reference's `.to(torch.float32)` made a no-op
                original = torch.Tensor.to

                def keep_float64(self, *args, **kwargs):
                    if args and args[0] is torch.float32 and self.dtype is torch.float64:
                        return self
                    return original(self, *args, **kwargs)
                torch.Tensor.to = keep_float64
                try:
                    own = run(dtype, hyper, shapes, SEED + index)
                finally:
                    torch.Tensor.to = original
                line += f"; QR in float64 instead of float32: {fmt(worst(own, stock))}"
            print(line)


def main():
    if "--check" in sys.argv:
        check()
        return
    cases = [run(dtype, hyper, shapes, SEED + index)
             for dtype in (torch.float64, torch.float32) for index, (hyper, shapes) in enumerate(CASES)]
    json.dump({"generator": f"gen_soap_golden.py, torch {torch.__version__}", "seed": SEED, "steps": STEPS,
               "cases": cases}, sys.stdout)


if __name__ == "__main__":
    main()
