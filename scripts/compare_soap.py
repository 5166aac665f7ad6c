#!/usr/bin/env python3
"""pytorch-optimizer's SOAP beside ours on CPU: one step on one float32 parameter of each of
1024 x 1024 and the transformer-block matrices 768 x 768 and 768 x 3072, both sides rotated
(``max_precondition_dim`` above every side), at each thread count (``torch.set_num_threads``):
a step without a refresh of the bases (``precondition_frequency`` larger than the run) and one
with a refresh (``precondition_frequency = 1``). Ours come from ``bench_soap --json`` (run here,
or read with ``--ours FILE``), which times the same two configurations.

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install torch numpy pytorch-optimizer==4.1.0
    /tmp/ref/bin/python scripts/compare_soap.py                    # runs bench_soap itself
    /tmp/ref/bin/python scripts/compare_soap.py --ours soap.json --threads 1,2

Where torch or pytorch-optimizer cannot be imported, it says so and exits with status 0.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_torch import cpu_name, import_torch, milliseconds, ratio, time_steps  # noqa: E402

SHAPES = ((1024, 1024), (768, 768), (768, 3072))
ROOT = Path(__file__).resolve().parent.parent


def ours(args):
    """Our figures: shape -> threads -> {"plain": ms, "refresh": ms}."""
    if args.ours:
        return json.loads(Path(args.ours).read_text())
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "soap.json"
        command = ["cargo", "run", "--release", "--example", "bench_soap", "--",
                   "--threads", args.threads, "--reps", str(args.reps), "--json", str(path)]
        subprocess.run(command, cwd=ROOT, check=True)
        return json.loads(path.read_text())


def time_reference(torch, soap_class, rows, cols, frequency, reps):
    """Seconds per SOAP step of pytorch-optimizer on one rows x cols float32 parameter."""
    generator = torch.Generator().manual_seed(0)
    param = torch.nn.Parameter(torch.randn(rows, cols, generator=generator))
    param.grad = torch.randn(rows, cols, generator=generator) * 0.5 + 0.1
    optimizer = soap_class([param], precondition_frequency=frequency, max_precondition_dim=1 << 20)
    optimizer.step()  # the first step only gathers statistics, as ours
    return time_steps(torch, optimizer, reps)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    parser.add_argument("--reps", type=int, default=5, help="timed steps per figure; the median is reported")
    parser.add_argument("--ours", help="a saved `bench_soap --json` output")
    args = parser.parse_args()
    torch = import_torch()
    try:
        from pytorch_optimizer import SOAP  # noqa: PLC0415 - optional dependency
    except Exception as error:  # ImportError, or an install that does not match torch
        print(f"compare_soap: pytorch-optimizer is not importable ({error}); skipping.")
        return
    figures = ours(args)
    print(f"### SOAP: pytorch-optimizer beside optim, torch {torch.__version__} ({cpu_name()})\n")
    print("One step on one f32 parameter, both sides rotated; milliseconds per step (median); `÷` is "
          "the reference's time over ours (above 1: ours is faster).\n")
    print("| shape | threads | reference | optim | ÷ | reference, refresh | optim, refresh | ÷ |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|")
    for threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(threads)
        for rows, cols in SHAPES:
            row = figures.get(f"{rows}x{cols}", {}).get(str(threads), {})
            cells = []
            for key, frequency in (("plain", 1 << 40), ("refresh", 1)):
                reference = time_reference(torch, SOAP, rows, cols, frequency, args.reps)
                mine = row.get(key)
                mine_s = None if mine is None else mine / 1e3
                cells += [milliseconds(reference), milliseconds(mine_s),
                          "—" if mine_s is None else ratio(reference, mine_s)]
            print(f"| {rows}x{cols} | {threads} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
