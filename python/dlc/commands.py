"""dlc quantize / prune / train / export as Python functions: keyword arguments are the command
line's options, run in-process by the same code as the `dlc` tool (so the options, defaults and
errors are the same)."""
from __future__ import annotations

import os
import tempfile
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

import numpy as np

from . import _core
from .model import Artifact, Model, Error, load

ModelLike = Union[Model, str, os.PathLike]
DataLike = Union[str, os.PathLike, Mapping[str, np.ndarray]]

# Options that take data (a path, or arrays written to a temporary .npz) or a model.
_DATA_OPTIONS = {"calibrate", "data", "val", "finetune", "eval"}
_MODEL_OPTIONS = {"teacher"}
# Options given once per item (a dict {name: dims} or a list) rather than comma-joined.
_REPEATED = {"input_shape"}


def _expand_choices(options: Mapping[str, Any]) -> Dict[str, Any]:
    """loss=dlc.nn.CrossEntropyLoss(label_smoothing=0.1) -> loss="cross-entropy", label_smoothing=0.1."""
    from .nn import _Choice
    out: Dict[str, Any] = {}
    for key, value in options.items():
        if isinstance(value, _Choice):
            if key != value.option:
                raise Error(f"{key}= was given {value!r}, a value for {value.option}=")
            for k, v in value.as_options().items():
                if k in out or (k != key and k in options):
                    raise Error(f"{k}= is given twice (in {value!r} and directly)")
                out[k] = v
        elif key not in out:
            out[key] = value
    return out


def _to_argv(options: Mapping[str, Any], scratch: str) -> List[str]:
    argv: List[str] = []
    for key, value in _expand_choices(options).items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if key == "opt_level":  # the command line's -O0..-O3
            argv.append(f"-O{int(value)}")
        elif value is True:
            argv.append(flag)
        elif key in _DATA_OPTIONS:
            argv += [flag, _data_path(value, key, scratch)]
        elif key in _MODEL_OPTIONS:
            argv += [flag, _model_path(value, key, scratch)]
        elif key in _REPEATED:
            items = value.items() if isinstance(value, Mapping) else [(None, v) for v in value]
            for name, dims in items:
                text = dims if isinstance(dims, str) else "x".join(str(int(d)) for d in dims)
                argv += [flag, text if name is None else f"{name}={text}"]
        elif isinstance(value, (list, tuple)):
            argv += [flag, ",".join(str(v) for v in value)]
        else:
            argv += [flag, str(value)]
    return argv


def _data_path(value: DataLike, key: str, scratch: str) -> str:
    if isinstance(value, (str, os.PathLike)):
        return os.fspath(value)
    if isinstance(value, Mapping):
        path = os.path.join(scratch, f"{key}.npz")  # named in errors as "the arrays given as KEY"
        arrays = {}
        for name, array in value.items():
            array = np.asarray(array)
            if array.dtype == object:
                raise Error(f"{key}['{name}'] is not a numeric array")
            arrays[name] = array
        np.savez(path, **arrays)
        return path
    raise Error(f"{key} takes a .npz path or a dict of arrays (one per model input, plus 'target')")


def _model_path(model: ModelLike, key: str, scratch: str) -> str:
    if isinstance(model, Model):
        path = os.path.join(scratch, f"{key}.dlcir")
        model.save(path)
        return path
    return os.fspath(model)


def _result(path: str, keep: bool) -> Union[Model, Artifact]:
    if path.endswith(".dlc") and not keep:
        with open(path, "rb") as f:  # the temporary file goes away: keep the bytes
            return Artifact.from_bytes(f.read())
    return load(path)


def _run(command: str, model: ModelLike, output: Optional[str], suffix: str, options: Dict[str, Any],
         on_epoch: Optional[Callable] = None) -> Union[Model, Artifact]:
    with tempfile.TemporaryDirectory(prefix="dlc-") as scratch:
        argv = [_model_path(model, "model", scratch)]
        out = os.fspath(output) if output is not None else os.path.join(scratch, "out" + suffix)
        argv += ["-o", out] + _to_argv(options, scratch)
        try:
            _core.run_command(command, argv, on_epoch)
        except Error as e:
            raise Error(_without_scratch(str(e), scratch)) from None
        return _result(out, output is not None)


def _without_scratch(message: str, scratch: str) -> str:
    """Names the temporary files of arrays and models passed in memory as what they were given as."""
    for name in sorted(os.listdir(scratch)) if os.path.isdir(scratch) else []:
        stem, ext = os.path.splitext(name)
        label = "the model given" if stem == "model" else f"the {'arrays' if ext == '.npz' else 'model'} given as {stem}="
        message = message.replace(os.path.join(scratch, name), label)
    return message


def quantize(model: ModelLike, output: Optional[str] = None, **options: Any) -> Union[Model, Artifact]:
    return _run("quantize", model, output, ".onnx", options)


def prune(model: ModelLike, output: Optional[str] = None, **options: Any) -> Union[Model, Artifact]:
    return _run("prune", model, output, ".onnx", options)


def train(model: ModelLike, output: Optional[str] = None, *, on_epoch: Optional[Callable[[Dict[str, Any]], Any]] = None,
          **options: Any) -> Model:
    result = _run("train", model, output, ".dlcir", options, on_epoch)
    assert isinstance(result, Model)
    return result


def export_onnx(model: ModelLike, path: Union[str, os.PathLike], opset: int = 17, external_data: bool = False) -> str:
    """dlc export: writes standard ONNX (fused ops rewritten into ONNX ones)."""
    if not isinstance(model, Model):
        loaded = load(model)
        if isinstance(loaded, Artifact):
            raise Error(f"'{os.fspath(model)}' is a compiled artifact; export the model it was compiled from")
        model = loaded
    return model.export_onnx(path, opset, external_data)


def cli(*args: str) -> None:
    """Runs any `dlc` subcommand in-process, e.g. dlc.cli("inspect", "model.onnx"); output goes to
    the process's stdout/stderr, a failure raises dlc.Error."""
    if not args:
        raise Error("cli() needs a subcommand, e.g. dlc.cli('inspect', 'model.onnx')")
    _core.run_command(args[0], [os.fspath(a) for a in args[1:]], None)


def _document(fn: Callable, command: str, summary: str) -> None:
    fn.__doc__ = (summary + "\n\nKeyword arguments are the options below without their dashes (--per-channel is "
                  "per_channel=True, --lr 0.01 is lr=0.01; lists are comma-joined); data options take a path or "
                  "a dict of arrays; models a path or a dlc.Model. Without output, the result is returned "
                  "only.\n\n" + _core.command_help(command))


_document(quantize, "quantize", "dlc quantize: returns the quantized model (a dlc.Model, or a dlc.Artifact for a .dlc output).")
_document(prune, "prune", "dlc prune: returns the pruned model (a dlc.Model, or a dlc.Artifact for a .dlc output).")
_document(train, "train", "dlc train: returns the trained dlc.Model. on_epoch(stats) is called after each epoch "
          "with {'epoch', 'epochs', 'steps', 'train_loss', 'train_accuracy', 'val_loss', 'val_accuracy', 'lr', "
          "'seconds'} (NaN where not measured); returning False stops the training there.")
