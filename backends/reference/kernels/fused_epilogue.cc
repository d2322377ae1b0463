// Reference kernels: FusedConv and FusedMatMul, the Conv/MatMul kernels followed by the epilogue
// Y = act(alpha * Y + C + R) applied in place.
#include <cmath>
#include <string>
#include <utility>

#include "backends/reference/kernels/activations.h"
#include "backends/reference/kernels/broadcast.h"
#include "backends/reference/kernels/linear_kernels.h"
#include "backends/reference/kernels/nn_util.h"

namespace dlc::ref {
namespace {

enum class Act { None, Relu, LeakyRelu, Clip, Sigmoid, HardSigmoid, HardSwish, Silu, Gelu, Tanh };

struct Epilogue {
  Act act = Act::None;
  double a = 0, b = 0;  // activation_alpha / activation_beta
};

Status parseEpilogue(const KernelContext& ctx, Epilogue* ep) {
  static const std::pair<const char*, Act> kActs[] = {
      {"none", Act::None},       {"Relu", Act::Relu},           {"LeakyRelu", Act::LeakyRelu},
      {"Clip", Act::Clip},       {"Sigmoid", Act::Sigmoid},     {"HardSigmoid", Act::HardSigmoid},
      {"HardSwish", Act::HardSwish}, {"Silu", Act::Silu},       {"Gelu", Act::Gelu},
      {"Tanh", Act::Tanh}};
  const std::string name = ctx.op().getString("activation", "none");
  ep->a = ctx.op().getFloat("activation_alpha", 0.0f);
  ep->b = ctx.op().getFloat("activation_beta", 0.0f);
  for (const auto& [n, act] : kActs)
    if (name == n) {
      ep->act = act;
      return Status::success();
    }
  return ctx.error(str("unknown activation '", name, "'"));
}

template <typename T, typename F>
void mapInPlace(T* p, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) p[i] = f(p[i]);
}

// The activation over y in its compute type, with the formulas of the standalone kernels
// (activations.h); the switch sits outside the element loop.
template <typename T>
void activate(const Epilogue& ep, T* py, int64_t n) {
  const T a = static_cast<T>(ep.a), b = static_cast<T>(ep.b);
  switch (ep.act) {
    case Act::None: return;
    case Act::Relu: return mapInPlace(py, n, [](T x) { return act::relu(x); });
    case Act::LeakyRelu: return mapInPlace(py, n, [a](T x) { return act::leakyRelu(x, a); });
    case Act::Clip: return mapInPlace(py, n, [a, b](T x) { return std::min(std::max(x, a), b); });
    case Act::Sigmoid: return mapInPlace(py, n, [](T x) { return act::sigmoid(x); });
    case Act::HardSigmoid: return mapInPlace(py, n, [a, b](T x) { return act::hardSigmoid(x, a, b); });
    case Act::HardSwish: return mapInPlace(py, n, [](T x) { return act::hardSwish(x); });
    case Act::Silu: return mapInPlace(py, n, [](T x) { return x * act::sigmoid(x); });
    case Act::Gelu: return mapInPlace(py, n, [](T x) { return act::geluErf(x); });
    case Act::Tanh: return mapInPlace(py, n, [](T x) { return std::tanh(x); });
  }
}

// y = act(alpha * y + C + R) in place on a compute-dtype tensor; C broadcasts to y, R has y's shape.
template <typename T>
void applyEpilogue(Tensor& y, double alpha, const Tensor* c, const Tensor* r, const Epilogue& ep) {
  T* py = y.data<T>();
  const int64_t n = y.numel();
  if (alpha != 1.0)
    for (int64_t i = 0; i < n; ++i) py[i] = static_cast<T>(alpha * py[i]);
  if (c) {
    std::array<std::vector<int64_t>, 1> st{broadcastStrides(c->shape(), y.shape())};
    const T* pc = c->data<T>();
    forEachRow<1>(y.shape(), st, [&](int64_t o, const std::array<int64_t, 1>& off, int64_t len,
                                     const std::array<int64_t, 1>& s) {
      for (int64_t j = 0; j < len; ++j) py[o + j] += pc[off[0] + j * s[0]];
    });
  }
  if (r) {
    const T* pr = r->data<T>();
    for (int64_t i = 0; i < n; ++i) py[i] += pr[i];
  }
  activate<T>(ep, py, n);
}

// Checks the residual R (input `idx`) against Y's shape and returns it in the compute dtype.
Status residual(const KernelContext& ctx, int idx, const Tensor& y, Tensor* r) {
  if (!ctx.hasInput(idx)) return Status::success();
  if (ctx.input(idx).shape() != y.shape()) return ctx.error("residual R must have Y's shape");
  *r = toCompute(ctx.input(idx));
  if (r->dtype() != y.dtype()) return ctx.error("R must have Y's dtype");
  return Status::success();
}

// FusedConv(X, W, B?, R?): Y = act(Conv(X, W) + B + R).
Status kFusedConv(KernelContext& ctx) {
  Epilogue ep;
  DLC_RETURN_IF_ERROR(parseEpilogue(ctx, &ep));
  DLC_RETURN_IF_ERROR(runConv(ctx));  // X, W, B and the conv attributes read exactly as Conv's
  const DType out_dtype = ctx.input(0).dtype();
  Tensor y = toCompute(ctx.outputs()[0].tensor), r;
  DLC_RETURN_IF_ERROR(residual(ctx, 3, y, &r));
  DLC_NN_FLOAT_DISPATCH(y.dtype(), T, { applyEpilogue<T>(y, 1.0, nullptr, r.defined() ? &r : nullptr, ep); });
  ctx.setOutput(0, fromCompute(y, out_dtype));
  return Status::success();
}

// op(X): X with its last two dims swapped when `trans` is set (a copy; X is a compute-dtype tensor).
template <typename T>
Tensor transposeLast2(const Tensor& x) {
  std::vector<int64_t> shape = x.shape();
  const int64_t rows = shape[shape.size() - 2], cols = shape.back(), mats = x.numel() / std::max<int64_t>(1, rows * cols);
  std::swap(shape[shape.size() - 1], shape[shape.size() - 2]);
  Tensor out(x.dtype(), shape);
  const T* src = x.data<T>();
  T* dst = out.data<T>();
  for (int64_t b = 0; b < mats; ++b)
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) dst[b * rows * cols + j * rows + i] = src[b * rows * cols + i * cols + j];
  return out;
}

// FusedMatMul(A, B, C?, R?): Y = act(alpha * op(A) @ op(B) + C + R), MatMul's batching rules.
Status kFusedMatMul(KernelContext& ctx) {
  Epilogue ep;
  DLC_RETURN_IF_ERROR(parseEpilogue(ctx, &ep));
  const Tensor& A = ctx.input(0);
  const Tensor& B = ctx.input(1);
  if (!isNNFloat(A.dtype()) || A.dtype() != B.dtype()) return ctx.error("A and B must be floats of the same dtype");
  const bool ta = ctx.op().getInt("transA", 0) != 0, tb = ctx.op().getInt("transB", 0) != 0;
  if ((ta && A.rank() < 2) || (tb && B.rank() < 2)) return ctx.error("a transposed operand must have rank >= 2");
  Tensor a = toCompute(A), b = toCompute(B), y;
  DLC_NN_FLOAT_DISPATCH(a.dtype(), T, {
    if (ta) a = transposeLast2<T>(a);
    if (tb) b = transposeLast2<T>(b);
  });
  DLC_ASSIGN_OR_RETURN(y, runBatchedMatMul(ctx, a, b, a.dtype()));
  Tensor c, r;
  if (ctx.hasInput(2)) {
    std::vector<int64_t> bs;
    if (!broadcastShapes({ctx.input(2).shape(), y.shape()}, &bs, nullptr) || bs != y.shape())
      return ctx.error("C does not broadcast to Y's shape");
    c = toCompute(ctx.input(2));
    if (c.dtype() != y.dtype()) return ctx.error("C must have A's dtype");
  }
  DLC_RETURN_IF_ERROR(residual(ctx, 3, y, &r));
  const double alpha = ctx.op().getFloat("alpha", 1.0f);
  DLC_NN_FLOAT_DISPATCH(y.dtype(), T, {
    applyEpilogue<T>(y, alpha, c.defined() ? &c : nullptr, r.defined() ? &r : nullptr, ep);
  });
  ctx.setOutput(0, fromCompute(y, A.dtype()));
  return Status::success();
}

}  // namespace

void registerFusedEpilogueKernels(KernelTable& table) {
  table[static_cast<size_t>(OpKind::FusedConv)] = kFusedConv;
  table[static_cast<size_t>(OpKind::FusedMatMul)] = kFusedMatMul;
}

}  // namespace dlc::ref
