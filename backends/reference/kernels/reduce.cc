// Reference kernels: Reduce* (axes attribute, or ReduceSum's axes input), ArgMax/ArgMin, CumSum.
#include <algorithm>
#include <cmath>
#include <limits>

#include "backends/reference/kernels/broadcast.h"
#include "backends/reference/kernels/math_family.h"

namespace dlc::ref {
namespace {

enum class Red { L1, L2, LogSum, LogSumExp, Max, Mean, Min, Prod, Sum, SumSquare };

// Integers accumulate exactly in 64 bits except where the result needs real arithmetic.
template <typename T>
using IntAcc = std::conditional_t<std::is_unsigned_v<T>, uint64_t, int64_t>;

template <typename T, typename Acc>
void reduceTyped(const Tensor& x, const std::vector<bool>& reduced, const std::vector<int64_t>& kept_shape,
                 Tensor& y, Red kind) {
  const std::vector<int64_t>& shape = x.shape();
  // Output strides seen from the input's index space: 0 along reduced axes.
  std::vector<int64_t> ks = stridesOf(kept_shape), os(shape.size(), 0);
  for (size_t d = 0; d < shape.size(); ++d)
    if (!reduced[d]) os[d] = ks[d];
  const int64_t out_n = y.numel();
  int64_t count = out_n == 0 ? 0 : x.numel() / out_n;
  Acc init = 0;
  if (kind == Red::Prod) init = 1;
  if (kind == Red::Max) init = std::numeric_limits<Acc>::has_infinity ? -std::numeric_limits<Acc>::infinity()
                                                                       : std::numeric_limits<Acc>::lowest();
  if (kind == Red::Min) init = std::numeric_limits<Acc>::has_infinity ? std::numeric_limits<Acc>::infinity()
                                                                       : std::numeric_limits<Acc>::max();
  std::vector<Acc> acc(static_cast<size_t>(out_n), init);
  auto mapv = [kind](Acc v) -> Acc {
    switch (kind) {
      case Red::L1: return v < 0 ? static_cast<Acc>(-v) : v;
      case Red::L2:
      case Red::SumSquare: return v * v;
      case Red::LogSumExp: return static_cast<Acc>(std::exp(static_cast<double>(v)));
      default: return v;
    }
  };
  auto combine = [kind](Acc a, Acc b) -> Acc {
    switch (kind) {
      case Red::Max: return a != a ? a : (b != b ? b : (b > a ? b : a));  // NaN propagates
      case Red::Min: return a != a ? a : (b != b ? b : (b < a ? b : a));
      case Red::Prod: return a * b;
      default: return a + b;
    }
  };
  const T* in = x.data<T>();
  std::array<std::vector<int64_t>, 1> st{os};
  forEachRow<1>(shape, st, [&](int64_t i, const std::array<int64_t, 1>& off, int64_t len,
                               const std::array<int64_t, 1>& s) {
    if (s[0] == 0) {  // the whole row folds into one output element
      Acc a = acc[static_cast<size_t>(off[0])];
      for (int64_t j = 0; j < len; ++j) a = combine(a, mapv(static_cast<Acc>(load(in[i + j]))));
      acc[static_cast<size_t>(off[0])] = a;
    } else {
      for (int64_t j = 0; j < len; ++j) {
        Acc& a = acc[static_cast<size_t>(off[0] + j * s[0])];
        a = combine(a, mapv(static_cast<Acc>(load(in[i + j]))));
      }
    }
  });
  T* out = y.data<T>();
  for (int64_t o = 0; o < out_n; ++o) {
    Acc a = acc[static_cast<size_t>(o)];
    switch (kind) {
      case Red::L2: out[o] = store<T>(std::sqrt(static_cast<double>(a))); break;
      case Red::LogSum:
      case Red::LogSumExp: out[o] = store<T>(std::log(static_cast<double>(a))); break;
      case Red::Mean: out[o] = store<T>(count ? a / static_cast<Acc>(count) : a); break;
      default: out[o] = store<T>(a);
    }
  }
}

Status reduce(KernelContext& ctx, Red kind) {
  const Tensor& x = ctx.input(0);
  const int rank = x.rank();
  std::vector<int64_t> axes;
  bool noop_empty = false;
  if (ctx.op().kind() == OpKind::ReduceSum) {
    if (ctx.hasInput(1)) axes = ctx.input(1).toInt64Vector();
    noop_empty = ctx.op().getInt("noop_with_empty_axes", 0) != 0;
  } else {
    axes = ctx.op().getInts("axes");
  }
  if (axes.empty() && noop_empty) {
    ctx.setOutput(0, x.clone());
    return Status::success();
  }
  std::vector<bool> reduced(static_cast<size_t>(rank), axes.empty());
  for (int64_t a : axes) {
    int ax = 0;
    if (!normalizeAxisIn(a, rank, &ax)) return ctx.error(str("axis ", a, " is out of range for rank ", rank));
    reduced[static_cast<size_t>(ax)] = true;
  }
  bool keep = ctx.op().getInt("keepdims", 1) != 0;
  std::vector<int64_t> kept, out_shape;
  for (int d = 0; d < rank; ++d) {
    bool r = reduced[static_cast<size_t>(d)];
    kept.push_back(r ? 1 : x.dim(d));
    if (!r || keep) out_shape.push_back(r ? 1 : x.dim(d));
  }
  Tensor y(x.dtype(), out_shape);
  bool ok = true;
  bool real = kind == Red::L2 || kind == Red::LogSum || kind == Red::LogSumExp;
  DLC_DISPATCH_NUMERIC_OR(x.dtype(), ok = false, T, {
    if constexpr (kIsFloatStorage<T> || std::is_same_v<T, bool>) {
      reduceTyped<T, double>(x, reduced, kept, y, kind);
    } else {
      if (real)
        reduceTyped<T, double>(x, reduced, kept, y, kind);
      else
        reduceTyped<T, IntAcc<T>>(x, reduced, kept, y, kind);
    }
  });
  if (!ok) return ctx.error(str("dtype ", dtypeName(x.dtype()), " is not supported"));
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

Status kReduceL1(KernelContext& ctx) { return reduce(ctx, Red::L1); }
Status kReduceL2(KernelContext& ctx) { return reduce(ctx, Red::L2); }
Status kReduceLogSum(KernelContext& ctx) { return reduce(ctx, Red::LogSum); }
Status kReduceLogSumExp(KernelContext& ctx) { return reduce(ctx, Red::LogSumExp); }
Status kReduceMax(KernelContext& ctx) { return reduce(ctx, Red::Max); }
Status kReduceMean(KernelContext& ctx) { return reduce(ctx, Red::Mean); }
Status kReduceMin(KernelContext& ctx) { return reduce(ctx, Red::Min); }
Status kReduceProd(KernelContext& ctx) { return reduce(ctx, Red::Prod); }
Status kReduceSum(KernelContext& ctx) { return reduce(ctx, Red::Sum); }
Status kReduceSumSquare(KernelContext& ctx) { return reduce(ctx, Red::SumSquare); }

// ArgMax/ArgMin: index of the first (or, with select_last_index, last) extreme along `axis`.
Status argExtreme(KernelContext& ctx, bool is_max) {
  const Tensor& x = ctx.input(0);
  int axis = 0;
  int64_t axis_attr = ctx.op().getInt("axis", 0);
  if (!normalizeAxisIn(axis_attr, x.rank(), &axis))
    return ctx.error(str("axis ", axis_attr, " is out of range for rank ", x.rank()));
  if (x.dim(axis) == 0) return ctx.error("cannot take the arg-extreme of an empty axis");
  bool last = ctx.op().getInt("select_last_index", 0) != 0;
  std::vector<int64_t> out_shape = x.shape();
  if (ctx.op().getInt("keepdims", 1) != 0)
    out_shape[static_cast<size_t>(axis)] = 1;
  else
    out_shape.erase(out_shape.begin() + axis);
  Tensor y(DType::I64, out_shape);
  int64_t* out = y.data<int64_t>();
  AxisSplit s = splitAt(x.shape(), axis);
  bool ok = true;
  DLC_DISPATCH_NUMERIC_OR(x.dtype(), ok = false, T, {
    const T* in = x.data<T>();
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i) {
        const T* p = in + o * s.dim * s.inner + i;
        auto best = load(p[0]);
        int64_t bi = 0;
        for (int64_t d = 1; d < s.dim; ++d) {
          auto v = load(p[d * s.inner]);
          bool better = is_max ? (last ? v >= best : v > best) : (last ? v <= best : v < best);
          if (better) {
            best = v;
            bi = d;
          }
        }
        out[o * s.inner + i] = bi;
      }
  });
  if (!ok) return ctx.error("input must be numeric");
  ctx.setOutput(0, std::move(y));
  return Status::success();
}
Status kArgMax(KernelContext& ctx) { return argExtreme(ctx, true); }
Status kArgMin(KernelContext& ctx) { return argExtreme(ctx, false); }

// CumSum along the axis given as input 1; `exclusive` shifts by one, `reverse` sums from the end.
Status kCumSum(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& ax = ctx.input(1);
  if (ax.numel() != 1) return ctx.error("axis must be a scalar");
  int axis = 0;
  if (!normalizeAxisIn(ax.getInt(0), x.rank(), &axis))
    return ctx.error(str("axis ", ax.getInt(0), " is out of range for rank ", x.rank()));
  bool exclusive = ctx.op().getInt("exclusive", 0) != 0, reverse = ctx.op().getInt("reverse", 0) != 0;
  Tensor y(x.dtype(), x.shape());
  AxisSplit s = splitAt(x.shape(), axis);
  bool ok = true;
  DLC_DISPATCH_NUMERIC_OR(x.dtype(), ok = false, T, {
    const T* in = x.data<T>();
    T* out = y.data<T>();
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i) {
        Compute<T> acc = 0;
        for (int64_t step = 0; step < s.dim; ++step) {
          int64_t d = reverse ? s.dim - 1 - step : step;
          int64_t at = (o * s.dim + d) * s.inner + i;
          Compute<T> v = load(in[at]);
          if (exclusive) {
            out[at] = store<T>(acc);
            acc = static_cast<Compute<T>>(acc + v);
          } else {
            acc = static_cast<Compute<T>>(acc + v);
            out[at] = store<T>(acc);
          }
        }
      }
  });
  if (!ok) return ctx.error("input must be numeric");
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

}  // namespace

void registerReduceKernels(KernelTable& table) {
#define DLC_REG(Name) table[static_cast<size_t>(OpKind::Name)] = &k##Name;
  DLC_REG(ReduceL1) DLC_REG(ReduceL2) DLC_REG(ReduceLogSum) DLC_REG(ReduceLogSumExp) DLC_REG(ReduceMax)
  DLC_REG(ReduceMean) DLC_REG(ReduceMin) DLC_REG(ReduceProd) DLC_REG(ReduceSum) DLC_REG(ReduceSumSquare)
  DLC_REG(ArgMax) DLC_REG(ArgMin) DLC_REG(CumSum)
#undef DLC_REG
}

}  // namespace dlc::ref
