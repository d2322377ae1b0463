// Reference kernels for ops that reshape or rearrange whole tensors: Constant, Reshape, Flatten,
// Squeeze, Unsqueeze, Transpose, Concat, Split, Slice, Shape, Size, Expand, ConstantOfShape,
// DepthToSpace, SpaceToDepth.
#include <algorithm>
#include <limits>

#include "backends/reference/kernels/layout.h"
#include "backends/reference/kernels/tensor_families.h"
#include "ir/constant_value.h"
#include "ir/index_ranges.h"

namespace dlc::ref {
namespace {
using layout::normAxis;
using layout::product;
using layout::rowMajorStrides;

Status kConstant(KernelContext& ctx) {
  // Constants are immutable: the output shares the attribute's storage.
  auto value = constantOpValue(ctx.op());
  if (!value.ok()) return ctx.error(value.status().message());
  ctx.setOutput(0, std::move(value).value());
  return Status::success();
}

Status kReshape(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> target = ctx.input(1).toInt64Vector();
  bool allow_zero = ctx.op().getInt("allowzero") != 0;
  int infer_at = -1;
  int64_t known = 1;
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t& v = target[i];
    if (v == 0 && !allow_zero) {
      if (static_cast<int>(i) >= x.rank())
        return ctx.error(str("shape entry ", i, " is 0 (copy) but the input has rank ", x.rank()));
      v = x.dim(static_cast<int>(i));
    }
    if (v == -1) {
      if (infer_at >= 0) return ctx.error("shape has more than one -1");
      infer_at = static_cast<int>(i);
    } else if (v < 0) {
      return ctx.error(str("shape entry ", i, " is ", v));
    } else if (__builtin_mul_overflow(known, v, &known)) {
      return ctx.error(str("shape ", Shape::of(target).toString(), " has more than 2^63 elements"));
    }
  }
  if (infer_at >= 0) {
    if (known == 0 || x.numel() % known != 0)
      return ctx.error(str("cannot infer the -1 dim: ", x.numel(), " elements into blocks of ", known));
    target[static_cast<size_t>(infer_at)] = x.numel() / known;
  }
  if (product(target) != x.numel())
    return ctx.error(str("cannot reshape ", x.numel(), " elements to ", Shape::of(target).toString()));
  ctx.setOutput(0, x.reshaped(std::move(target)));
  return Status::success();
}

Status kFlatten(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  int64_t axis = ctx.op().getInt("axis", 1);
  if (axis < -x.rank() || axis > x.rank()) return ctx.error(str("axis ", axis, " is out of range for rank ", x.rank()));
  if (axis < 0) axis += x.rank();
  int64_t outer = product(x.shape(), 0, static_cast<size_t>(axis));
  ctx.setOutput(0, x.reshaped({outer, product(x.shape(), static_cast<size_t>(axis))}));
  return Status::success();
}

// Normalises and checks a list of axes for a tensor of `rank`; rejects duplicates.
Status normAxes(KernelContext& ctx, std::vector<int64_t> axes, int rank, std::vector<bool>* marked) {
  marked->assign(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    int n;
    if (!normAxis(a, rank, &n)) return ctx.error(str("axis ", a, " is out of range for rank ", rank));
    if ((*marked)[static_cast<size_t>(n)]) return ctx.error(str("axis ", a, " is repeated"));
    (*marked)[static_cast<size_t>(n)] = true;
  }
  return Status::success();
}

Status kSqueeze(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> out;
  if (ctx.hasInput(1)) {
    std::vector<bool> marked;
    DLC_RETURN_IF_ERROR(normAxes(ctx, ctx.input(1).toInt64Vector(), x.rank(), &marked));
    for (int d = 0; d < x.rank(); ++d) {
      if (!marked[static_cast<size_t>(d)]) {
        out.push_back(x.dim(d));
      } else if (x.dim(d) != 1) {
        return ctx.error(str("cannot squeeze dim ", d, " of size ", x.dim(d)));
      }
    }
  } else {
    for (int64_t d : x.shape())
      if (d != 1) out.push_back(d);
  }
  ctx.setOutput(0, x.reshaped(std::move(out)));
  return Status::success();
}

Status kUnsqueeze(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> axes = ctx.input(1).toInt64Vector();
  int out_rank = x.rank() + static_cast<int>(axes.size());
  std::vector<bool> marked;
  DLC_RETURN_IF_ERROR(normAxes(ctx, axes, out_rank, &marked));
  std::vector<int64_t> out;
  size_t next = 0;
  for (int d = 0; d < out_rank; ++d) out.push_back(marked[static_cast<size_t>(d)] ? 1 : x.shape()[next++]);
  ctx.setOutput(0, x.reshaped(std::move(out)));
  return Status::success();
}

Status kTranspose(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> perm = ctx.op().getInts("perm");
  if (!ctx.op().hasAttr("perm"))
    for (int d = x.rank() - 1; d >= 0; --d) perm.push_back(d);
  if (static_cast<int>(perm.size()) != x.rank())
    return ctx.error(str("perm has ", perm.size(), " entries for an input of rank ", x.rank()));
  std::vector<bool> seen(perm.size(), false);
  std::vector<int64_t> strides = rowMajorStrides(x.shape()), out_shape, out_strides;
  for (int64_t p : perm) {
    if (p < 0 || p >= x.rank() || seen[static_cast<size_t>(p)]) return ctx.error("perm is not a permutation");
    seen[static_cast<size_t>(p)] = true;
    out_shape.push_back(x.dim(static_cast<int>(p)));
    out_strides.push_back(strides[static_cast<size_t>(p)]);
  }
  ctx.setOutput(0, layout::stridedCopy(x, 0, out_shape, out_strides));
  return Status::success();
}

Status kConcat(KernelContext& ctx) {
  std::vector<Tensor> parts;
  for (int i = 0; i < ctx.numInputs(); ++i)
    if (ctx.hasInput(i)) parts.push_back(ctx.input(i));
  if (parts.empty()) return ctx.error("needs at least one input");
  int axis;
  if (!normAxis(ctx.op().getInt("axis"), parts[0].rank(), &axis))
    return ctx.error(str("axis ", ctx.op().getInt("axis"), " is out of range for rank ", parts[0].rank()));
  Tensor out;
  std::string err;
  if (!layout::concat(parts, axis, &out, &err)) return ctx.error(err);
  ctx.setOutput(0, out);
  return Status::success();
}

Status kSplit(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  int axis;
  if (!normAxis(ctx.op().getInt("axis"), x.rank(), &axis))
    return ctx.error(str("axis ", ctx.op().getInt("axis"), " is out of range for rank ", x.rank()));
  int64_t dim = x.dim(axis);
  std::vector<int64_t> sizes;
  if (ctx.hasInput(1)) {
    sizes = ctx.input(1).toInt64Vector();
    if (static_cast<int>(sizes.size()) != ctx.numOutputs())
      return ctx.error(str("split has ", sizes.size(), " entries for ", ctx.numOutputs(), " outputs"));
    int64_t sum = 0;
    for (int64_t s : sizes) {
      if (s < 0) return ctx.error(str("split size ", s, " is negative"));
      sum += s;
    }
    if (sum != dim) return ctx.error(str("split sizes sum to ", sum, ", but the dim is ", dim));
  } else {
    // Equal parts; an uneven dim leaves the last part smaller (the opset-18 rule, a superset).
    int64_t n = ctx.numOutputs();
    int64_t chunk = (dim + n - 1) / n;
    for (int64_t i = 0; i < n; ++i) sizes.push_back(std::max<int64_t>(0, std::min(chunk, dim - i * chunk)));
  }
  auto parts = layout::split(x, axis, sizes);
  for (size_t i = 0; i < parts.size(); ++i) ctx.setOutput(static_cast<int>(i), parts[i]);
  return Status::success();
}

Status kSlice(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> starts = ctx.input(1).toInt64Vector(), ends = ctx.input(2).toInt64Vector();
  size_t n = starts.size();
  if (ends.size() != n) return ctx.error("starts and ends differ in length");
  std::vector<int64_t> axes, steps(n, 1);
  if (ctx.hasInput(3)) {
    axes = ctx.input(3).toInt64Vector();
  } else {
    for (size_t i = 0; i < n; ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (ctx.hasInput(4)) steps = ctx.input(4).toInt64Vector();
  if (axes.size() != n || steps.size() != n) return ctx.error("axes/steps differ in length from starts");
  std::vector<int64_t> shape = x.shape(), strides = rowMajorStrides(x.shape());
  std::vector<int64_t> out_strides = strides;
  std::vector<bool> done(shape.size(), false);
  int64_t offset = 0;
  for (size_t i = 0; i < n; ++i) {
    int a;
    if (!normAxis(axes[i], x.rank(), &a)) return ctx.error(str("axis ", axes[i], " is out of range"));
    if (done[static_cast<size_t>(a)]) return ctx.error(str("axis ", axes[i], " is repeated"));
    done[static_cast<size_t>(a)] = true;
    int64_t step = steps[i];
    if (step == 0) return ctx.error("step must not be 0");
    SliceRange range = sliceRange(starts[i], ends[i], step, x.dim(a));
    int64_t start = range.start, count = range.count;
    shape[static_cast<size_t>(a)] = count;
    if (count > 0) offset += start * strides[static_cast<size_t>(a)];
    // With one element taken the stride is never used; skip step * stride, which can overflow.
    out_strides[static_cast<size_t>(a)] = count > 1 ? step * strides[static_cast<size_t>(a)] : strides[static_cast<size_t>(a)];
  }
  ctx.setOutput(0, layout::stridedCopy(x, offset, shape, out_strides));
  return Status::success();
}

Status kShape(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  int64_t r = x.rank();
  auto [start, end] = shapeRange(ctx.op().getInt("start", 0), ctx.op().hasAttr("end") ? ctx.op().getInt("end") : r, r);
  std::vector<int64_t> dims;
  for (int64_t i = start; i < end; ++i) dims.push_back(x.dim(static_cast<int>(i)));
  ctx.setOutput(0, Tensor::fromVector(DType::I64, {static_cast<int64_t>(dims.size())}, dims));
  return Status::success();
}

Status kSize(KernelContext& ctx) {
  Tensor t(DType::I64, {});
  t.setInt(0, ctx.input(0).numel());
  ctx.setOutput(0, t);
  return Status::success();
}

Status kExpand(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> target = ctx.input(1).toInt64Vector();
  size_t rank = std::max(target.size(), x.shape().size());
  std::vector<int64_t> out(rank, 1), strides(rank, 0), own = rowMajorStrides(x.shape());
  for (size_t i = 0; i < rank; ++i) {
    int64_t xi = i + x.shape().size() >= rank ? x.shape()[i + x.shape().size() - rank] : 1;
    int64_t ti = i + target.size() >= rank ? target[i + target.size() - rank] : 1;
    if (xi != ti && xi != 1 && ti != 1)
      return ctx.error(str("cannot expand ", Shape::of(x.shape()).toString(), " to ", Shape::of(target).toString()));
    out[i] = xi == 1 ? ti : xi;
    if (xi != 1) strides[i] = own[i + x.shape().size() - rank];
  }
  ctx.setOutput(0, layout::stridedCopy(x, 0, out, strides));
  return Status::success();
}

Status kConstantOfShape(KernelContext& ctx) {
  std::vector<int64_t> shape = ctx.input(0).toInt64Vector();
  for (int64_t d : shape)
    if (d < 0) return ctx.error(str("shape entry ", d, " is negative"));
  Tensor value = ctx.op().hasAttr("value") ? ctx.op().attr("value")->t : Tensor::scalar(DType::F32, 0.0);
  if (value.numel() != 1) return ctx.error("value must hold exactly one element");
  // Every output element reads offset 0 of the one-element value.
  std::vector<std::vector<int64_t>> offs;
  for (int64_t d : shape) offs.emplace_back(static_cast<size_t>(d), 0);
  ctx.setOutput(0, layout::indexedGather(value, shape, offs));
  return Status::success();
}

// DepthToSpace/SpaceToDepth are a reshape to 6-D, a transpose and a reshape back; the transpose is
// done as one strided copy over the 6-D view.
Status blockRearrange(KernelContext& ctx, bool to_space) {
  const Tensor& x = ctx.input(0);
  if (x.rank() != 4) return ctx.error(str("input must have rank 4, got ", x.rank()));
  int64_t b = ctx.op().getInt("blocksize");
  if (b <= 0) return ctx.error("blocksize must be positive");
  int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  std::vector<int64_t> view, perm, out;
  if (to_space) {
    if (c % (b * b) != 0) return ctx.error(str("channels ", c, " are not divisible by blocksize^2"));
    int64_t cc = c / (b * b);
    if (ctx.op().getString("mode", "DCR") == "CRD") {
      view = {n, cc, b, b, h, w};
      perm = {0, 1, 4, 2, 5, 3};
    } else {
      view = {n, b, b, cc, h, w};
      perm = {0, 3, 4, 1, 5, 2};
    }
    out = {n, cc, h * b, w * b};
  } else {
    if (h % b != 0 || w % b != 0) return ctx.error("height and width must be divisible by blocksize");
    view = {n, c, h / b, b, w / b, b};
    perm = {0, 3, 5, 1, 2, 4};
    out = {n, c * b * b, h / b, w / b};
  }
  std::vector<int64_t> vs = rowMajorStrides(view), shape6, strides6;
  for (int64_t p : perm) {
    shape6.push_back(view[static_cast<size_t>(p)]);
    strides6.push_back(vs[static_cast<size_t>(p)]);
  }
  ctx.setOutput(0, layout::stridedCopy(x, 0, shape6, strides6).reshaped(out));
  return Status::success();
}
Status kDepthToSpace(KernelContext& ctx) { return blockRearrange(ctx, true); }
Status kSpaceToDepth(KernelContext& ctx) { return blockRearrange(ctx, false); }

}  // namespace

void registerShapeKernels(KernelTable& t) {
  t[static_cast<size_t>(OpKind::Constant)] = kConstant;
  t[static_cast<size_t>(OpKind::Reshape)] = kReshape;
  t[static_cast<size_t>(OpKind::Flatten)] = kFlatten;
  t[static_cast<size_t>(OpKind::Squeeze)] = kSqueeze;
  t[static_cast<size_t>(OpKind::Unsqueeze)] = kUnsqueeze;
  t[static_cast<size_t>(OpKind::Transpose)] = kTranspose;
  t[static_cast<size_t>(OpKind::Concat)] = kConcat;
  t[static_cast<size_t>(OpKind::Split)] = kSplit;
  t[static_cast<size_t>(OpKind::Slice)] = kSlice;
  t[static_cast<size_t>(OpKind::Shape)] = kShape;
  t[static_cast<size_t>(OpKind::Size)] = kSize;
  t[static_cast<size_t>(OpKind::Expand)] = kExpand;
  t[static_cast<size_t>(OpKind::ConstantOfShape)] = kConstantOfShape;
  t[static_cast<size_t>(OpKind::DepthToSpace)] = kDepthToSpace;
  t[static_cast<size_t>(OpKind::SpaceToDepth)] = kSpaceToDepth;
}

}  // namespace dlc::ref
