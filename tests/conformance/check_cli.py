#!/usr/bin/python3
"""ONNX backend-test cases through the `dlc run` command line (not the test binary).

For each case <folder>/<case>/ and each test_data_set_*/ it runs
    dlc run model.onnx --input input_0.pb --input input_1.pb ... --output-dir D
and compares D/output_<i>.npy (a folder output_<i>/ of 0.npy, 1.npy, ... for a sequence, nothing
for an empty optional) with output_<i>.pb: rtol 1e-3 / atol 1e-7 for floats, exact otherwise.
Prints one line per failing case and `N passed, M failed`; exits 0 only when the failing set is
exactly the one listed in the --expected file (the list dlc_conformance uses), 77 when the test
data or the onnx Python package is missing (ctest reads it as skipped).
"""
import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile

SKIP = 77
FOLDERS = ("node", "pytorch-converted", "pytorch-operator", "simple")
RTOL, ATOL = 1e-3, 1e-7

try:
    import numpy as np
    import onnx
    from onnx import numpy_helper
except ImportError as e:  # the system python3 has them; a venv's may not
    print(f"SKIP: {e} (run with /usr/bin/python3)")
    sys.exit(SKIP)


def list_cases(data, filt):
    cases = []
    for folder in FOLDERS:
        root = os.path.join(data, folder)
        if not os.path.isdir(root):
            continue
        for name in sorted(os.listdir(root)):
            case = f"{folder}/{name}"
            if filt and filt not in case:
                continue
            if os.path.exists(os.path.join(root, name, "model.onnx")):
                cases.append(case)
    return cases


def read_expected(path):
    names = set()
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                names.add(line)
    return names


def numbered(d, stem):
    n = 0
    while os.path.exists(os.path.join(d, f"{stem}_{n}.pb")):
        n += 1
    return n


def read_pb(path, type_proto):
    """The .pb file as numpy: an array, a list of arrays (sequence) or None (empty optional)."""
    with open(path, "rb") as f:
        data = f.read()
    kind = type_proto.WhichOneof("value") if type_proto is not None else "tensor_type"
    if kind == "sequence_type":
        p = onnx.SequenceProto()
        p.ParseFromString(data)
        return [numpy_helper.to_array(t) for t in p.tensor_values]
    if kind == "optional_type":
        p = onnx.OptionalProto()
        p.ParseFromString(data)
        if p.HasField("tensor_value"):
            return numpy_helper.to_array(p.tensor_value)
        if p.HasField("sequence_value"):
            return [numpy_helper.to_array(t) for t in p.sequence_value.tensor_values]
        return None
    p = onnx.TensorProto()
    p.ParseFromString(data)
    arr = numpy_helper.to_array(p)
    # ONNX 1.12 stores bf16 test tensors as UINT16 bit patterns; dlc writes bf16 as f32.
    if type_proto is not None and type_proto.tensor_type.elem_type == onnx.TensorProto.BFLOAT16 and arr.dtype == np.uint16:
        arr = (arr.astype(np.uint32) << 16).view(np.float32)
    return arr


def compare_arrays(want, got):
    if want.shape != got.shape:
        return f"shape {list(got.shape)}, expected {list(want.shape)}"
    if want.dtype.kind in "OUS":  # strings: numpy unicode from dlc, str/bytes objects from onnx
        w = [x.decode("utf-8") if isinstance(x, bytes) else str(x) for x in want.ravel()]
        g = [str(x) for x in got.ravel()]
        bad = sum(1 for a, b in zip(w, g) if a != b)
        return f"{bad} of {len(w)} strings differ" if bad else None
    if want.dtype != got.dtype:
        return f"dtype {got.dtype}, expected {want.dtype}"
    if want.dtype.kind in "fc":
        w = want.astype(np.float64)
        g = got.astype(np.float64)
        with np.errstate(invalid="ignore"):  # inf - inf is NaN: such pairs are equal or not by ==
            ok = (w == g) | (np.isnan(w) & np.isnan(g)) | (np.abs(g - w) <= ATOL + RTOL * np.abs(w))
    else:
        ok = want == got
    bad = int(np.size(ok) - np.count_nonzero(ok))
    return f"{bad} of {want.size} elements differ" if bad else None


def compare_output(out_dir, i, want):
    base = os.path.join(out_dir, f"output_{i}")
    if want is None:
        if os.path.exists(base + ".npy") or os.path.isdir(base):
            return "got a value, expected an empty optional"
        return None
    if isinstance(want, list):
        if not os.path.isdir(base):
            return "no sequence folder written"
        n = len([f for f in os.listdir(base) if f.endswith(".npy")])
        if n != len(want):
            return f"sequence of {n} tensors, expected {len(want)}"
        for j, w in enumerate(want):
            why = compare_arrays(w, np.load(os.path.join(base, f"{j}.npy")))
            if why:
                return f"item {j}: {why}"
        return None
    if not os.path.exists(base + ".npy"):
        return "no .npy written"
    return compare_arrays(want, np.load(base + ".npy"))


def run_case(job):
    dlc, data, case, timeout, target = job
    case_dir = os.path.join(data, case)
    model_path = os.path.join(case_dir, "model.onnx")
    try:
        outputs = onnx.load(model_path, load_external_data=False).graph.output
    except Exception as e:  # noqa: BLE001 - any load failure is this case's failure
        return case, f"onnx.load: {e}"
    sets = sorted(d for d in os.listdir(case_dir) if d.startswith("test_data_set_"))
    for ds in sets:
        d = os.path.join(case_dir, ds)
        cmd = [dlc, "run", model_path] + (["--target", target] if target else [])
        for i in range(numbered(d, "input")):
            cmd += ["--input", os.path.join(d, f"input_{i}.pb")]
        with tempfile.TemporaryDirectory(prefix="dlc_cli_") as out_dir:
            try:
                r = subprocess.run(cmd + ["--output-dir", out_dir], capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired:
                return case, f"{ds}: timed out after {timeout}s"
            if r.returncode != 0:
                err = (r.stderr.strip().splitlines() or ["(no message)"])[-1]
                return case, f"{ds}: exit {r.returncode}: {err}"
            for i in range(numbered(d, "output")):
                tp = outputs[i].type if i < len(outputs) else None
                try:
                    want = read_pb(os.path.join(d, f"output_{i}.pb"), tp)
                    why = compare_output(out_dir, i, want)
                except Exception as e:  # noqa: BLE001 - unreadable files fail the case, not the run
                    why = f"{type(e).__name__}: {e}"
                if why:
                    return case, f"{ds}: output {i}: {why}"
    return case, None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dlc", required=True, help="the dlc binary")
    ap.add_argument("--data", required=True, help="libonnx-testdata's data folder")
    ap.add_argument("--expected", required=True, help="expected_failures.txt")
    ap.add_argument("--filter", default="", help="only cases whose <folder>/<case> contains this")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=60, help="per data set, seconds")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--target", help="passed to dlc run --target (default: dlc's default)")
    a = ap.parse_args()
    if not os.path.isdir(os.path.join(a.data, "node")):
        print(f"SKIP: {a.data} has no ONNX backend-test data")
        return SKIP
    cases = list_cases(a.data, a.filter)
    expected = {c for c in read_expected(a.expected) if not a.filter or a.filter in c}
    jobs = [(a.dlc, a.data, c, a.timeout, a.target) for c in cases]
    failed = {}
    with multiprocessing.Pool(max(1, a.jobs)) as pool:
        for case, why in pool.imap_unordered(run_case, jobs):
            if a.verbose:
                print(f"{'PASS' if why is None else 'FAIL'} {case}", file=sys.stderr)
            if why is not None:
                failed[case] = why
    for case in sorted(failed):
        print(f"FAIL {case}: {failed[case]}{'' if case in expected else '  (not in the expected list)'}")
    fixed = sorted(c for c in expected if c in cases and c not in failed)
    for case in fixed:
        print(f"PASS {case}  (listed as an expected failure: remove it from the list)")
    unexpected = sorted(c for c in failed if c not in expected)
    print(f"{len(cases) - len(failed)} passed, {len(failed)} failed")
    if unexpected or fixed:
        print(f"failing set differs from {a.expected}: {len(unexpected)} unexpected failures, {len(fixed)} unexpected passes")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
