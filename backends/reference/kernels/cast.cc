// Reference kernels: Cast and CastLike between every numeric dtype, bool, f16/bf16 and string.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "backends/reference/kernels/broadcast.h"
#include "backends/reference/kernels/math_family.h"
#include "ir/dtype_onnx.h"

namespace dlc::ref {
namespace {

template <typename To, typename From>
To convert(From v) {
  auto c = load(v);
  if constexpr (std::is_same_v<To, bool>) {
    return c != 0;
  } else if constexpr (kIsFloatStorage<To>) {
    // 16-bit targets round once from float (double sources round twice; acceptable for the oracle).
    return store<To>(static_cast<Compute<To>>(c));
  } else if constexpr (std::is_floating_point_v<decltype(c)>) {
    // Float -> integer truncates toward zero; out-of-range values saturate through int64 and then
    // wrap like numpy's astype rather than invoking undefined behaviour.
    if (std::isnan(c)) return To(0);
    double d = std::trunc(static_cast<double>(c));
    if constexpr (std::is_unsigned_v<To>) {
      if (d >= 0 && d < 18446744073709551616.0) return static_cast<To>(static_cast<uint64_t>(d));
    }
    if (d >= 9223372036854775807.0) return static_cast<To>(std::numeric_limits<int64_t>::max());
    if (d <= -9223372036854775808.0) return static_cast<To>(std::numeric_limits<int64_t>::min());
    return static_cast<To>(static_cast<int64_t>(d));
  } else {
    return static_cast<To>(c);  // integer -> integer wraps (two's complement)
  }
}

template <typename From, typename To>
void castLoop(const Tensor& x, Tensor& y) {
  const From* in = x.data<From>();
  To* out = y.data<To>();
  for (int64_t i = 0; i < x.numel(); ++i) out[i] = convert<To>(in[i]);
}

// Shortest decimal that reads back to the same value (numpy's str of a float).
template <typename F>
std::string shortestString(F v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const int max_prec = std::is_same_v<F, float> ? 9 : 17;
  for (int p = 1; p <= max_prec; ++p) {
    std::snprintf(buf, sizeof buf, "%.*g", p, static_cast<double>(v));
    if (static_cast<F>(std::strtod(buf, nullptr)) == v) break;
  }
  return buf;
}

template <typename T>
std::string toString(T v) {
  if constexpr (std::is_same_v<T, bool>) return v ? "1" : "0";
  else if constexpr (std::is_same_v<T, double>) return shortestString(v);
  else if constexpr (kIsFloatStorage<T>) return shortestString(static_cast<float>(load(v)));
  else if constexpr (std::is_signed_v<T>) return std::to_string(static_cast<long long>(v));
  else return std::to_string(static_cast<unsigned long long>(v));
}

template <typename T>
T fromString(const std::string& s) {
  if constexpr (std::is_same_v<T, bool>) {
    if (s == "true" || s == "True" || s == "TRUE") return true;
    return std::strtod(s.c_str(), nullptr) != 0;
  } else if constexpr (kIsFloatStorage<T>) {
    return store<T>(static_cast<Compute<T>>(std::strtod(s.c_str(), nullptr)));  // accepts INF, NaN, 1e-3
  } else if constexpr (std::is_signed_v<T>) {
    return static_cast<T>(std::strtoll(s.c_str(), nullptr, 10));
  } else {
    return static_cast<T>(std::strtoull(s.c_str(), nullptr, 10));
  }
}

Expected<Tensor> castTensor(KernelContext& ctx, const Tensor& x, DType to) {
  Tensor y(to, x.shape());
  const int64_t n = x.numel();
  bool ok = true;
  if (x.dtype() == DType::String && to == DType::String) {
    y.strings() = x.strings();
  } else if (x.dtype() == DType::String) {
    DLC_DISPATCH_NUMERIC_OR(to, ok = false, T, {
      for (int64_t i = 0; i < n; ++i) y.data<T>()[i] = fromString<T>(x.strings()[static_cast<size_t>(i)]);
    });
  } else if (to == DType::String) {
    DLC_DISPATCH_NUMERIC_OR(x.dtype(), ok = false, T, {
      for (int64_t i = 0; i < n; ++i) y.strings()[static_cast<size_t>(i)] = toString(x.data<T>()[i]);
    });
  } else {
    DLC_DISPATCH_NUMERIC_OR(x.dtype(), ok = false, From, {
      DLC_DISPATCH_NUMERIC_OR(to, ok = false, To, castLoop<From, To>(x, y));
    });
  }
  if (!ok) return ctx.error(str("cannot cast ", dtypeName(x.dtype()), " to ", dtypeName(to)));
  return y;
}

Status kCast(KernelContext& ctx) {
  auto to = dtypeFromOnnxCode(ctx.op().getInt("to", 0));
  if (!to) return ctx.error(str("unsupported target dtype code ", ctx.op().getInt("to", 0)));
  DLC_ASSIGN_OR_RETURN(Tensor y, castTensor(ctx, ctx.input(0), *to));
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

Status kCastLike(KernelContext& ctx) {
  DLC_ASSIGN_OR_RETURN(Tensor y, castTensor(ctx, ctx.input(0), ctx.input(1).dtype()));
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

}  // namespace

void registerCastKernels(KernelTable& table) {
  table[static_cast<size_t>(OpKind::Cast)] = &kCast;
  table[static_cast<size_t>(OpKind::CastLike)] = &kCastLike;
}

}  // namespace dlc::ref
