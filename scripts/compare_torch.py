#!/usr/bin/env python3
"""PyTorch's CPU optimizers beside ours, on the same sizes and thread counts.

For every built-in, times one optimizer step over one tensor of 16M f32 elements and over 1000
tensors of 4096 elements, with PyTorch's three implementations (the for-loop path,
``foreach=True`` and, for Adam, AdamW, SGD and Adagrad, ``fused=True``) at each thread count
(``torch.set_num_threads``), and prints one markdown table beside our ``Optimizer::step()``,
which it measures by running ``cargo run --release --example bench_table -- --json``.

With ``--clip``, instead: gradient clipping on 8 tensors of 1024 x 2048 (16M f32), torch's
``clip_grad_norm_`` (per-tensor and ``foreach``) and ``get_total_norm`` beside fused AdamW
(``fused=True``, else ``foreach``), against ours from ``bench_reduce --json``: the norm alone,
AdamW, AdamW with clipping fused into the step and AdamW after our ``clip_grad_norm_``.

With ``--muon``, instead: one ``torch.optim.Muon`` step (defaults, 5 Newton–Schulz steps) on a single
parameter of each of 1024 x 1024, 4096 x 1024 and the transformer-block matrices 768 x 768,
768 x 3072 and 3072 x 768, stock (its iteration in bfloat16) and with the iteration patched to run
in float32, plus torch's float32 ``X @ X.T`` for X 1024 x 1024 in GFLOP/s. Ours are printed beside
them only when ``--ours FILE`` names a JSON of our Muon step, read by ``our_muon_figures``.

After the main table, or alone with ``--formats``: AdamW with compact state beside torchao's
``AdamW8bit``, ``AdamW4bit`` and ``AdamWFp8`` on CPU (and torch's fused AdamW for float32 state)
on one 16M float32 parameter, ours from ``bench_table --json`` (its ``state_formats``; with
``--formats`` it runs ``--formats-only``, a minute instead of several);
torchao's step is compiled by ``torch.compile`` on its first call, so the first ``LOWBIT_WARMUP``
steps are left out of the timing (the first one's time is printed). Where torchao cannot be
imported, it says so and skips that table.

Usage::

    python3 scripts/compare_torch.py                  # 1 and 2 threads
    python3 scripts/compare_torch.py --threads 1,2,4 --reps 9
    python3 scripts/compare_torch.py --ours results.json   # reuse a saved bench_table --json
    python3 scripts/compare_torch.py --formats              # torchao's low-bit AdamW beside ours alone
    python3 scripts/compare_torch.py --clip --threads 2     # clipping, beside bench_reduce
    python3 scripts/compare_torch.py --muon                 # torch's Muon alone
    python3 scripts/compare_torch.py --muon --ours muon.json   # beside ours
    python3 scripts/compare_torch.py --muon --no-bf16 --ours muon.json   # float32 iteration only

Where torch cannot be imported, it says so and exits with status 0.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Our rule label -> (torch class name, constructor arguments, has a fused CPU kernel). The
# arguments match benches/kernels/cases.rs: PyTorch's defaults, SGD with momentum 0.9.
RULES = {
    "SGD": ("SGD", {"lr": 1e-3, "momentum": 0.9}, True),
    "Adam": ("Adam", {}, True),
    "AdamW": ("AdamW", {}, True),
    "RMSprop": ("RMSprop", {}, False),
    "Adagrad": ("Adagrad", {}, True),
    "Adadelta": ("Adadelta", {}, False),
    "Adamax": ("Adamax", {}, False),
    "NAdam": ("NAdam", {}, False),
    "RAdam": ("RAdam", {}, False),
    "Rprop": ("Rprop", {}, False),
    "ASGD": ("ASGD", {}, False),
    # torch.optim.SparseAdam takes only sparse gradients; ours is benchmarked with dense ones
    "SparseAdam": None,
}

IMPLEMENTATIONS = ("for-loop", "foreach", "fused")


def import_torch():
    try:
        import torch  # noqa: PLC0415 - optional dependency

        return torch
    except Exception as error:  # ImportError, or a broken install (missing CUDA libraries)
        print(f"compare_torch: torch is not importable ({type(error).__name__}: {error}); skipping the comparison.")
        print("Install it with `pip install torch` to compare.")
        sys.exit(0)


def run_ours(example, args, *options):
    """Our figures: from `--ours FILE`, or by running `example` with `--json` and `options`."""
    if args.ours:
        return json.loads(Path(args.ours).read_text())
    command = ["cargo", "run", "--release", "--quiet", "--example", example, "--"]
    command += ["--threads", args.threads, "--reps", str(args.reps), "--json", *options]
    if args.quick:
        command.append("--quick")
    print("running:", " ".join(command), file=sys.stderr)
    try:
        output = subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        sys.exit(f"compare_torch: could not measure ours ({error})")
    return json.loads(output)


def our_figures(args):
    return run_ours("bench_table", args, *(["--formats-only"] if args.formats else []))


# Our state format -> torchao's optimizer with that state (None: torch's own AdamW, float32 state;
# "": none to compare with). torchao's block sizes are ours: 256, 128 for 4-bit, 256 for float8.
LOWBIT = {"native": None, "bfloat16": "", "int8": "AdamW8bit", "int4": "AdamW4bit", "fp8": "AdamWFp8"}
LOWBIT_WARMUP = 3  # the first step compiles (tens of seconds); the next ones settle the caches


def import_torchao():
    """torchao's optimizers module, or None (having said why)."""
    try:
        import torchao.optim as optimizers  # noqa: PLC0415 - optional dependency

        return optimizers
    except Exception as error:  # ImportError, or an install that does not match torch
        print(f"compare_torch: torchao is not importable ({type(error).__name__}: {error}); skipping its table.")
        print("Install it with `pip install torchao` to compare (its CPU path compiles with torch.compile,")
        print("which needs a C++ compiler).\n")
        return None


def state_bytes(optimizer):
    """Bytes of every state tensor of `optimizer`, the inner tensors of torchao's subclasses
    (codes, scales, the lookup table) counted as stored."""
    total = 0
    for state in optimizer.state.values():
        for value in state.values():
            if hasattr(value, "__tensor_flatten__"):
                names, _ = value.__tensor_flatten__()
                total += sum(getattr(value, name).nbytes for name in names)
            elif hasattr(value, "nbytes"):
                total += value.nbytes
    return total


def time_lowbit(torch, label, make, length, reps):
    """(median seconds per step, state bytes per parameter, seconds of the first step) of the
    optimizer `make(params)` (called `label`) over one float32 parameter of `length`, or None."""
    generator = torch.Generator().manual_seed(0)
    param = torch.nn.Parameter(torch.rand(length, generator=generator) + 0.5)
    param.grad = (torch.rand(length, generator=generator) - 0.5) * 1e-2
    try:
        optimizer = make([param])
        with torch.no_grad():
            started = time.perf_counter()
            optimizer.step()
            first = time.perf_counter() - started
            for _ in range(LOWBIT_WARMUP - 1):
                optimizer.step()
            times = []
            for _ in range(reps):
                started = time.perf_counter()
                optimizer.step()
                times.append(time.perf_counter() - started)
    except Exception as error:  # a failed compile raises whatever the compiler's wrapper raises
        print(f"torch {label}: {type(error).__name__}: {error}", file=sys.stderr)
        return None
    return statistics.median(times), state_bytes(optimizer) / length, first


def lowbit_table(torch, ours, args):
    """AdamW with each of our state formats beside torchao's optimizer with the same state."""
    optimizers = import_torchao()
    if optimizers is None:
        return
    import torchao  # noqa: PLC0415 - importable, as torchao.optim was

    length = ours["large"]["len"]
    label = f"{length >> 20}M" if length % (1 << 20) == 0 else str(length)
    print(f"### State formats: torchao {torchao.__version__} (PyTorch {torch.__version__}) beside optim "
          f"({ours['cpu']}, {ours['simd']} clones)\n")
    print(f"AdamW, one {label} float32 parameter, defaults; milliseconds per step (median of {args.reps}, after "
          f"{LOWBIT_WARMUP} untimed steps, the first compiling torchao's step); `÷` is torch's time over ours "
          "(above 1: ours is faster); state bytes per parameter as stored (codes and scales).\n")
    print("| format | threads | torch | torch ms | optim ms | ÷ | torch state B/param | optim state B/param | "
          "torch first step |")
    print("|---|--:|---|--:|--:|--:|--:|--:|--:|")
    for run in ours["runs"]:
        threads = run["threads"]
        torch.set_num_threads(threads)
        # inductor's C++ kernels are compiled for the thread count of the moment: compile anew
        torch._dynamo.reset()
        mine = {row["format"]: row for row in run.get("state_formats", [])
                if row["rule"] == "AdamW" and row.get("param_dtype", "float32") == "float32"}
        for fmt, name in LOWBIT.items():
            row = mine.get(fmt)
            label = {None: "AdamW fused", "": "—"}.get(name, name)
            make = (lambda p: torch.optim.AdamW(p, fused=True)) if name is None else getattr(optimizers, name, None)
            measured = time_lowbit(torch, label, make, length, args.reps) if name != "" else None
            torch_s, torch_state, first = measured if measured else (None, None, None)
            ours_s = row["step_s"] if row else None
            cells = [label, milliseconds(torch_s), milliseconds(ours_s),
                     "—" if ours_s is None else ratio(torch_s, ours_s),
                     "—" if torch_state is None else f"{torch_state:.3f}",
                     "—" if row is None else f"{row['state_bytes_per_param']:.3f}",
                     "—" if first is None else f"{first:.1f} s"]
            print(f"| {fmt} | {threads} | " + " | ".join(cells) + " |", flush=True)
    print()
    print(f"torch threads: torch.set_num_threads(n); ours: a rayon pool of n threads. OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}.")


def time_steps(torch, optimizer, reps):
    """Median seconds per optimizer.step(), after two untimed steps."""
    with torch.no_grad():
        for _ in range(2):
            optimizer.step()
        times = []
        for _ in range(reps):
            started = time.perf_counter()
            optimizer.step()
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def time_torch(torch, rule, implementation, count, length, reps):
    """Seconds per step of `rule` with `implementation` over `count` tensors, or None."""
    name, kwargs, has_fused = RULES[rule]
    if implementation == "fused" and not has_fused:
        return None
    generator = torch.Generator().manual_seed(0)
    params = []
    for _ in range(count):
        param = torch.nn.Parameter(torch.rand(length, generator=generator) + 0.5)
        param.grad = (torch.rand(length, generator=generator) - 0.5) * 1e-2
        params.append(param)
    options = dict(kwargs)
    if implementation == "fused":
        options["fused"] = True
    else:
        options["foreach"] = implementation == "foreach"
    try:
        optimizer = getattr(torch.optim, name)(params, **options)
        return time_steps(torch, optimizer, reps)
    except (RuntimeError, TypeError, ValueError) as error:
        print(f"torch {name} {implementation}: {error}", file=sys.stderr)
        return None


CLIP_SHAPE = (8, 1024, 2048)
CLIP_MAX_NORM = 1.0  # below the gradients' norm (about 15), as in benches/kernels/reductions.rs


def our_clip_figures(args):
    return run_ours("bench_reduce", args)


def time_call(call, reps):
    """Median seconds per call(), after two untimed calls."""
    for _ in range(2):
        call()
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def torch_clip_rows(torch, count, rows, cols, reps):
    """Seconds per call of each torch case over `count` tensors of rows x cols: label -> seconds."""
    generator = torch.Generator().manual_seed(0)
    params = []
    for _ in range(count):
        param = torch.nn.Parameter(torch.rand(rows, cols, generator=generator) + 0.5)
        param.grad = (torch.rand(rows, cols, generator=generator) - 0.5) * 1e-2
        params.append(param)
    out = {}
    for implementation in ("fused", "foreach"):
        try:
            options = {"fused": True} if implementation == "fused" else {"foreach": True}
            optimizer = torch.optim.AdamW(params, **options)
            with torch.no_grad():
                optimizer.step()
            break
        except (RuntimeError, TypeError, ValueError) as error:
            print(f"torch AdamW {implementation}: {error}", file=sys.stderr)
    out["AdamW impl"] = implementation
    utils = torch.nn.utils
    if hasattr(utils, "get_total_norm"):
        grads = [p.grad for p in params]
        out["get_total_norm"] = time_call(lambda: utils.get_total_norm(grads, 2.0), reps)
    with torch.no_grad():
        out["AdamW"] = time_call(optimizer.step, reps)
        for foreach in (False, True):
            def clipped(foreach=foreach):
                utils.clip_grad_norm_(params, CLIP_MAX_NORM, foreach=foreach)
                optimizer.step()

            out[f"AdamW + clip_grad_norm_ (foreach={foreach})"] = time_call(clipped, reps)
    return out


def clip_table(torch, args):
    ours = our_clip_figures(args)
    shape = ours["tensors"]
    print(f"### Clipping: PyTorch {torch.__version__} beside optim ({ours['cpu']}, {ours['simd']} clones)\n")
    print(f"{shape['count']} tensors of {shape['rows']} x {shape['cols']} f32; milliseconds per step (median); "
          "`÷` is torch's time over ours (above 1: ours is faster).\n")
    print("| what | threads | torch | optim | ÷ |")
    print("|---|--:|--:|--:|--:|")
    for run in ours["runs"]:
        threads = run["threads"]
        torch.set_num_threads(threads)
        mine = {case["rule"]: case["step_s"] for case in run["cases"]}
        theirs = torch_clip_rows(torch, shape["count"], shape["rows"], shape["cols"], args.reps)
        impl = theirs.pop("AdamW impl")
        pairs = [
            ("global 2-norm (`get_total_norm`)", theirs.get("get_total_norm"), mine.get("get_total_norm")),
            (f"AdamW (torch {impl})", theirs["AdamW"], mine.get("AdamW")),
            ("AdamW + clip_grad_norm_ (torch per tensor; ours separate)",
             theirs["AdamW + clip_grad_norm_ (foreach=False)"], mine.get("AdamW + clip_grad_norm_")),
            ("AdamW + clip_grad_norm_ (torch foreach; ours fused)",
             theirs["AdamW + clip_grad_norm_ (foreach=True)"], mine.get("AdamW + fused clip")),
        ]
        for label, torch_s, ours_s in pairs:
            cells = [milliseconds(torch_s), milliseconds(ours_s), "—" if ours_s is None else ratio(torch_s, ours_s)]
            print(f"| {label} | {threads} | " + " | ".join(cells) + " |", flush=True)
    print()


MUON_SHAPES = ((1024, 1024), (4096, 1024), (768, 768), (768, 3072), (3072, 768))


def our_muon_figures(args):
    """Our Muon figures, or None: `--ours FILE` with our bench's JSON, shape -> milliseconds per
    thread count, e.g. ``{"1024x1024": {"1": 31.2, "2": 17.0}, ...}`` (other top-level keys, such as
    "cpu", are ignored). Without `--ours`, None: torch is printed alone."""
    if not args.ours:
        return None
    figures = json.loads(Path(args.ours).read_text())
    return {shape: {str(threads): float(ms) for threads, ms in row.items()}
            for shape, row in figures.items() if isinstance(row, dict)}


def newton_schulz_float32(torch):
    """torch's `_zeropower_via_newtonschulz` without its cast to bfloat16: in the input's dtype."""

    def zeropower(grad, ns_coefficients, ns_steps, eps):
        a, b, c = ns_coefficients
        x = grad.clone()
        if grad.size(0) > grad.size(1):
            x = x.T
        x = x / x.norm().clamp(min=eps)
        for _ in range(ns_steps):
            gram = x @ x.T
            update = torch.addmm(gram, gram, gram, beta=b, alpha=c)
            x = torch.addmm(x, update, x, beta=a)
        if grad.size(0) > grad.size(1):
            x = x.T
        return x

    return zeropower


def time_torch_muon(torch, rows, cols, float32_iteration, reps):
    """Seconds per torch.optim.Muon step (defaults) on one rows x cols parameter, or None."""
    import torch.optim._muon as muon_module  # noqa: PLC0415 - present from torch 2.9

    generator = torch.Generator().manual_seed(0)
    param = torch.nn.Parameter(torch.randn(rows, cols, generator=generator))
    param.grad = torch.randn(rows, cols, generator=generator) * 0.5 + 0.1
    stock = muon_module._zeropower_via_newtonschulz
    if float32_iteration:
        muon_module._zeropower_via_newtonschulz = newton_schulz_float32(torch)
    try:
        return time_steps(torch, torch.optim.Muon([param]), reps)
    except (RuntimeError, TypeError, ValueError) as error:
        print(f"torch Muon {rows}x{cols}: {error}", file=sys.stderr)
        return None
    finally:
        muon_module._zeropower_via_newtonschulz = stock


def muon_table(torch, args):
    if not hasattr(torch.optim, "Muon"):
        print(f"compare_torch: torch {torch.__version__} has no torch.optim.Muon (added in 2.9); skipping.")
        return
    ours = our_muon_figures(args)
    threads_list = [int(t) for t in args.threads.split(",")]
    shapes = MUON_SHAPES[2:4] if args.quick else MUON_SHAPES
    print(f"### Muon: PyTorch {torch.__version__}" + (" beside optim" if ours else "") + f" ({cpu_name()})\n")
    print("One step on one f32 parameter, defaults (5 Newton–Schulz steps); milliseconds per step (median); "
          "torch stock runs the iteration in bfloat16, `f32` patches it to float32"
          + ("; `÷` is torch's time over ours (above 1: ours is faster)" if ours else "") + ".\n")
    header = "| shape | threads | torch (bf16 iteration) | torch (f32 iteration) |"
    rule = "|---|--:|--:|--:|"
    if ours:
        header += " optim | ÷ bf16 | ÷ f32 |"
        rule += "--:|--:|--:|"
    print(header)
    print(rule)
    for threads in threads_list:
        torch.set_num_threads(threads)
        for rows, cols in shapes:
            # on a CPU without bfloat16 matrix instructions torch's stock iteration takes
            # tens of seconds a step (26 s for 1024x1024 on an AVX2 AMD EPYC): --no-bf16 skips it
            stock = None if args.no_bf16 else time_torch_muon(torch, rows, cols, False, args.reps)
            float32 = time_torch_muon(torch, rows, cols, True, args.reps)
            cells = [milliseconds(stock), milliseconds(float32)]
            if ours:
                ms = ours.get(f"{rows}x{cols}", {}).get(str(threads))
                ours_s = None if ms is None else ms / 1e3
                cells.append(milliseconds(ours_s))
                cells += ["—" if ours_s is None else ratio(t, ours_s) for t in (stock, float32)]
            print(f"| {rows}x{cols} | {threads} | " + " | ".join(cells) + " |", flush=True)
    print()
    for threads in threads_list:
        torch.set_num_threads(threads)
        x = torch.randn(1024, 1024, generator=torch.Generator().manual_seed(0))
        seconds = time_call(lambda x=x: x @ x.T, args.reps)
        print(f"torch float32 `X @ X.T`, X 1024x1024, {threads} thread(s): {milliseconds(seconds)} ms, "
              f"{2 * 1024**3 / seconds / 1e9:.0f} GFLOP/s")
    print()
    print(f"torch threads: torch.set_num_threads(n). OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}.")


def cpu_name():
    """The CPU's model name from /proc/cpuinfo, as `lscpu` prints it, or "unknown CPU"."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def milliseconds(seconds):
    return "—" if seconds is None else f"{seconds * 1e3:.2f}"


def ratio(torch_s, ours_s):
    return "—" if torch_s is None else f"{torch_s / ours_s:.1f}×"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    parser.add_argument("--reps", type=int, default=7, help="timed steps per figure; the median is reported")
    parser.add_argument("--quick", action="store_true", help="1M and 100x4096 instead of 16M and 1000x4096")
    parser.add_argument("--ours", help="a saved `bench_table --json` (or, with --clip, `bench_reduce --json`) output;"
                        " with --muon, our Muon timings (see our_muon_figures)")
    parser.add_argument("--clip", action="store_true", help="gradient clipping with AdamW instead of every built-in")
    parser.add_argument("--muon", action="store_true", help="torch.optim.Muon (bf16 and f32 iteration) instead")
    parser.add_argument("--no-bf16", action="store_true",
                        help="with --muon, do not time torch's stock bfloat16 iteration (slow without AMX/AVX-512 BF16)")
    parser.add_argument("--formats", action="store_true",
                        help="only the state formats: torchao's AdamW8bit/4bit/Fp8 beside ours")
    args = parser.parse_args()

    torch = import_torch()
    if args.muon:
        muon_table(torch, args)
        return
    if args.clip:
        clip_table(torch, args)
        return
    ours = our_figures(args)
    if args.formats:
        lowbit_table(torch, ours, args)
        return
    large, many = ours["large"], ours["many"]
    shapes = [
        ("large", f"{large['len'] >> 20}M" if large["len"] % (1 << 20) == 0 else str(large["len"])),
        ("many", f"{many['count']}x{many['len']}"),
    ]

    print(f"### PyTorch {torch.__version__} beside optim ({ours['cpu']}, {ours['simd']} clones)\n")
    print("Milliseconds per step (median); `÷` columns are PyTorch's time over ours (above 1: ours is faster).\n")
    header = "| rule | threads | tensors | torch for-loop | torch foreach | torch fused | optim step | "
    header += "÷ for-loop | ÷ foreach | ÷ fused |"
    print(header)
    print("|---|--:|---|--:|--:|--:|--:|--:|--:|--:|")
    for run in ours["runs"]:
        threads = run["threads"]
        torch.set_num_threads(threads)
        for row in run["rules"]:
            rule = row["rule"]
            for key, label in shapes:
                ours_s = row["step_s"] if key == "large" else row["many_step_s"]
                shape = large if key == "large" else many
                if RULES.get(rule) is None:
                    cells = ["n/a"] * 3 + [milliseconds(ours_s)] + ["—"] * 3
                else:
                    times = [
                        time_torch(torch, rule, implementation, shape["count"], shape["len"], args.reps)
                        for implementation in IMPLEMENTATIONS
                    ]
                    cells = [milliseconds(t) for t in times] + [milliseconds(ours_s)]
                    cells += [ratio(t, ours_s) for t in times]
                print(f"| {rule} | {threads} | {label} | " + " | ".join(cells) + " |", flush=True)
    print()
    print(f"torch threads: torch.set_num_threads(n); ours: a rayon pool of n threads. OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}.")
    print()
    lowbit_table(torch, ours, args)


if __name__ == "__main__":
    main()
