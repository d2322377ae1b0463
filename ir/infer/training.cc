// Shape and type inference for dlc's training ops: the gradient ops of convolutions and pools, the
// dropout mask, and the per-parameter optimizer steps.
#include "ir/infer/infer.h"
#include "ir/infer/linear_shapes.h"

namespace dlc::infer {
namespace {

Status tensorOperand(InferContext& ctx, int i, const Type** out) {
  const Type* t = ctx.inputType(i);
  if (!t || !t->isTensor()) return ctx.error(str("input ", i, " must be a tensor"));
  *out = t;
  return Status::success();
}

// dY must have the shape the forward window gives X (where both are known).
Status checkWindow(InferContext& ctx, const Type& x, const Type& dy, const std::vector<int64_t>& kernel, bool dilations,
                   bool ceil_mode) {
  if (!x.shape.ranked || !dy.shape.ranked) return Status::success();
  if (x.shape.rank() < 3 || dy.shape.rank() != x.shape.rank())
    return ctx.error(str("X must be [N,C,spatial...] and dY of its rank, got ", x.shape.toString(), " and ", dy.shape.toString()));
  std::vector<Dim> out;
  DLC_RETURN_IF_ERROR(windowDims(ctx, x.shape, kernel, dilations, ceil_mode, &out));
  for (size_t i = 0; i < out.size(); ++i) {
    const Dim& d = dy.shape.dims[i + 2];
    if (out[i].isStatic() && d.isStatic() && out[i].value != d.value)
      return ctx.error(str("dY's spatial dim ", i, " is ", d.value, ", the window over X gives ", out[i].value));
  }
  return Status::success();
}

}  // namespace

// dW [M, C/G, k...]: M from dY's channels, C from X's; dB [M].
Status inferConvGradWeight(InferContext& ctx) {
  const Type *x, *dy;
  DLC_RETURN_IF_ERROR(tensorOperand(ctx, 0, &x));
  DLC_RETURN_IF_ERROR(tensorOperand(ctx, 1, &dy));
  if (x->dtype != dy->dtype) return ctx.error(str("X is ", dtypeName(x->dtype), " but dY is ", dtypeName(dy->dtype)));
  std::vector<int64_t> kernel = ctx.op().getInts("kernel_shape");
  for (int64_t k : kernel)
    if (k < 1) return ctx.error("kernel_shape must be positive");
  if (x->shape.ranked && static_cast<int>(kernel.size()) != x->shape.rank() - 2)
    return ctx.error("kernel_shape must have one value per spatial dim of X");
  DLC_RETURN_IF_ERROR(checkWindow(ctx, *x, *dy, kernel, true, false));
  int64_t group = ctx.op().getInt("group", 1);
  if (group < 1) return ctx.error("group must be positive");
  Dim m = dy->shape.ranked && dy->shape.rank() >= 2 ? dy->shape.dims[1] : Dim::unknown();
  Dim c = Dim::unknown();
  if (x->shape.ranked && x->shape.rank() >= 2 && x->shape.dims[1].isStatic()) {
    if (x->shape.dims[1].value % group != 0) return ctx.error(str("group ", group, " does not divide X's channels"));
    c = Dim::of(x->shape.dims[1].value / group);
  }
  if (m.isStatic() && m.value % group != 0) return ctx.error(str("group ", group, " does not divide dY's channels"));
  std::vector<Dim> dims{m, c};
  for (int64_t k : kernel) dims.push_back(Dim::of(k));
  ctx.setOutput(0, Type::tensor(x->dtype, Shape(dims)));
  if (ctx.numOutputs() > 1) ctx.setOutput(1, Type::tensor(x->dtype, Shape({m})));
  return Status::success();
}

// The pool gradients have X's type; dY must match the pooled shape.
Status inferMaxPoolGrad(InferContext& ctx) {
  const Type *dy, *x;
  DLC_RETURN_IF_ERROR(tensorOperand(ctx, 0, &dy));
  DLC_RETURN_IF_ERROR(tensorOperand(ctx, 1, &x));
  DLC_RETURN_IF_ERROR(checkWindow(ctx, *x, *dy, ctx.op().getInts("kernel_shape"), true, ctx.op().getInt("ceil_mode", 0) != 0));
  ctx.setOutput(0, *x);
  return Status::success();
}
Status inferAveragePoolGrad(InferContext& ctx) {
  const Type *dy, *x;
  DLC_RETURN_IF_ERROR(tensorOperand(ctx, 0, &dy));
  DLC_RETURN_IF_ERROR(tensorOperand(ctx, 1, &x));
  DLC_RETURN_IF_ERROR(checkWindow(ctx, *x, *dy, ctx.op().getInts("kernel_shape"), false, ctx.op().getInt("ceil_mode", 0) != 0));
  ctx.setOutput(0, *x);
  return Status::success();
}

Status inferActivationGrad(InferContext& ctx) {
  const Type *dy, *x;
  DLC_RETURN_IF_ERROR(tensorOperand(ctx, 0, &dy));
  DLC_RETURN_IF_ERROR(tensorOperand(ctx, 1, &x));
  if (!isFloat(x->dtype) || dy->dtype != x->dtype) return ctx.error("dY and X must be floats of the same dtype");
  if (dy->shape.isStatic() && x->shape.isStatic() && dy->shape != x->shape)
    return ctx.error(str("dY ", dy->shape.toString(), " and X ", x->shape.toString(), " must have one shape"));
  static const char* kKnown[] = {"Relu", "LeakyRelu", "Elu", "Sigmoid", "Tanh", "Gelu", "GeluTanh", "HardSwish",
                                 "HardSigmoid", "Clip", "Softplus"};
  std::string a = ctx.op().getString("activation");
  bool known = false;
  for (const char* k : kKnown) known = known || a == k;
  if (!known) return ctx.error(str("unknown activation '", a, "'"));
  ctx.setOutput(0, *x);
  return Status::success();
}

namespace {
// X [N, C, ...] and per-channel operands [C] at `channel_operands`; returns C.
Status batchNormShapes(InferContext& ctx, int x_index, std::initializer_list<int> channel_operands, const Type** x, Dim* c) {
  DLC_RETURN_IF_ERROR(tensorOperand(ctx, x_index, x));
  if (!isFloat((*x)->dtype)) return ctx.error("X must be a float tensor");
  *c = (*x)->shape.ranked && (*x)->shape.rank() >= 2 ? (*x)->shape.dims[1] : Dim::unknown();
  if ((*x)->shape.ranked && (*x)->shape.rank() < 2) return ctx.error("X must be [N, C, ...]");
  for (int i : channel_operands) {
    const Type* t;
    DLC_RETURN_IF_ERROR(tensorOperand(ctx, i, &t));
    if (t->dtype != (*x)->dtype) return ctx.error(str("input ", i, " must be ", dtypeName((*x)->dtype), " like X"));
    if (t->shape.ranked && (t->shape.rank() != 1 || (c->isStatic() && t->shape.dims[0].isStatic() && t->shape.dims[0].value != c->value)))
      return ctx.error(str("input ", i, " must be [C], got ", t->shape.toString()));
  }
  return Status::success();
}
}  // namespace

// (X, γ, β) -> Y like X, mean [C], var [C]
Status inferBatchNormTraining(InferContext& ctx) {
  const Type* x;
  Dim c;
  DLC_RETURN_IF_ERROR(batchNormShapes(ctx, 0, {1, 2}, &x, &c));
  ctx.setOutput(0, *x);
  ctx.setOutput(1, Type::tensor(x->dtype, Shape({c})));
  ctx.setOutput(2, Type::tensor(x->dtype, Shape({c})));
  return Status::success();
}

// (dY, X, γ, mean, var) -> dX like X, dγ [C], dβ [C]
Status inferBatchNormTrainingGrad(InferContext& ctx) {
  const Type* x;
  Dim c;
  DLC_RETURN_IF_ERROR(batchNormShapes(ctx, 1, {2, 3, 4}, &x, &c));
  const Type* dy;
  DLC_RETURN_IF_ERROR(tensorOperand(ctx, 0, &dy));
  if (dy->dtype != x->dtype || (dy->shape.isStatic() && x->shape.isStatic() && dy->shape != x->shape))
    return ctx.error("dY must have X's type");
  ctx.setOutput(0, *x);
  ctx.setOutput(1, Type::tensor(x->dtype, Shape({c})));
  ctx.setOutput(2, Type::tensor(x->dtype, Shape({c})));
  return Status::success();
}

Status inferDropoutMask(InferContext& ctx) {
  const Type *x, *seed;
  DLC_RETURN_IF_ERROR(tensorOperand(ctx, 0, &x));
  DLC_RETURN_IF_ERROR(tensorOperand(ctx, 2, &seed));
  if (seed->dtype != DType::I64 && seed->dtype != DType::Undefined) return ctx.error("seed must be an i64 scalar");
  ctx.setOutput(0, Type::tensor(DType::Bool, x->shape));
  return Status::success();
}

namespace {

// Optimizer steps: inputs (lr, t, x, g, states...) -> (x', states'), each output typed like the
// matching input; lr and t are float scalars and g has x's type.
Status inferParamUpdate(InferContext& ctx) {
  const Type *x, *g;
  DLC_RETURN_IF_ERROR(tensorOperand(ctx, 2, &x));
  DLC_RETURN_IF_ERROR(tensorOperand(ctx, 3, &g));
  if (!isFloat(x->dtype)) return ctx.error(str("x must be a float tensor, got ", dtypeName(x->dtype)));
  if (g->dtype != x->dtype || (g->shape.isStatic() && x->shape.isStatic() && g->shape != x->shape))
    return ctx.error(str("the gradient ", g->toString(), " does not match the parameter ", x->toString()));
  for (int i = 0; i < 2; ++i) {
    const Type* s;
    DLC_RETURN_IF_ERROR(tensorOperand(ctx, i, &s));
    if (!isFloat(s->dtype) || (s->shape.ranked && s->shape.rank() != 0))
      return ctx.error(str(i == 0 ? "lr" : "t", " must be a float scalar, got ", s->toString()));
  }
  int states = ctx.numInputs() - 4;
  if (ctx.numOutputs() != states + 1)
    return ctx.error(str("has ", states, " state inputs, so expects ", states + 1, " outputs, got ", ctx.numOutputs()));
  ctx.setOutput(0, *x);
  for (int i = 0; i < states; ++i) {
    const Type* s;
    DLC_RETURN_IF_ERROR(tensorOperand(ctx, 4 + i, &s));
    ctx.setOutput(1 + i, *s);
  }
  return Status::success();
}

}  // namespace

Status inferSgdUpdate(InferContext& ctx) { return inferParamUpdate(ctx); }
Status inferAdamUpdate(InferContext& ctx) { return inferParamUpdate(ctx); }
Status inferRmspropUpdate(InferContext& ctx) { return inferParamUpdate(ctx); }
Status inferAdagradUpdate(InferContext& ctx) { return inferParamUpdate(ctx); }
Status inferRadamUpdate(InferContext& ctx) { return inferParamUpdate(ctx); }
Status inferLambUpdate(InferContext& ctx) { return inferParamUpdate(ctx); }
Status inferLarsUpdate(InferContext& ctx) { return inferParamUpdate(ctx); }

// (t, x, slow) -> (x', slow')
Status inferLookaheadUpdate(InferContext& ctx) {
  const Type *x, *slow;
  DLC_RETURN_IF_ERROR(tensorOperand(ctx, 1, &x));
  DLC_RETURN_IF_ERROR(tensorOperand(ctx, 2, &slow));
  if (ctx.op().getInt("k", 5) < 1) return ctx.error("k must be at least 1");
  ctx.setOutput(0, *x);
  ctx.setOutput(1, *slow);
  return Status::success();
}

}  // namespace dlc::infer
