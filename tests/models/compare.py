#!/usr/bin/python3
"""Compares dlc's output .npy with PyTorch's expected .npy: max |actual - expected| must stay
within 1e-3 * max|expected| (an absolute bound scaled to the output's magnitude).

usage: compare.py ACTUAL.npy EXPECTED.npy [--rel 1e-3]
Prints the max abs error and the bound; exits 1 on a mismatch (shape, non-finite values, error).
"""
import argparse
import sys

import numpy as np


def compare(actual, expected, rel=1e-3, label=""):
    """Returns (ok, one-line message)."""
    prefix = f"{label}: " if label else ""
    if actual.shape != expected.shape:
        return False, f"{prefix}shape {list(actual.shape)}, expected {list(expected.shape)}"
    if expected.dtype.kind in "biu":
        # Integer outputs (indices, argmax) have no tolerance.
        bad = int(np.count_nonzero(actual.astype(np.int64) != expected.astype(np.int64)))
        return bad == 0, f"{prefix}{bad} of {expected.size} elements differ (exact comparison)"
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    if not np.all(np.isfinite(a) == np.isfinite(e)):
        return False, f"{prefix}{int(np.count_nonzero(~np.isfinite(a)))} non-finite values in the output"
    finite = np.isfinite(e)
    err = float(np.max(np.abs(a[finite] - e[finite]), initial=0.0))
    bound = rel * float(np.max(np.abs(e[finite]), initial=0.0))
    ok = err <= bound
    return ok, f"{prefix}max abs error {err:.3g}, bound {bound:.3g} ({'ok' if ok else 'MISMATCH'})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("actual")
    ap.add_argument("expected")
    ap.add_argument("--rel", type=float, default=1e-3, help="bound = REL * max|expected| (default 1e-3)")
    args = ap.parse_args()
    ok, msg = compare(np.load(args.actual), np.load(args.expected), args.rel)
    print(msg)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
