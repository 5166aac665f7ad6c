#!/usr/bin/env python3
"""Rewrites the README's figures from the tests' own output: the parity summary lines (run the
parity tests and copy each `... parity: ...` line over the README's line with the same title)
and the number of compile-fail cases (the files in tests/ui/fail). The tests check that the
README agrees with them, so run this after changing a recording or a compile-fail case."""

import os
import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SUITES = ["torch_parity", "sparse_parity", "zoo_parity", "group_parity", "multi_group_parity", "cautious_parity", "matrix_parity", "lowbit_parity", "lr_scheduler_parity"]


def summaries():
    args = ["cargo", "test"] + [f"--test={s}" for s in SUITES] + ["--", "--nocapture", "--test-threads=1"]
    env = dict(os.environ, OPTIM_UPDATING_README="1")
    out = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    return {m.group(1): m.group(0) for m in re.finditer(r"^([a-z ]+ parity): .*$", out, re.M)}


def main():
    text = README.read_text()
    for title, line in summaries().items():
        text, found = re.subn(rf"^{re.escape(title)}: .*$", line, text, flags=re.M)
        if not found:
            raise SystemExit(f"README.md has no `{title}:` line to replace")
    cases = len(list((ROOT / "tests/ui/fail").glob("*.rs")))
    text = re.sub(r"\d+ compile-fail cases", f"{cases} compile-fail cases", text)
    README.write_text(text)


if __name__ == "__main__":
    main()
