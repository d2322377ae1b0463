"""Helpers the Python test scripts share: a check that records failures, running `dlc`
subcommands, and reading a model's first output back from `dlc run`."""
import os
import subprocess
import sys

import numpy as np

failures = []


def check(ok, message):
    print(("ok   " if ok else "FAIL ") + message, flush=True)
    if not ok:
        failures.append(message)


def run(cmd):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True)


def dlc_tool(dlc, command, model, out, *options):
    """`dlc COMMAND MODEL -o OUT OPTIONS...`; exits the test on failure."""
    p = run([dlc, command, model, "-o", out, *options])
    if p.returncode != 0:
        sys.exit(f"FAIL: dlc {command} {' '.join(options)}: {p.stderr.strip()}")
    return p


def dlc_outputs(dlc, model, x, work, *options):
    """Output 0 of `dlc run MODEL` on input x (saved under work)."""
    os.makedirs(work, exist_ok=True)
    np.save(os.path.join(work, "x.npy"), x)
    p = run([dlc, "run", model, "--input", os.path.join(work, "x.npy"), "--output-dir", work, *options])
    if p.returncode != 0:
        sys.exit(f"FAIL: dlc run {model} {' '.join(options)}: {p.stderr.strip()}")
    return np.load(os.path.join(work, "output_0.npy"))


def finish():
    """The exit status: 1 when a check failed."""
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all checks passed")
    return 0
