// Shape and type inference for the indexing tensor ops: Gather, GatherElements, GatherND, NonZero,
// OneHot, TopK, Unique, Compress. Data-dependent sizes are unknown dims.
#include "ir/infer/infer.h"
#include "ir/infer/tensor_util.h"

namespace dlc::infer {
using util::constInts;
using util::tensorInput;
using util::unknownDims;

namespace {
Status axisOf(InferContext& ctx, int64_t axis, int rank, int* out) {
  Status s = normalizeAxis(axis, rank, out);
  if (!s.ok() || rank == 0) return ctx.error(str("axis ", axis, " is out of range for rank ", rank));
  return Status::success();
}

Status indicesInput(InferContext& ctx, int i, const Type** out) {
  DLC_RETURN_IF_ERROR(tensorInput(ctx, i, out));
  if (!isInteger((*out)->dtype)) return ctx.error(str("input ", i, " (indices) must be an integer tensor"));
  return Status::success();
}
}  // namespace

Status inferGather(InferContext& ctx) {
  const Type *x = nullptr, *ind = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  DLC_RETURN_IF_ERROR(indicesInput(ctx, 1, &ind));
  if (!x->shape.ranked || !ind->shape.ranked) {
    ctx.setOutput(0, Type::tensor(x->dtype, Shape::unranked()));
    return Status::success();
  }
  int axis;
  DLC_RETURN_IF_ERROR(axisOf(ctx, ctx.op().getInt("axis"), x->shape.rank(), &axis));
  Shape out;
  out.dims.assign(x->shape.dims.begin(), x->shape.dims.begin() + axis);
  out.dims.insert(out.dims.end(), ind->shape.dims.begin(), ind->shape.dims.end());
  out.dims.insert(out.dims.end(), x->shape.dims.begin() + axis + 1, x->shape.dims.end());
  ctx.setOutput(0, Type::tensor(x->dtype, out));
  return Status::success();
}

Status inferGatherElements(InferContext& ctx) {
  const Type *x = nullptr, *ind = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  DLC_RETURN_IF_ERROR(indicesInput(ctx, 1, &ind));
  if (x->shape.ranked && ind->shape.ranked && x->shape.rank() != ind->shape.rank())
    return ctx.error("data and indices must have the same rank");
  if (x->shape.ranked) {
    int axis;
    DLC_RETURN_IF_ERROR(axisOf(ctx, ctx.op().getInt("axis"), x->shape.rank(), &axis));
  }
  ctx.setOutput(0, Type::tensor(x->dtype, ind->shape));
  return Status::success();
}

Status inferGatherND(InferContext& ctx) {
  const Type *x = nullptr, *ind = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  DLC_RETURN_IF_ERROR(indicesInput(ctx, 1, &ind));
  int64_t b = ctx.op().getInt("batch_dims");
  if (!x->shape.ranked || !ind->shape.ranked || ind->shape.rank() < 1 || !ind->shape.dims.back().isStatic()) {
    ctx.setOutput(0, Type::tensor(x->dtype, Shape::unranked()));
    return Status::success();
  }
  const int r = x->shape.rank(), q = ind->shape.rank();
  const int64_t k = ind->shape.dims.back().value;
  if (b < 0 || b >= std::min(q, r)) return ctx.error(str("batch_dims ", b, " is out of range"));
  if (k < 1 || b + k > r) return ctx.error(str("index tuples of length ", k, " do not fit data of rank ", r));
  Shape out;
  out.dims.assign(ind->shape.dims.begin(), ind->shape.dims.end() - 1);
  out.dims.insert(out.dims.end(), x->shape.dims.begin() + b + k, x->shape.dims.end());
  ctx.setOutput(0, Type::tensor(x->dtype, out));
  return Status::success();
}

Status inferNonZero(InferContext& ctx) {
  const Type* x = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  Dim rank = x->shape.ranked ? Dim::of(x->shape.rank()) : Dim::unknown();
  ctx.setOutput(0, Type::tensor(DType::I64, Shape({rank, Dim::unknown()})));
  return Status::success();
}

Status inferOneHot(InferContext& ctx) {
  const Type *ind = nullptr, *depth = nullptr, *values = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &ind));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 1, &depth));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 2, &values));
  if (values->shape.isStatic() && values->shape.numElements() != 2)
    return ctx.error("values must hold [off_value, on_value]");
  if (!ind->shape.ranked) {
    ctx.setOutput(0, Type::tensor(values->dtype, Shape::unranked()));
    return Status::success();
  }
  int axis;
  DLC_RETURN_IF_ERROR(axisOf(ctx, ctx.op().getInt("axis", -1), ind->shape.rank() + 1, &axis));
  Dim d = Dim::unknown();
  if (const Tensor* t = ctx.constantInput(1); t && t->numel() == 1 && t->dtype() != DType::String) {
    int64_t v = static_cast<int64_t>(t->getDouble(0));
    if (v < 1) return ctx.error(str("depth ", v, " must be positive"));
    d = Dim::of(v);
  }
  Shape out = ind->shape;
  out.dims.insert(out.dims.begin() + axis, d);
  ctx.setOutput(0, Type::tensor(values->dtype, out));
  return Status::success();
}

Status inferTopK(InferContext& ctx) {
  const Type *x = nullptr, *k = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 1, &k));
  Shape out = x->shape;
  if (out.ranked) {
    int axis;
    DLC_RETURN_IF_ERROR(axisOf(ctx, ctx.op().getInt("axis", -1), out.rank(), &axis));
    std::vector<int64_t> kv;
    Dim& d = out.dims[static_cast<size_t>(axis)];
    if (constInts(ctx, 1, &kv) && kv.size() == 1) {
      if (kv[0] < 0 || (d.isStatic() && kv[0] > d.value))
        return ctx.error(str("K ", kv[0], " is out of range for the axis"));
      d = Dim::of(kv[0]);
    } else {
      d = Dim::unknown();
    }
  }
  ctx.setOutput(0, Type::tensor(x->dtype, out));
  ctx.setOutput(1, Type::tensor(DType::I64, out));
  return Status::success();
}

Status inferUnique(InferContext& ctx) {
  const Type* x = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  Shape y = unknownDims(1);
  Dim n = Dim::unknown();
  if (ctx.op().hasAttr("axis")) {
    if (x->shape.ranked) {
      int axis;
      DLC_RETURN_IF_ERROR(axisOf(ctx, ctx.op().getInt("axis"), x->shape.rank(), &axis));
      y = x->shape;
      n = y.dims[static_cast<size_t>(axis)];
      y.dims[static_cast<size_t>(axis)] = Dim::unknown();
    } else {
      y = Shape::unranked();
    }
  } else if (x->shape.ranked) {
    n = util::dimProduct(x->shape.dims);
  }
  ctx.setOutput(0, Type::tensor(x->dtype, y));
  ctx.setOutput(1, Type::tensor(DType::I64, unknownDims(1)));
  ctx.setOutput(2, Type::tensor(DType::I64, Shape({n})));
  ctx.setOutput(3, Type::tensor(DType::I64, unknownDims(1)));
  return Status::success();
}

Status inferCompress(InferContext& ctx) {
  const Type *x = nullptr, *cond = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 1, &cond));
  if (cond->shape.ranked && cond->shape.rank() != 1) return ctx.error("condition must be 1-D");
  Shape out = unknownDims(1);
  if (ctx.op().hasAttr("axis")) {
    out = x->shape;
    if (out.ranked) {
      int axis;
      DLC_RETURN_IF_ERROR(axisOf(ctx, ctx.op().getInt("axis"), out.rank(), &axis));
      out.dims[static_cast<size_t>(axis)] = Dim::unknown();
    }
  }
  ctx.setOutput(0, Type::tensor(x->dtype, out));
  return Status::success();
}

}  // namespace dlc::infer
