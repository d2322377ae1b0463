// QuantizeLinear and DequantizeLinear with one scale and zero point (per tensor), and Cast from
// integers to f32, as oneDNN reorders; DynamicQuantizeLinear as a host step, which also change the layout in the same pass: the float ops between int8 ops of a
// quantized model (a residual Add, say) read and write through these.
#include "backends/onednn/library/program.h"

#include <algorithm>
#include <cmath>

namespace dlc::onednn {
namespace {

// A constant scalar operand's value; false when it is absent, not constant or not one element.
bool constantScalar(Builder& b, const Op& op, int i, double* out) {
  if (op.numOperands() <= i || !op.operand(i)) return false;
  auto t = b.tensorOf(op.operand(i));
  if (!t.ok() || !b.isConstant(*t) || op.operand(i)->type().shape.numElements() != 1) return false;
  const void* p = b.constantData(*t);
  switch (op.operand(i)->type().dtype) {
    case DType::F32: *out = *static_cast<const float*>(p); return true;
    case DType::U8: *out = *static_cast<const uint8_t*>(p); return true;
    case DType::I8: *out = *static_cast<const int8_t*>(p); return true;
    default: return false;
  }
}


// QuantizeLinear(x, s, z) = saturate(round(x / s) + z), as reorder(x) with output scale 1/s and
// destination zero point z (round to nearest even, saturating). x·(1/s) can differ from x / s in
// the last bit, which moves a value lying exactly halfway between two steps by one step.
// DequantizeLinear(q, s, z) = (q - z)·s, as reorder(q) with source zero point z and scale s.
Status lowerQuantizeOrDequantize(Builder& b, const Op& op) {
  const bool quantize = op.kind() == OpKind::QuantizeLinear;
  double scale = 0, zero_point = 0;
  if (!constantScalar(b, op, 1, &scale) || !(scale > 0))
    return Status::error(str(where(op), ": the scale must be one positive constant (per-axis runs on the reference kernels)"));
  if (op.operand(2) && !constantScalar(b, op, 2, &zero_point))
    return Status::error(str(where(op), ": the zero point must be one constant"));
  const DType qt = quantize ? op.result()->type().dtype : op.operand(0)->type().dtype;
  const DType ft = quantize ? op.operand(0)->type().dtype : op.result()->type().dtype;
  if ((qt != DType::U8 && qt != DType::I8) || ft != DType::F32) return Status::error(str(where(op), ": f32 <-> u8/s8 only"));
  DLC_ASSIGN_OR_RETURN(int src, b.tensorOf(op.operand(0)));
  dnnl::memory::desc dst_md = withType(b.md(src), *dnnlType(op.result()->type().dtype));
  dnnl::primitive_attr attr = Builder::baseAttr();
  attr.set_output_scales(0, {static_cast<float>(quantize ? 1.0 / scale : scale)});
  if (zero_point != 0) attr.set_zero_points(quantize ? DNNL_ARG_DST : DNNL_ARG_SRC, 0, {static_cast<int32_t>(zero_point)});
  dnnl::reorder::primitive_desc pd(cpuEngine(), b.md(src), cpuEngine(), dst_md, attr);
  int dst = b.internal(dst_md);
  b.exec(dnnl::reorder(pd), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}}, pd.scratchpad_desc(), op);
  b.bind(op.result(), dst);
  return Status::success();
}

// Cast from an integer type to f32 (exact below 2^24, rounded to nearest above, as a C++ cast),
// and between f32 and bf16/f16 (rounding to nearest even, as the reference kernel does): a reorder
// that keeps the layout. Float -> integer is left to the reference kernels (ONNX's Cast
// truncates; a reorder rounds).
Status lowerCastToFloat(Builder& b, const Op& op) {
  const DType from = op.operand(0)->type().dtype, to = op.result()->type().dtype;
  const bool int_to_f32 = (from == DType::I32 || from == DType::I8 || from == DType::U8) && to == DType::F32;
  const bool half = [](DType t) { return t == DType::BF16 || t == DType::F16; }(from == DType::F32 ? to : from);
  const bool float_to_float = (from == DType::F32 || to == DType::F32) && half;
  if (!int_to_f32 && !float_to_float) return Status::error(str(where(op), ": Cast from s32/s8/u8 to f32, or between f32 and bf16/f16, only"));
  DLC_ASSIGN_OR_RETURN(int src, b.tensorOf(op.operand(0)));
  dnnl::memory::desc dst_md = withType(b.md(src), *dnnlType(to));
  dnnl::reorder::primitive_desc pd(cpuEngine(), b.md(src), cpuEngine(), dst_md, Builder::baseAttr());
  int dst = b.internal(dst_md);
  b.exec(dnnl::reorder(pd), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}}, pd.scratchpad_desc(), op);
  b.bind(op.result(), dst);
  return Status::success();
}

// DynamicQuantizeLinear(x) -> y, scale, zero point, as ONNX defines it: the range [min(x, 0),
// max(x, 0)], scale = (max - min) / 255, zp = saturate(round(-min / scale)), y = saturate(round(x /
// scale) + zp), rounding half to even. The parameters depend on the data, which no oneDNN
// primitive computes, so this is a host step: one OpenMP pass for the range, one to quantize,
// dividing as the reference kernel does (bit-exact with it). Rounding adds and subtracts 1.5·2^23
// (exact round-half-even for |v| < 2^22; here |x / scale| <= 255): std::nearbyint is a libm call
// on baseline x86-64, which made the step a third of dynamic BERT's time.
inline float roundHalfEven(float v) {
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23
  return (v + kMagic) - kMagic;
}

Status lowerDynamicQuantize(Builder& b, const Op& op) {
  if (op.operand(0)->type().dtype != DType::F32) return Status::error(str(where(op), ": the input must be f32"));
  DLC_ASSIGN_OR_RETURN(int x0, b.tensorOf(op.operand(0)));
  DLC_ASSIGN_OR_RETURN(int x, b.ensurePlain(x0));
  const dnnl::memory::dims dims = b.md(x).dims();
  int y = b.internal(plainDesc(dims, dnnl::memory::data_type::u8));
  int scale = b.internal(plainDesc({1}, dnnl::memory::data_type::f32));
  int zp = b.internal(plainDesc({1}, dnnl::memory::data_type::u8));
  int64_t n = 1;
  for (auto d : dims) n *= d;
  b.host(
      [n](void* const* data) {
        const float* in = static_cast<const float*>(data[0]);
        uint8_t* out = static_cast<uint8_t*>(data[1]);
        float mn = 0.0f, mx = 0.0f;
#pragma omp parallel for reduction(min : mn) reduction(max : mx)
        for (int64_t i = 0; i < n; ++i) {
          mn = std::min(mn, in[i]);
          mx = std::max(mx, in[i]);
        }
        const float s = (mx - mn) / 255.0f;
        const float z = s == 0.0f ? 0.0f : roundHalfEven(std::min(255.0f, std::max(0.0f, 0.0f - mn / s)));
        const float d = s == 0.0f ? 1.0f : s;  // s = 0: every x is 0 (the range holds 0), so is y
#pragma omp parallel for
        for (int64_t i = 0; i < n; ++i) {
          const float v = roundHalfEven(in[i] / d) + z;
          out[i] = static_cast<uint8_t>(std::min(255.0f, std::max(0.0f, v)));
        }
        *static_cast<float*>(data[2]) = s;
        *static_cast<uint8_t*>(data[3]) = static_cast<uint8_t>(z);
      },
      {x, y, scale, zp}, op);
  b.bind(op.result(0), y);
  b.bind(op.result(1), scale);
  b.bind(op.result(2), zp);
  return Status::success();
}

// QLinearAdd(a, s_a, z_a, b, s_b, z_b, s_c, z_c) = Q_c(s_a(a - z_a) + s_b(b - z_b))
//   = round(α·a + β·b + γ) + saturation,  α = s_a/s_c, β = s_b/s_c, γ = z_c - α·z_a - β·z_b:
// one binary primitive on the integers with source scales α, β and a linear post-op adding γ,
// writing the int8 result (rounded to nearest even, saturated). QLinearMul with z_a = z_b = 0:
// α = s_a·s_b/s_c, β = 1, γ = z_c. oneDNN's binary has no source zero points, hence that limit.
// Requantizing as α·a + β·b instead of (DQ(a) + DQ(b)) / s_c can round a value lying within float
// error of a halfway point the other way: one step at most.
Status lowerQLinearBinary(Builder& b, const Op& op) {
  const bool add = op.kind() == OpKind::QLinearAdd;
  double sa = 0, za = 0, sb = 0, zb = 0, sc = 0, zc = 0;
  if (!constantScalar(b, op, 1, &sa) || !constantScalar(b, op, 4, &sb) || !constantScalar(b, op, 6, &sc) || !(sc > 0))
    return Status::error(str(where(op), ": scales must be constant scalars"));
  for (auto [i, z] : {std::pair<int, double*>{2, &za}, {5, &zb}, {7, &zc}})
    if (op.numOperands() > i && op.operand(i) && !constantScalar(b, op, i, z))
      return Status::error(str(where(op), ": zero points must be constant scalars"));
  if (!add && (za != 0 || zb != 0)) return Status::error(str(where(op), ": QLinearMul with input zero points"));
  const Value* av = op.operand(0);
  const Value* bv = op.operand(3);
  dnnl::memory::dims y = dimsOf(op.result()->type());
  if (dimsOf(av->type()) != y) {
    if (dimsOf(bv->type()) != y) return Status::error(str(where(op), ": both operands broadcast"));
    std::swap(av, bv);
    std::swap(sa, sb);
    std::swap(za, zb);
  }
  const float alpha = static_cast<float>(add ? sa / sc : sa * sb / sc), beta = static_cast<float>(add ? sb / sc : 1.0);
  const float gamma = static_cast<float>(add ? zc - alpha * za - beta * zb : zc);
  DLC_ASSIGN_OR_RETURN(int s0, b.tensorOf(av));
  DLC_ASSIGN_OR_RETURN(int s1, b.tensorOf(bv));
  dnnl::memory::desc md1;
  if (dimsOf(bv->type()) == y) {
    DLC_ASSIGN_OR_RETURN(s1, b.ensure(s1, b.md(s0)));
    md1 = b.md(s0);
  } else {
    DLC_ASSIGN_OR_RETURN(s1, b.ensurePlain(s1));
    md1 = withRank(b.md(s1), static_cast<int>(y.size()));
    s1 = b.view(s1, md1);
  }
  dnnl::primitive_attr attr = Builder::baseAttr();
  attr.set_scales(DNNL_ARG_SRC_0, 0, {alpha});
  attr.set_scales(DNNL_ARG_SRC_1, 0, {beta});
  if (gamma != 0.0f) {
    dnnl::post_ops post;
    post.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, 1.0f, gamma);
    attr.set_post_ops(post);
  }
  const dnnl::memory::desc src0 = b.md(s0);
  dnnl::binary::primitive_desc pd(dnnl::binary::desc(add ? dnnl::algorithm::binary_add : dnnl::algorithm::binary_mul, src0, md1, src0),
                                  attr, cpuEngine());
  int out = b.internal(pd.dst_desc());
  b.exec(dnnl::binary(pd), {{DNNL_ARG_SRC_0, s0}, {DNNL_ARG_SRC_1, s1}, {DNNL_ARG_DST, out}}, pd.scratchpad_desc(), op);
  b.bind(op.result(), out);
  return Status::success();
}

}  // namespace

dnnl::memory::desc withType(const dnnl::memory::desc& md, dnnl::memory::data_type t) {
  dnnl::memory::desc out = md;
  out.data.data_type = static_cast<dnnl_data_type_t>(t);
  return out;
}

Status lowerCastOp(Builder& b, const Op& op) { return lowerCastToFloat(b, op); }
Status lowerQuantizeOp(Builder& b, const Op& op) { return lowerQuantizeOrDequantize(b, op); }
Status lowerDynamicQuantizeOp(Builder& b, const Op& op) { return lowerDynamicQuantize(b, op); }
Status lowerQLinearBinaryOp(Builder& b, const Op& op) { return lowerQLinearBinary(b, op); }

}  // namespace dlc::onednn
