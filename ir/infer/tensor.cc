// Shape and type inference for the shape/layout tensor ops (the indexing ones are in
// tensor_indexing.cc). Constant inputs give exact shapes; symbolic dims flow through unchanged.
#include <algorithm>
#include <limits>
#include <optional>

#include "ir/constant_value.h"
#include "ir/index_ranges.h"
#include "ir/infer/infer.h"
#include "ir/infer/tensor_util.h"

namespace dlc::infer {
using util::constInts;
using util::dimProduct;
using util::staticLength;
using util::tensorInput;
using util::unknownDims;

namespace {
// Normalises `axes` for `rank`, rejecting out-of-range and repeated entries.
Status markAxes(InferContext& ctx, const std::vector<int64_t>& axes, int rank, std::vector<bool>* marked) {
  marked->assign(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    int n;
    Status s = normalizeAxis(a, rank, &n);
    if (!s.ok() || rank == 0) return ctx.error(str("axis ", a, " is out of range for rank ", rank));
    if ((*marked)[static_cast<size_t>(n)]) return ctx.error(str("axis ", a, " is repeated"));
    (*marked)[static_cast<size_t>(n)] = true;
  }
  return Status::success();
}

Status axisOf(InferContext& ctx, int64_t axis, int rank, int* out) {
  Status s = normalizeAxis(axis, rank, out);
  if (!s.ok() || rank == 0) return ctx.error(str("axis ", axis, " is out of range for rank ", rank));
  return Status::success();
}
}  // namespace

Status inferConstant(InferContext& ctx) {
  auto value = constantOpValue(ctx.op());
  if (!value.ok()) return ctx.error(value.status().message());
  ctx.setOutput(0, Type::tensor(value->dtype(), Shape::of(value->shape())));
  return Status::success();
}

// Reshape's -1 entry: cancels the symbols the input and the other entries share and divides the
// static rest, so [N,128,768] -> [N,-1] gives 98304 and [N,768] -> [-1,768] gives N; anything it
// cannot prove (e.g. [N,128,768] -> [-1,768], which is N*128) stays unknown.
static Dim inferMinusOne(const Shape& in, const std::vector<Dim>& known) {
  std::vector<Dim> rest = in.dims;
  int64_t in_static = 1, out_static = 1;
  std::vector<Dim> out_syms;
  for (const Dim& d : known) {
    if (d.isStatic()) {
      if (__builtin_mul_overflow(out_static, d.value, &out_static)) return Dim::unknown();  // no real shape
      continue;
    }
    auto it = std::find(rest.begin(), rest.end(), d);
    if (d.isSymbolic() && it != rest.end())
      rest.erase(it);
    else
      out_syms.push_back(d);
  }
  std::vector<Dim> in_syms;
  for (const Dim& d : rest) {
    if (d.isStatic()) {
      if (__builtin_mul_overflow(in_static, d.value, &in_static)) return Dim::unknown();
    } else {
      in_syms.push_back(d);
    }
  }
  if (!out_syms.empty() || out_static == 0 || in_static % out_static != 0) return Dim::unknown();
  int64_t ratio = in_static / out_static;
  if (in_syms.empty()) return Dim::of(ratio);
  if (in_syms.size() == 1 && ratio == 1) return in_syms[0];
  return Dim::unknown();
}

// One entry of a Reshape target computed at run time: a raw constant entry (0 and -1 keep their
// meaning), or the run-time value of a dim of another value's type.
struct TargetEntry {
  bool raw = false;
  int64_t value = 0;
  Dim dim;
};

// The integer elements of a Constant op's value.
static std::optional<std::vector<int64_t>> constantEntries(const Value* v) {
  const Op* def = v ? v->definingOp() : nullptr;
  if (!def || def->kind() != OpKind::Constant) return std::nullopt;
  auto t = constantOpValue(*def);
  if (!t.ok() || !t->defined() || t->dtype() == DType::String || isFloat(t->dtype())) return std::nullopt;
  return t->toInt64Vector();
}

}  // namespace dlc::infer

namespace dlc::infer::util {

Dim dimOfScalar(const Value* v) {
  const Op* def = v ? v->definingOp() : nullptr;
  if (def && def->kind() == OpKind::Unsqueeze) def = def->operand(0) ? def->operand(0)->definingOp() : nullptr;
  if (!def || def->kind() != OpKind::Gather || def->getInt("axis", 0) != 0) return Dim::unknown();
  const Op* sh = def->operand(0) ? def->operand(0)->definingOp() : nullptr;
  auto idx = constantEntries(def->operand(1));
  if (!sh || sh->kind() != OpKind::Shape || sh->hasAttr("start") || sh->hasAttr("end") || !idx || idx->size() != 1 ||
      !sh->operand(0) || !sh->operand(0)->type().isTensor() || !sh->operand(0)->type().shape.ranked)
    return Dim::unknown();
  const Shape& ys = sh->operand(0)->type().shape;
  const int64_t i = (*idx)[0], r = ys.rank();
  return i >= -r && i < r ? ys.dims[static_cast<size_t>(i < 0 ? i + r : i)] : Dim::unknown();
}

std::optional<std::vector<Dim>> dimsOfShapeValue(const Value* v) {
  const Op* def = v ? v->definingOp() : nullptr;
  if (!def) return std::nullopt;
  if (def->kind() == OpKind::Shape && def->getInt("start", 0) == 0 && !def->hasAttr("end") && def->operand(0) &&
      def->operand(0)->type().isTensor() && def->operand(0)->type().shape.ranked)
    return def->operand(0)->type().shape.dims;
  if (def->kind() != OpKind::Concat) return std::nullopt;
  std::vector<Dim> dims;
  for (const Value* part : def->operands()) {
    if (auto c = constantEntries(part)) {
      for (int64_t e : *c) dims.push_back(e >= 0 ? Dim::of(e) : Dim::unknown());
      continue;
    }
    const Type& pt = part ? part->type() : Type();
    if (!part || !pt.isTensor() || !pt.shape.ranked || pt.shape.rank() > 1 ||
        (pt.shape.rank() == 1 && !(pt.shape.dims[0].isStatic() && pt.shape.dims[0].value == 1)))
      return std::nullopt;
    dims.push_back(dimOfScalar(part));
  }
  return dims;
}

}  // namespace dlc::infer::util

namespace dlc::infer {

// Evaluates a target written as Concat of constants and Unsqueeze(Gather(Shape(y), i)) (torch's
// `x.view(y.size(0), y.size(1), -1)`): those entries are y's dims, symbolic ones included. An entry
// computed otherwise (a product, say) is an unknown dim; nullopt when the target is not a Concat
// of one-element parts.
static std::optional<std::vector<TargetEntry>> computedTarget(const Value* shape) {
  const Op* cat = shape ? shape->definingOp() : nullptr;
  if (!cat || cat->kind() != OpKind::Concat) return std::nullopt;
  std::vector<TargetEntry> entries;
  for (const Value* part : cat->operands()) {
    if (auto c = constantEntries(part)) {
      for (int64_t v : *c) entries.push_back({true, v, Dim::unknown()});
      continue;
    }
    const Type& pt = part ? part->type() : Type();
    const bool one = part && pt.isTensor() && pt.shape.ranked &&
                     (pt.shape.rank() == 0 || (pt.shape.rank() == 1 && pt.shape.dims[0].isStatic() && pt.shape.dims[0].value == 1));
    if (!one) return std::nullopt;
    TargetEntry e;
    e.dim = util::dimOfScalar(part);
    entries.push_back(e);
  }
  return entries;
}

Status inferReshape(InferContext& ctx) {
  const Type* x = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  std::vector<int64_t> target;
  std::vector<TargetEntry> computed;
  if (constInts(ctx, 1, &target)) {
    for (int64_t v : target) computed.push_back({true, v, Dim::unknown()});
  } else if (auto c = computedTarget(ctx.op().operand(1))) {
    computed = *c;
  } else {
    // Reshape(x, Shape(y)) gives x y's shape, symbolic dims included (exporters and the builder's
    // reshapeLike write it to undo a reshape).
    const Value* shape = ctx.op().operand(1);
    const Op* def = shape ? shape->definingOp() : nullptr;
    if (def && def->kind() == OpKind::Shape && def->getInt("start", 0) == 0 && !def->hasAttr("end") && def->operand(0) &&
        def->operand(0)->type().isTensor() && def->operand(0)->type().shape.ranked) {
      ctx.setOutput(0, Type::tensor(x->dtype, def->operand(0)->type().shape));
      return Status::success();
    }
    int64_t n = staticLength(ctx, 1);
    ctx.setOutput(0, Type::tensor(x->dtype, n >= 0 ? unknownDims(static_cast<int>(n)) : Shape::unranked()));
    return Status::success();
  }
  bool allow_zero = ctx.op().getInt("allowzero") != 0;
  std::vector<Dim> dims;
  int minus_one = -1;
  bool all_raw = true;
  for (size_t i = 0; i < computed.size(); ++i) {
    if (!computed[i].raw) {  // a run-time dim (a 0 there would copy x's dim: only when allowzero=0
      all_raw = false;       // and a dim is 0, which no inferred type can rule out; taken as the dim)
      dims.push_back(computed[i].dim);
      continue;
    }
    int64_t v = computed[i].value;
    if (v == 0 && !allow_zero) {
      if (x->shape.ranked && static_cast<int>(i) >= x->shape.rank())
        return ctx.error(str("shape entry ", i, " is 0 (copy) but the input has rank ", x->shape.rank()));
      dims.push_back(x->shape.ranked ? x->shape.dims[i] : Dim::unknown());
    } else if (v == -1) {
      if (minus_one >= 0) return ctx.error("shape has more than one -1");
      minus_one = static_cast<int>(i);
      dims.push_back(Dim::unknown());
    } else if (v < 0) {
      return ctx.error(str("shape entry ", i, " is ", v));
    } else {
      dims.push_back(Dim::of(v));
    }
  }
  if (x->shape.ranked) {
    std::vector<Dim> known = dims;
    if (minus_one >= 0) known.erase(known.begin() + minus_one);
    if (minus_one >= 0) {
      dims[static_cast<size_t>(minus_one)] = inferMinusOne(x->shape, known);
    } else if (x->shape.isStatic() && all_raw) {
      Dim n = dimProduct(dims);
      if (n.isStatic() && n.value != x->shape.numElements())
        return ctx.error(str("cannot reshape ", x->shape.toString(), " to ", Shape(dims).toString()));
    }
  }
  ctx.setOutput(0, Type::tensor(x->dtype, Shape(dims)));
  return Status::success();
}

Status inferFlatten(InferContext& ctx) {
  const Type* x = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  if (!x->shape.ranked) {
    ctx.setOutput(0, Type::tensor(x->dtype, unknownDims(2)));
    return Status::success();
  }
  int r = x->shape.rank();
  int64_t axis = ctx.op().getInt("axis", 1);
  if (axis < -r || axis > r) return ctx.error(str("axis ", axis, " is out of range for rank ", r));
  if (axis < 0) axis += r;
  std::vector<Dim> outer(x->shape.dims.begin(), x->shape.dims.begin() + axis);
  std::vector<Dim> inner(x->shape.dims.begin() + axis, x->shape.dims.end());
  ctx.setOutput(0, Type::tensor(x->dtype, Shape({dimProduct(outer), dimProduct(inner)})));
  return Status::success();
}

Status inferSqueeze(InferContext& ctx) {
  const Type* x = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  std::vector<int64_t> axes;
  bool has_axes = ctx.hasInput(1);
  if (!x->shape.ranked || (has_axes && !constInts(ctx, 1, &axes))) {
    ctx.setOutput(0, Type::tensor(x->dtype, Shape::unranked()));
    return Status::success();
  }
  Shape out;
  if (has_axes) {
    std::vector<bool> marked;
    DLC_RETURN_IF_ERROR(markAxes(ctx, axes, x->shape.rank(), &marked));
    for (int d = 0; d < x->shape.rank(); ++d) {
      const Dim& dim = x->shape.dims[static_cast<size_t>(d)];
      if (!marked[static_cast<size_t>(d)]) out.dims.push_back(dim);
      else if (dim.isStatic() && dim.value != 1) return ctx.error(str("cannot squeeze dim ", d, " of size ", dim.value));
    }
  } else {
    for (const Dim& d : x->shape.dims) {
      if (!d.isStatic()) {  // might be 1 at run time: the rank is unknown
        out = Shape::unranked();
        break;
      }
      if (d.value != 1) out.dims.push_back(d);
    }
  }
  ctx.setOutput(0, Type::tensor(x->dtype, out));
  return Status::success();
}

Status inferUnsqueeze(InferContext& ctx) {
  const Type* x = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  std::vector<int64_t> axes;
  if (!x->shape.ranked || !constInts(ctx, 1, &axes)) {
    int64_t n = staticLength(ctx, 1);
    Shape s = x->shape.ranked && n >= 0 ? unknownDims(x->shape.rank() + static_cast<int>(n)) : Shape::unranked();
    ctx.setOutput(0, Type::tensor(x->dtype, s));
    return Status::success();
  }
  int out_rank = x->shape.rank() + static_cast<int>(axes.size());
  std::vector<bool> marked;
  DLC_RETURN_IF_ERROR(markAxes(ctx, axes, out_rank, &marked));
  Shape out;
  size_t next = 0;
  for (int d = 0; d < out_rank; ++d) out.dims.push_back(marked[static_cast<size_t>(d)] ? Dim::of(1) : x->shape.dims[next++]);
  ctx.setOutput(0, Type::tensor(x->dtype, out));
  return Status::success();
}

Status inferTranspose(InferContext& ctx) {
  const Type* x = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  std::vector<int64_t> perm = ctx.op().getInts("perm");
  if (!x->shape.ranked) {
    ctx.setOutput(0, Type::tensor(x->dtype, ctx.op().hasAttr("perm") ? unknownDims(static_cast<int>(perm.size()))
                                                                      : Shape::unranked()));
    return Status::success();
  }
  int r = x->shape.rank();
  if (!ctx.op().hasAttr("perm"))
    for (int d = r - 1; d >= 0; --d) perm.push_back(d);
  if (static_cast<int>(perm.size()) != r) return ctx.error(str("perm has ", perm.size(), " entries for rank ", r));
  std::vector<bool> seen(static_cast<size_t>(r), false);
  Shape out;
  for (int64_t p : perm) {
    if (p < 0 || p >= r || seen[static_cast<size_t>(p)]) return ctx.error("perm is not a permutation");
    seen[static_cast<size_t>(p)] = true;
    out.dims.push_back(x->shape.dims[static_cast<size_t>(p)]);
  }
  ctx.setOutput(0, Type::tensor(x->dtype, out));
  return Status::success();
}

Status inferConcat(InferContext& ctx) {
  const Type* first = nullptr;
  Shape out = Shape::unranked();
  std::vector<Dim> axis_dims;
  int axis = -1;
  for (int i = 0; i < ctx.numInputs(); ++i) {
    const Type* t = nullptr;
    DLC_RETURN_IF_ERROR(tensorInput(ctx, i, &t));
    if (first && t->dtype != first->dtype)
      return ctx.error(str("input ", i, " has dtype ", dtypeName(t->dtype), ", expected ", dtypeName(first->dtype)));
    if (!first) first = t;
    if (!t->shape.ranked) continue;
    if (axis < 0) {
      DLC_RETURN_IF_ERROR(axisOf(ctx, ctx.op().getInt("axis"), t->shape.rank(), &axis));
      out = t->shape;
    } else if (t->shape.rank() != out.rank()) {
      return ctx.error(str("input ", i, " has rank ", t->shape.rank(), ", expected ", out.rank()));
    }
    for (int d = 0; d < out.rank(); ++d) {
      if (d == axis) continue;
      Dim& o = out.dims[static_cast<size_t>(d)];
      if (!util::unifyDim(o, t->shape.dims[static_cast<size_t>(d)], &o))
        return ctx.error(str("input ", i, " has size ", t->shape.dims[static_cast<size_t>(d)].value, " in dim ", d,
                             ", expected ", o.value));
    }
    axis_dims.push_back(t->shape.dims[static_cast<size_t>(axis)]);
  }
  if (out.ranked) {
    bool all_ranked = static_cast<int>(axis_dims.size()) == ctx.numInputs();
    Dim sum = Dim::of(0);
    for (const Dim& d : axis_dims) sum = d.isStatic() && sum.isStatic() ? Dim::of(sum.value + d.value) : Dim::unknown();
    if (axis_dims.size() == 1) sum = axis_dims[0];
    out.dims[static_cast<size_t>(axis)] = all_ranked ? sum : Dim::unknown();
  }
  ctx.setOutput(0, Type::tensor(first->dtype, out));
  return Status::success();
}

Status inferSplit(InferContext& ctx) {
  const Type* x = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  const int n = ctx.numOutputs();
  if (!x->shape.ranked) {
    for (int i = 0; i < n; ++i) ctx.setOutput(i, Type::tensor(x->dtype, Shape::unranked()));
    return Status::success();
  }
  int axis;
  DLC_RETURN_IF_ERROR(axisOf(ctx, ctx.op().getInt("axis"), x->shape.rank(), &axis));
  const Dim& dim = x->shape.dims[static_cast<size_t>(axis)];
  std::vector<Dim> sizes(static_cast<size_t>(n), Dim::unknown());
  std::vector<int64_t> split;
  if (ctx.hasInput(1)) {
    if (constInts(ctx, 1, &split)) {
      if (static_cast<int>(split.size()) != n) return ctx.error(str("split has ", split.size(), " entries for ", n, " outputs"));
      int64_t sum = 0;
      for (size_t i = 0; i < split.size(); ++i) {
        sizes[i] = Dim::of(split[i]);
        sum += split[i];
      }
      if (dim.isStatic() && sum != dim.value) return ctx.error(str("split sizes sum to ", sum, ", but the dim is ", dim.value));
    }
  } else if (dim.isStatic()) {
    int64_t chunk = (dim.value + n - 1) / n;
    for (int i = 0; i < n; ++i) sizes[static_cast<size_t>(i)] = Dim::of(std::max<int64_t>(0, std::min(chunk, dim.value - i * chunk)));
  } else if (n == 1) {
    sizes[0] = dim;
  }
  for (int i = 0; i < n; ++i) {
    Shape s = x->shape;
    s.dims[static_cast<size_t>(axis)] = sizes[static_cast<size_t>(i)];
    ctx.setOutput(i, Type::tensor(x->dtype, s));
  }
  return Status::success();
}

Status inferSlice(InferContext& ctx) {
  const Type* x = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  if (!x->shape.ranked) {
    ctx.setOutput(0, Type::tensor(x->dtype, Shape::unranked()));
    return Status::success();
  }
  const int r = x->shape.rank();
  std::vector<int64_t> starts, ends, axes, steps;
  bool have_se = constInts(ctx, 1, &starts) && constInts(ctx, 2, &ends);
  bool have_axes = !ctx.hasInput(3) || constInts(ctx, 3, &axes);
  bool have_steps = !ctx.hasInput(4) || constInts(ctx, 4, &steps);
  if (!have_axes) {  // which dims change is unknown
    ctx.setOutput(0, Type::tensor(x->dtype, unknownDims(r)));
    return Status::success();
  }
  int64_t n = have_se ? static_cast<int64_t>(starts.size()) : (ctx.hasInput(3) ? static_cast<int64_t>(axes.size()) : staticLength(ctx, 1));
  if (n < 0) {
    ctx.setOutput(0, Type::tensor(x->dtype, unknownDims(r)));
    return Status::success();
  }
  if (!ctx.hasInput(3))
    for (int64_t i = 0; i < n; ++i) axes.push_back(i);
  if (have_se && ends.size() != starts.size()) return ctx.error("starts and ends differ in length");
  if (static_cast<int64_t>(axes.size()) != n || (have_steps && ctx.hasInput(4) && static_cast<int64_t>(steps.size()) != n))
    return ctx.error("axes/steps differ in length from starts");
  std::vector<bool> marked;
  DLC_RETURN_IF_ERROR(markAxes(ctx, axes, r, &marked));
  Shape out = x->shape;
  for (int64_t i = 0; i < n; ++i) {
    int a;
    (void)normalizeAxis(axes[static_cast<size_t>(i)], r, &a);
    Dim& d = out.dims[static_cast<size_t>(a)];
    int64_t step = have_steps && ctx.hasInput(4) ? steps[static_cast<size_t>(i)] : 1;
    if (!have_steps || !have_se) {
      d = Dim::unknown();
      continue;
    }
    if (step == 0) return ctx.error("step must not be 0");
    int64_t start = starts[static_cast<size_t>(i)], end = ends[static_cast<size_t>(i)];
    if (!d.isStatic()) {
      // The whole dim (start 0, end at or past the end, step 1) keeps even a symbolic size.
      bool whole = step == 1 && start == 0 && end >= std::numeric_limits<int32_t>::max();
      if (!whole) d = Dim::unknown();
      continue;
    }
    d = Dim::of(sliceRange(start, end, step, d.value).count);
  }
  ctx.setOutput(0, Type::tensor(x->dtype, out));
  return Status::success();
}

Status inferShape(InferContext& ctx) {
  const Type* x = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  if (!x->shape.ranked) {
    ctx.setOutput(0, Type::tensor(DType::I64, unknownDims(1)));
    return Status::success();
  }
  int64_t r = x->shape.rank();
  auto [start, end] = shapeRange(ctx.op().getInt("start", 0), ctx.op().hasAttr("end") ? ctx.op().getInt("end") : r, r);
  ctx.setOutput(0, Type::tensor(DType::I64, Shape::of({std::max<int64_t>(0, end - start)})));
  return Status::success();
}

Status inferSize(InferContext& ctx) {
  const Type* x = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  ctx.setOutput(0, Type::tensor(DType::I64, Shape()));
  return Status::success();
}

Status inferExpand(InferContext& ctx) {
  const Type* x = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  std::vector<int64_t> target;
  if (!constInts(ctx, 1, &target)) {
    // Expand(x, Shape(y)) broadcasts x with y's shape, symbolic dims included (expandLike).
    const Value* shape = ctx.op().operand(1);
    const Op* def = shape ? shape->definingOp() : nullptr;
    if (def && def->kind() == OpKind::Shape && def->getInt("start", 0) == 0 && !def->hasAttr("end") && def->operand(0) &&
        def->operand(0)->type().isTensor() && def->operand(0)->type().shape.ranked) {
      Shape out;
      if (broadcastShapes({x->shape, def->operand(0)->type().shape}, &out).ok()) {
        ctx.setOutput(0, Type::tensor(x->dtype, out));
        return Status::success();
      }
    }
    int64_t n = staticLength(ctx, 1);
    Shape s = n >= 0 && x->shape.ranked ? unknownDims(std::max(static_cast<int>(n), x->shape.rank())) : Shape::unranked();
    ctx.setOutput(0, Type::tensor(x->dtype, s));
    return Status::success();
  }
  Shape out;
  Status s = broadcastShapes({x->shape, Shape::of(target)}, &out);
  if (!s.ok()) return ctx.error(s.message());
  ctx.setOutput(0, Type::tensor(x->dtype, out));
  return Status::success();
}

Status inferConstantOfShape(InferContext& ctx) {
  DType dt = DType::F32;
  if (ctx.op().hasAttr("value")) {
    const Tensor& v = ctx.op().attr("value")->t;
    if (v.numel() != 1) return ctx.error("value must hold exactly one element");
    dt = v.dtype();
  }
  std::vector<int64_t> shape;
  if (constInts(ctx, 0, &shape)) {
    for (int64_t d : shape)
      if (d < 0) return ctx.error(str("shape entry ", d, " is negative"));
    ctx.setOutput(0, Type::tensor(dt, Shape::of(shape)));
  } else if (auto dims = util::dimsOfShapeValue(ctx.op().operand(0))) {
    // ConstantOfShape(Shape(y)) (torch's zeros_like) has y's shape, symbolic dims included.
    ctx.setOutput(0, Type::tensor(dt, Shape(*dims)));
  } else {
    int64_t n = staticLength(ctx, 0);
    ctx.setOutput(0, Type::tensor(dt, n >= 0 ? unknownDims(static_cast<int>(n)) : Shape::unranked()));
  }
  return Status::success();
}

Status inferPad(InferContext& ctx) {
  const Type* x = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  std::string mode = ctx.op().getString("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
    return ctx.error(str("unknown mode '", mode, "'"));
  std::vector<int64_t> pads;
  if (!x->shape.ranked || !constInts(ctx, 1, &pads)) {
    ctx.setOutput(0, Type::tensor(x->dtype, x->shape.ranked ? unknownDims(x->shape.rank()) : Shape::unranked()));
    return Status::success();
  }
  const int r = x->shape.rank();
  if (static_cast<int>(pads.size()) != 2 * r) return ctx.error(str("pads has ", pads.size(), " entries, expected ", 2 * r));
  Shape out = x->shape;
  for (int d = 0; d < r; ++d) {
    int64_t extra = pads[static_cast<size_t>(d)] + pads[static_cast<size_t>(d + r)];
    Dim& dim = out.dims[static_cast<size_t>(d)];
    if (dim.isStatic()) {
      if (dim.value + extra < 0) return ctx.error(str("pads remove more than dim ", d, " holds"));
      dim = Dim::of(dim.value + extra);
    } else if (extra != 0) {
      dim = Dim::unknown();
    }
  }
  ctx.setOutput(0, Type::tensor(x->dtype, out));
  return Status::success();
}

Status inferTile(InferContext& ctx) {
  const Type* x = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  std::vector<int64_t> reps;
  if (!x->shape.ranked || !constInts(ctx, 1, &reps)) {
    ctx.setOutput(0, Type::tensor(x->dtype, x->shape.ranked ? unknownDims(x->shape.rank()) : Shape::unranked()));
    return Status::success();
  }
  if (static_cast<int>(reps.size()) != x->shape.rank())
    return ctx.error(str("repeats has ", reps.size(), " entries for rank ", x->shape.rank()));
  Shape out = x->shape;
  for (size_t d = 0; d < reps.size(); ++d) {
    if (reps[d] < 0) return ctx.error(str("repeat ", reps[d], " is negative"));
    Dim& dim = out.dims[d];
    if (dim.isStatic()) dim = Dim::of(dim.value * reps[d]);
    else if (reps[d] != 1) dim = reps[d] == 0 ? Dim::of(0) : Dim::unknown();
  }
  ctx.setOutput(0, Type::tensor(x->dtype, out));
  return Status::success();
}

static Status blockRearrange(InferContext& ctx, bool to_space) {
  const Type* x = nullptr;
  DLC_RETURN_IF_ERROR(tensorInput(ctx, 0, &x));
  int64_t b = ctx.op().getInt("blocksize");
  if (b <= 0) return ctx.error("blocksize must be positive");
  if (!x->shape.ranked) {
    ctx.setOutput(0, Type::tensor(x->dtype, unknownDims(4)));
    return Status::success();
  }
  if (x->shape.rank() != 4) return ctx.error(str("input must have rank 4, got ", x->shape.rank()));
  std::vector<Dim> d = x->shape.dims;
  auto scale = [](const Dim& v, int64_t mul, int64_t div) {
    return v.isStatic() ? Dim::of(v.value * mul / div) : Dim::unknown();
  };
  if (to_space) {
    if (d[1].isStatic() && d[1].value % (b * b) != 0) return ctx.error("channels are not divisible by blocksize^2");
    d = {d[0], scale(d[1], 1, b * b), scale(d[2], b, 1), scale(d[3], b, 1)};
  } else {
    if ((d[2].isStatic() && d[2].value % b != 0) || (d[3].isStatic() && d[3].value % b != 0))
      return ctx.error("height and width must be divisible by blocksize");
    d = {d[0], scale(d[1], b * b, 1), scale(d[2], 1, b), scale(d[3], 1, b)};
  }
  ctx.setOutput(0, Type::tensor(x->dtype, Shape(d)));
  return Status::success();
}
Status inferDepthToSpace(InferContext& ctx) { return blockRearrange(ctx, true); }
Status inferSpaceToDepth(InferContext& ctx) { return blockRearrange(ctx, false); }

}  // namespace dlc::infer
