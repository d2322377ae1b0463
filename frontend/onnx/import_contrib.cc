// ONNX Runtime's QOperator contrib ops (domain com.microsoft) that have no IR op of their own
// (QLinearAdd and QLinearMul do: ir/ops.def), imported as the QDQ chains they stand for: DequantizeLinear on each quantized input, the float
// op, QuantizeLinear on the result (ONNX Runtime's contrib-op documentation defines each so;
// its kernels compute the same with lookup tables). fuse-qdq and the backends then treat them as
// any QDQ model. QLinearConv and QLinearMatMul are standard ONNX ops and import as themselves.
#include "frontend/onnx/onnx_internal.h"

namespace dlc::onnx_import {
namespace {

Type floatLike(const Value* v) {
  Type t = v->type();
  t.dtype = DType::F32;
  return t;
}

// A zero point for a quantized output of `like`'s dtype when the node gives none (QuantizeLinear
// without one would produce u8 whatever the input's type).
Value* zeroPointFor(const Value* like, UpgradeEmitter& emit, const std::string& name) {
  return emit.constant(Tensor::scalar(like->type().dtype, 0), name);
}

Expected<Value*> dequantize(Value* x, Value* scale, Value* zp, UpgradeEmitter& emit, const std::string& loc) {
  std::vector<Value*> in{x, scale};
  if (zp) in.push_back(zp);
  return emit.helper(OpKind::DequantizeLinear, in, {}, loc, floatLike(x));
}

Expected<Value*> quantize(Value* y, Value* scale, Value* zp, const Value* like, UpgradeEmitter& emit, const std::string& loc) {
  if (!zp) zp = zeroPointFor(like, emit, loc + "_zero_point");
  Type t = y->type();
  t.dtype = like->type().dtype;
  return emit.helper(OpKind::QuantizeLinear, {y, scale, zp}, {}, loc, t);
}

Value* input(const PendingNode& n, size_t i) { return i < n.inputs.size() ? n.inputs[i] : nullptr; }

Status need(const PendingNode& n, std::initializer_list<size_t> required) {
  for (size_t i : required)
    if (!input(n, i)) return Status::error(str("node '", n.location, "' (", n.op_type, "): input ", i, " is required"));
  return Status::success();
}

}  // namespace

bool isExpandedContribOp(const std::string& domain, const std::string& op_type) {
  return domain == "com.microsoft" &&
         (op_type == "QLinearGlobalAveragePool" || op_type == "QLinearConcat");
}

Expected<Value*> expandContribOp(PendingNode& n, UpgradeEmitter& emit) {
  const std::string& loc = n.location;
  if (n.op_type == "QLinearGlobalAveragePool") {
    // (X, x_scale, x_zero_point, y_scale, y_zero_point), channels_last: the mean over the spatial axes.
    DLC_RETURN_IF_ERROR(need(n, {0, 1, 3}));
    auto cl = takeAttr(n, "channels_last");
    const bool channels_last = cl && cl->i != 0;
    const Type& xt = input(n, 0)->type();
    if (!xt.shape.ranked || xt.shape.rank() < 3)
      return Status::error(str("node '", loc, "' (", n.op_type, "): the input must have a known rank of at least 3"));
    const int rank = xt.shape.rank();
    std::vector<int64_t> axes;
    for (int d = channels_last ? 1 : 2; d < (channels_last ? rank - 1 : rank); ++d) axes.push_back(d);
    DLC_ASSIGN_OR_RETURN(Value* x, dequantize(input(n, 0), input(n, 1), input(n, 2), emit, loc + "_x"));
    Type mean_t = floatLike(x);
    for (int64_t d : axes) mean_t.shape.dims[static_cast<size_t>(d)] = Dim::of(1);
    DLC_ASSIGN_OR_RETURN(Value* m, emit.helper(OpKind::ReduceMean, {x}, {{"axes", Attribute::ofInts(axes)}, {"keepdims", Attribute::ofInt(1)}},
                                               loc + "_float", mean_t));
    return quantize(m, input(n, 3), input(n, 4), input(n, 0), emit, loc);
  }
  // QLinearConcat: (Y_scale, Y_zero_point, then X_i, X_i_scale, X_i_zero_point per input), axis.
  DLC_RETURN_IF_ERROR(need(n, {0, 1, 2, 3}));
  if (n.inputs.size() % 3 == 1) n.inputs.push_back(nullptr);  // the last zero point absent (dropped as trailing)
  if (n.inputs.size() % 3 != 2)
    return Status::error(str("node '", loc, "' (QLinearConcat): inputs must be Y_scale, Y_zero_point, then (X, scale, zero point) triples"));
  auto axis = takeAttr(n, "axis");
  if (!axis) return Status::error(str("node '", loc, "' (QLinearConcat): attribute 'axis' is required"));
  std::vector<Value*> parts;
  for (size_t i = 2; i + 1 < n.inputs.size(); i += 3) {
    DLC_ASSIGN_OR_RETURN(Value* x, dequantize(input(n, i), input(n, i + 1), input(n, i + 2), emit, str(loc, "_x", (i - 2) / 3)));
    parts.push_back(x);
  }
  Type t = floatLike(parts[0]);
  if (t.shape.ranked) {
    const int rank = t.shape.rank();
    int64_t a = axis->i < 0 ? axis->i + rank : axis->i;
    if (a < 0 || a >= rank) return Status::error(str("node '", loc, "' (QLinearConcat): axis ", axis->i, " is out of range"));
    t.shape.dims[static_cast<size_t>(a)] = Dim::unknown();
  }
  DLC_ASSIGN_OR_RETURN(Value* c, emit.helper(OpKind::Concat, parts, {{"axis", Attribute::ofInt(axis->i)}}, loc + "_float", t));
  return quantize(c, input(n, 0), input(n, 1), input(n, 2), emit, loc);
}

}  // namespace dlc::onnx_import
