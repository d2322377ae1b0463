#!/usr/bin/python3
"""Seed corpora and dictionaries of the libFuzzer harnesses, made from the repository's own test
inputs and ONNX's test data (nothing here is committed: it follows the code).

    make_seeds.py --dlc BUILD/tools/dlc --out DIR

writes DIR/corpus/<target>/ and DIR/dicts/<target>.dict for ir_parser (the textual-IR pass tests
and a sixth of ONNX's node tests imported),
onnx_import (ONNX's node-test models, the example CNN), artifact (bodies of .dlc files compiled
from those, header stripped: the harness adds a valid one), npy and npz (NumPy's writers, every
dtype and format version), tensor_proto (ONNX's test-data .pb files). Dictionaries: op and
attribute names from ir/ops.def plus each format's syntax.
"""
import argparse
import glob
import io
import os
import re
import shutil
import subprocess
import zipfile

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
ONNX_NODE = "/usr/share/libonnx-testdata/data/node"


def op_table():
    ops, attrs = [], set()
    for line in open(os.path.join(REPO, "ir", "ops.def")):
        m = re.match(r'DLC_OP\((\w+), "([^"]*)".*"([^"]*)"\)\s*$', line.strip())
        if m:
            ops.append(m.group(1))
            attrs.update(a.split(":")[0] for a in m.group(3).split(";") if a)
    return ops, sorted(attrs)


def write_dict(path, tokens):
    with open(path, "w") as f:
        for t in tokens:
            f.write('"' + "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else f"\\x{ord(c):02x}" for c in t) + '"\n')


def copy_files(files, folder, limit=None):
    os.makedirs(folder, exist_ok=True)
    for i, f in enumerate(sorted(files)[:limit]):
        shutil.copy(f, os.path.join(folder, f"{i:04d}_{os.path.basename(os.path.dirname(f))}_{os.path.basename(f)}"))


def npy_seeds(folder):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = [np.arange(6, dtype=np.float32).reshape(2, 3), np.float64(3.5), np.zeros((0, 4), np.int8),
              np.asfortranarray(rng.standard_normal((3, 2)).astype(np.float32)), np.array([True, False]),
              np.array(["ab", "c"]), rng.integers(0, 9, (2, 2, 2)).astype(np.uint16)]
    arrays += [np.ones(3, dt) for dt in (np.float16, np.int16, np.int32, np.int64, np.uint8, np.uint32, np.uint64)]
    arrays.append(np.ones(3, ">f4"))  # big-endian: refused with a message
    n = 0
    for a in arrays:
        for version in ((1, 0), (2, 0), (3, 0)):
            buf = io.BytesIO()
            try:
                np.lib.format.write_array(buf, np.asanyarray(a), version=version)
            except ValueError:
                continue
            open(os.path.join(folder, f"{n:03d}.npy"), "wb").write(buf.getvalue())
            n += 1


def npz_seeds(folder):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(1)
    image = rng.standard_normal((5, 1, 4, 4)).astype(np.float32)
    target = rng.integers(0, 10, 5)
    cases = [dict(image=image, target=target), dict(image=image.astype(np.float64), target=target.astype(np.int32)),
             dict(image=image[:, :, :2], target=target), dict(image=image), dict(other=target, image=image, target=target),
             dict(image=np.float32(1), target=target)]
    for i, arrays in enumerate(cases):
        np.savez(os.path.join(folder, f"{i}_stored.npz"), **arrays)
        np.savez_compressed(os.path.join(folder, f"{i}_deflated.npz"), **arrays)
    with zipfile.ZipFile(os.path.join(folder, "zip64.npz"), "w", allowZip64=True) as z:  # ZIP64 records
        with z.open("image.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array(f, image)


def artifact_seeds(dlc, models, folder, work):
    os.makedirs(folder, exist_ok=True)
    os.makedirs(work, exist_ok=True)
    n = 0
    for model in models:
        out = os.path.join(work, f"{n}.dlc")
        if subprocess.run([dlc, "compile", model, "-o", out], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
            continue
        body = open(out, "rb").read()[64:]  # the harness puts a valid header in front
        if len(body) <= 64 * 1024:
            open(os.path.join(folder, f"{n:03d}_{os.path.basename(os.path.dirname(model))}.bin"), "wb").write(body)
            n += 1
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True, help="the dlc tool of a normal build (compiles the artifact seeds)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    corpus, dicts = os.path.join(a.out, "corpus"), os.path.join(a.out, "dicts")
    shutil.rmtree(corpus, ignore_errors=True)
    os.makedirs(dicts, exist_ok=True)
    ops, attrs = op_table()

    node_models = sorted(glob.glob(os.path.join(ONNX_NODE, "*", "model.onnx")))
    copy_files(glob.glob(os.path.join(REPO, "tests", "passes", "*.dlcir")), os.path.join(corpus, "ir_parser"))
    for i, model in enumerate(node_models[::6]):  # imported node tests: attributes, subgraphs, every dtype
        subprocess.run([a.dlc, "import", model, "-o", os.path.join(corpus, "ir_parser", f"onnx_{i:03d}.dlcir")],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    write_dict(os.path.join(dicts, "ir_parser.dict"),
               ops + attrs + ["graph @", "opsets {", '"" = 17', "return ", "%", ": ", " = ", "f32[", "i64[", "bf16[", "[N,",
                              "tensor<", "> 0x", "loc(", "{value = ", "} : ", "seq<", "opt<", "(%", ") {", "\n}", "//"])
    copy_files(node_models + [os.path.join(REPO, "examples", "models", "small_cnn.onnx")], os.path.join(corpus, "onnx_import"))
    write_dict(os.path.join(dicts, "onnx_import.dict"),
               ops + attrs + ["ai.onnx", "com.microsoft", "onnx::", "\x08\x07", "\x08\x11", "\x12\x00", "\x3a\x00"])
    made = artifact_seeds(a.dlc, node_models[::8] + [os.path.join(REPO, "examples", "models", "small_cnn.onnx")],
                          os.path.join(corpus, "artifact"), os.path.join(a.out, "artifacts"))
    write_dict(os.path.join(dicts, "artifact.dict"), ["reference", "dlc_kernels_reference", "segment=", "DLC1"] + ops)
    npy_seeds(os.path.join(corpus, "npy"))
    write_dict(os.path.join(dicts, "npy.dict"), ["\x93NUMPY", "{'descr': '", "'fortran_order': False", "'fortran_order': True",
                                                 "'shape': (", "), }", "<f4", "<f8", "<f2", "<i8", "<u2", "|b1", "|i1", "<U1", ">f4"])
    npz_seeds(os.path.join(corpus, "npz"))
    write_dict(os.path.join(dicts, "npz.dict"), ["PK\x03\x04", "PK\x01\x02", "PK\x05\x06", "PK\x06\x06", "PK\x06\x07",
                                                 "image.npy", "target.npy", "\x93NUMPY", "\x01\x00"])
    copy_files(glob.glob(os.path.join(ONNX_NODE, "*", "test_data_set_0", "*.pb")), os.path.join(corpus, "tensor_proto"), limit=600)
    write_dict(os.path.join(dicts, "tensor_proto.dict"), ["\x08\x01", "\x08\x07", "\x10\x01", "\x10\x07", "\x4a", "\x52"])
    counts = {t: len(os.listdir(os.path.join(corpus, t))) for t in sorted(os.listdir(corpus))}
    print("seeds: " + ", ".join(f"{t} {n}" for t, n in counts.items()) + f" (artifacts compiled: {made})")


if __name__ == "__main__":
    main()
