// Shape and type inference for FusedConv and FusedMatMul (a heavy op with a fused epilogue).
#include <utility>

#include "ir/infer/linear_shapes.h"
#include "ir/infer/tensor_util.h"

namespace dlc::infer {
namespace {

using util::tensorInput;

// Dims that may differ: both static and unequal, or distinct symbols.
bool dimsConflict(const Dim& a, const Dim& b) {
  if (a.isStatic() && b.isStatic()) return a.value != b.value;
  if (a.isSymbolic() && b.isSymbolic()) return a.symbol != b.symbol;
  return false;
}

Status checkActivation(InferContext& ctx) {
  static const char* const kNames[] = {"none",        "Relu",      "LeakyRelu", "Clip", "Sigmoid",
                                       "HardSigmoid", "HardSwish", "Silu",      "Gelu", "Tanh"};
  std::string act = ctx.op().getString("activation", "none");
  for (const char* n : kNames)
    if (act == n) return Status::success();
  return ctx.error(str("unknown activation '", act, "'"));
}

// The residual R (input 3), when present, must have Y's dtype and shape.
Status checkResidual(InferContext& ctx, const Type& y) {
  if (!ctx.hasInput(3)) return Status::success();
  const Type* r = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 3, &r));
  if (r->dtype != y.dtype) return ctx.error(str("R is ", dtypeName(r->dtype), " but Y is ", dtypeName(y.dtype)));
  if (!r->shape.ranked || !y.shape.ranked) return Status::success();
  bool ok = r->shape.rank() == y.shape.rank();
  for (int i = 0; ok && i < r->shape.rank(); ++i)
    ok = !dimsConflict(r->shape.dims[static_cast<size_t>(i)], y.shape.dims[static_cast<size_t>(i)]);
  if (!ok) return ctx.error(str("residual R ", r->shape.toString(), " must have Y's shape ", y.shape.toString()));
  return Status::success();
}

// Swaps the last two dims (op(A) = A^T on each matrix of the batch).
Status transposed(InferContext& ctx, const Shape& s, const char* what, Shape* out) {
  *out = s;
  if (!s.ranked) return Status::success();
  if (s.rank() < 2) return ctx.error(str(what, " must have rank >= 2 to be transposed"));
  std::swap(out->dims[s.dims.size() - 1], out->dims[s.dims.size() - 2]);
  return Status::success();
}

}  // namespace

Status inferFusedConv(InferContext& ctx) {
  const Type *x = nullptr, *w = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 1, &w));
  if (x->dtype != DType::Undefined && !isFloat(x->dtype))
    return ctx.error(str("X must be a float tensor, got ", dtypeName(x->dtype)));
  if (x->dtype != w->dtype) return ctx.error(str("X is ", dtypeName(x->dtype), " but W is ", dtypeName(w->dtype)));
  Type y;
  DLC_RETURN_IF_ERROR(convResultType(ctx, 0, 1, x->dtype, &y));
  if (ctx.hasInput(2)) {
    const Type* b = nullptr;
    DLC_RETURN_IF_ERROR(tensorInput(ctx, 2, &b));
    if (b->dtype != x->dtype) return ctx.error(str("B is ", dtypeName(b->dtype), " but X is ", dtypeName(x->dtype)));
    if (b->shape.ranked && (b->shape.rank() != 1 || (y.shape.ranked && dimsConflict(b->shape.dims[0], y.shape.dims[1]))))
      return ctx.error(str("B ", b->shape.toString(), " must be 1-D with one value per output channel"));
  }
  DLC_RETURN_IF_ERROR(checkResidual(ctx, y));
  DLC_RETURN_IF_ERROR(checkActivation(ctx));
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

Status inferFusedMatMul(InferContext& ctx) {
  const Type *a = nullptr, *b = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &a));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 1, &b));
  if (a->dtype != b->dtype) return ctx.error(str("A is ", dtypeName(a->dtype), " but B is ", dtypeName(b->dtype)));
  Shape as = a->shape, bs = b->shape;
  if (ctx.op().getInt("transA", 0) != 0) DLC_RETURN_IF_ERROR(transposed(ctx, a->shape, "A", &as));
  if (ctx.op().getInt("transB", 0) != 0) DLC_RETURN_IF_ERROR(transposed(ctx, b->shape, "B", &bs));
  Shape out;
  DLC_RETURN_IF_ERROR(matmulShape(ctx, as, bs, &out));
  if (ctx.hasInput(2)) {
    // C broadcasts one way: to Y's shape, never enlarging it.
    const Type* c = nullptr;
    DLC_RETURN_IF_ERROR(tensorInput(ctx, 2, &c));
    if (c->dtype != a->dtype) return ctx.error(str("C is ", dtypeName(c->dtype), " but A is ", dtypeName(a->dtype)));
    Shape bc;
    Status s = broadcastShapes({c->shape, out}, &bc);
    bool ok = s.ok() && (!bc.ranked || !out.ranked || bc.rank() == out.rank());
    for (int i = 0; ok && bc.ranked && out.ranked && i < out.rank(); ++i)
      ok = !dimsConflict(bc.dims[static_cast<size_t>(i)], out.dims[static_cast<size_t>(i)]);
    if (!ok) return ctx.error(str("C ", c->shape.toString(), " does not broadcast to ", out.toString()));
  }
  Type y = Type::tensor(a->dtype, std::move(out));
  DLC_RETURN_IF_ERROR(checkResidual(ctx, y));
  DLC_RETURN_IF_ERROR(checkActivation(ctx));
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

}  // namespace dlc::infer
