// Reference kernels: QuantizeLinear, DequantizeLinear (per-tensor and per-axis), DynamicQuantizeLinear.
#include <algorithm>
#include <cmath>

#include "backends/reference/kernels/broadcast.h"
#include "backends/reference/kernels/dynamic_range.h"
#include "backends/reference/kernels/math_family.h"

namespace dlc::ref {
namespace {

// Integer range of a quantized dtype.
bool quantRange(DType t, double* lo, double* hi) {
  switch (t) {
    case DType::U8: *lo = 0; *hi = 255; return true;
    case DType::I8: *lo = -128; *hi = 127; return true;
    case DType::U16: *lo = 0; *hi = 65535; return true;
    case DType::I16: *lo = -32768; *hi = 32767; return true;
    case DType::I32: *lo = -2147483648.0; *hi = 2147483647.0; return true;
    case DType::U4: *lo = 0; *hi = 15; return true;
    case DType::I4: *lo = -8; *hi = 7; return true;
    default: return false;
  }
}

// Index into a scale/zero-point tensor for element i: 0 when per-tensor, else the coordinate along axis.
struct ParamIndex {
  bool per_axis = false;
  AxisSplit split;
  int64_t operator()(int64_t i) const { return per_axis ? (i / split.inner) % split.dim : 0; }
};

Status paramIndex(KernelContext& ctx, const Tensor& x, const Tensor& scale, ParamIndex* pi) {
  if (scale.numel() == 1 && scale.rank() <= 1) return Status::success();
  if (scale.rank() != 1) return ctx.error("scale must be a scalar or 1-D");
  int axis = 0;
  int64_t a = ctx.op().getInt("axis", 1);
  if (!normalizeAxisIn(a, x.rank(), &axis)) return ctx.error(str("axis ", a, " is out of range for rank ", x.rank()));
  if (scale.dim(0) != x.dim(axis))
    return ctx.error(str("scale has ", scale.dim(0), " elements but axis ", axis, " has size ", x.dim(axis)));
  pi->per_axis = true;
  pi->split = splitAt(x.shape(), axis);
  return Status::success();
}

// Writes a rounded, saturated value into a quantized tensor (packed 4-bit types included).
void storeQuant(Tensor& y, int64_t i, double v) {
  if (y.dtype() == DType::U4 || y.dtype() == DType::I4) {
    uint8_t nib = static_cast<uint8_t>(static_cast<int>(v) & 0xF);
    uint8_t* p = static_cast<uint8_t*>(y.raw()) + i / 2;
    *p = (i % 2 == 0) ? static_cast<uint8_t>((*p & 0xF0) | nib) : static_cast<uint8_t>((*p & 0x0F) | (nib << 4));
    return;
  }
  y.setDouble(i, v);
}
int64_t loadQuant(const Tensor& x, int64_t i) {
  if (x.dtype() == DType::U4 || x.dtype() == DType::I4) {
    uint8_t b = static_cast<const uint8_t*>(x.raw())[i / 2];
    int v = (i % 2 == 0) ? (b & 0xF) : (b >> 4);
    if (x.dtype() == DType::I4 && v >= 8) v -= 16;
    return v;
  }
  return x.getInt(i);
}

Status kQuantizeLinear(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const Tensor* zp = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  DType out_t = zp ? zp->dtype() : DType::U8;
  double lo = 0, hi = 0;
  if (!quantRange(out_t, &lo, &hi)) return ctx.error(str("cannot quantize to ", dtypeName(out_t)));
  if (!isFloat(x.dtype()) && x.dtype() != DType::I32) return ctx.error("input must be float or i32");
  ParamIndex pi;
  DLC_RETURN_IF_ERROR(paramIndex(ctx, x, scale, &pi));
  if (zp && zp->numel() != scale.numel()) return ctx.error("zero point and scale sizes differ");
  Tensor y(out_t, x.shape());
  const bool f32 = x.dtype() == DType::F32;
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t p = pi(i);
    double s = scale.getDouble(p);
    double z = zp ? static_cast<double>(loadQuant(*zp, p)) : 0.0;
    // Divide in float32 for f32 inputs, as the ONNX reference does, then round half to even.
    double q = f32 ? static_cast<double>(x.data<float>()[i] / static_cast<float>(s)) : x.getDouble(i) / s;
    double v = std::nearbyint(q) + z;
    storeQuant(y, i, std::isnan(v) ? lo : std::min(hi, std::max(lo, v)));
  }
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

Status kDequantizeLinear(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const Tensor* zp = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  if (!isFloat(scale.dtype())) return ctx.error("scale must be floating point");
  if (!isInteger(x.dtype())) return ctx.error("input must be an integer tensor");
  ParamIndex pi;
  DLC_RETURN_IF_ERROR(paramIndex(ctx, x, scale, &pi));
  if (zp && zp->dtype() != x.dtype()) return ctx.error("zero point must have the input's dtype");
  if (zp && zp->numel() != scale.numel()) return ctx.error("zero point and scale sizes differ");
  Tensor y(scale.dtype(), x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t p = pi(i);
    int64_t z = zp ? loadQuant(*zp, p) : 0;
    float s = static_cast<float>(scale.getDouble(p));
    y.setDouble(i, static_cast<float>(loadQuant(x, i) - z) * s);
  }
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

// u8 quantization with a range that always includes 0: scale = (max - min) / 255.
Status kDynamicQuantizeLinear(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::F32) return ctx.error("input must be f32");
  const float* in = x.data<float>();
  const DynamicRange range = DynamicRange::of(in, x.numel());
  Tensor y(DType::U8, x.shape());
  uint8_t* out = y.data<uint8_t>();
  for (int64_t i = 0; i < x.numel(); ++i) out[i] = range.quantize(in[i]);
  ctx.setOutput(0, std::move(y));
  ctx.setOutput(1, Tensor::scalar(DType::F32, range.scale));
  ctx.setOutput(2, Tensor::scalar(DType::U8, range.zero_point));
  return Status::success();
}

}  // namespace

void registerQuantizeKernels(KernelTable& table) {
  table[static_cast<size_t>(OpKind::QuantizeLinear)] = &kQuantizeLinear;
  table[static_cast<size_t>(OpKind::DequantizeLinear)] = &kDequantizeLinear;
  table[static_cast<size_t>(OpKind::DynamicQuantizeLinear)] = &kDynamicQuantizeLinear;
}

}  // namespace dlc::ref
