"""Models (dlc's IR), compiled artifacts and sessions."""
from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core

Shape = Optional[Tuple[Union[int, str, None], ...]]
Feeds = Union[Mapping[str, Any], Sequence[Any], np.ndarray]


class TensorInfo(NamedTuple):
    """A signature entry: dims are ints, symbol names (str) or None (unknown); shape is None when
    even the rank is unknown."""
    name: str
    dtype: str
    shape: Shape


def _infos(entries) -> List[TensorInfo]:
    return [TensorInfo(*e) for e in entries]


def _shape_specs(input_shapes: Optional[Mapping[str, Sequence[int]]]) -> List[str]:
    """{"x": (1, 3, 224, 224)} -> ["x=1x3x224x224"], the command line's --input-shape."""
    specs = []
    for name, dims in (input_shapes or {}).items():
        dims = tuple(dims)
        if not all(isinstance(d, (int, np.integer)) and d >= 0 for d in dims):
            raise Error(f"input_shapes['{name}'] must be non-negative ints, got {dims}")
        specs.append(f"{name}=" + "x".join(str(int(d)) for d in dims))
    return specs


Error = _core.Error


class Model:
    """A model in dlc's IR: imported from ONNX, parsed from textual IR, returned by dlc.quantize /
    dlc.prune / dlc.train, or built with dlc.nn. Immutable: optimize() and compile() work on copies."""

    def __init__(self, graph: _core.Graph):
        self._graph = graph
        self._compiled: Dict[Tuple[str, int, Tuple], Artifact] = {}

    @property
    def name(self) -> str:
        return self._graph.name

    @property
    def inputs(self) -> List[TensorInfo]:
        return _infos(self._graph.inputs())

    @property
    def outputs(self) -> List[TensorInfo]:
        return _infos(self._graph.outputs())

    def op_counts(self) -> Dict[str, int]:
        """Top-level ops by op name."""
        return dict(self._graph.op_counts())

    @property
    def num_ops(self) -> int:
        return self._graph.num_ops()

    def ir(self) -> str:
        """The textual IR (what `dlc import` prints; dlc.parse_ir reads it back)."""
        return self._graph.ir()

    def optimize(self, target: str = "reference", opt_level: int = 2,
                 input_shapes: Optional[Mapping[str, Sequence[int]]] = None) -> "Model":
        """The model after the target's default pipeline (fusion, folding, layout), as `dlc opt`."""
        return Model(self._graph.optimized(target, opt_level, _shape_specs(input_shapes)))

    def compile(self, target: str = "reference", *, opt_level: int = 2,
                input_shapes: Optional[Mapping[str, Sequence[int]]] = None, cpu: Optional[str] = None,
                output: Optional[str] = None) -> "Artifact":
        """Compiles to a .dlc artifact as `dlc compile` does (target: reference, onednn or cpu;
        input_shapes fixes symbolic dims, which the compiled targets need to compile every op;
        cpu names the CPU to generate code for). With output, the artifact is also written there
        (atomically)."""
        data = self._graph.compile(target, opt_level, _shape_specs(input_shapes), cpu or "")
        art = Artifact(_core.Artifact.from_bytes(data))
        if output is not None:
            art.save(output)
        return art

    def run(self, inputs: Feeds, target: str = "reference", threads: int = 0, opt_level: int = 2) -> Dict[str, np.ndarray]:
        """Compiles for the given inputs' shapes (once per distinct shapes; kept) and runs:
        {output name: array}."""
        arrays = _feeds_by_name(self.inputs, inputs)
        shapes = {n: a.shape for n, a in arrays.items() if hasattr(a, "shape")}
        key = (target, opt_level, threads, tuple(sorted(shapes.items())))
        art = self._compiled.get(key)
        if art is None:
            fixable = {i.name for i in self.inputs if i.shape is not None and any(not isinstance(d, int) for d in i.shape)}
            art = self.compile(target, opt_level=opt_level, input_shapes={n: s for n, s in shapes.items() if n in fixable and len(s)})
            art._threads = threads
            self._compiled[key] = art
        return art.run(arrays)

    def export_onnx(self, path: Union[str, os.PathLike], opset: int = 17, external_data: bool = False) -> str:
        """Writes standard ONNX (dlc's fused ops rewritten into ONNX ones), as `dlc export`."""
        path = os.fspath(path)
        self._graph.export_onnx(path, opset, external_data)
        return path

    def save(self, path: Union[str, os.PathLike]) -> str:
        """Writes the model: .dlcir as textual IR (exact), .onnx through the exporter."""
        path = os.fspath(path)
        if path.endswith(".dlcir"):
            self._graph.save_ir(path)
        elif path.endswith(".onnx"):
            self.export_onnx(path)
        else:
            raise Error(f"'{path}': a model is saved as .dlcir or .onnx (compile() makes a .dlc)")
        return path

    def __repr__(self) -> str:
        sig = ", ".join(f"{i.name}: {i.dtype}{list(i.shape) if i.shape is not None else '[*]'}" for i in self.inputs)
        return f"<dlc.Model '{self.name}' ({sig}) {self.num_ops} ops>"


def _feeds_by_name(signature: List[TensorInfo], feeds: Feeds) -> Dict[str, Any]:
    if isinstance(feeds, Mapping):
        return dict(feeds)
    if isinstance(feeds, (list, tuple)):
        if len(feeds) != len(signature):
            raise Error(f"the model takes {len(signature)} inputs, {len(feeds)} given")
        return {i.name: v for i, v in zip(signature, feeds)}
    if len(signature) != 1:
        raise Error(f"the model takes {len(signature)} inputs: pass a dict by name or a list")
    return {signature[0].name: feeds}


class Artifact:
    """A compiled .dlc model, run through dlc's runtime library (libdlcrt)."""

    def __init__(self, core: _core.Artifact):
        self._core = core
        self._session: Optional[Session] = None
        self._threads = 0

    @staticmethod
    def load(path: Union[str, os.PathLike]) -> "Artifact":
        """Loads and verifies a .dlc file (memory-mapped)."""
        return Artifact(_core.Artifact.load(os.fspath(path)))

    @staticmethod
    def from_bytes(data: bytes) -> "Artifact":
        return Artifact(_core.Artifact.from_bytes(data))

    def save(self, path: Union[str, os.PathLike]) -> str:
        """Writes the artifact to path (a temporary name renamed into place)."""
        path = os.fspath(path)
        self._core.save(path)
        return path

    def to_bytes(self) -> bytes:
        return self._core.to_bytes()

    @property
    def target(self) -> str:
        return self._core.target

    @property
    def inputs(self) -> List[TensorInfo]:
        """The inputs a caller binds (a training step's state inputs are the session's own)."""
        return _infos(self._core.inputs())

    @property
    def outputs(self) -> List[TensorInfo]:
        return _infos(self._core.outputs())

    def stats(self) -> Dict[str, int]:
        """Steps, values, weights, weight and arena bytes, native code bytes."""
        return dict(self._core.stats())

    def session(self, threads: int = 0, profile: bool = False) -> "Session":
        """A new session (its own arena and thread pool; threads=0: one per CPU)."""
        return Session(self, threads, profile)

    def run(self, inputs: Feeds) -> Dict[str, np.ndarray]:
        """Runs on one session kept by the artifact: {output name: array}."""
        if self._session is None:
            self._session = self.session(self._threads)
        return self._session.run(inputs)

    def __repr__(self) -> str:
        return f"<dlc.Artifact target={self.target} inputs={[i.name for i in self.inputs]}>"


class Session:
    """One runtime session of an artifact. Inputs are read in place when they are C-contiguous
    arrays of the input's dtype (others are an error; Python lists and numbers are converted);
    bf16 inputs are given and bf16 outputs returned as float32. Not for use by two threads at once."""

    def __init__(self, artifact: Artifact, threads: int = 0, profile: bool = False):
        self.artifact = artifact
        self._core = _core.Session(artifact._core, threads, profile)
        self._profile = profile

    def run(self, inputs: Feeds) -> Dict[str, np.ndarray]:
        """{output name: array} for a dict by input name, a list in signature order, or one array."""
        return self._core.run(inputs)

    def step_times(self) -> List[Tuple[str, str, str, float]]:
        """With profile=True: (kernel, location, library, seconds summed over the runs) per step."""
        if not self._profile:
            raise Error("step_times needs a session made with profile=True")
        return self._core.step_times()


def load(path: Union[str, os.PathLike]) -> Union[Model, Artifact]:
    """A .onnx or .dlcir file as a Model, a .dlc file as an Artifact."""
    path = os.fspath(path)
    if path.endswith(".dlc"):
        return Artifact.load(path)
    return Model(_core.load_graph(path))


def parse_ir(text: str, source: str = "<string>") -> Model:
    """A Model from textual IR (verified)."""
    return Model(_core.parse_ir(text, source))


def compile(model: Union[Model, str, os.PathLike], target: str = "reference", *, output: Optional[str] = None,
            opt_level: int = 2, input_shapes: Optional[Mapping[str, Sequence[int]]] = None,
            cpu: Optional[str] = None) -> Artifact:
    """dlc compile: a Model or a model file -> an Artifact (also written to output when given)."""
    if not isinstance(model, Model):
        loaded = load(model)
        if isinstance(loaded, Artifact):
            raise Error(f"'{os.fspath(model)}' is already compiled")
        model = loaded
    return model.compile(target, opt_level=opt_level, input_shapes=input_shapes, cpu=cpu, output=output)


def targets() -> List[str]:
    """The compile targets this build has."""
    return list(_core.targets())
