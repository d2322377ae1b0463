// Shape and type inference for FusedElementwise and Attention.
#include "ir/infer/infer.h"
#include "ir/infer/tensor_util.h"

namespace dlc::infer {
using util::tensorInput;

// FusedElementwise(x...) -> body(x...): the results take the types of the body's outputs. The body
// is inferred before its parent (inferRegionTypes), so its output types are current.
Status inferFusedElementwise(InferContext& ctx) {
  const Attribute* a = ctx.op().attr("body");
  const Region* body = a && a->g ? a->g.get() : nullptr;
  if (!body) return ctx.error("needs a body");
  if (body->numArguments() != ctx.numInputs())
    return ctx.error(str("body takes ", body->numArguments(), " arguments for ", ctx.numInputs(), " inputs"));
  if (body->numOutputs() != ctx.numOutputs())
    return ctx.error(str("body returns ", body->numOutputs(), " values for ", ctx.numOutputs(), " outputs"));
  for (int i = 0; i < ctx.numInputs(); ++i) {
    const Type* t = nullptr;
    DLC_RETURN_IF_ERROR(tensorInput(ctx, i, &t));
    const Type& arg = body->argument(i)->type();
    if (arg.dtype != t->dtype)
      return ctx.error(str("input ", i, " is ", t->toString(), " but the body's argument is ", arg.toString()));
  }
  for (int i = 0; i < ctx.numOutputs(); ++i) ctx.setOutput(i, body->output(i)->type());
  return Status::success();
}

namespace {
// The last dim of a rank-3 input divided by num_heads (unknown when not static).
Status headDim(InferContext& ctx, const Type& t, int input, int64_t heads, Dim* out) {
  const Dim& d = t.shape.dims[2];
  *out = Dim::unknown();
  if (!d.isStatic()) return Status::success();
  if (d.value % heads != 0)
    return ctx.error(str("input ", input, "'s last dim ", d.value, " is not divisible by num_heads ", heads));
  *out = Dim::of(d.value / heads);
  return Status::success();
}

bool dimsConflict(const Dim& a, const Dim& b) {
  if (a.isStatic() && b.isStatic()) return a.value != b.value;
  if (a.isSymbolic() && b.isSymbolic()) return a.symbol != b.symbol;
  return false;
}

// A known dim wins over an unknown one.
Dim pickDim(const Dim& a, const Dim& b) { return a.isStatic() || a.isSymbolic() ? a : b; }
}  // namespace

// Attention(Q [B,S,H*D], K [B,T,H*D], V [B,T,H*Dv], M?) -> [B,S,H*Dv]; M broadcasts to [B,H,S,T].
Status inferAttention(InferContext& ctx) {
  const int64_t heads = ctx.op().getInt("num_heads", 0);
  if (heads <= 0) return ctx.error(str("num_heads must be positive, got ", heads));
  const Type* q = nullptr;
  const Type* k = nullptr;
  const Type* v = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &q));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 1, &k));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 2, &v));
  if (k->dtype != q->dtype || v->dtype != q->dtype)
    return ctx.error(str("Q, K and V must have one dtype, got ", q->toString(), ", ", k->toString(), ", ",
                         v->toString()));
  if (!q->shape.ranked || !k->shape.ranked || !v->shape.ranked) {
    ctx.setOutput(0, Type::tensor(q->dtype, Shape({Dim::unknown(), Dim::unknown(), Dim::unknown()})));
    return Status::success();
  }
  if (q->shape.rank() != 3 || k->shape.rank() != 3 || v->shape.rank() != 3)
    return ctx.error(str("Q, K and V must be rank 3 ([B,S,H*D]), got ", q->toString(), ", ", k->toString(), ", ",
                         v->toString()));
  Dim dq, dk, dv;
  DLC_RETURN_IF_ERROR(headDim(ctx, *q, 0, heads, &dq));
  DLC_RETURN_IF_ERROR(headDim(ctx, *k, 1, heads, &dk));
  DLC_RETURN_IF_ERROR(headDim(ctx, *v, 2, heads, &dv));
  const auto& qd = q->shape.dims;
  const auto& kd = k->shape.dims;
  const auto& vd = v->shape.dims;
  if (dimsConflict(qd[0], kd[0]) || dimsConflict(qd[0], vd[0]))
    return ctx.error(str("batch dims differ: ", q->toString(), ", ", k->toString(), ", ", v->toString()));
  if (dimsConflict(kd[1], vd[1]))
    return ctx.error(str("K and V lengths differ: ", k->toString(), ", ", v->toString()));
  if (dimsConflict(qd[2], kd[2]))
    return ctx.error(str("Q and K last dims differ: ", q->toString(), ", ", k->toString()));
  if (ctx.hasInput(3)) {
    const Type* m = nullptr;
    DLC_RETURN_IF_ERROR(tensorInput(ctx, 3, &m));
    if (m->shape.ranked) {
      if (m->shape.rank() > 4) return ctx.error(str("mask ", m->toString(), " has rank above 4"));
      Shape scores({pickDim(qd[0], kd[0]), Dim::of(heads), qd[1], pickDim(kd[1], vd[1])});
      Shape out;
      DLC_RETURN_IF_ERROR(broadcastShapes({scores, m->shape}, &out));
    }
  }
  ctx.setOutput(0, Type::tensor(q->dtype, Shape({pickDim(pickDim(qd[0], kd[0]), vd[0]), qd[1], vd[2]})));
  return Status::success();
}

}  // namespace dlc::infer
