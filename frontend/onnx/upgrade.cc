// Old-opset normalisation: rewrites ai.onnx nodes of opsets 7..12 into the op table's form (the
// newest version <= 17), mostly attributes that later became inputs (forms older than opset 7 are
// in upgrade_legacy.cc). Checked against the ONNX changelog (onnx.defs.get_schema(name, version)).
#include <optional>

#include "frontend/onnx/onnx_internal.h"

namespace dlc::onnx_import {
namespace {

Tensor int64Vector(const std::vector<int64_t>& v) {
  return Tensor::fromVector<int64_t>(DType::I64, {static_cast<int64_t>(v.size())}, v);
}

// Sets input `i`, padding absent optional inputs in between with nulls.
void setInput(PendingNode& n, size_t i, Value* v) {
  if (n.inputs.size() <= i) n.inputs.resize(i + 1, nullptr);
  n.inputs[i] = v;
}

// The element type of input 0 when known, for constants that must match it (Clip, Pad).
DType inputDType(const PendingNode& n, DType fallback) {
  if (!n.inputs.empty() && n.inputs[0] && n.inputs[0]->type().isTensor() &&
      n.inputs[0]->type().dtype != DType::Undefined)
    return n.inputs[0]->type().dtype;
  return fallback;
}

// Moves an INTS attribute to an i64 1-D constant input at `index`.
Status intsAttrToInput(PendingNode& n, UpgradeEmitter& emit, const std::string& attr, size_t index, bool required) {
  auto a = takeAttr(n, attr);
  if (!a) return required ? attrError(n, attr, "is required") : Status::success();
  if (a->type != AttrType::Ints) return attrError(n, attr, "must be a list of ints");
  setInput(n, index, emit.constant(int64Vector(a->ints), str(n.location, "_", attr)));
  return Status::success();
}

// Moves a FLOAT attribute to a scalar constant input of `dtype` at `index`.
Status floatAttrToInput(PendingNode& n, UpgradeEmitter& emit, const std::string& attr, size_t index, DType dtype) {
  auto a = takeAttr(n, attr);
  if (!a) return Status::success();
  if (a->type != AttrType::Float) return attrError(n, attr, "must be a float");
  setInput(n, index, emit.constant(Tensor::scalar(dtype, a->f), str(n.location, "_", attr)));
  return Status::success();
}

// Softmax, LogSoftmax and Hardmax before 13 coerce the input to 2-D [prod(d0..d(axis-1)), rest]
// and normalise over the second dim; from 13 they normalise over `axis` alone. The two agree
// only when axis is the last dim; otherwise lower to Reshape(Softmax(Flatten(x, axis), 1), Shape(x)).
Status upgradeSoftmaxFamily(PendingNode& n, UpgradeEmitter& emit) {
  auto a = takeAttr(n, "axis");
  int64_t axis = a ? a->i : 1;  // the default was 1 before opset 13
  if (n.inputs.empty() || !n.inputs[0]) return Status::success();  // the signature check reports it
  Value* x = n.inputs[0];
  const Type& xt = x->type();
  bool ranked = xt.isTensor() && xt.shape.ranked;
  int rank = ranked ? xt.shape.rank() : -1;
  if (ranked) {
    int norm = 0;
    Status s = normalizeAxisForRank(axis, rank, &norm);
    if (!s.ok()) return attrError(n, "axis", s.message());
    if (norm == rank - 1) {
      n.attrs["axis"] = Attribute::ofInt(norm);
      return Status::success();
    }
    axis = norm;
  }
  // Fallback types of the helpers, for when the IR's inference cannot tell.
  Type shape_t = Type::tensor(DType::I64, ranked ? Shape::of({rank}) : Shape({Dim::unknown()}));
  Type flat_t = Type::tensor(xt.dtype, Shape({Dim::unknown(), Dim::unknown()}));
  if (ranked && xt.shape.isStatic()) {
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < rank; ++i) (i < axis ? outer : inner) *= xt.shape.dims[static_cast<size_t>(i)].value;
    flat_t.shape = Shape::of({outer, inner});
  }
  DLC_ASSIGN_OR_RETURN(Value* shape, emit.helper(OpKind::Shape, {x}, {}, n.location + "_shape", shape_t));
  DLC_ASSIGN_OR_RETURN(Value* flat, emit.helper(OpKind::Flatten, {x}, {{"axis", Attribute::ofInt(axis)}},
                                                 n.location + "_flatten", flat_t));
  std::map<std::string, Attribute> attrs{{"axis", Attribute::ofInt(1)}};
  DLC_ASSIGN_OR_RETURN(Value* y, emit.helper(n.kind, {flat}, std::move(attrs), n.location + "_2d", flat_t));
  // allowzero=1: a 0 in x's shape is a real empty dim, not "copy the input dim".
  n.kind = OpKind::Reshape;
  n.inputs = {y, shape};
  n.attrs = {{"allowzero", Attribute::ofInt(1)}};
  return Status::success();
}

// Loop-16 lets a body return a plain T for a loop-carried value that starts as optional<T> (ONNX's
// own checker and inference accept it, e.g. node/test_loop16_seq_none); the IR wants the body to
// return the carried type, so the body's result gets an explicit Optional(T) wrapper.
Status wrapOptionalLoopResults(PendingNode& n, UpgradeEmitter& emit) {
  auto it = n.attrs.find("body");
  if (it == n.attrs.end() || it->second.type != AttrType::Graph || !it->second.g) return Status::success();
  Region& body = *it->second.g;
  for (size_t i = 2; i < n.inputs.size(); ++i) {
    int out = static_cast<int>(i) - 1;  // body outputs: (cond, carried..., scan...)
    if (!n.inputs[i] || out >= body.numOutputs()) continue;
    const Type& init = n.inputs[i]->type();
    const Type& ret = body.output(out)->type();
    if (!init.isOptional() || ret.isOptional() || !init.element || init.element->kind != ret.kind) continue;
    DLC_ASSIGN_OR_RETURN(Op * wrap, emit.opInRegion(body, OpKind::Optional, {body.output(out)}, {},
                                                    str(n.location, "_carried", i - 2, "_optional"), {init}));
    body.setOutput(out, wrap->result(0));
  }
  return Status::success();
}

Status upgradeAiOnnx(PendingNode& n, UpgradeEmitter& emit) {
  const std::string& op = n.op_type;
  const int64_t v = n.opset;
  // Squeeze/Unsqueeze-1/11 and ReduceSum-1/11: `axes` attribute became input 1 in opset 13.
  if ((op == "Squeeze" || op == "ReduceSum") && v < 13) return intsAttrToInput(n, emit, "axes", 1, false);
  if (op == "Unsqueeze" && v < 13) return intsAttrToInput(n, emit, "axes", 1, true);
  // Split-2/11: `split` attribute became input 1 in opset 13.
  if (op == "Split" && v < 13) return intsAttrToInput(n, emit, "split", 1, false);
  // Clip-6: `min`/`max` float attributes became optional inputs 1 and 2 in opset 11 (same dtype as x).
  if (op == "Clip" && v < 11) {
    DType dt = inputDType(n, DType::F32);
    DLC_RETURN_IF_ERROR(floatAttrToInput(n, emit, "min", 1, dt));
    return floatAttrToInput(n, emit, "max", 2, dt);
  }
  // Pad-2: `pads` (ints) and `value` (float) attributes became inputs 1 and 2 in opset 11.
  if (op == "Pad" && v < 11) {
    DLC_RETURN_IF_ERROR(intsAttrToInput(n, emit, "pads", 1, true));
    return floatAttrToInput(n, emit, "value", 2, inputDType(n, DType::F32));
  }
  // Slice-1: `starts`, `ends`, `axes` attributes became inputs 1..3 in opset 10 (steps added).
  if (op == "Slice" && v < 10) {
    DLC_RETURN_IF_ERROR(intsAttrToInput(n, emit, "starts", 1, true));
    DLC_RETURN_IF_ERROR(intsAttrToInput(n, emit, "ends", 2, true));
    return intsAttrToInput(n, emit, "axes", 3, false);
  }
  // TopK-1: `k` attribute became the 1-element i64 input 1 in opset 10.
  if (op == "TopK" && v < 10) {
    auto k = takeAttr(n, "k");
    if (!k || k->type != AttrType::Int) return attrError(n, "k", "is required (an int)");
    setInput(n, 1, emit.constant(int64Vector({k->i}), n.location + "_k"));
    return Status::success();
  }
  // Dropout-7/10: `ratio` attribute became optional input 1 in opset 12; Dropout-6's `is_test` has
  // no meaning any more (inference is the default without training_mode).
  if (op == "Dropout" && v < 12) {
    takeAttr(n, "is_test");
    return floatAttrToInput(n, emit, "ratio", 1, DType::F32);
  }
  // BatchNormalization-7: `spatial` was removed in opset 9 (spatial=1 is the only form kept);
  // `consumed_inputs` and `is_test` were legacy attributes of versions before 7.
  if (op == "BatchNormalization" && v < 9) {
    auto spatial = takeAttr(n, "spatial");
    if (spatial && spatial->i != 1) return attrError(n, "spatial", "= 0 (per-activation statistics) is not supported");
    takeAttr(n, "consumed_inputs");
    takeAttr(n, "is_test");
  }
  // BatchNormalization-7/9: training mode was implied by asking for more than Y (running mean and
  // variance); opset 14 made it the `training_mode` attribute. Versions before 7 said so with
  // is_test (upgrade_legacy.cc sets training_mode itself).
  if (op == "BatchNormalization" && v >= 7 && v < 14 && n.num_outputs > 1) {
    if (n.num_outputs > 3) return Status::error(str("node '", n.location, "' (BatchNormalization-", v,
                                                     "): the saved_mean/saved_var outputs of training mode are not supported"));
    n.attrs["training_mode"] = Attribute::ofInt(1);
    return Status::success();
  }
  // Upsample-7: `scales` float attribute became input 1 in opset 9.
  if (op == "Upsample" && v < 9) {
    auto s = takeAttr(n, "scales");
    if (!s || s->type != AttrType::Floats) return attrError(n, "scales", "is required (a list of floats)");
    Tensor t = Tensor::fromVector<float>(DType::F32, {static_cast<int64_t>(s->floats.size())}, s->floats);
    setInput(n, 1, emit.constant(std::move(t), n.location + "_scales"));
    return Status::success();
  }
  // Resize-10 (X, scales) has Upsample's semantics: asymmetric coordinates and floor rounding.
  // Resize-11+ takes (X, roi, scales, sizes).
  if (op == "Resize" && v < 11) {
    if (n.inputs.size() >= 2) n.inputs = {n.inputs[0], nullptr, n.inputs[1]};
    n.attrs["coordinate_transformation_mode"] = Attribute::ofString("asymmetric");
    n.attrs["nearest_mode"] = Attribute::ofString("floor");
    return Status::success();
  }
  if ((op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") && v < 13) return upgradeSoftmaxFamily(n, emit);
  if (op == "Loop") return wrapOptionalLoopResults(n, emit);
  // RoiAlign-10 had no coordinate_transformation_mode; its behaviour is 'output_half_pixel' (the
  // default became 'half_pixel' in opset 16).
  if (op == "RoiAlign" && v < 16 && !n.attrs.count("coordinate_transformation_mode")) {
    n.attrs["coordinate_transformation_mode"] = Attribute::ofString("output_half_pixel");
    return Status::success();
  }
  return Status::success();
}

}  // namespace

std::optional<Attribute> takeAttr(PendingNode& n, const std::string& name) {
  auto it = n.attrs.find(name);
  if (it == n.attrs.end()) return std::nullopt;
  Attribute a = std::move(it->second);
  n.attrs.erase(it);
  return a;
}

Status attrError(const PendingNode& n, const std::string& attr, const std::string& what) {
  return Status::error(str("node '", n.location, "' (", n.op_type, "-", n.opset, "): attribute '", attr, "' ", what));
}

Status normalizeAxisForRank(int64_t axis, int rank, int* out) {
  if (axis < -rank || axis >= rank) return Status::error(str("axis ", axis, " is out of range for rank ", rank));
  *out = static_cast<int>(axis < 0 ? axis + rank : axis);
  return Status::success();
}

Status upgradeNode(PendingNode& n, UpgradeEmitter& emit) {
  if (opInfo(n.kind).domain[0] == '\0') {
    DLC_RETURN_IF_ERROR(upgradeLegacy(n, emit));
    DLC_RETURN_IF_ERROR(upgradeAiOnnx(n, emit));
  }
  // Whatever is left must be an attribute of the op table's version of the op.
  const OpInfo& info = opInfo(n.kind);
  for (auto& [name, a] : n.attrs) {
    const AttrSpec* spec = info.findAttr(name);
    if (!spec) return attrError(n, name, str("is not supported (not an attribute of ", info.name, " up to opset 17)"));
    // Old exporters sometimes write integral floats as ints (e.g. alpha=1); the meaning is the same.
    if (spec->type == AttrType::Float && a.type == AttrType::Int) a = Attribute::ofFloat(static_cast<float>(a.i));
    if (spec->type == AttrType::Floats && a.type == AttrType::Ints) {
      std::vector<float> f(a.ints.begin(), a.ints.end());
      a = Attribute::ofFloats(std::move(f));
    }
    if (spec->type != a.type)
      return attrError(n, name, str("must be of type ", attrTypeName(spec->type), ", got ", attrTypeName(a.type)));
  }
  return Status::success();
}

}  // namespace dlc::onnx_import
