"""dlc.Model, dlc.Artifact and dlc.Session: NumPy in and out, every dtype, the targets against
PyTorch, and errors raised as dlc.Error."""
import os

import numpy as np
import pytest

import dlc

DTYPES = ["f32", "f16", "f64", "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "bool"]
NUMPY = {"f32": np.float32, "f16": np.float16, "f64": np.float64, "i8": np.int8, "u8": np.uint8, "i16": np.int16,
         "u16": np.uint16, "i32": np.int32, "u32": np.uint32, "i64": np.int64, "u64": np.uint64, "bool": np.bool_}


def identity_model(dtype, shape="N,3"):
    return dlc.parse_ir(f"""graph @main opsets {{"" = 17}} (%x: {dtype}[{shape}]) {{
  %y = Identity(%x) : {dtype}[{shape}]
  %s = Shape(%x) : i64[2]
  return %y, %s
}}""")


def random_array(np_dtype, shape, rng):
    if np_dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(np.bool_)
    if np.issubdtype(np_dtype, np.integer):
        info = np.iinfo(np_dtype)
        return rng.integers(info.min, info.max, shape, dtype=np_dtype, endpoint=True)
    return rng.standard_normal(shape).astype(np_dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_round_trips_exactly(dtype):
    rng = np.random.default_rng(len(dtype))
    x = random_array(NUMPY[dtype], (4, 3), rng)
    art = identity_model(dtype).compile("reference")
    assert art.inputs == [dlc.TensorInfo("x", dtype, ("N", 3))]
    out = art.run({"x": x})
    assert list(out) == ["y", "s"]
    assert out["y"].dtype == x.dtype and out["y"].shape == (4, 3)
    assert np.array_equal(out["y"], x)
    assert out["s"].tolist() == [4, 3]
    # A strided view is copied to a contiguous array first; the result is the same.
    view = random_array(NUMPY[dtype], (3, 4), rng).T
    assert np.array_equal(art.run(view)["y"], view)


def test_bf16_is_given_and_returned_as_float32():
    model = dlc.parse_ir("""graph @main opsets {"" = 17} (%x: bf16[2,2]) {
  %w = Cast(%x) {to = 1} : f32[2,2]
  %y = Add(%x, %x) : bf16[2,2]
  return %w, %y
}""")
    x = np.array([[1.5, -2.0], [0.15625, 1024.0]], np.float32)  # exact in bf16
    out = model.run(x)
    assert out["w"].dtype == np.float32 and np.array_equal(out["w"], x)
    assert out["y"].dtype == np.float32 and np.array_equal(out["y"], 2 * x)
    with pytest.raises(dlc.Error, match="bf16: give it as float32"):
        model.run(x.astype(np.float64))


def test_inputs_by_name_list_or_single_array():
    model = dlc.parse_ir("""graph @main opsets {"" = 17} (%a: f32[2], %b: f32[2]) {
  %y = Sub(%a, %b) : f32[2]
  return %y
}""")
    a, b = np.array([5, 7], np.float32), np.array([1, 2], np.float32)
    art = model.compile()
    assert art.run({"b": b, "a": a})["y"].tolist() == [4, 5]
    assert art.run([a, b])["y"].tolist() == [4, 5]
    assert art.run([[5, 7], [1, 2]])["y"].tolist() == [4, 5]  # lists are converted
    with pytest.raises(dlc.Error, match="input 'b' is not given"):
        art.run({"a": a})
    with pytest.raises(dlc.Error, match="no input 'c'"):
        art.run({"a": a, "b": b, "c": b})
    with pytest.raises(dlc.Error, match="takes 2 inputs, 1 given"):
        art.run([a])
    with pytest.raises(dlc.Error, match="is f32, the array given is float64"):
        art.run([a.astype(np.float64), b])
    with pytest.raises(dlc.Error, match="shape|dim"):
        art.run([np.ones(3, np.float32), b])


@pytest.mark.parametrize("target", ["reference", "onednn", "cpu"])
def test_resnet18_matches_pytorch(zoo, target):
    folder = os.path.join(zoo, "resnet18")
    model = dlc.load(os.path.join(folder, "model.onnx"))
    assert isinstance(model, dlc.Model)
    x = np.load(os.path.join(folder, "input_0.npy"))
    want = np.load(os.path.join(folder, "expected_0.npy"))
    (name, dtype, shape), = model.inputs
    assert dtype == "f32" and len(shape) == 4
    art = model.compile(target, input_shapes={name: x.shape} if target != "reference" else None)
    assert art.target == target
    got = art.run({name: x})[model.outputs[0].name]
    assert got.shape == want.shape
    assert np.max(np.abs(got - want)) <= 1e-3 * np.max(np.abs(want))


def test_artifact_save_load_and_profile(tmp_path, zoo):
    folder = os.path.join(zoo, "mlp")
    model = dlc.load(os.path.join(folder, "model.onnx"))
    x = np.load(os.path.join(folder, "input_0.npy"))
    path = str(tmp_path / "mlp.dlc")
    art = dlc.compile(os.path.join(folder, "model.onnx"), "cpu", output=path, input_shapes={model.inputs[0].name: x.shape})
    assert os.path.exists(path) and not os.path.exists(path + ".tmp")
    loaded = dlc.load(path)
    assert isinstance(loaded, dlc.Artifact) and loaded.target == "cpu"
    assert loaded.to_bytes() == art.to_bytes()
    session = loaded.session(threads=1, profile=True)
    out = session.run(x)
    want = np.load(os.path.join(folder, "expected_0.npy"))
    assert np.max(np.abs(list(out.values())[0] - want)) <= 1e-3 * np.max(np.abs(want))
    times = session.step_times()
    assert len(times) == loaded.stats()["steps"] and all(t[3] >= 0 for t in times)
    assert sum(t[3] for t in times) > 0


def test_errors_are_dlc_errors(tmp_path):
    with pytest.raises(dlc.Error, match="nothing.onnx"):
        dlc.load(str(tmp_path / "nothing.onnx"))
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage")
    with pytest.raises(dlc.Error, match="bad.onnx"):
        dlc.load(str(bad))
    art = identity_model("f32").compile()
    data = bytearray(art.to_bytes())
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(dlc.Error, match="checksum|corrupt|invalid"):
        dlc.Artifact.from_bytes(bytes(data))
    with pytest.raises(dlc.Error, match="target 'tpu' is not available"):
        identity_model("f32").compile("tpu")
    with pytest.raises(dlc.Error, match="opt_level"):
        identity_model("f32").compile(opt_level=7)
    with pytest.raises(dlc.Error, match="line 1|expected"):
        dlc.parse_ir("graph @main (")
    with pytest.raises(dlc.Error, match="must end in .onnx or .dlcir|.dlcir or .onnx"):
        identity_model("f32").save(str(tmp_path / "m.txt"))
    assert issubclass(dlc.Error, RuntimeError)


def test_model_signature_ir_and_optimize():
    model = identity_model("f32")
    assert model.inputs == [dlc.TensorInfo("x", "f32", ("N", 3))]
    assert [o.name for o in model.outputs] == ["y", "s"]
    text = model.ir()
    assert dlc.parse_ir(text).ir() == text
    assert model.op_counts() == {"Identity": 1, "Shape": 1}
    fixed = model.optimize("reference", input_shapes={"x": (2, 3)})
    assert fixed.inputs[0].shape == (2, 3)
    assert model.inputs[0].shape == ("N", 3)  # the original is unchanged
    with pytest.raises(dlc.Error, match="input_shapes"):
        model.optimize(input_shapes={"x": (2, -1)})
