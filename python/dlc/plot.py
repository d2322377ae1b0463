"""Pictures of dlc's numbers, drawn with matplotlib: training curves, the quantization report's
per-layer SQNR, and a profile's time per op. The format follows the file name (.png, .svg, .pdf).

From Python: dlc.plot.training_curves(history, "curves.png") and so on. The command line calls
this module for `dlc train --plot`, `dlc quantize --plot` and `dlc bench --profile --plot`:

    python3 -m dlc.plot training LOG.csv OUT.png     (dlc train --log's CSV)
    python3 -m dlc.plot sqnr REPORT.json OUT.png     (dlc quantize --report's JSON)
    python3 -m dlc.plot profile PROFILE.json OUT.png ([{"name", "ms"}, ...])
"""
from __future__ import annotations

import csv
import json
import math
import os
import sys
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Tuple, Union

PathLike = Union[str, os.PathLike]


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")  # files only: no display needed
    matplotlib.rcParams["svg.fonttype"] = "none"  # SVG text stays text (searchable, smaller)
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path: PathLike) -> str:
    """Writes the figure to a temporary name beside `path`, then renames it (never a partial file)."""
    path = os.fspath(path)
    root, ext = os.path.splitext(path)
    if ext.lower() not in (".png", ".svg", ".pdf"):
        raise ValueError(f"'{path}': a plot is written as .png, .svg or .pdf")
    tmp = f"{root}.tmp{ext}"
    fig.savefig(tmp, dpi=120, bbox_inches="tight")
    _pyplot().close(fig)
    os.replace(tmp, path)
    return path


def _number(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def read_training_log(path: PathLike) -> List[Dict[str, float]]:
    """dlc train --log's CSV as one dict per epoch."""
    with open(path, newline="") as f:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]


def training_curves(history: Union[PathLike, Sequence[Mapping[str, float]]], path: PathLike, title: str = "training") -> str:
    """Loss (train and validation) and accuracy per epoch. `history`: the dicts dlc.train's
    on_epoch receives, or a `--log` CSV file."""
    rows = read_training_log(history) if isinstance(history, (str, os.PathLike)) else [dict(r) for r in history]
    if not rows:
        raise ValueError("no epochs to plot")
    plt = _pyplot()
    epochs = [r.get("epoch", i + 1) for i, r in enumerate(rows)]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("train_loss", "train"), ("val_loss", "validation")):
        ys = [_number(r.get(key)) for r in rows]
        if any(not math.isnan(y) for y in ys):
            loss_ax.plot(epochs, ys, marker="o", label=label)
    loss_ax.set(xlabel="epoch", ylabel="loss", title=f"{title}: loss")
    loss_ax.legend()
    drawn = False
    for key, label in (("train_accuracy", "train"), ("val_accuracy", "validation")):
        ys = [_number(r.get(key)) for r in rows]
        if any(not math.isnan(y) for y in ys):
            acc_ax.plot(epochs, ys, marker="o", label=label)
            drawn = True
    acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", title=f"{title}: accuracy")
    if drawn:
        acc_ax.legend()
    else:
        acc_ax.text(0.5, 0.5, "no accuracy (not a classification loss)", ha="center", va="center", transform=acc_ax.transAxes)
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
    return _save(fig, path)


def sqnr(report: Union[PathLike, Mapping[str, Any]], path: PathLike) -> str:
    """Per-layer SQNR of a `dlc quantize --report`: each quantized layer's weight SQNR, the output
    SQNR of the model with only that layer quantized where the accuracy search measured it, and
    the whole model's output SQNR as a line."""
    if isinstance(report, (str, os.PathLike)):
        with open(report) as f:
            report = json.load(f)
    layers = report.get("quantized", [])
    if not layers:
        raise ValueError("the report lists no quantized layers")
    names = [l["node"] for l in layers]
    weight = [_number(l.get("weight_sqnr_db")) for l in layers]
    alone = {r["node"]: _number(r["output_sqnr_db_alone"]) for r in report.get("accuracy_bound", {}).get("ranking", [])}
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(names) + 2), 4.5))
    xs = range(len(names))
    width = 0.4 if alone else 0.8
    ax.bar([x - (width / 2 if alone else 0) for x in xs], weight, width, label="weight SQNR")
    if alone:
        ax.bar([x + width / 2 for x in xs], [alone.get(n, math.nan) for n in names], width, label="output SQNR, layer alone")
    out = _number(report.get("output_sqnr_db"))
    if not math.isnan(out):
        ax.axhline(out, color="black", linestyle="--", label=f"model output SQNR {out:.1f} dB")
    ax.set_xticks(list(xs))
    ax.set_xticklabels(names, rotation=70, ha="right", fontsize=7)
    ax.set(ylabel="SQNR (dB)", title=f"{os.path.basename(str(report.get('model', '')))}: {report.get('mode', '')} quantization")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def profile(entries: Union[PathLike, Iterable[Union[Mapping[str, Any], Tuple]]], path: PathLike, top: int = 25,
            title: str = "time per op") -> str:
    """Horizontal bars of milliseconds per run by op (or kernel), slowest first. `entries`: dicts
    {"name", "ms"}, (name, ms) pairs, a Session.step_times() list, or a JSON file of dicts."""
    if isinstance(entries, (str, os.PathLike)):
        with open(entries) as f:
            data = json.load(f)
        title = data.get("title", title) if isinstance(data, dict) else title
        entries = data["ops"] if isinstance(data, dict) else data
    pairs: Dict[str, float] = {}
    for e in entries:
        if isinstance(e, Mapping):
            name, ms = str(e["name"]), float(e["ms"])
        elif len(e) == 4:  # Session.step_times(): (kernel, location, library, seconds)
            name, ms = f"{e[2]}/{e[0]}", 1e3 * float(e[3])
        else:
            name, ms = str(e[0]), float(e[1])
        pairs[name] = pairs.get(name, 0.0) + ms
    if not pairs:
        raise ValueError("nothing to plot")
    ranked = sorted(pairs.items(), key=lambda p: -p[1])
    shown = ranked[:top]
    if len(ranked) > top:
        shown.append((f"{len(ranked) - top} others", sum(ms for _, ms in ranked[top:])))
    total = sum(pairs.values())
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(shown) + 1.5))
    ys = range(len(shown))
    ax.barh(list(ys), [ms for _, ms in shown])
    ax.set_yticks(list(ys))
    ax.set_yticklabels([n for n, _ in shown], fontsize=8)
    ax.invert_yaxis()
    for y, (_, ms) in zip(ys, shown):
        ax.text(ms, y, f" {ms:.3g} ms ({100 * ms / total:.0f}%)", va="center", fontsize=7)
    ax.set(xlabel="ms per run", title=title)
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def main(argv: Sequence[str]) -> int:
    kinds = {"training": training_curves, "sqnr": sqnr, "profile": profile}
    if len(argv) != 3 or argv[0] not in kinds:
        print("usage: python3 -m dlc.plot training|sqnr|profile INPUT OUT.(png|svg|pdf)", file=sys.stderr)
        return 2
    try:
        kinds[argv[0]](argv[1], argv[2])
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as e:
        print(f"dlc.plot: error: {e} ({argv[1]})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
