#!/usr/bin/python3
"""The installed package as a user outside the tree meets it. Installs the build into WORK/prefix
(`cmake --install`), then: configures and builds examples/installed against it with
find_package(dlc) (dlc::compiler compiles examples/models/small_cnn.onnx, dlc::runtime and the
kernel libraries run it) and checks the output against PyTorch's; builds the same program with
pkg-config's flags; runs the installed `dlc`; imports the installed Python package with the user
site (where the build tree's dlc.pth lives) switched off. Nothing in the build tree is used after
the install step.

usage: check_install.py --build BUILD --work WORK [--generator Ninja]
"""
import argparse
import os
import shutil
import subprocess
import sys

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODELS = os.path.join(REPO, "examples", "models")


def run(cmd, env=None, cwd=None):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd)
    if proc.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited with {proc.returncode}:\n{proc.stdout}")
    return proc.stdout


def check_output(text, what):
    lines = text.strip().splitlines()
    values = np.array([float(v) for v in lines[1:]], np.float32)
    want = np.load(os.path.join(MODELS, "small_cnn_expected.npy")).reshape(-1)
    if values.shape != want.shape or np.max(np.abs(values - want)) > 1e-4 * np.max(np.abs(want)):
        sys.exit(f"FAIL: {what}: the output differs from PyTorch's:\n{text}")
    print(f"ok: {what}: {lines[0]}, max|out - torch| = {np.max(np.abs(values - want)):.2e}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--generator", default="Ninja")
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    prefix = os.path.join(a.work, "prefix")
    run(["cmake", "--install", a.build, "--prefix", prefix])
    libdir = next(os.path.join(prefix, d) for d in ("lib", "lib64") if os.path.isdir(os.path.join(prefix, d, "cmake")))
    for f in ("bin/dlc", "include/dlc/runtime.h", "include/dlc/compiler.h", "include/dlc_kernels_reference.h"):
        if not os.path.exists(os.path.join(prefix, f)):
            sys.exit(f"FAIL: the install has no {f}")
    model = os.path.join(MODELS, "small_cnn.onnx")
    x = os.path.join(MODELS, "small_cnn_input.npy")

    # find_package(dlc) from a project outside the tree.
    build = os.path.join(a.work, "example")
    run(["cmake", "-S", os.path.join(REPO, "examples", "installed"), "-B", build, "-G", a.generator,
         f"-DCMAKE_PREFIX_PATH={prefix}"])
    run(["cmake", "--build", build])
    exe = os.path.join(build, "compile_and_run")
    for target in ("reference", "cpu"):
        out = run([exe, model, os.path.join(a.work, f"cnn_{target}.dlc"), x, target, "image=1x3x32x32"])
        check_output(out, f"find_package(dlc), --target {target}")
    bad = subprocess.run([exe, os.path.join(a.work, "missing.onnx"), os.path.join(a.work, "m.dlc"), x],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if bad.returncode == 0 or "missing.onnx" not in bad.stderr or len(bad.stderr.strip().splitlines()) != 1:
        sys.exit(f"FAIL: a missing model must be a one-line error naming it, got: {bad.stderr!r}")

    # pkg-config.
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(libdir, "pkgconfig"))
    flags = run(["pkg-config", "--cflags", "--libs", "dlc-compiler"], env=env).split()
    pc_exe = os.path.join(a.work, "compile_and_run_pc")
    run(["cc", "-o", pc_exe, os.path.join(REPO, "examples", "installed", "compile_and_run.c"),
         "-I" + os.path.join(REPO, "examples", "common")] + flags + ["-Wl,-rpath," + libdir])
    check_output(run([pc_exe, model, os.path.join(a.work, "cnn_pc.dlc"), x]), "pkg-config dlc-compiler")

    # The installed command line.
    run([os.path.join(prefix, "bin", "dlc"), "run", os.path.join(a.work, "cnn_cpu.dlc"), "--input", x,
         "--output-dir", os.path.join(a.work, "run")])
    values = np.load(os.path.join(a.work, "run", "output_0.npy")).reshape(-1)
    check_output("dlc run\n" + "\n".join(f"{v:.9g}" for v in values), "installed dlc run")

    # The installed Python package, without the build tree's dlc.pth (python -s: no user site).
    site = run([sys.executable, "-c", "import sys, sysconfig; print(f'lib/python{sys.version_info[0]}.{sys.version_info[1]}')"]).strip()
    pkg = next((os.path.join(prefix, site, d) for d in ("dist-packages", "site-packages")
                if os.path.isdir(os.path.join(prefix, site, d, "dlc"))), None)
    if pkg is None:
        sys.exit(f"FAIL: no dlc package under {os.path.join(prefix, site)}")
    code = ("import dlc, numpy as np; m = dlc.load(%r); "
            "print('shape'); print('\\n'.join('%%.9g' %% v for v in m.run(np.load(%r)).popitem()[1].reshape(-1))); "
            "assert dlc.__file__.startswith(%r), dlc.__file__") % (model, x, pkg)
    check_output(run([sys.executable, "-s", "-c", code], env=dict(os.environ, PYTHONPATH=pkg), cwd=a.work),
                 "installed Python package")
    print("install_package: all checks passed")


if __name__ == "__main__":
    main()
