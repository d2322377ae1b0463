// Reference kernels: unary elementwise ops (math functions, activations, predicates), Clip, Identity,
// StopGradient.
#include <cmath>
#include <limits>

#include "backends/reference/kernels/activations.h"
#include "backends/reference/kernels/broadcast.h"
#include "backends/reference/kernels/math_family.h"

namespace dlc::ref {
namespace {

// Applies fn (on the compute type) to every element; the result keeps x's dtype.
template <typename T, typename Fn>
void mapUnary(const Tensor& x, Tensor& y, Fn& fn) {
  const T* in = x.data<T>();
  T* out = y.data<T>();
  const int64_t n = x.numel();
  for (int64_t i = 0; i < n; ++i) out[i] = store<T>(fn(load(in[i])));
}

// Ops defined only for floating-point tensors.
template <typename Fn>
Status unaryFloat(KernelContext& ctx, Fn fn) {
  const Tensor& x = ctx.input(0);
  Tensor y = Tensor::uninitialized(x.dtype(), x.shape());  // mapUnary writes all
  switch (x.dtype()) {
    case DType::F32: mapUnary<float>(x, y, fn); break;
    case DType::F64: mapUnary<double>(x, y, fn); break;
    case DType::F16: mapUnary<Half>(x, y, fn); break;
    case DType::BF16: mapUnary<BFloat16>(x, y, fn); break;
    default: return ctx.error(str("dtype ", dtypeName(x.dtype()), " is not supported (floating point only)"));
  }
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

// Ops defined for every numeric dtype; fn is called with the compute type (float for 16-bit floats).
template <typename Fn>
Status unaryNumeric(KernelContext& ctx, Fn fn) {
  const Tensor& x = ctx.input(0);
  Tensor y = Tensor::uninitialized(x.dtype(), x.shape());  // mapUnary writes all
  bool ok = true;
  DLC_DISPATCH_NUMERIC_OR(x.dtype(), ok = false, T, mapUnary<T>(x, y, fn));
  if (!ok) return ctx.error(str("dtype ", dtypeName(x.dtype()), " is not supported"));
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

template <typename C>
constexpr bool kSigned = std::is_signed_v<C> || std::is_floating_point_v<C>;

#define DLC_FLOAT_UNARY(Name, expr)                                  \
  Status k##Name(KernelContext& ctx) {                               \
    return unaryFloat(ctx, [](auto x) {                              \
      using C = decltype(x);                                         \
      (void)sizeof(C);                                               \
      return static_cast<C>(expr);                                   \
    });                                                              \
  }

DLC_FLOAT_UNARY(Acos, std::acos(x))
DLC_FLOAT_UNARY(Acosh, std::acosh(x))
DLC_FLOAT_UNARY(Asin, std::asin(x))
DLC_FLOAT_UNARY(Asinh, std::asinh(x))
DLC_FLOAT_UNARY(Atan, std::atan(x))
DLC_FLOAT_UNARY(Atanh, std::atanh(x))
DLC_FLOAT_UNARY(Ceil, std::ceil(x))
DLC_FLOAT_UNARY(Cos, std::cos(x))
DLC_FLOAT_UNARY(Cosh, std::cosh(x))
DLC_FLOAT_UNARY(Erf, std::erf(x))
DLC_FLOAT_UNARY(Exp, std::exp(x))
DLC_FLOAT_UNARY(Floor, std::floor(x))
DLC_FLOAT_UNARY(Log, std::log(x))
DLC_FLOAT_UNARY(Reciprocal, C(1) / x)
// nearbyint under the default rounding mode rounds halves to even, as ONNX requires.
DLC_FLOAT_UNARY(Round, std::nearbyint(x))
DLC_FLOAT_UNARY(Sin, std::sin(x))
DLC_FLOAT_UNARY(Sinh, std::sinh(x))
DLC_FLOAT_UNARY(Sqrt, std::sqrt(x))
DLC_FLOAT_UNARY(Tan, std::tan(x))
DLC_FLOAT_UNARY(Tanh, std::tanh(x))
DLC_FLOAT_UNARY(Sigmoid, act::sigmoid(x))
DLC_FLOAT_UNARY(Softplus, act::softplus(x))
DLC_FLOAT_UNARY(Softsign, act::softsign(x))
DLC_FLOAT_UNARY(HardSwish, act::hardSwish(x))
#undef DLC_FLOAT_UNARY

Status kAbs(KernelContext& ctx) {
  return unaryNumeric(ctx, [](auto x) {
    using C = decltype(x);
    if constexpr (kSigned<C>) return static_cast<C>(x < 0 ? -x : x);
    else return x;
  });
}
Status kNeg(KernelContext& ctx) {
  return unaryNumeric(ctx, [](auto x) { return static_cast<decltype(x)>(-x); });
}
Status kSign(KernelContext& ctx) {
  return unaryNumeric(ctx, [](auto x) {
    using C = decltype(x);
    return x > C(0) ? C(1) : (x < C(0) ? static_cast<C>(-1) : x);  // keeps 0 and NaN
  });
}
Status kRelu(KernelContext& ctx) {
  return unaryNumeric(ctx, [](auto x) { return act::relu(x); });
}
Status kNot(KernelContext& ctx) {
  if (ctx.input(0).dtype() != DType::Bool) return ctx.error("input must be bool");
  return unaryNumeric(ctx, [](auto x) { return !x; });
}

Status kLeakyRelu(KernelContext& ctx) {
  double alpha = ctx.op().getFloat("alpha", 0.01f);
  return unaryFloat(ctx, [alpha](auto x) { return act::leakyRelu(x, static_cast<decltype(x)>(alpha)); });
}
Status kElu(KernelContext& ctx) {
  double alpha = ctx.op().getFloat("alpha", 1.0f);
  return unaryFloat(ctx, [alpha](auto x) {
    using C = decltype(x);
    return x < C(0) ? static_cast<C>(alpha) * (std::exp(x) - C(1)) : x;
  });
}
Status kSelu(KernelContext& ctx) {
  double alpha = ctx.op().getFloat("alpha", 1.67326319f);
  double gamma = ctx.op().getFloat("gamma", 1.05070102f);
  return unaryFloat(ctx, [alpha, gamma](auto x) {
    using C = decltype(x);
    C a = static_cast<C>(alpha), g = static_cast<C>(gamma);
    return x > C(0) ? g * x : g * (a * std::exp(x) - a);
  });
}
Status kCelu(KernelContext& ctx) {
  double alpha = ctx.op().getFloat("alpha", 1.0f);
  return unaryFloat(ctx, [alpha](auto x) {
    using C = decltype(x);
    C a = static_cast<C>(alpha);
    return std::max(C(0), x) + std::min(C(0), a * (std::exp(x / a) - C(1)));
  });
}
Status kHardSigmoid(KernelContext& ctx) {
  double alpha = ctx.op().getFloat("alpha", 0.2f), beta = ctx.op().getFloat("beta", 0.5f);
  return unaryFloat(ctx, [alpha, beta](auto x) {
    using C = decltype(x);
    return act::hardSigmoid(x, static_cast<C>(alpha), static_cast<C>(beta));
  });
}
Status kThresholdedRelu(KernelContext& ctx) {
  double alpha = ctx.op().getFloat("alpha", 1.0f);
  return unaryFloat(ctx, [alpha](auto x) {
    using C = decltype(x);
    return x > static_cast<C>(alpha) ? x : C(0);
  });
}
Status kShrink(KernelContext& ctx) {
  double lambd = ctx.op().getFloat("lambd", 0.5f), bias = ctx.op().getFloat("bias", 0.0f);
  return unaryNumeric(ctx, [lambd, bias](auto x) {
    using C = decltype(x);
    double v = static_cast<double>(x);
    return static_cast<C>(v < -lambd ? v + bias : (v > lambd ? v - bias : 0.0));
  });
}

template <typename Pred>
Status floatPredicate(KernelContext& ctx, Pred pred) {
  const Tensor& x = ctx.input(0);
  Tensor y(DType::Bool, x.shape());
  bool* out = y.data<bool>();
  const int64_t n = x.numel();
  bool ok = true;
  DLC_DISPATCH_NUMERIC_OR(x.dtype(), ok = false, T, {
    const T* in = x.data<T>();
    for (int64_t i = 0; i < n; ++i) out[i] = pred(static_cast<double>(load(in[i])));
  });
  if (!ok) return ctx.error("input must be numeric");
  ctx.setOutput(0, std::move(y));
  return Status::success();
}
Status kIsNaN(KernelContext& ctx) {
  return floatPredicate(ctx, [](double v) { return std::isnan(v); });
}
Status kIsInf(KernelContext& ctx) {
  bool neg = ctx.op().getInt("detect_negative", 1) != 0, pos = ctx.op().getInt("detect_positive", 1) != 0;
  return floatPredicate(ctx, [neg, pos](double v) { return std::isinf(v) && (v > 0 ? pos : neg); });
}

// Identity forwards whatever it gets: tensors, sequences and optionals alike.
Status kIdentity(KernelContext& ctx) {
  ctx.setOutputValue(0, ctx.inputValue(0));
  return Status::success();
}

// StopGradient is the identity when run (the passes remove it; a graph fresh from autodiff keeps it).
Status kStopGradient(KernelContext& ctx) { return kIdentity(ctx); }

// Clip with optional scalar min/max inputs. min > max yields max everywhere (max is applied last).
template <typename T>
Status clipTyped(KernelContext& ctx) {
  using C = Compute<T>;
  C lo = std::numeric_limits<C>::lowest(), hi = std::numeric_limits<C>::max();
  if constexpr (std::is_floating_point_v<C>) {
    lo = -std::numeric_limits<C>::infinity();
    hi = std::numeric_limits<C>::infinity();
  }
  for (int k = 1; k <= 2; ++k) {
    if (!ctx.hasInput(k)) continue;
    const Tensor& b = ctx.input(k);
    if (b.dtype() != ctx.input(0).dtype()) return ctx.error("min/max must have the input's dtype");
    if (b.numel() != 1) return ctx.error("min/max must be scalars");
    (k == 1 ? lo : hi) = load(b.data<T>()[0]);
  }
  const Tensor& x = ctx.input(0);
  Tensor y(x.dtype(), x.shape());
  const T* in = x.data<T>();
  T* out = y.data<T>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    C v = load(in[i]);
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    out[i] = store<T>(v);
  }
  ctx.setOutput(0, std::move(y));
  return Status::success();
}
Status kClip(KernelContext& ctx) {
  DLC_DISPATCH_NUMERIC_OR(ctx.input(0).dtype(), return ctx.error("input must be numeric"), T,
                          return clipTyped<T>(ctx));
  return Status::success();
}

}  // namespace

void registerElementwiseKernels(KernelTable& table) {
#define DLC_REG(Name) table[static_cast<size_t>(OpKind::Name)] = &k##Name;
  DLC_REG(Abs) DLC_REG(Acos) DLC_REG(Acosh) DLC_REG(Asin) DLC_REG(Asinh) DLC_REG(Atan) DLC_REG(Atanh)
  DLC_REG(Ceil) DLC_REG(Cos) DLC_REG(Cosh) DLC_REG(Erf) DLC_REG(Exp) DLC_REG(Floor) DLC_REG(Log)
  DLC_REG(Neg) DLC_REG(Not) DLC_REG(Reciprocal) DLC_REG(Round) DLC_REG(Sign) DLC_REG(Sin) DLC_REG(Sinh)
  DLC_REG(Sqrt) DLC_REG(Tan) DLC_REG(Tanh) DLC_REG(Sigmoid) DLC_REG(Relu) DLC_REG(LeakyRelu) DLC_REG(Elu)
  DLC_REG(Selu) DLC_REG(Celu) DLC_REG(HardSigmoid) DLC_REG(HardSwish) DLC_REG(Softplus) DLC_REG(Softsign)
  DLC_REG(ThresholdedRelu) DLC_REG(Shrink) DLC_REG(IsInf) DLC_REG(IsNaN) DLC_REG(Identity) DLC_REG(Clip)
  DLC_REG(StopGradient)
#undef DLC_REG
  registerBinaryKernels(table);
  registerCastKernels(table);
}

}  // namespace dlc::ref
