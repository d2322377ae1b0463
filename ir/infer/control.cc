// Shape and type inference for sequences, optionals and control flow. Region ops are inferred
// before their parent (inferRegionTypes), so If/Loop/Scan/SequenceMap read their regions' outputs.
#include "ir/dtype_onnx.h"
#include "ir/infer/infer.h"
#include "ir/infer/tensor_util.h"

namespace dlc::infer {
using util::mergeType;
using util::tensorInput;

namespace {
Status sequenceInput(InferContext& ctx, int i, const Type** elem) {
  const Type* t = ctx.inputType(i);
  if (!t || !t->isSequence()) return ctx.error(str("input ", i, " must be a sequence"));
  static const Type kAny = Type::tensor(DType::Undefined);
  *elem = t->element ? t->element.get() : &kAny;
  return Status::success();
}

const Region* regionAttr(InferContext& ctx, const char* name) {
  const Attribute* a = ctx.op().attr(name);
  return a && a->g ? a->g.get() : nullptr;
}

Status positionInput(InferContext& ctx, int i) {
  const Type* t = ctx.inputType(i);
  if (t && (!t->isTensor() || (t->dtype != DType::I32 && t->dtype != DType::I64)))
    return ctx.error("position must be an i32 or i64 tensor");
  return Status::success();
}

// The element type of a sequence input merged with a tensor joining it.
Status joinElement(InferContext& ctx, const Type& a, const Type& b, Type* out) {
  if (a.isTensor() && a.dtype == DType::Undefined) {
    *out = b;
    return Status::success();
  }
  if (!mergeType(a, b, out))
    return ctx.error(str("element type ", b.toString(), " does not match the sequence's ", a.toString()));
  return Status::success();
}
}  // namespace

Status inferSequenceEmpty(InferContext& ctx) {
  DType dt = DType::F32;
  if (ctx.op().hasAttr("dtype")) {
    auto d = dtypeFromOnnxCode(ctx.op().getInt("dtype"));
    if (!d) return ctx.error(str("unsupported dtype code ", ctx.op().getInt("dtype")));
    dt = *d;
  }
  ctx.setOutput(0, Type::sequence(Type::tensor(dt, Shape::unranked())));
  return Status::success();
}

Status inferSequenceConstruct(InferContext& ctx) {
  Type elem;
  for (int i = 0; i < ctx.numInputs(); ++i) {
    const Type* t = nullptr;
    DLC_RETURN_IF_ERROR(tensorInput(ctx, i, &t));
    if (i == 0) elem = *t;
    else if (!mergeType(elem, *t, &elem)) return ctx.error(str("input ", i, " has dtype ", dtypeName(t->dtype), ", expected ", dtypeName(elem.dtype)));
  }
  ctx.setOutput(0, Type::sequence(elem));
  return Status::success();
}

Status inferSequenceAt(InferContext& ctx) {
  const Type* elem = nullptr;
  DLC_RETURN_IF_ERROR(sequenceInput(ctx, 0, &elem));
  DLC_RETURN_IF_ERROR(positionInput(ctx, 1));
  ctx.setOutput(0, *elem);
  return Status::success();
}

Status inferSequenceInsert(InferContext& ctx) {
  const Type *elem = nullptr, *t = nullptr;
  DLC_RETURN_IF_ERROR(sequenceInput(ctx, 0, &elem));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 1, &t));
  DLC_RETURN_IF_ERROR(positionInput(ctx, 2));
  Type joined;
  DLC_RETURN_IF_ERROR(joinElement(ctx, *elem, *t, &joined));
  ctx.setOutput(0, Type::sequence(joined));
  return Status::success();
}

Status inferSequenceErase(InferContext& ctx) {
  const Type* elem = nullptr;
  DLC_RETURN_IF_ERROR(sequenceInput(ctx, 0, &elem));
  DLC_RETURN_IF_ERROR(positionInput(ctx, 1));
  ctx.setOutput(0, *ctx.inputType(0));
  return Status::success();
}

Status inferSequenceLength(InferContext& ctx) {
  const Type* elem = nullptr;
  DLC_RETURN_IF_ERROR(sequenceInput(ctx, 0, &elem));
  ctx.setOutput(0, Type::tensor(DType::I64, Shape()));
  return Status::success();
}

Status inferConcatFromSequence(InferContext& ctx) {
  const Type* elem = nullptr;
  DLC_RETURN_IF_ERROR(sequenceInput(ctx, 0, &elem));
  bool new_axis = ctx.op().getInt("new_axis") != 0;
  Shape out = elem->shape;
  if (out.ranked) {
    int rank = out.rank() + (new_axis ? 1 : 0), axis;
    Status s = normalizeAxis(ctx.op().getInt("axis"), rank, &axis);
    if (!s.ok() || rank == 0) return ctx.error(str("axis ", ctx.op().getInt("axis"), " is out of range for rank ", rank));
    if (new_axis)
      out.dims.insert(out.dims.begin() + axis, Dim::unknown());  // the sequence length
    else
      out.dims[static_cast<size_t>(axis)] = Dim::unknown();
  }
  ctx.setOutput(0, Type::tensor(elem->dtype, out));
  return Status::success();
}

Status inferSplitToSequence(InferContext& ctx) {
  const Type* x = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  Shape s = x->shape;
  if (s.ranked) {
    int axis;
    Status st = normalizeAxis(ctx.op().getInt("axis"), s.rank(), &axis);
    if (!st.ok() || s.rank() == 0) return ctx.error(str("axis ", ctx.op().getInt("axis"), " is out of range"));
    if (ctx.hasInput(1))
      s.dims[static_cast<size_t>(axis)] = Dim::unknown();  // chunk sizes vary (the last may be smaller)
    else if (ctx.op().getInt("keepdims", 1) != 0)
      s.dims[static_cast<size_t>(axis)] = Dim::of(1);
    else
      s.dims.erase(s.dims.begin() + axis);
  }
  ctx.setOutput(0, Type::sequence(Type::tensor(x->dtype, s)));
  return Status::success();
}

Status inferOptional(InferContext& ctx) {
  if (const Type* t = ctx.inputType(0)) {
    ctx.setOutput(0, Type::optional(*t));
  } else if (ctx.op().hasAttr("type")) {
    ctx.setOutput(0, Type::optional(ctx.op().attr("type")->type_value));
  } else {
    return ctx.error("needs an input or a type attribute");
  }
  return Status::success();
}

Status inferOptionalHasElement(InferContext& ctx) {
  ctx.setOutput(0, Type::tensor(DType::Bool, Shape()));
  return Status::success();
}

Status inferOptionalGetElement(InferContext& ctx) {
  const Type* t = ctx.inputType(0);
  if (!t) return ctx.error("input 0 is missing");
  if (t->isOptional()) {
    if (!t->element) return ctx.error("optional input has no element type");
    ctx.setOutput(0, *t->element);
  } else {
    ctx.setOutput(0, *t);  // a plain tensor or sequence passes through (opset 18)
  }
  return Status::success();
}

Status inferIf(InferContext& ctx) {
  const Type* cond = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &cond));
  if (cond->shape.isStatic() && cond->shape.numElements() != 1) return ctx.error("cond must hold one element");
  const Region* then_r = regionAttr(ctx, "then_branch");
  const Region* else_r = regionAttr(ctx, "else_branch");
  if (!then_r || !else_r) return ctx.error("needs then_branch and else_branch");
  if (then_r->numOutputs() != ctx.numOutputs() || else_r->numOutputs() != ctx.numOutputs())
    return ctx.error(str("branches return ", then_r->numOutputs(), " and ", else_r->numOutputs(), " values for ",
                         ctx.numOutputs(), " outputs"));
  for (int i = 0; i < ctx.numOutputs(); ++i) {
    const Type& a = then_r->output(i)->type();
    const Type& b = else_r->output(i)->type();
    Type t;
    if (!mergeType(a, b, &t))
      return ctx.error(str("output ", i, " is ", a.toString(), " in then_branch but ", b.toString(), " in else_branch"));
    ctx.setOutput(i, t);
  }
  return Status::success();
}

Status inferLoop(InferContext& ctx) {
  const Region* body = regionAttr(ctx, "body");
  if (!body) return ctx.error("needs a body");
  const int n_carried = ctx.numInputs() - 2;
  const int n_scan = ctx.numOutputs() - n_carried;
  if (n_scan < 0) return ctx.error("fewer outputs than loop-carried values");
  if (body->numArguments() != 2 + n_carried)
    return ctx.error(str("body takes ", body->numArguments(), " arguments, expected ", 2 + n_carried));
  if (body->numOutputs() != 1 + n_carried + n_scan)
    return ctx.error(str("body returns ", body->numOutputs(), " values, expected ", 1 + n_carried + n_scan));
  for (int i = 0; i < n_carried; ++i) {
    const Type* init = ctx.inputType(2 + i);
    if (!init) return ctx.error(str("loop-carried input ", 2 + i, " is missing"));
    Type t;
    if (!mergeType(*init, body->output(1 + i)->type(), &t))
      return ctx.error(str("loop-carried value ", i, " starts as ", init->toString(), " but the body returns ",
                           body->output(1 + i)->type().toString()));
    ctx.setOutput(i, t);  // zero iterations return the initial value, so both types are possible
  }
  for (int k = 0; k < n_scan; ++k) {
    const Type& e = body->output(1 + n_carried + k)->type();
    if (!e.isTensor()) return ctx.error("scan outputs must be tensors");
    Shape s = e.shape;
    if (s.ranked) s.dims.insert(s.dims.begin(), Dim::unknown());  // the trip count
    ctx.setOutput(n_carried + k, Type::tensor(e.dtype, s));
  }
  return Status::success();
}

Status inferScan(InferContext& ctx) {
  const Region* body = regionAttr(ctx, "body");
  if (!body) return ctx.error("needs a body");
  const int m = static_cast<int>(ctx.op().getInt("num_scan_inputs"));
  const int n = ctx.numInputs() - m;
  const int k_out = ctx.numOutputs() - n;
  if (m < 1 || n < 0 || k_out < 0) return ctx.error("num_scan_inputs does not fit the inputs and outputs");
  if (body->numArguments() != n + m || body->numOutputs() != n + k_out)
    return ctx.error("body signature does not match the op's inputs and outputs");
  std::vector<int64_t> in_axes = ctx.op().getInts("scan_input_axes"), out_axes = ctx.op().getInts("scan_output_axes");
  Dim len = Dim::unknown();
  for (int j = 0; j < m; ++j) {
    const Type* x = nullptr;
    DLC_RETURN_IF_ERROR(tensorInput(ctx, n + j, &x));
    if (!x->shape.ranked) continue;
    int a;
    int64_t axis = j < static_cast<int>(in_axes.size()) ? in_axes[static_cast<size_t>(j)] : 0;
    if (!normalizeAxis(axis, x->shape.rank(), &a).ok() || x->shape.rank() == 0)
      return ctx.error(str("scan input axis ", axis, " is out of range"));
    len = j == 0 ? x->shape.dims[static_cast<size_t>(a)] : util::mergeDim(len, x->shape.dims[static_cast<size_t>(a)]);
  }
  for (int i = 0; i < n; ++i) {
    Type t;
    if (!mergeType(*ctx.inputType(i), body->output(i)->type(), &t))
      return ctx.error(str("state ", i, " changes type in the body"));
    ctx.setOutput(i, t);
  }
  for (int k = 0; k < k_out; ++k) {
    const Type& e = body->output(n + k)->type();
    if (!e.isTensor()) return ctx.error("scan outputs must be tensors");
    Shape s = e.shape;
    if (s.ranked) {
      int64_t axis = k < static_cast<int>(out_axes.size()) ? out_axes[static_cast<size_t>(k)] : 0;
      int a;
      if (!normalizeAxis(axis, s.rank() + 1, &a).ok()) return ctx.error(str("scan output axis ", axis, " is out of range"));
      s.dims.insert(s.dims.begin() + a, len);
    }
    ctx.setOutput(n + k, Type::tensor(e.dtype, s));
  }
  return Status::success();
}

Status inferSequenceMap(InferContext& ctx) {
  const Region* body = regionAttr(ctx, "body");
  if (!body) return ctx.error("needs a body");
  const Type* elem = nullptr;
  DLC_RETURN_IF_ERROR(sequenceInput(ctx, 0, &elem));
  if (body->numArguments() != ctx.numInputs() || body->numOutputs() != ctx.numOutputs())
    return ctx.error("body signature does not match the op's inputs and outputs");
  for (int k = 0; k < ctx.numOutputs(); ++k) ctx.setOutput(k, Type::sequence(body->output(k)->type()));
  return Status::success();
}

}  // namespace dlc::infer
