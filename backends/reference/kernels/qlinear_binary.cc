// Reference kernels: QLinearAdd and QLinearMul (ONNX Runtime's quantized elementwise ops):
// C = Q_c(DQ_a(A) op DQ_b(B)) with NumPy broadcasting, each DQ and the op in f32, Q rounding half
// to even and saturating, as QuantizeLinear and DequantizeLinear compute them.
#include <algorithm>
#include <cmath>

#include "backends/reference/kernels/broadcast.h"
#include "backends/reference/kernels/math_family.h"

namespace dlc::ref {
namespace {

Status qlinearBinary(KernelContext& ctx, bool add) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(3);
  auto scalarOf = [&](int i, double fallback) -> Expected<double> {
    if (!ctx.hasInput(i)) return fallback;
    const Tensor& t = ctx.input(i);
    if (t.numel() != 1) return ctx.error(str("input ", i, " must be one value (per-tensor parameters only)"));
    return t.getDouble(0);
  };
  DLC_ASSIGN_OR_RETURN(double sa, scalarOf(1, 1));
  DLC_ASSIGN_OR_RETURN(double za, scalarOf(2, 0));
  DLC_ASSIGN_OR_RETURN(double sb, scalarOf(4, 1));
  DLC_ASSIGN_OR_RETURN(double zb, scalarOf(5, 0));
  DLC_ASSIGN_OR_RETURN(double sc, scalarOf(6, 1));
  DLC_ASSIGN_OR_RETURN(double zc, scalarOf(7, 0));
  if (a.dtype() != b.dtype() || (a.dtype() != DType::U8 && a.dtype() != DType::I8)) return ctx.error("A and B must be both u8 or both i8");
  std::vector<int64_t> shape;
  std::string err;
  if (!broadcastShapes({a.shape(), b.shape()}, &shape, &err)) return ctx.error(err);
  const std::vector<int64_t> as = broadcastStrides(a.shape(), shape), bs = broadcastStrides(b.shape(), shape);
  const double lo = a.dtype() == DType::U8 ? 0 : -128, hi = a.dtype() == DType::U8 ? 255 : 127;
  Tensor c(a.dtype(), shape);
  std::vector<int64_t> idx(shape.size(), 0);
  for (int64_t i = 0; i < c.numel(); ++i) {
    int64_t ia = 0, ib = 0;
    for (size_t d = 0; d < shape.size(); ++d) {
      ia += idx[d] * as[d];
      ib += idx[d] * bs[d];
    }
    const float x = static_cast<float>(a.getDouble(ia) - za) * static_cast<float>(sa);
    const float y = static_cast<float>(b.getDouble(ib) - zb) * static_cast<float>(sb);
    const float r = add ? x + y : x * y;
    const double q = std::nearbyint(static_cast<double>(r / static_cast<float>(sc))) + zc;
    c.setDouble(i, std::min(hi, std::max(lo, q)));
    for (size_t d = shape.size(); d-- > 0;) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  ctx.setOutput(0, std::move(c));
  return Status::success();
}

Status kQLinearAdd(KernelContext& ctx) { return qlinearBinary(ctx, true); }
Status kQLinearMul(KernelContext& ctx) { return qlinearBinary(ctx, false); }

}  // namespace

void registerQLinearBinaryKernels(KernelTable& table) {
  table[static_cast<size_t>(OpKind::QLinearAdd)] = &kQLinearAdd;
  table[static_cast<size_t>(OpKind::QLinearMul)] = &kQLinearMul;
}

}  // namespace dlc::ref
