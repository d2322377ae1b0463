// Reference kernels for dlc's fused ops: Gelu, Attention and FusedElementwise (runs its body).
#include <cmath>

#include "backends/reference/gemm.h"
#include "backends/reference/kernels/activations.h"
#include "backends/reference/kernels/broadcast.h"
#include "backends/reference/kernels/math_family.h"

namespace dlc::ref {
namespace {

// Gelu(x) = 0.5 x (1 + erf(x / √2)); approximate=tanh: 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))).
template <typename T>
void geluTyped(const Tensor& x, Tensor& y, bool tanh_form) {
  using C = std::conditional_t<std::is_same_v<Compute<T>, double>, double, float>;
  const T* in = x.data<T>();
  T* out = y.data<T>();
  const C k_sqrt_2_over_pi = static_cast<C>(0.79788456080286535588);
  for (int64_t i = 0; i < x.numel(); ++i) {
    C v = static_cast<C>(load(in[i]));
    C r = tanh_form ? C(0.5) * v * (C(1) + std::tanh(k_sqrt_2_over_pi * (v + C(0.044715) * v * v * v)))
                    : act::geluErf(v);
    out[i] = store<T>(r);
  }
}

Status kGelu(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const std::string mode = ctx.op().getString("approximate", "none");
  if (mode != "none" && mode != "tanh") return ctx.error(str("approximate must be none or tanh, got '", mode, "'"));
  const bool tanh_form = mode == "tanh";
  Tensor y(x.dtype(), x.shape());
  switch (x.dtype()) {
    case DType::F32: geluTyped<float>(x, y, tanh_form); break;
    case DType::F64: geluTyped<double>(x, y, tanh_form); break;
    case DType::F16: geluTyped<Half>(x, y, tanh_form); break;
    case DType::BF16: geluTyped<BFloat16>(x, y, tanh_form); break;
    default: return ctx.error(str("dtype ", dtypeName(x.dtype()), " is not supported (floating point only)"));
  }
  ctx.setOutput(0, std::move(y));
  return Status::success();
}

void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
          int64_t ldb, float* c, int64_t ldc) {
  gemmF32(ta, tb, m, n, k, alpha, a, lda, b, ldb, 0.0f, c, ldc);
}
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
          const double* b, int64_t ldb, double* c, int64_t ldc) {
  gemmF64(ta, tb, m, n, k, alpha, a, lda, b, ldb, 0.0, c, ldc);
}

// Per batch b and head h: Y[b,:,h] = softmax(Q[b,:,h] K[b,:,h]^T · scale + M[b,h]) V[b,:,h], where
// Q[b,:,h] is the S×D block of columns h·D..(h+1)·D (row stride H·D), likewise for K and V.
template <typename T>
Status attentionTyped(KernelContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor* mask,
                      int64_t heads, Tensor& y) {
  const int64_t B = q.dim(0), S = q.dim(1), T_ = k.dim(1);
  const int64_t D = q.dim(2) / heads, Dv = v.dim(2) / heads;
  double scale = ctx.op().getFloat("scale", 0.0f);
  if (scale == 0.0) scale = 1.0 / std::sqrt(static_cast<double>(D));
  std::vector<int64_t> mstrides;
  const std::vector<int64_t> full = {B, heads, S, T_};
  if (mask) mstrides = broadcastStrides(mask->shape(), full);
  const T* qd = q.data<T>();
  const T* kd = k.data<T>();
  const T* vd = v.data<T>();
  T* yd = y.data<T>();
  Tensor scores(q.dtype(), {S, T_});
  Tensor probs;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      T* sc = scores.data<T>();
      gemm(false, true, S, T_, D, static_cast<T>(scale), qd + (b * S) * q.dim(2) + h * D, q.dim(2),
           kd + (b * T_) * k.dim(2) + h * D, k.dim(2), sc, T_);
      if (mask) {
        const T* md = mask->data<T>();
        const int64_t base = b * mstrides[0] + h * mstrides[1];
        for (int64_t i = 0; i < S; ++i)
          for (int64_t j = 0; j < T_; ++j) sc[i * T_ + j] += md[base + i * mstrides[2] + j * mstrides[3]];
      }
      DLC_RETURN_IF_ERROR(softmaxAlongAxis(scores, 1, &probs));
      gemm(false, false, S, Dv, T_, T(1), probs.data<T>(), T_, vd + (b * T_) * v.dim(2) + h * Dv, v.dim(2),
           yd + (b * S) * y.dim(2) + h * Dv, y.dim(2));
    }
  }
  return Status::success();
}

Status kAttention(KernelContext& ctx) {
  const int64_t heads = ctx.op().getInt("num_heads", 0);
  Tensor q = ctx.input(0), k = ctx.input(1), v = ctx.input(2);
  if (heads <= 0) return ctx.error(str("num_heads must be positive, got ", heads));
  if (q.rank() != 3 || k.rank() != 3 || v.rank() != 3) return ctx.error("Q, K and V must be rank 3 ([B,S,H*D])");
  if (q.dtype() != k.dtype() || q.dtype() != v.dtype()) return ctx.error("Q, K and V must have one dtype");
  if (q.dim(2) % heads || k.dim(2) % heads || v.dim(2) % heads)
    return ctx.error(str("the last dims of Q, K and V must be divisible by num_heads ", heads));
  if (k.dim(0) != q.dim(0) || v.dim(0) != q.dim(0) || v.dim(1) != k.dim(1) || k.dim(2) != q.dim(2))
    return ctx.error("Q [B,S,H*D], K [B,T,H*D] and V [B,T,H*Dv] do not agree");
  const DType dt = q.dtype();
  const bool narrow = dt == DType::F16 || dt == DType::BF16;
  if (dt != DType::F32 && dt != DType::F64 && !narrow)
    return ctx.error(str("dtype ", dtypeName(dt), " is not supported (floating point only)"));
  const DType cdt = narrow ? DType::F32 : dt;  // 16-bit floats compute in f32
  if (narrow) {
    q = q.castTo(cdt);
    k = k.castTo(cdt);
    v = v.castTo(cdt);
  }
  Tensor mask;
  if (ctx.hasInput(3)) {
    mask = ctx.input(3);
    std::vector<int64_t> out;
    std::string err;
    if (mask.rank() > 4 || !broadcastShapes({mask.shape(), {q.dim(0), heads, q.dim(1), k.dim(1)}}, &out, &err) ||
        out != std::vector<int64_t>{q.dim(0), heads, q.dim(1), k.dim(1)})
      return ctx.error("the mask does not broadcast to [B,H,S,T]");
    if (mask.dtype() != cdt) mask = mask.castTo(cdt);
  }
  Tensor y(cdt, {q.dim(0), q.dim(1), v.dim(2)});
  const Tensor* m = ctx.hasInput(3) ? &mask : nullptr;
  if (cdt == DType::F32) DLC_RETURN_IF_ERROR(attentionTyped<float>(ctx, q, k, v, m, heads, y));
  else DLC_RETURN_IF_ERROR(attentionTyped<double>(ctx, q, k, v, m, heads, y));
  ctx.setOutput(0, narrow ? y.castTo(dt) : std::move(y));
  return Status::success();
}

// FusedElementwise(x...) = body(x...).
Status kFusedElementwise(KernelContext& ctx) {
  const Attribute* a = ctx.op().attr("body");
  if (!a || !a->g) return ctx.error("needs a body");
  std::vector<RtValue> args;
  for (int i = 0; i < ctx.numInputs(); ++i) args.push_back(ctx.inputValue(i));
  DLC_ASSIGN_OR_RETURN(std::vector<RtValue> outs, ctx.runRegion(*a->g, std::move(args)));
  if (static_cast<int>(outs.size()) != ctx.numOutputs())
    return ctx.error(str("body returned ", outs.size(), " values for ", ctx.numOutputs(), " outputs"));
  for (int i = 0; i < ctx.numOutputs(); ++i) ctx.setOutputValue(i, std::move(outs[static_cast<size_t>(i)]));
  return Status::success();
}

}  // namespace

void registerFusedRegionKernels(KernelTable& table) {
  table[static_cast<size_t>(OpKind::Gelu)] = &kGelu;
  table[static_cast<size_t>(OpKind::Attention)] = &kAttention;
  table[static_cast<size_t>(OpKind::FusedElementwise)] = &kFusedElementwise;
}

}  // namespace dlc::ref
