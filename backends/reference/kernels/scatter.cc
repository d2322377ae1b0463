// Reference kernels that write updates into a copy of the data: ScatterElements (and its
// deprecated alias Scatter) and ScatterND, with reduction none/add/mul/max/min.
#include <type_traits>

#include "backends/reference/kernels/layout.h"
#include "backends/reference/kernels/tensor_families.h"

namespace dlc::ref {
namespace {
using layout::product;
using layout::rowMajorStrides;

enum class Reduction { None, Add, Mul, Max, Min };

bool parseReduction(const std::string& s, Reduction* r) {
  if (s == "none") *r = Reduction::None;
  else if (s == "add") *r = Reduction::Add;
  else if (s == "mul") *r = Reduction::Mul;
  else if (s == "max") *r = Reduction::Max;
  else if (s == "min") *r = Reduction::Min;
  else return false;
  return true;
}

template <typename T>
T combine(T a, T b, Reduction r) {
  if constexpr (std::is_same_v<T, bool>) {
    switch (r) {
      case Reduction::Add: case Reduction::Max: return a || b;
      case Reduction::Mul: case Reduction::Min: return a && b;
      default: return b;
    }
  } else if constexpr (std::is_arithmetic_v<T>) {
    switch (r) {
      case Reduction::Add: return static_cast<T>(a + b);
      case Reduction::Mul: return static_cast<T>(a * b);
      case Reduction::Max: return a > b ? a : b;
      case Reduction::Min: return a < b ? a : b;
      default: return b;
    }
  } else {  // 16-bit floats: compute in double
    return fromDouble<T>(combine<double>(toDouble(a), toDouble(b), r));
  }
}

// Writes `n` consecutive update elements (from update offset `ui`) to data offset `di`.
Status writeRun(KernelContext& ctx, Tensor& out, int64_t di, const Tensor& upd, int64_t ui, int64_t n, Reduction r) {
  if (r == Reduction::None) {
    layout::copyRun(out, di, upd, ui, n);
    return Status::success();
  }
  bool ok = true;
  DLC_DISPATCH_NUMERIC_OR(out.dtype(), ok = false, T, {
    T* d = out.data<T>();
    const T* u = upd.data<T>();
    for (int64_t k = 0; k < n; ++k) d[di + k] = combine<T>(d[di + k], u[ui + k], r);
  });
  if (!ok) return ctx.error(str("reduction is not defined for dtype ", dtypeName(out.dtype())));
  return Status::success();
}

Status kScatterElements(KernelContext& ctx) {
  Tensor data = layout::movable(ctx.input(0));
  const Tensor& ind = ctx.input(1);
  Tensor upd = layout::movable(ctx.input(2));
  Reduction red = Reduction::None;
  if (!parseReduction(ctx.op().getString("reduction", "none"), &red)) return ctx.error("unknown reduction");
  if (upd.dtype() != data.dtype()) return ctx.error("updates must have the data's dtype");
  if (ind.shape() != upd.shape()) return ctx.error("indices and updates must have the same shape");
  if (ind.rank() != data.rank() || data.rank() == 0) return ctx.error("indices must have the data's rank");
  int axis;
  if (!layout::normAxis(ctx.op().getInt("axis"), data.rank(), &axis)) return ctx.error("axis is out of range");
  for (int d = 0; d < data.rank(); ++d)
    if (d != axis && ind.dim(d) > data.dim(d)) return ctx.error(str("indices dim ", d, " exceeds the data's"));
  Tensor out = data.clone();
  std::vector<int64_t> ds = rowMajorStrides(data.shape()), idx = ind.toInt64Vector();
  std::vector<int64_t> pos(static_cast<size_t>(ind.rank()), 0);
  const int64_t dim = data.dim(axis);
  for (int64_t e = 0; e < ind.numel(); ++e) {
    int64_t i = idx[static_cast<size_t>(e)];
    if (i < -dim || i >= dim) return ctx.error(str("index ", i, " is out of range for a dim of size ", dim));
    if (i < 0) i += dim;
    int64_t off = 0;
    for (int k = 0; k < ind.rank(); ++k) off += (k == axis ? i : pos[static_cast<size_t>(k)]) * ds[static_cast<size_t>(k)];
    DLC_RETURN_IF_ERROR(writeRun(ctx, out, off, upd, e, 1, red));
    for (int k = ind.rank() - 1; k >= 0; --k) {
      if (++pos[static_cast<size_t>(k)] < ind.dim(k)) break;
      pos[static_cast<size_t>(k)] = 0;
    }
  }
  ctx.setOutput(0, layout::restore(out, ctx.input(0).dtype()));
  return Status::success();
}

Status kScatterND(KernelContext& ctx) {
  Tensor data = layout::movable(ctx.input(0));
  const Tensor& ind = ctx.input(1);
  Tensor upd = layout::movable(ctx.input(2));
  Reduction red = Reduction::None;
  if (!parseReduction(ctx.op().getString("reduction", "none"), &red)) return ctx.error("unknown reduction");
  if (upd.dtype() != data.dtype()) return ctx.error("updates must have the data's dtype");
  const int q = ind.rank(), r = data.rank();
  if (q < 1) return ctx.error("indices must have rank >= 1");
  const int64_t k = ind.dim(q - 1);
  if (k > r) return ctx.error(str("index tuples of length ", k, " exceed the data rank ", r));
  std::vector<int64_t> want(ind.shape().begin(), ind.shape().end() - 1);
  want.insert(want.end(), data.shape().begin() + k, data.shape().end());
  if (upd.shape() != want)
    return ctx.error(str("updates have shape ", Shape::of(upd.shape()).toString(), ", expected ", Shape::of(want).toString()));
  Tensor out = data.clone();
  std::vector<int64_t> ds = rowMajorStrides(data.shape()), idx = ind.toInt64Vector();
  const int64_t slice = product(data.shape(), static_cast<size_t>(k));
  const int64_t tuples = product(ind.shape(), 0, static_cast<size_t>(q - 1));
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t off = 0;
    for (int64_t j = 0; j < k; ++j) {
      int64_t i = idx[static_cast<size_t>(t * k + j)], dim = data.dim(static_cast<int>(j));
      if (i < -dim || i >= dim) return ctx.error(str("index ", i, " is out of range for a dim of size ", dim));
      if (i < 0) i += dim;
      off += i * ds[static_cast<size_t>(j)];
    }
    DLC_RETURN_IF_ERROR(writeRun(ctx, out, off, upd, t * slice, slice, red));
  }
  ctx.setOutput(0, layout::restore(out, ctx.input(0).dtype()));
  return Status::success();
}

}  // namespace

void registerScatterKernels(KernelTable& t) {
  t[static_cast<size_t>(OpKind::ScatterElements)] = kScatterElements;
  t[static_cast<size_t>(OpKind::Scatter)] = kScatterElements;  // Scatter has no reduction: "none"
  t[static_cast<size_t>(OpKind::ScatterND)] = kScatterND;
}

}  // namespace dlc::ref
