// Reference kernels: Softmax/LogSoftmax/Hardmax, and registration of the math kernel files.
#include <cmath>
#include <limits>

#include "backends/reference/kernels/broadcast.h"
#include "backends/reference/kernels/math_family.h"

namespace dlc::ref {
namespace {

enum class SoftKind { Softmax, LogSoftmax, Hardmax };

// Opset-13 semantics: normalizes along the single axis `axis`; each (outer, inner) pair is one
// vector of `dim` elements spaced `inner` apart.
template <typename T>
void softmaxTyped(const Tensor& x, Tensor& y, int axis, SoftKind kind) {
  using C = Compute<T>;
  using Acc = std::conditional_t<std::is_same_v<C, double>, double, float>;
  AxisSplit s = splitAt(x.shape(), axis);
  const T* in = x.data<T>();
  T* out = y.data<T>();
  std::vector<Acc> buf(static_cast<size_t>(s.dim));
  for (int64_t o = 0; o < s.outer; ++o) {
    for (int64_t i = 0; i < s.inner; ++i) {
      const int64_t base = o * s.dim * s.inner + i;
      Acc mx = -std::numeric_limits<Acc>::infinity();
      int64_t arg = 0;
      for (int64_t d = 0; d < s.dim; ++d) {
        Acc v = static_cast<Acc>(load(in[base + d * s.inner]));
        buf[static_cast<size_t>(d)] = v;
        if (v > mx) {  // first maximum wins for Hardmax
          mx = v;
          arg = d;
        }
      }
      if (kind == SoftKind::Hardmax) {
        for (int64_t d = 0; d < s.dim; ++d) out[base + d * s.inner] = store<T>(static_cast<Acc>(d == arg ? 1 : 0));
        continue;
      }
      Acc sum = 0;
      for (int64_t d = 0; d < s.dim; ++d) {
        Acc e = std::exp(buf[static_cast<size_t>(d)] - mx);
        if (kind == SoftKind::Softmax) buf[static_cast<size_t>(d)] = e;
        sum += e;
      }
      if (kind == SoftKind::Softmax) {
        Acc inv = Acc(1) / sum;
        for (int64_t d = 0; d < s.dim; ++d) out[base + d * s.inner] = store<T>(buf[static_cast<size_t>(d)] * inv);
      } else {
        // (x - max) - log(sum) keeps precision when max is large; x - (max + log(sum)) would not.
        Acc ls = std::log(sum);
        for (int64_t d = 0; d < s.dim; ++d)
          out[base + d * s.inner] = store<T>((buf[static_cast<size_t>(d)] - mx) - ls);
      }
    }
  }
}

Status softmaxLike(KernelContext& ctx, SoftKind kind) {
  const Tensor& x = ctx.input(0);
  int axis = 0;
  if (!normalizeAxisIn(ctx.op().getInt("axis", -1), std::max(x.rank(), 1), &axis))
    return ctx.error(str("axis ", ctx.op().getInt("axis", -1), " is out of range for rank ", x.rank()));
  Tensor y(x.dtype(), x.shape());
  switch (x.dtype()) {
    case DType::F32: softmaxTyped<float>(x, y, axis, kind); break;
    case DType::F64: softmaxTyped<double>(x, y, axis, kind); break;
    case DType::F16: softmaxTyped<Half>(x, y, axis, kind); break;
    case DType::BF16: softmaxTyped<BFloat16>(x, y, axis, kind); break;
    default: return ctx.error(str("dtype ", dtypeName(x.dtype()), " is not supported (floating point only)"));
  }
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

Status kSoftmax(KernelContext& ctx) { return softmaxLike(ctx, SoftKind::Softmax); }
Status kLogSoftmax(KernelContext& ctx) { return softmaxLike(ctx, SoftKind::LogSoftmax); }
Status kHardmax(KernelContext& ctx) { return softmaxLike(ctx, SoftKind::Hardmax); }

}  // namespace

Status softmaxAlongAxis(const Tensor& x, int axis, Tensor* y) {
  *y = Tensor(x.dtype(), x.shape());
  switch (x.dtype()) {
    case DType::F32: softmaxTyped<float>(x, *y, axis, SoftKind::Softmax); break;
    case DType::F64: softmaxTyped<double>(x, *y, axis, SoftKind::Softmax); break;
    default: return Status::error(str("softmax: dtype ", dtypeName(x.dtype()), " is not supported"));
  }
  return Status::success();
}

void registerMathKernels(KernelTable& table) {
  table[static_cast<size_t>(OpKind::Softmax)] = &kSoftmax;
  table[static_cast<size_t>(OpKind::LogSoftmax)] = &kLogSoftmax;
  table[static_cast<size_t>(OpKind::Hardmax)] = &kHardmax;
  registerMatMulKernels(table);
  registerMatMulNBitsKernels(table);
  registerQLinearBinaryKernels(table);
  registerReduceKernels(table);
  registerQuantizeKernels(table);
  registerEinsumKernels(table);
  registerRandomKernels(table);
  registerSignalKernels(table);
  registerStringKernels(table);
  registerFusedRegionKernels(table);
}

}  // namespace dlc::ref
