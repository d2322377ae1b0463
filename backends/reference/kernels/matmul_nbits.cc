// Reference kernel: MatMulNBits (block-quantized weights, ir/ops.def). Each row of W is decoded
// into a K-long buffer and used at once, so the whole weight is never held in float.
#include <algorithm>
#include <vector>

#include "backends/reference/kernels/math_family.h"
#include "ir/nbits_layout.h"

namespace dlc::ref {
namespace {

Status kMatMulNBits(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  const Tensor& scales = ctx.input(2);
  const Tensor* zp = ctx.hasInput(3) ? &ctx.input(3) : nullptr;
  if (ctx.hasInput(4)) return ctx.error("g_idx (act-order quantization) is not supported");
  const Tensor* bias = ctx.hasInput(5) ? &ctx.input(5) : nullptr;
  nbits::Layout l{ctx.op().getInt("K", 0), ctx.op().getInt("N", 0), ctx.op().getInt("bits", 4),
                  ctx.op().getInt("block_size", 0)};
  if (a.dtype() != DType::F32 || scales.dtype() != DType::F32) return ctx.error("A and scales must be f32");
  if (a.rank() < 1 || a.dim(a.rank() - 1) != l.k) return ctx.error(str("A's last dim must be K = ", l.k));
  if (b.dtype() != DType::U8 || b.numel() != l.n * l.rowBytes())
    return ctx.error(str("B must be u8 [", l.n, ", ", l.blocks(), ", ", l.blobBytes(), "]"));
  if (scales.numel() != l.n * l.blocks()) return ctx.error(str("scales must have N * blocks = ", l.n * l.blocks(), " elements"));
  const bool float_zp = zp && zp->dtype() == DType::F32;
  if (zp && !float_zp && (zp->dtype() != DType::U8 || zp->numel() != l.n * l.zeroPointRowBytes()))
    return ctx.error(str("zero_points must be u8 [", l.n * l.zeroPointRowBytes(), "] (packed) or f32 [N * blocks]"));
  if (float_zp && zp->numel() != l.n * l.blocks()) return ctx.error("float zero_points must have N * blocks elements");
  if (bias && (bias->dtype() != DType::F32 || bias->numel() != l.n)) return ctx.error(str("bias must be f32 [", l.n, "]"));

  std::vector<int64_t> out_shape = a.shape();
  out_shape.back() = l.n;
  Tensor y(DType::F32, out_shape);
  const int64_t rows = a.numel() / l.k;
  const float* pa = a.data<float>();
  const uint8_t* pb = b.data<uint8_t>();
  const float* ps = scales.data<float>();
  float* py = y.data<float>();
  std::vector<float> w(static_cast<size_t>(l.k));
  for (int64_t n = 0; n < l.n; ++n) {
    const uint8_t* row = pb + n * l.rowBytes();
    for (int64_t blk = 0; blk < l.blocks(); ++blk) {
      const float s = ps[n * l.blocks() + blk];
      float z = static_cast<float>(l.defaultZeroPoint());
      if (float_zp) z = zp->data<float>()[n * l.blocks() + blk];
      else if (zp) z = static_cast<float>(nbits::code(zp->data<uint8_t>() + n * l.zeroPointRowBytes(), blk, l.bits));
      for (int64_t k = blk * l.block; k < std::min(l.k, (blk + 1) * l.block); ++k)
        w[static_cast<size_t>(k)] = (static_cast<float>(nbits::code(row, k, l.bits)) - z) * s;
    }
    const float add = bias ? bias->data<float>()[n] : 0.0f;
    for (int64_t r = 0; r < rows; ++r) {
      const float* ar = pa + r * l.k;
      float acc = 0.0f;
      for (int64_t k = 0; k < l.k; ++k) acc += ar[k] * w[static_cast<size_t>(k)];
      py[r * l.n + n] = acc + add;
    }
  }
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

}  // namespace

void registerMatMulNBitsKernels(KernelTable& table) {
  table[static_cast<size_t>(OpKind::MatMulNBits)] = &kMatMulNBits;
}

}  // namespace dlc::ref
