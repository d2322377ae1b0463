"""Counts a model's FLOPs from its ONNX graph: 2 * MACs of Conv, ConvTranspose, MatMul and Gemm.

Everything else (elementwise ops, normalisation, softmax, pooling, recurrent cells) is left out:
it is small next to the contractions in the CNN/transformer/MLP models benchmarked here, and
leaving it out keeps "% of peak" an honest lower bound. LSTM/GRU/RNN models count as 0.
"""
import numpy as np
import onnx
from onnx import shape_inference


def _with_input_shapes(model, shapes):
    """A copy of `model` whose graph inputs have the given concrete shapes (name -> tuple)."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for inp in m.graph.input:
        if inp.name in shapes:
            dims = inp.type.tensor_type.shape.dim
            for d, size in zip(dims, shapes[inp.name]):
                d.Clear()
                d.dim_value = int(size)
    return m


def _shape_table(model):
    table = {}
    for vi in list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output):
        t = vi.type.tensor_type
        if t.HasField("shape") and all(d.HasField("dim_value") for d in t.shape.dim):
            table[vi.name] = tuple(d.dim_value for d in t.shape.dim)
    for init in model.graph.initializer:
        table[init.name] = tuple(init.dims)
    return table


def _attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def count_flops(path, input_shapes):
    """FLOPs of one inference of the model at `path` with inputs of `input_shapes` (name -> shape).

    Returns (flops, uncounted) where `uncounted` names contraction ops whose shapes were unknown.
    """
    model = onnx.load(path, load_external_data=False)
    model = shape_inference.infer_shapes(_with_input_shapes(model, input_shapes))
    shapes = _shape_table(model)
    macs, uncounted = 0, []
    for node in model.graph.node:
        if node.op_type not in ("Conv", "ConvTranspose", "MatMul", "Gemm"):
            continue
        ins = [shapes.get(n) for n in node.input[:2]]
        out = shapes.get(node.output[0])
        if None in ins or out is None:
            uncounted.append(node.name or node.op_type)
            continue
        a, b = ins
        if node.op_type == "Conv":
            # Each output element is a dot product over (C/group) * prod(kernel) inputs.
            macs += int(np.prod(out)) * int(np.prod(b[1:]))
        elif node.op_type == "ConvTranspose":
            # Each input element scatters into (C_out/group) * prod(kernel) outputs.
            macs += int(np.prod(a)) * int(np.prod(b[1:]))
        elif node.op_type == "MatMul":
            macs += int(np.prod(out)) * a[-1]
        else:  # Gemm: A is [M,K] or [K,M]
            k = a[0] if _attr(node, "transA", 0) else a[1]
            macs += int(np.prod(out)) * k
    return 2 * macs, uncounted
