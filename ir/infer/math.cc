// Shape and type inference for the math ops (reductions, products, casts, quantization, signal, random).
#include <algorithm>
#include <cmath>
#include <map>

#include "ir/dtype_onnx.h"
#include "ir/infer/infer.h"
#include "ir/infer/linear_shapes.h"
#include "ir/infer/tensor_util.h"
#include "ir/tensor.h"

namespace dlc::infer {
namespace {

// Input i as a tensor type; an error when absent or not a tensor.
Status tensorInput(InferContext& ctx, int i, const Type** out) {
  const Type* t = ctx.inputType(i);
  if (!t) return ctx.error(str("missing input ", i));
  if (!t->isTensor()) return ctx.error(str("input ", i, " must be a tensor"));
  *out = t;
  return Status::success();
}

// The dtype named by an integer attribute holding an ONNX TensorProto code, or `fallback` if unset.
Status dtypeAttr(InferContext& ctx, const char* name, DType fallback, DType* out) {
  const Attribute* a = ctx.op().attr(name);
  if (!a) {
    *out = fallback;
    return Status::success();
  }
  auto d = dtypeFromOnnxCode(a->i);
  if (!d) return ctx.error(str("attribute ", name, " has unsupported dtype code ", a->i));
  *out = *d;
  return Status::success();
}

// The dims removed (or set to 1) by a reduction over `axes` (all when empty).
Status reduceShape(InferContext& ctx, const Type& x, const std::vector<int64_t>& axes, bool keep, Shape* out) {
  if (!x.shape.ranked) {
    *out = Shape::unranked();
    return Status::success();
  }
  const int rank = x.shape.rank();
  std::vector<bool> reduced(static_cast<size_t>(rank), axes.empty());
  for (int64_t a : axes) {
    int ax = 0;
    Status s = normalizeAxis(a, rank, &ax);
    if (!s.ok() || ax >= rank) return ctx.error(str("axis ", a, " is out of range for rank ", rank));
    reduced[static_cast<size_t>(ax)] = true;
  }
  Shape r;
  for (int d = 0; d < rank; ++d) {
    if (!reduced[static_cast<size_t>(d)]) r.dims.push_back(x.shape.dims[static_cast<size_t>(d)]);
    else if (keep) r.dims.push_back(Dim::of(1));
  }
  *out = std::move(r);
  return Status::success();
}

Status reduceRule(InferContext& ctx) {
  const Type* x;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  bool keep = ctx.op().getInt("keepdims", 1) != 0;
  std::vector<int64_t> axes = ctx.op().getInts("axes");
  if (ctx.op().kind() == OpKind::ReduceSum && ctx.hasInput(1)) {
    const Tensor* t = ctx.constantInput(1);
    if (!t) {  // axes known only at run time
      Shape s = Shape::unranked();
      if (keep && x->shape.ranked) s = Shape(std::vector<Dim>(x->shape.dims.size(), Dim::unknown()));
      ctx.setOutput(0, Type::tensor(x->dtype, s));
      return Status::success();
    }
    axes = t->toInt64Vector();
  }
  if (ctx.op().kind() == OpKind::ReduceSum && axes.empty() && ctx.op().getInt("noop_with_empty_axes", 0) != 0) {
    ctx.setOutput(0, *x);
    return Status::success();
  }
  Shape s;
  DLC_RETURN_IF_ERROR(reduceShape(ctx, *x, axes, keep, &s));
  ctx.setOutput(0, Type::tensor(x->dtype, std::move(s)));
  return Status::success();
}

Status argRule(InferContext& ctx) {
  const Type* x;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  if (!x->shape.ranked) {
    ctx.setOutput(0, Type::tensor(DType::I64));
    return Status::success();
  }
  int axis = 0;
  Status s = normalizeAxis(ctx.op().getInt("axis", 0), x->shape.rank(), &axis);
  if (!s.ok() || x->shape.rank() == 0) return ctx.error(str("axis ", ctx.op().getInt("axis", 0), " is out of range"));
  Shape out;
  DLC_RETURN_IF_ERROR(reduceShape(ctx, *x, {axis}, ctx.op().getInt("keepdims", 1) != 0, &out));
  ctx.setOutput(0, Type::tensor(DType::I64, std::move(out)));
  return Status::success();
}

}  // namespace

// Numpy matmul shapes (1-D promotion, broadcast batch dims). Symbolic dims flow through.
Status matmulShape(InferContext& ctx, const Shape& a, const Shape& b, Shape* out) {
  if (!a.ranked || !b.ranked) {
    *out = Shape::unranked();
    return Status::success();
  }
  if (a.rank() == 0 || b.rank() == 0) return ctx.error("operands must have rank >= 1");
  std::vector<Dim> ad = a.dims, bd = b.dims;
  bool a_vec = ad.size() == 1, b_vec = bd.size() == 1;
  if (a_vec) ad.insert(ad.begin(), Dim::of(1));
  if (b_vec) bd.push_back(Dim::of(1));
  const Dim& ka = ad.back();
  const Dim& kb = bd[bd.size() - 2];
  if (ka.isStatic() && kb.isStatic() && ka.value != kb.value)
    return ctx.error(str("inner dimensions differ: ", ka.value, " vs ", kb.value));
  Shape batch;
  Status s = broadcastShapes({Shape(std::vector<Dim>(ad.begin(), ad.end() - 2)), Shape(std::vector<Dim>(bd.begin(), bd.end() - 2))},
                             &batch);
  if (!s.ok()) return ctx.error(s.message());
  if (!a_vec) batch.dims.push_back(ad[ad.size() - 2]);
  if (!b_vec) batch.dims.push_back(bd.back());
  *out = std::move(batch);
  return Status::success();
}

Status inferReduceL1(InferContext& ctx) { return reduceRule(ctx); }
Status inferReduceL2(InferContext& ctx) { return reduceRule(ctx); }
Status inferReduceLogSum(InferContext& ctx) { return reduceRule(ctx); }
Status inferReduceLogSumExp(InferContext& ctx) { return reduceRule(ctx); }
Status inferReduceMax(InferContext& ctx) { return reduceRule(ctx); }
Status inferReduceMean(InferContext& ctx) { return reduceRule(ctx); }
Status inferReduceMin(InferContext& ctx) { return reduceRule(ctx); }
Status inferReduceProd(InferContext& ctx) { return reduceRule(ctx); }
Status inferReduceSum(InferContext& ctx) { return reduceRule(ctx); }
Status inferReduceSumSquare(InferContext& ctx) { return reduceRule(ctx); }
Status inferArgMax(InferContext& ctx) { return argRule(ctx); }
Status inferArgMin(InferContext& ctx) { return argRule(ctx); }

Status inferCast(InferContext& ctx) {
  const Type* x;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  if (!ctx.op().attr("to")) return ctx.error("attribute 'to' is required");
  DType to;
  DLC_RETURN_IF_ERROR(dtypeAttr(ctx, "to", DType::Undefined, &to));
  ctx.setOutput(0, Type::tensor(to, x->shape));
  return Status::success();
}

Status inferCastLike(InferContext& ctx) {
  const Type *x, *like;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 1, &like));
  ctx.setOutput(0, Type::tensor(like->dtype, x->shape));
  return Status::success();
}

Status inferWhere(InferContext& ctx) {
  const Type *c, *x, *y;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &c));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 1, &x));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 2, &y));
  if (c->dtype != DType::Bool) return ctx.error("condition must be bool");
  if (x->dtype != y->dtype) return ctx.error(str("X is ", dtypeName(x->dtype), " but Y is ", dtypeName(y->dtype)));
  Shape out;
  Status s = broadcastShapes({c->shape, x->shape, y->shape}, &out);
  if (!s.ok()) return ctx.error(s.message());
  ctx.setOutput(0, Type::tensor(x->dtype, std::move(out)));
  return Status::success();
}

Status inferMatMul(InferContext& ctx) {
  const Type *a, *b;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &a));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 1, &b));
  if (a->dtype != b->dtype) return ctx.error(str("A is ", dtypeName(a->dtype), " but B is ", dtypeName(b->dtype)));
  Shape out;
  DLC_RETURN_IF_ERROR(matmulShape(ctx, a->shape, b->shape, &out));
  ctx.setOutput(0, Type::tensor(a->dtype, std::move(out)));
  return Status::success();
}

Status inferMatMulInteger(InferContext& ctx) {
  const Type *a, *b;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &a));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 1, &b));
  Shape out;
  DLC_RETURN_IF_ERROR(matmulShape(ctx, a->shape, b->shape, &out));
  ctx.setOutput(0, Type::tensor(DType::I32, std::move(out)));
  return Status::success();
}

Status inferQLinearMatMul(InferContext& ctx) {
  const Type *a, *b, *yzp;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &a));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 3, &b));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 7, &yzp));
  Shape out;
  DLC_RETURN_IF_ERROR(matmulShape(ctx, a->shape, b->shape, &out));
  ctx.setOutput(0, Type::tensor(yzp->dtype, std::move(out)));
  return Status::success();
}

Status inferQLinearBinary(InferContext& ctx) {
  const Type *a, *b;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &a));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 3, &b));
  if (a->dtype != DType::U8 && a->dtype != DType::I8) return ctx.error(str("A must be u8 or i8, not ", dtypeName(a->dtype)));
  if (b->dtype != a->dtype) return ctx.error("A and B must have one dtype");
  for (int i : {2, 5, 7})
    if (const Type* z = ctx.inputType(i); z && z->dtype != a->dtype) return ctx.error(str("zero point ", i, " must have A's dtype"));
  Shape out;
  if (Status s = broadcastShapes({a->shape, b->shape}, &out); !s.ok()) return ctx.error(s.message());
  ctx.setOutput(0, Type::tensor(a->dtype, std::move(out)));
  return Status::success();
}
Status inferQLinearAdd(InferContext& ctx) { return inferQLinearBinary(ctx); }
Status inferQLinearMul(InferContext& ctx) { return inferQLinearBinary(ctx); }

Status inferMatMulNBits(InferContext& ctx) {
  const Type *a, *b, *scales;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &a));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 1, &b));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 2, &scales));
  const int64_t k = ctx.op().getInt("K", 0), n = ctx.op().getInt("N", 0), bits = ctx.op().getInt("bits", 4),
                block = ctx.op().getInt("block_size", 0);
  if (k <= 0 || n <= 0) return ctx.error(str("K and N must be positive (K=", k, ", N=", n, ")"));
  if (bits != 4 && bits != 8) return ctx.error(str("bits=", bits, " is not supported (4 and 8 are)"));
  if (block < 16 || (block & (block - 1)) != 0)
    return ctx.error(str("block_size ", block, " must be a power of two of at least 16"));
  if (!isFloat(a->dtype)) return ctx.error(str("A must be floating point, not ", dtypeName(a->dtype)));
  if (b->dtype != DType::U8) return ctx.error(str("B must be u8, not ", dtypeName(b->dtype)));
  if (scales->dtype != a->dtype) return ctx.error("scales must have A's dtype");
  const int64_t blocks = (k + block - 1) / block;
  if (b->shape.ranked) {
    const Shape want = Shape::of({n, blocks, block * bits / 8});
    if (b->shape.rank() != 3) return ctx.error(str("B must be 3-D [N, blocks, blob] = ", want.toString()));
    for (int i = 0; i < 3; ++i) {
      const Dim& d = b->shape.dims[static_cast<size_t>(i)];
      if (d.isStatic() && d.value != want.dims[static_cast<size_t>(i)].value)
        return ctx.error(str("B is ", b->shape.toString(), " but K=", k, ", N=", n, ", bits=", bits, ", block_size=", block,
                             " need ", want.toString()));
    }
  }
  if (scales->shape.isStatic() && scales->shape.numElements() != n * blocks)
    return ctx.error(str("scales has ", scales->shape.numElements(), " elements, not N * blocks = ", n * blocks));
  if (ctx.inputType(4)) return ctx.error("g_idx (act-order quantization) is not supported");
  if (!a->shape.ranked) {
    ctx.setOutput(0, Type::tensor(a->dtype, Shape::unranked()));
    return Status::success();
  }
  if (a->shape.rank() < 1) return ctx.error("A must have at least one dim");
  std::vector<Dim> dims = a->shape.dims;
  if (dims.back().isStatic() && dims.back().value != k)
    return ctx.error(str("A's last dim is ", dims.back().value, " but K is ", k));
  dims.back() = Dim::of(n);
  ctx.setOutput(0, Type::tensor(a->dtype, Shape(std::move(dims))));
  return Status::success();
}

Status inferGemm(InferContext& ctx) {
  const Type *a, *b;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &a));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 1, &b));
  if (a->dtype != b->dtype) return ctx.error(str("A is ", dtypeName(a->dtype), " but B is ", dtypeName(b->dtype)));
  if (!a->shape.ranked || !b->shape.ranked) {
    ctx.setOutput(0, Type::tensor(a->dtype, Shape(std::vector<Dim>(2, Dim::unknown()))));
    return Status::success();
  }
  if (a->shape.rank() != 2 || b->shape.rank() != 2) return ctx.error("A and B must be 2-D");
  bool ta = ctx.op().getInt("transA", 0) != 0, tb = ctx.op().getInt("transB", 0) != 0;
  const auto& ad = a->shape.dims;
  const auto& bd = b->shape.dims;
  Dim m = ad[ta ? 1 : 0], k = ad[ta ? 0 : 1], kb = bd[tb ? 1 : 0], n = bd[tb ? 0 : 1];
  if (k.isStatic() && kb.isStatic() && k.value != kb.value)
    return ctx.error(str("inner dimensions differ: ", k.value, " vs ", kb.value));
  Shape out(std::vector<Dim>{m, n});
  if (const Type* c = ctx.inputType(2)) {
    Shape bc;
    Status s = broadcastShapes({c->shape, out}, &bc);
    if (!s.ok() || (bc.ranked && bc.rank() != 2)) return ctx.error(str("C ", c->shape.toString(), " does not broadcast to ", out.toString()));
  }
  ctx.setOutput(0, Type::tensor(a->dtype, std::move(out)));
  return Status::success();
}

Status inferQuantizeLinear(InferContext& ctx) {
  const Type *x, *scale;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 1, &scale));
  DType out = DType::U8;
  if (const Type* zp = ctx.inputType(2)) out = zp->dtype;
  ctx.setOutput(0, Type::tensor(out, x->shape));
  return Status::success();
}

Status inferDequantizeLinear(InferContext& ctx) {
  const Type *x, *scale;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 1, &scale));
  if (!isFloat(scale->dtype)) return ctx.error("scale must be floating point");
  ctx.setOutput(0, Type::tensor(scale->dtype, x->shape));
  return Status::success();
}

Status inferDynamicQuantizeLinear(InferContext& ctx) {
  const Type* x;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  if (x->dtype != DType::F32) return ctx.error("input must be f32");
  ctx.setOutput(0, Type::tensor(DType::U8, x->shape));
  ctx.setOutput(1, Type::tensor(DType::F32, Shape()));
  ctx.setOutput(2, Type::tensor(DType::U8, Shape()));
  return Status::success();
}

Status inferDet(InferContext& ctx) {
  const Type* x;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  if (!x->shape.ranked) {
    ctx.setOutput(0, Type::tensor(x->dtype));
    return Status::success();
  }
  if (x->shape.rank() < 2) return ctx.error("input must be [*, M, M]");
  ctx.setOutput(0, Type::tensor(x->dtype, Shape(std::vector<Dim>(x->shape.dims.begin(), x->shape.dims.end() - 2))));
  return Status::success();
}

Status inferEyeLike(InferContext& ctx) {
  const Type* x;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  if (x->shape.ranked && x->shape.rank() != 2) return ctx.error("input must be 2-D");
  DType dt;
  DLC_RETURN_IF_ERROR(dtypeAttr(ctx, "dtype", x->dtype, &dt));
  ctx.setOutput(0, Type::tensor(dt, x->shape));
  return Status::success();
}

Status inferRange(InferContext& ctx) {
  const Type* s;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &s));
  const Tensor *st = ctx.constantInput(0), *li = ctx.constantInput(1), *de = ctx.constantInput(2);
  Dim n = Dim::unknown();
  if (st && li && de && st->numel() == 1 && li->numel() == 1 && de->numel() == 1 && s->dtype != DType::String) {
    double d = de->getDouble(0);
    if (d == 0) return ctx.error("delta must not be zero");
    n = Dim::of(std::max<int64_t>(0, static_cast<int64_t>(std::ceil((li->getDouble(0) - st->getDouble(0)) / d))));
  } else if (st && de && st->numel() == 1 && de->numel() == 1 && st->getDouble(0) == 0 && de->getDouble(0) == 1) {
    // Range(0, y.size(i), 1) (torch's arange(x.shape[1]), positions) has y's dim i elements.
    n = util::dimOfScalar(ctx.op().operand(1));
  }
  ctx.setOutput(0, Type::tensor(s->dtype, Shape(std::vector<Dim>{n})));
  return Status::success();
}

Status inferBernoulli(InferContext& ctx) {
  const Type* x;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  DType dt;
  DLC_RETURN_IF_ERROR(dtypeAttr(ctx, "dtype", x->dtype, &dt));
  ctx.setOutput(0, Type::tensor(dt, x->shape));
  return Status::success();
}

Status inferMultinomial(InferContext& ctx) {
  const Type* x;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  DType dt;
  DLC_RETURN_IF_ERROR(dtypeAttr(ctx, "dtype", DType::I32, &dt));
  if (dt != DType::I32 && dt != DType::I64) return ctx.error("dtype must be int32 or int64");
  Dim batch = x->shape.ranked && x->shape.rank() == 2 ? x->shape.dims[0] : Dim::unknown();
  if (x->shape.ranked && x->shape.rank() != 2) return ctx.error("input must be [batch, classes]");
  ctx.setOutput(0, Type::tensor(dt, Shape(std::vector<Dim>{batch, Dim::of(ctx.op().getInt("sample_size", 1))})));
  return Status::success();
}

namespace {
Status randomRule(InferContext& ctx, bool like) {
  DType dt;
  if (like) {
    const Type* x;
    DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
    DLC_RETURN_IF_ERROR(dtypeAttr(ctx, "dtype", x->dtype, &dt));
    if (!isFloat(dt)) return ctx.error("output dtype must be floating point");
    ctx.setOutput(0, Type::tensor(dt, x->shape));
    return Status::success();
  }
  DLC_RETURN_IF_ERROR(dtypeAttr(ctx, "dtype", DType::F32, &dt));
  if (!isFloat(dt)) return ctx.error("output dtype must be floating point");
  ctx.setOutput(0, Type::tensor(dt, Shape::of(ctx.op().getInts("shape"))));
  return Status::success();
}
}  // namespace
Status inferRandomNormal(InferContext& ctx) { return randomRule(ctx, false); }
Status inferRandomUniform(InferContext& ctx) { return randomRule(ctx, false); }
Status inferRandomNormalLike(InferContext& ctx) { return randomRule(ctx, true); }
Status inferRandomUniformLike(InferContext& ctx) { return randomRule(ctx, true); }

}  // namespace dlc::infer
