// Reference kernels that select elements by index or mask: Gather, GatherElements, GatherND,
// NonZero, OneHot, Trilu, Compress, ReverseSequence. Indices are range-checked (an error, not UB).
#include "backends/reference/kernels/layout.h"
#include "backends/reference/kernels/tensor_families.h"

namespace dlc::ref {
namespace {
using layout::normAxis;
using layout::product;
using layout::rowMajorStrides;

// Wraps negative indices and checks range; `what` names the index in the error.
Status fixIndex(KernelContext& ctx, int64_t* i, int64_t dim, const char* what) {
  if (*i < -dim || *i >= dim) return ctx.error(str(what, " ", *i, " is out of range for a dim of size ", dim));
  if (*i < 0) *i += dim;
  return Status::success();
}

Status kGather(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& ind = ctx.input(1);
  int axis;
  if (!normAxis(ctx.op().getInt("axis"), x.rank(), &axis))
    return ctx.error(str("axis ", ctx.op().getInt("axis"), " is out of range for rank ", x.rank()));
  std::vector<int64_t> idx = ind.toInt64Vector();
  for (int64_t& i : idx) DLC_RETURN_IF_ERROR(fixIndex(ctx, &i, x.dim(axis), "index"));
  std::vector<int64_t> shape(x.shape().begin(), x.shape().begin() + axis);
  shape.insert(shape.end(), ind.shape().begin(), ind.shape().end());
  shape.insert(shape.end(), x.shape().begin() + axis + 1, x.shape().end());
  ctx.setOutput(0, layout::takeAlongAxis(x, axis, idx).reshaped(shape));
  return Status::success();
}

template <typename T>
void gatherElements(const Tensor& x, const Tensor& ind, const std::vector<int64_t>& idx, int axis, Tensor& out) {
  const T* s = layout::elems<T>(x);
  T* d = layout::elems<T>(out);
  std::vector<int64_t> xs = rowMajorStrides(x.shape());
  const int rank = ind.rank();
  std::vector<int64_t> pos(static_cast<size_t>(rank), 0);
  for (int64_t e = 0; e < ind.numel(); ++e) {
    int64_t off = 0;
    for (int k = 0; k < rank; ++k)
      off += (k == axis ? idx[static_cast<size_t>(e)] : pos[static_cast<size_t>(k)]) * xs[static_cast<size_t>(k)];
    d[e] = s[off];
    for (int k = rank - 1; k >= 0; --k) {
      if (++pos[static_cast<size_t>(k)] < ind.dim(k)) break;
      pos[static_cast<size_t>(k)] = 0;
    }
  }
}

Status kGatherElements(KernelContext& ctx) {
  Tensor x = layout::movable(ctx.input(0));
  const Tensor& ind = ctx.input(1);
  if (x.rank() != ind.rank() || x.rank() == 0) return ctx.error("data and indices must have the same non-zero rank");
  int axis;
  if (!normAxis(ctx.op().getInt("axis"), x.rank(), &axis)) return ctx.error("axis is out of range");
  for (int d = 0; d < x.rank(); ++d)
    if (d != axis && ind.dim(d) > x.dim(d)) return ctx.error(str("indices dim ", d, " exceeds the data's"));
  std::vector<int64_t> idx = ind.toInt64Vector();
  for (int64_t& i : idx) DLC_RETURN_IF_ERROR(fixIndex(ctx, &i, x.dim(axis), "index"));
  Tensor out(x.dtype(), ind.shape());
  layout::byWidth(x.dtype(), [&](auto tag) { gatherElements<decltype(tag)>(x, ind, idx, axis, out); });
  ctx.setOutput(0, layout::restore(out, ctx.input(0).dtype()));
  return Status::success();
}

Status kGatherND(KernelContext& ctx) {
  Tensor x = layout::movable(ctx.input(0));
  const Tensor& ind = ctx.input(1);
  const int64_t b = ctx.op().getInt("batch_dims");
  const int r = x.rank(), q = ind.rank();
  if (q < 1 || r < 1) return ctx.error("data and indices must have rank >= 1");
  const int64_t k = ind.dim(q - 1);
  if (b < 0 || b >= std::min(q, r)) return ctx.error(str("batch_dims ", b, " is out of range"));
  if (k < 1 || b + k > r) return ctx.error(str("index tuples of length ", k, " do not fit data of rank ", r));
  for (int d = 0; d < b; ++d)
    if (x.dim(d) != ind.dim(d)) return ctx.error(str("batch dim ", d, " differs between data and indices"));
  std::vector<int64_t> out_shape(ind.shape().begin(), ind.shape().end() - 1);
  out_shape.insert(out_shape.end(), x.shape().begin() + b + k, x.shape().end());
  const int64_t batches = product(x.shape(), 0, static_cast<size_t>(b));
  const int64_t per_batch = product(ind.shape(), static_cast<size_t>(b), static_cast<size_t>(q - 1));
  const int64_t slice = product(x.shape(), static_cast<size_t>(b + k));
  const int64_t batch_stride = product(x.shape(), static_cast<size_t>(b));
  std::vector<int64_t> xs = rowMajorStrides(x.shape());
  std::vector<int64_t> idx = ind.toInt64Vector();
  Tensor out(x.dtype(), out_shape);
  for (int64_t bi = 0; bi < batches; ++bi)
    for (int64_t j = 0; j < per_batch; ++j) {
      int64_t row = bi * per_batch + j, off = bi * batch_stride;
      for (int64_t t = 0; t < k; ++t) {
        int64_t i = idx[static_cast<size_t>(row * k + t)];
        DLC_RETURN_IF_ERROR(fixIndex(ctx, &i, x.dim(static_cast<int>(b + t)), "index"));
        off += i * xs[static_cast<size_t>(b + t)];
      }
      layout::copyRun(out, row * slice, x, off, slice);
    }
  ctx.setOutput(0, layout::restore(out, ctx.input(0).dtype()));
  return Status::success();
}

// True where an element is non-zero (strings: non-empty).
std::vector<bool> nonZeroMask(const Tensor& x) {
  std::vector<bool> m(static_cast<size_t>(x.numel()));
  if (x.dtype() == DType::String) {
    for (int64_t i = 0; i < x.numel(); ++i) m[static_cast<size_t>(i)] = !x.strings()[static_cast<size_t>(i)].empty();
  } else {
    for (int64_t i = 0; i < x.numel(); ++i) m[static_cast<size_t>(i)] = x.getDouble(i) != 0.0;
  }
  return m;
}

Status kNonZero(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (layout::isPacked(x.dtype())) return ctx.error("4-bit inputs are not supported");
  std::vector<bool> m = nonZeroMask(x);
  int64_t nnz = std::count(m.begin(), m.end(), true);
  Tensor out(DType::I64, {x.rank(), nnz});
  int64_t* o = out.data<int64_t>();
  std::vector<int64_t> pos(static_cast<size_t>(x.rank()), 0);
  int64_t col = 0;
  for (int64_t e = 0; e < x.numel(); ++e) {
    if (m[static_cast<size_t>(e)]) {
      for (int d = 0; d < x.rank(); ++d) o[d * nnz + col] = pos[static_cast<size_t>(d)];
      ++col;
    }
    for (int d = x.rank() - 1; d >= 0; --d) {
      if (++pos[static_cast<size_t>(d)] < x.dim(d)) break;
      pos[static_cast<size_t>(d)] = 0;
    }
  }
  ctx.setOutput(0, out);
  return Status::success();
}

Status kOneHot(KernelContext& ctx) {
  const Tensor& ind = ctx.input(0);
  const Tensor& values = ctx.input(2);
  if (ctx.input(1).numel() != 1) return ctx.error("depth must hold one element");
  if (values.numel() != 2) return ctx.error("values must hold [off_value, on_value]");
  int64_t depth = static_cast<int64_t>(ctx.input(1).getDouble(0));
  if (depth < 1) return ctx.error(str("depth ", depth, " must be positive"));
  int axis;
  if (!normAxis(ctx.op().getInt("axis", -1), ind.rank() + 1, &axis)) return ctx.error("axis is out of range");
  std::vector<int64_t> shape = ind.shape();
  shape.insert(shape.begin() + axis, depth);
  std::vector<std::vector<int64_t>> offs;
  for (int64_t d : shape) offs.emplace_back(static_cast<size_t>(d), 0);
  Tensor vals = layout::movable(values);
  Tensor out = layout::indexedGather(vals, shape, offs);  // all off_value
  const int64_t inner = product(ind.shape(), static_cast<size_t>(axis));
  for (int64_t e = 0; e < ind.numel(); ++e) {
    int64_t v = static_cast<int64_t>(ind.getDouble(e));
    if (v < 0) v += depth;
    if (v < 0 || v >= depth) continue;  // out-of-range indices give an all-off row (ONNX rule)
    int64_t outer = e / inner, in = e % inner;
    layout::copyRun(out, (outer * depth + v) * inner + in, vals, 1, 1);
  }
  ctx.setOutput(0, layout::restore(out, values.dtype()));
  return Status::success();
}

template <typename T>
void zeroTriangle(Tensor& t, int64_t k, bool upper) {
  T* p = layout::elems<T>(t);
  const int64_t n = t.dim(t.rank() - 2), m = t.dim(t.rank() - 1);
  const int64_t mats = n * m == 0 ? 0 : t.numel() / (n * m);
  for (int64_t b = 0; b < mats; ++b)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j) {
        bool keep = upper ? j - i >= k : j - i <= k;
        if (!keep) p[(b * n + i) * m + j] = T{};
      }
}

Status kTrilu(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) return ctx.error("input must have rank >= 2");
  int64_t k = ctx.hasInput(1) ? ctx.input(1).getInt(0) : 0;
  Tensor out = layout::movable(x).clone();
  bool upper = ctx.op().getInt("upper", 1) != 0;
  layout::byWidth(out.dtype(), [&](auto tag) { zeroTriangle<decltype(tag)>(out, k, upper); });
  ctx.setOutput(0, layout::restore(out, x.dtype()));
  return Status::success();
}

Status kCompress(KernelContext& ctx) {
  Tensor x = ctx.input(0);
  const Tensor& cond = ctx.input(1);
  if (cond.rank() != 1) return ctx.error("condition must be 1-D");
  int axis = 0;
  if (ctx.op().hasAttr("axis")) {
    if (!normAxis(ctx.op().getInt("axis"), x.rank(), &axis)) return ctx.error("axis is out of range");
  } else {
    x = x.reshaped({x.numel()});  // no axis: select from the flattened input
  }
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < cond.numel(); ++i)
    if (cond.getDouble(i) != 0.0) {
      if (i >= x.dim(axis)) return ctx.error(str("condition selects index ", i, " beyond the dim ", x.dim(axis)));
      keep.push_back(i);
    }
  ctx.setOutput(0, layout::takeAlongAxis(x, axis, keep));
  return Status::success();
}

Status kReverseSequence(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) return ctx.error("input must have rank >= 2");
  int64_t time_axis = ctx.op().getInt("time_axis", 0), batch_axis = ctx.op().getInt("batch_axis", 1);
  if (!((time_axis == 0 && batch_axis == 1) || (time_axis == 1 && batch_axis == 0)))
    return ctx.error("time_axis and batch_axis must be 0 and 1 in some order");
  Tensor src = layout::movable(x);
  Tensor out = src.clone();
  std::vector<int64_t> lens = ctx.input(1).toInt64Vector();
  const int64_t steps = x.dim(static_cast<int>(time_axis)), batch = x.dim(static_cast<int>(batch_axis));
  if (static_cast<int64_t>(lens.size()) != batch) return ctx.error("sequence_lens must have one entry per batch");
  const int64_t inner = product(x.shape(), 2);
  auto pos = [&](int64_t t, int64_t b) { return (time_axis == 0 ? t * batch + b : b * steps + t) * inner; };
  for (int64_t b = 0; b < batch; ++b) {
    int64_t len = lens[static_cast<size_t>(b)];
    if (len < 0 || len > steps) return ctx.error(str("sequence length ", len, " is out of range [0, ", steps, "]"));
    for (int64_t t = 0; t < len; ++t) layout::copyRun(out, pos(t, b), src, pos(len - 1 - t, b), inner);
  }
  ctx.setOutput(0, layout::restore(out, x.dtype()));
  return Status::success();
}

}  // namespace

void registerIndexingKernels(KernelTable& t) {
  t[static_cast<size_t>(OpKind::Gather)] = kGather;
  t[static_cast<size_t>(OpKind::GatherElements)] = kGatherElements;
  t[static_cast<size_t>(OpKind::GatherND)] = kGatherND;
  t[static_cast<size_t>(OpKind::NonZero)] = kNonZero;
  t[static_cast<size_t>(OpKind::OneHot)] = kOneHot;
  t[static_cast<size_t>(OpKind::Trilu)] = kTrilu;
  t[static_cast<size_t>(OpKind::Compress)] = kCompress;
  t[static_cast<size_t>(OpKind::ReverseSequence)] = kReverseSequence;
}

}  // namespace dlc::ref
