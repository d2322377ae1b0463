// Reference kernels: numpy-broadcast binary ops, variadic Sum/Mean/Max/Min, PRelu and Where.
#include <cmath>
#include <limits>
#include <type_traits>

#include "backends/reference/kernels/broadcast.h"
#include "backends/reference/kernels/math_family.h"

namespace dlc::ref {
namespace {

// out = fn(a, b) with numpy broadcasting. Same-shape and scalar operands take flat loops; the
// general case walks rows so that the inner loop has fixed strides (0 or 1 for row broadcasts).
template <typename TA, typename TB, typename TO, typename Fn>
void broadcastLoop(const Tensor& a, const Tensor& b, Tensor& out, Fn& fn) {
  const TA* pa = a.data<TA>();
  const TB* pb = b.data<TB>();
  TO* po = out.data<TO>();
  const int64_t n = out.numel();
  if (a.shape() == out.shape() && b.shape() == out.shape()) {
    for (int64_t i = 0; i < n; ++i) po[i] = store<TO>(fn(load(pa[i]), load(pb[i])));
    return;
  }
  if (a.shape() == out.shape() && b.numel() == 1) {
    auto s = load(pb[0]);
    for (int64_t i = 0; i < n; ++i) po[i] = store<TO>(fn(load(pa[i]), s));
    return;
  }
  if (b.shape() == out.shape() && a.numel() == 1) {
    auto s = load(pa[0]);
    for (int64_t i = 0; i < n; ++i) po[i] = store<TO>(fn(s, load(pb[i])));
    return;
  }
  std::array<std::vector<int64_t>, 2> strides{broadcastStrides(a.shape(), out.shape()),
                                              broadcastStrides(b.shape(), out.shape())};
  forEachRow<2>(out.shape(), strides, [&](int64_t o, const std::array<int64_t, 2>& off, int64_t len,
                                          const std::array<int64_t, 2>& st) {
    const TA* ra = pa + off[0];
    const TB* rb = pb + off[1];
    TO* ro = po + o;
    if (st[0] == 1 && st[1] == 1) {
      for (int64_t j = 0; j < len; ++j) ro[j] = store<TO>(fn(load(ra[j]), load(rb[j])));
    } else if (st[0] == 1 && st[1] == 0) {
      auto s = load(rb[0]);
      for (int64_t j = 0; j < len; ++j) ro[j] = store<TO>(fn(load(ra[j]), s));
    } else if (st[0] == 0 && st[1] == 1) {
      auto s = load(ra[0]);
      for (int64_t j = 0; j < len; ++j) ro[j] = store<TO>(fn(s, load(rb[j])));
    } else {
      for (int64_t j = 0; j < len; ++j) ro[j] = store<TO>(fn(load(ra[j * st[0]]), load(rb[j * st[1]])));
    }
  });
}

Status outShape(KernelContext& ctx, const Tensor& a, const Tensor& b, std::vector<int64_t>* shape) {
  std::string err;
  if (!broadcastShapes({a.shape(), b.shape()}, shape, &err)) return ctx.error(err);
  return Status::success();
}

// Applies fn to two tensors of one dtype; the result has that dtype (or bool when `to_bool`).
template <typename Fn>
Expected<Tensor> sameTypeOp(KernelContext& ctx, const Tensor& a, const Tensor& b, Fn fn, bool to_bool = false) {
  if (a.dtype() != b.dtype())
    return ctx.error(str("operand dtypes differ: ", dtypeName(a.dtype()), " and ", dtypeName(b.dtype())));
  std::vector<int64_t> shape;
  DLC_RETURN_IF_ERROR(outShape(ctx, a, b, &shape));
  Tensor out = Tensor::uninitialized(to_bool ? DType::Bool : a.dtype(), shape);  // broadcastLoop writes all
  bool ok = true;
  if (to_bool) {
    DLC_DISPATCH_NUMERIC_OR(a.dtype(), ok = false, T, broadcastLoop<T, T, bool>(a, b, out, fn));
  } else {
    DLC_DISPATCH_NUMERIC_OR(a.dtype(), ok = false, T, broadcastLoop<T, T, T>(a, b, out, fn));
  }
  if (!ok) return ctx.error(str("dtype ", dtypeName(a.dtype()), " is not supported"));
  return out;
}

template <typename Fn>
Status binary(KernelContext& ctx, Fn fn, bool to_bool = false) {
  DLC_ASSIGN_OR_RETURN(Tensor out, sameTypeOp(ctx, ctx.input(0), ctx.input(1), fn, to_bool));
  ctx.setOutput(0, std::move(out));
  return Status::success();
}

// Integer division by zero is undefined in C++; the reference defines it as 0 rather than crash.
template <typename C>
C safeDiv(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    if (b == 0) return 0;
    if constexpr (std::is_signed_v<C>)
      if (b == -1) return static_cast<C>(-a);
  }
  return static_cast<C>(a / b);
}

template <typename C>
C maxOf(C a, C b) {
  if (a != a) return a;  // NaN propagates, as numpy.maximum
  if (b != b) return b;
  return a < b ? b : a;
}
template <typename C>
C minOf(C a, C b) {
  if (a != a) return a;
  if (b != b) return b;
  return b < a ? b : a;
}

auto addFn = [](auto a, auto b) { return static_cast<decltype(a)>(a + b); };
auto subFn = [](auto a, auto b) { return static_cast<decltype(a)>(a - b); };
auto mulFn = [](auto a, auto b) { return static_cast<decltype(a)>(a * b); };
auto divFn = [](auto a, auto b) { return safeDiv(a, b); };
auto maxFn = [](auto a, auto b) { return maxOf(a, b); };
auto minFn = [](auto a, auto b) { return minOf(a, b); };

Status kAdd(KernelContext& ctx) { return binary(ctx, addFn); }
Status kSub(KernelContext& ctx) { return binary(ctx, subFn); }
Status kMul(KernelContext& ctx) { return binary(ctx, mulFn); }
Status kDiv(KernelContext& ctx) { return binary(ctx, divFn); }

Status kEqual(KernelContext& ctx) {
  return binary(ctx, [](auto a, auto b) { return a == b; }, true);
}
Status kGreater(KernelContext& ctx) {
  return binary(ctx, [](auto a, auto b) { return a > b; }, true);
}
Status kGreaterOrEqual(KernelContext& ctx) {
  return binary(ctx, [](auto a, auto b) { return a >= b; }, true);
}
Status kLess(KernelContext& ctx) {
  return binary(ctx, [](auto a, auto b) { return a < b; }, true);
}
Status kLessOrEqual(KernelContext& ctx) {
  return binary(ctx, [](auto a, auto b) { return a <= b; }, true);
}

Status boolOnly(KernelContext& ctx) {
  if (ctx.input(0).dtype() != DType::Bool || ctx.input(1).dtype() != DType::Bool)
    return ctx.error("inputs must be bool");
  return Status::success();
}
Status kAnd(KernelContext& ctx) {
  DLC_RETURN_IF_ERROR(boolOnly(ctx));
  return binary(ctx, [](auto a, auto b) { return a && b; }, true);
}
Status kOr(KernelContext& ctx) {
  DLC_RETURN_IF_ERROR(boolOnly(ctx));
  return binary(ctx, [](auto a, auto b) { return a || b; }, true);
}
Status kXor(KernelContext& ctx) {
  DLC_RETURN_IF_ERROR(boolOnly(ctx));
  return binary(ctx, [](auto a, auto b) { return (a != 0) != (b != 0); }, true);
}

// Mod: fmod=1 is C's fmod / % (sign of the dividend); fmod=0 follows Python (sign of the divisor).
Status kMod(KernelContext& ctx) {
  bool use_fmod = ctx.op().getInt("fmod", 0) != 0;
  return binary(ctx, [use_fmod](auto a, auto b) {
    using C = decltype(a);
    C r;
    if constexpr (std::is_same_v<C, bool>) {
      return b ? C(false) : a;
    } else if constexpr (std::is_integral_v<C>) {
      if (b == 0) return C(0);
      if constexpr (std::is_signed_v<C>)
        if (b == -1) return C(0);
      r = static_cast<C>(a % b);
    } else {
      r = std::fmod(a, b);
    }
    if constexpr (std::is_signed_v<C> || std::is_floating_point_v<C>)
      if (!use_fmod && r != 0 && ((r < 0) != (b < 0))) r = static_cast<C>(r + b);
    return r;
  });
}

Status kBitShift(KernelContext& ctx) {
  std::string dir = ctx.op().getString("direction");
  if (dir != "LEFT" && dir != "RIGHT") return ctx.error("direction must be LEFT or RIGHT");
  if (isFloat(ctx.input(0).dtype()) || isSignedInteger(ctx.input(0).dtype()) || ctx.input(0).dtype() == DType::Bool)
    return ctx.error("BitShift takes unsigned integers");
  bool left = dir == "LEFT";
  return binary(ctx, [left](auto a, auto b) {
    using C = decltype(a);
    if constexpr (std::is_integral_v<C>) {
      if (static_cast<uint64_t>(b) >= sizeof(C) * 8) return C(0);  // shifting out every bit
      return static_cast<C>(left ? a << b : a >> b);
    } else {
      return a;
    }
  });
}

// Pow: the result has the base's dtype; an exponent of another dtype is applied in double.
Status kPow(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& y = ctx.input(1);
  auto powFn = [](auto a, auto b) {
    using C = decltype(a);
    if constexpr (std::is_integral_v<C> && !std::is_same_v<C, bool> && std::is_integral_v<decltype(b)> &&
                  !std::is_same_v<decltype(b), bool>) {
      if (b >= 0) {  // exact integer power
        C r = 1, base = a;
        for (auto e = b; e > 0; e >>= 1) {
          if (e & 1) r = static_cast<C>(r * base);
          base = static_cast<C>(base * base);
        }
        return r;
      }
    }
    return static_cast<C>(std::pow(static_cast<double>(a), static_cast<double>(b)));
  };
  if (x.dtype() == DType::F32 && y.dtype() == DType::F32)
    return binary(ctx, [](float a, float b) { return b == 2.0f ? a * a : std::pow(a, b); });
  if (x.dtype() == y.dtype()) return binary(ctx, powFn);
  if (y.dtype() == DType::String || x.dtype() == DType::String) return ctx.error("Pow takes numeric inputs");
  Tensor e = isInteger(y.dtype()) ? y.castTo(DType::I64) : y.castTo(DType::F64);
  std::vector<int64_t> shape;
  DLC_RETURN_IF_ERROR(outShape(ctx, x, e, &shape));
  Tensor out(x.dtype(), shape);
  bool ok = true;
  if (e.dtype() == DType::I64) {
    DLC_DISPATCH_NUMERIC_OR(x.dtype(), ok = false, T, broadcastLoop<T, int64_t, T>(x, e, out, powFn));
  } else {
    DLC_DISPATCH_NUMERIC_OR(x.dtype(), ok = false, T, broadcastLoop<T, double, T>(x, e, out, powFn));
  }
  if (!ok) return ctx.error("Pow takes numeric inputs");
  ctx.setOutput(0, std::move(out));
  return Status::success();
}

// PRelu: slope broadcasts to x's shape (unidirectionally); y = x < 0 ? slope * x : x.
Status kPRelu(KernelContext& ctx) {
  std::vector<int64_t> shape;
  DLC_RETURN_IF_ERROR(outShape(ctx, ctx.input(0), ctx.input(1), &shape));
  if (shape != ctx.input(0).shape()) return ctx.error("slope must broadcast to the input's shape");
  return binary(ctx, [](auto x, auto s) {
    using C = decltype(x);
    return x < C(0) ? static_cast<C>(s * x) : x;
  });
}

// Sum/Mean/Max/Min fold their inputs pairwise with broadcasting.
template <typename Fn>
Status variadic(KernelContext& ctx, Fn fn, bool mean = false) {
  Tensor acc = ctx.input(0);
  for (int i = 1; i < ctx.numInputs(); ++i) {
    DLC_ASSIGN_OR_RETURN(acc, sameTypeOp(ctx, acc, ctx.input(i), fn));
  }
  if (ctx.numInputs() == 1) acc = acc.clone();
  if (mean) {
    Tensor n = Tensor::scalar(acc.dtype(), ctx.numInputs());
    DLC_ASSIGN_OR_RETURN(acc, sameTypeOp(ctx, acc, n, divFn));
  }
  ctx.setOutput(0, std::move(acc));
  return Status::success();
}
Status kSum(KernelContext& ctx) { return variadic(ctx, addFn); }
Status kMean(KernelContext& ctx) { return variadic(ctx, addFn, true); }
Status kMax(KernelContext& ctx) { return variadic(ctx, maxFn); }
Status kMin(KernelContext& ctx) { return variadic(ctx, minFn); }

// Where(cond, x, y): three-way broadcast; strings are supported too.
Status kWhere(KernelContext& ctx) {
  const Tensor& c = ctx.input(0);
  const Tensor& x = ctx.input(1);
  const Tensor& y = ctx.input(2);
  if (c.dtype() != DType::Bool) return ctx.error("condition must be bool");
  if (x.dtype() != y.dtype()) return ctx.error("X and Y must have the same dtype");
  std::vector<int64_t> shape;
  std::string err;
  if (!broadcastShapes({c.shape(), x.shape(), y.shape()}, &shape, &err)) return ctx.error(err);
  Tensor out(x.dtype(), shape);
  std::array<std::vector<int64_t>, 3> st{broadcastStrides(c.shape(), shape), broadcastStrides(x.shape(), shape),
                                         broadcastStrides(y.shape(), shape)};
  const bool* pc = c.data<bool>();
  auto run = [&](auto* px, auto* py, auto* po) {
    forEachRow<3>(shape, st, [&](int64_t o, const std::array<int64_t, 3>& off, int64_t len,
                                 const std::array<int64_t, 3>& s) {
      for (int64_t j = 0; j < len; ++j)
        po[o + j] = pc[off[0] + j * s[0]] ? px[off[1] + j * s[1]] : py[off[2] + j * s[2]];
    });
  };
  if (x.dtype() == DType::String) {
    run(x.strings().data(), y.strings().data(), out.strings().data());
  } else {
    bool ok = true;
    DLC_DISPATCH_NUMERIC_OR(x.dtype(), ok = false, T, run(x.data<T>(), y.data<T>(), out.data<T>()));
    if (!ok) return ctx.error("unsupported dtype");
  }
  ctx.setOutput(0, std::move(out));
  return Status::success();
}

}  // namespace

void registerBinaryKernels(KernelTable& table) {
#define DLC_REG(Name) table[static_cast<size_t>(OpKind::Name)] = &k##Name;
  DLC_REG(Add) DLC_REG(Sub) DLC_REG(Mul) DLC_REG(Div) DLC_REG(Pow) DLC_REG(Mod) DLC_REG(BitShift)
  DLC_REG(And) DLC_REG(Or) DLC_REG(Xor) DLC_REG(Equal) DLC_REG(Greater) DLC_REG(GreaterOrEqual)
  DLC_REG(Less) DLC_REG(LessOrEqual) DLC_REG(PRelu) DLC_REG(Sum) DLC_REG(Mean) DLC_REG(Max) DLC_REG(Min)
  DLC_REG(Where)
#undef DLC_REG
}

}  // namespace dlc::ref
