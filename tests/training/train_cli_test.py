#!/usr/bin/python3
"""`dlc train` from the command line: its contract (help, one-line errors with a non-zero exit and
no output file, for data that does not fit the model, bad options and a non-finite loss) and its
features (validation, CSV log, checkpoints with a bit-identical resume, every loss, optimizer and
schedule name, ONNX output that ONNX's checker accepts and that dlc runs again).

usage: train_cli_test.py --dlc DLC --work DIR
"""
import argparse
import csv
import os
import subprocess
import sys

import numpy as np

try:
    import onnx
    from onnx import numpy_helper
    import torch
except ImportError as e:
    sys.exit(f"train_cli_test.py: error: {e} (run with /usr/bin/python3)")

failures = []


def check(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail and not ok else ''}")
    if not ok:
        failures.append(name)


def run(dlc, *args):
    return subprocess.run([dlc, *args], capture_output=True, text=True)


def expect_error(dlc, name, pattern, out, *args):
    if os.path.exists(out):
        os.remove(out)
    p = run(dlc, *args)
    line = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
    check(name, p.returncode != 0 and line.startswith("dlc: error:") and pattern in line and not os.path.exists(out),
          f"exit {p.returncode}, stderr {p.stderr.strip()!r}, output exists: {os.path.exists(out)}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    dlc, w = a.dlc, a.work
    os.makedirs(w, exist_ok=True)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    model_path = os.path.join(w, "mlp.onnx")
    torch.onnx.export(model.eval(), (torch.zeros(1, 6),), model_path, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}, opset_version=17, do_constant_folding=False)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 6)).astype(np.float32)
    t = (x @ rng.standard_normal((6, 3))).argmax(1).astype(np.int64)
    data, val = os.path.join(w, "train.npz"), os.path.join(w, "val.npz")
    np.savez(data, x=x[:160], target=t[:160])
    np.savez_compressed(val, x=x[160:], target=t[160:])
    out = os.path.join(w, "trained.onnx")

    p = run(dlc, "train", "--help")
    check("--help", p.returncode == 0 and "usage: dlc train" in p.stdout and "--optimizer" in p.stdout)

    # Errors: one line, non-zero, no output file.
    bad = os.path.join(w, "bad")
    os.makedirs(bad, exist_ok=True)
    np.savez(os.path.join(bad, "no_target.npz"), x=x)
    np.savez(os.path.join(bad, "float_target.npz"), x=x, target=t.astype(np.float32))
    np.savez(os.path.join(bad, "wrong_shape.npz"), x=x[:, :4], target=t)
    np.savez(os.path.join(bad, "lengths.npz"), x=x, target=t[:10])
    np.savez(os.path.join(bad, "nan.npz"), x=np.full_like(x, np.nan), target=t)
    with open(os.path.join(bad, "garbage.npz"), "wb") as f:
        f.write(b"PK\x03\x04 not really a zip")
    with open(data, "rb") as f:
        blob = f.read()
    with open(os.path.join(bad, "truncated.npz"), "wb") as f:
        f.write(blob[: len(blob) // 2])
    expect_error(dlc, "missing -o", "needs -o", out, "train", model_path, "--data", data)
    expect_error(dlc, "missing --data", "needs --data", out, "train", model_path, "-o", out)
    expect_error(dlc, "bad --precision", "precision 'fp8' is not one of f32, bf16", out, "train", model_path, "--data", data,
                 "-o", out, "--precision", "fp8")
    expect_error(dlc, "no target array", "has no array 'target'", out, "train", model_path, "--data", os.path.join(bad, "no_target.npz"), "-o", out)
    expect_error(dlc, "float class targets", "array 'target' is f32", out, "train", model_path, "--data", os.path.join(bad, "float_target.npz"), "-o", out)
    expect_error(dlc, "wrong input shape", "array 'x' has shape [200,4]", out, "train", model_path, "--data", os.path.join(bad, "wrong_shape.npz"), "-o", out)
    expect_error(dlc, "sample counts differ", "has 10 samples", out, "train", model_path, "--data", os.path.join(bad, "lengths.npz"), "-o", out)
    expect_error(dlc, "non-finite inputs", "holds non-finite values", out, "train", model_path, "--data", os.path.join(bad, "nan.npz"), "-o", out)
    expect_error(dlc, "garbage npz", "not a valid .npz", out, "train", model_path, "--data", os.path.join(bad, "garbage.npz"), "-o", out)
    expect_error(dlc, "truncated npz", "no end-of-central-directory record", out, "train", model_path, "--data",
                 os.path.join(bad, "truncated.npz"), "-o", out)
    p = run(dlc, "train", model_path, "--data", os.path.join(bad, "truncated.npz"), "-o", out)
    check("truncated npz exits non-zero", p.returncode != 0 and p.stderr.startswith("dlc: error:") and not os.path.exists(out), p.stderr)
    expect_error(dlc, "unknown loss", "unknown loss 'hinge'", out, "train", model_path, "--data", data, "-o", out, "--loss", "hinge")
    expect_error(dlc, "unknown optimizer", "unknown optimizer 'adamax'", out, "train", model_path, "--data", data, "-o", out, "--optimizer", "adamax")
    expect_error(dlc, "unknown schedule", "unknown schedule", out, "train", model_path, "--data", data, "-o", out, "--schedule", "poly")
    expect_error(dlc, "regression loss on class targets", "array 'target' is i64, the model takes f32[N,3]", out, "train", model_path, "--data", data, "-o", out, "--loss", "mse")
    expect_error(dlc, "frozen name unknown", "--freeze names 'nope'", out, "train", model_path, "--data", data, "-o", out, "--freeze", "nope")
    expect_error(dlc, "bad output suffix", "must end in .onnx or .dlcir", out + ".txt", "train", model_path, "--data", data, "-o", out + ".txt")

    # A run with validation, a log and checkpoints; the ONNX output passes the checker and runs.
    ckpt, log = os.path.join(w, "ckpt"), os.path.join(w, "log.csv")
    p = run(dlc, "train", model_path, "--data", data, "--val", val, "-o", out, "--epochs", "4", "--batch", "16",
            "--checkpoint", ckpt, "--log", log, "--lr", "0.01", "--seed", "3")
    check("train with validation", p.returncode == 0 and p.stdout.count("val loss") == 4, p.stderr)
    rows = list(csv.DictReader(open(log))) if os.path.exists(log) else []
    check("csv log", len(rows) == 4 and float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"]), str(rows))
    try:
        onnx.checker.check_model(onnx.load(out), full_check=True)
        check("output passes onnx.checker", True)
    except Exception as e:  # noqa: BLE001
        check("output passes onnx.checker", False, str(e))
    np.save(os.path.join(w, "x.npy"), x[:5])
    p = run(dlc, "run", out, "--input", os.path.join(w, "x.npy"))
    check("output runs", p.returncode == 0 and "y: f32[5,3]" in p.stdout, p.stderr)
    state = np.load(os.path.join(ckpt, "checkpoint.npz"))
    trained = {i.name: numpy_helper.to_array(i) for i in onnx.load(out).graph.initializer}
    check("output holds the trained weights", all(np.array_equal(trained[k], state[k]) for k in trained),
          str([k for k in trained if not np.array_equal(trained[k], state[k])]))

    # Resume: 2 epochs, then 2 more from the checkpoint, equal 4 in one go, bit for bit.
    half, resumed = os.path.join(w, "half"), os.path.join(w, "resumed.onnx")
    run(dlc, "train", model_path, "--data", data, "-o", os.path.join(w, "h.onnx"), "--epochs", "2", "--batch", "16",
        "--checkpoint", half, "--lr", "0.01", "--seed", "3")
    p = run(dlc, "train", model_path, "--data", data, "-o", resumed, "--epochs", "4", "--batch", "16", "--resume", half,
            "--lr", "0.01", "--seed", "3")
    again = {i.name: numpy_helper.to_array(i) for i in onnx.load(resumed).graph.initializer} if p.returncode == 0 else {}
    check("resume is bit-identical", p.returncode == 0 and all(np.array_equal(trained[k], again.get(k)) for k in trained),
          p.stderr.strip())

    # Every optimizer, schedule and loss name trains (the loss falls) without error.
    for opt in ["sgd", "adam", "adamw", "rmsprop", "adagrad", "radam", "lamb", "lars", "ranger"]:
        extra = ["--momentum", "0.9"] if opt in ("sgd", "lars") else []
        lr = {"lars": "0.5", "sgd": "0.05", "adagrad": "0.05", "rmsprop": "0.003"}.get(opt, "0.01")
        p = run(dlc, "train", model_path, "--data", data, "-o", os.path.join(w, f"o_{opt}.dlcir"), "--epochs", "3",
                "--batch", "16", "--optimizer", opt, "--lr", lr, *extra, "--log", os.path.join(w, f"o_{opt}.csv"))
        rows = list(csv.DictReader(open(os.path.join(w, f"o_{opt}.csv")))) if p.returncode == 0 else []
        check(f"optimizer {opt}", len(rows) == 3 and float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"]), p.stderr)
    for sched in [["step", "--step-size", "1"], ["multistep", "--milestones", "1,2"], ["exponential", "--gamma", "0.9"],
                  ["cosine"], ["cosine-restarts"], ["cyclic", "--max-lr", "0.05"], ["one-cycle"], ["cosine", "--warmup", "5"]]:
        p = run(dlc, "train", model_path, "--data", data, "-o", os.path.join(w, "s.dlcir"), "--epochs", "2", "--batch", "16",
                "--schedule", *sched)
        check(f"schedule {' '.join(sched)}", p.returncode == 0, p.stderr)
    for extra in [["--clip-norm", "0.5"], ["--clip-value", "0.1"], ["--accumulate", "2"], ["--grad-centralization"],
                  ["--lookahead"], ["--label-smoothing", "0.1"], ["--class-weights", "1,2,0.5"], ["--freeze", "0.weight"],
                  ["--swa-start", "1", "--swa-lr", "0.005"], ["--precision", "bf16"]]:
        p = run(dlc, "train", model_path, "--data", data, "-o", os.path.join(w, "e.onnx"), "--epochs", "3", "--batch", "16",
                *extra)
        check(f"option {' '.join(extra)}", p.returncode == 0, p.stderr)
    # Regression losses on a regression model.
    reg_model = os.path.join(w, "reg.onnx")
    torch.onnx.export(torch.nn.Linear(6, 2).eval(), (torch.zeros(1, 6),), reg_model, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}, opset_version=17, do_constant_folding=False)
    reg_data, bin_data = os.path.join(w, "reg.npz"), os.path.join(w, "binary.npz")
    np.savez(reg_data, x=x, target=(x[:, :2] * 0.5).astype(np.float32))
    np.savez(bin_data, x=x, target=(x[:, :2] > 0).astype(np.float32))
    for loss in ["mse", "l1", "huber", "smooth-l1", "bce-with-logits", "focal", "dice"]:
        data_for = reg_data if loss in ("mse", "l1", "huber", "smooth-l1") else bin_data
        p = run(dlc, "train", reg_model, "--data", data_for, "-o", os.path.join(w, f"r_{loss}.dlcir"), "--epochs", "2",
                "--batch", "20", "--lr", "0.01", "--loss", loss, "--log", os.path.join(w, f"r_{loss}.csv"))
        rows = list(csv.DictReader(open(os.path.join(w, f"r_{loss}.csv")))) if p.returncode == 0 else []
        check(f"loss {loss}", len(rows) == 2 and float(rows[-1]["train_loss"]) <= float(rows[0]["train_loss"]), p.stderr)
    # A diverging run stops at the step whose loss is not finite, naming it, and writes nothing.
    expect_error(dlc, "diverging loss", "the loss is", out, "train", reg_model, "--data", reg_data, "-o", out, "--loss", "mse",
                 "--optimizer", "sgd", "--lr", "100000", "--epochs", "50", "--batch", "20")
    print(f"{len(failures)} failed" if failures else "all passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
