// Reference kernel of ActivationGrad: dX = dY·f'(X) for the activations the gradient rules hand
// it, each derivative next to its activation (the forward formulas are in activations.h).
#include <cmath>
#include <string>

#include "backends/reference/kernels/activations.h"
#include "backends/reference/kernels/nn_util.h"

namespace dlc::ref {
namespace {

template <typename T>
Status applyDerivative(const KernelContext& ctx, const std::string& a, T alpha, T beta, const T* dy, const T* x, T* dx, int64_t n) {
  constexpr T kSqrtHalf = static_cast<T>(0.70710678118654752440), kInvSqrt2Pi = static_cast<T>(0.39894228040143267794);
  auto each = [&](auto derivative) {
    for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * derivative(x[i]);
  };
  if (a == "Relu") {
    each([](T v) { return v > T(0) ? T(1) : T(0); });  // relu' = 1 for x > 0
  } else if (a == "LeakyRelu") {
    each([&](T v) { return v > T(0) ? T(1) : alpha; });  // 1 for x > 0, α otherwise
  } else if (a == "Elu") {
    each([&](T v) { return v > T(0) ? T(1) : alpha * std::exp(v); });  // α(eˣ − 1)' = α·eˣ
  } else if (a == "Sigmoid") {
    each([](T v) {  // σ' = σ(1 − σ)
      T s = act::sigmoid(v);
      return s * (T(1) - s);
    });
  } else if (a == "Tanh") {
    each([](T v) {  // tanh' = 1 − tanh²
      T t = std::tanh(v);
      return T(1) - t * t;
    });
  } else if (a == "Gelu") {
    // (x·Φ(x))' = Φ(x) + x·φ(x), φ(x) = e^{−x²/2}/√(2π)
    each([&](T v) { return T(0.5) * (T(1) + std::erf(v * kSqrtHalf)) + v * kInvSqrt2Pi * std::exp(T(-0.5) * v * v); });
  } else if (a == "GeluTanh") {
    // ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³): ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²)
    each([](T v) {
      const T k = static_cast<T>(0.79788456080286535588);
      T t = std::tanh(k * (v + T(0.044715) * v * v * v));
      return T(0.5) * (T(1) + t) + T(0.5) * v * (T(1) - t * t) * k * (T(1) + T(3 * 0.044715) * v * v);
    });
  } else if (a == "HardSwish") {
    each([](T v) { return v < T(-3) ? T(0) : v <= T(3) ? v / T(3) + T(0.5) : T(1); });  // PyTorch's branches
  } else if (a == "HardSigmoid") {
    each([&](T v) {  // α inside 0 < αx + β < 1
      T z = alpha * v + beta;
      return z > T(0) && z < T(1) ? alpha : T(0);
    });
  } else if (a == "Clip") {
    each([&](T v) { return v > alpha && v < beta ? T(1) : T(0); });  // min < x < max (PyTorch's hardtanh)
  } else if (a == "Softplus") {
    each([](T v) { return act::sigmoid(v); });  // ln(1 + eˣ)' = σ(x)
  } else {
    return ctx.error(str("unknown activation '", a, "'"));
  }
  return Status::success();
}

Status activationGradKernel(KernelContext& ctx) {
  const Tensor& dY = ctx.input(0);
  const Tensor& X = ctx.input(1);
  if (!isNNFloat(X.dtype()) || dY.dtype() != X.dtype()) return ctx.error("dY and X must be floats of the same dtype");
  if (dY.shape() != X.shape()) return ctx.error("dY and X must have one shape");
  const std::string a = ctx.op().getString("activation");
  const double alpha = ctx.op().getFloat("activation_alpha", 0.0f), beta = ctx.op().getFloat("activation_beta", 0.0f);
  Tensor xc = toCompute(X), gc = toCompute(dY);
  Tensor dx = Tensor::uninitialized(xc.dtype(), X.shape());
  Status s;
  DLC_NN_FLOAT_DISPATCH(xc.dtype(), T, {
    s = applyDerivative<T>(ctx, a, static_cast<T>(alpha), static_cast<T>(beta), gc.data<T>(), xc.data<T>(), dx.data<T>(), X.numel());
  });
  DLC_RETURN_IF_ERROR(s);
  ctx.setOutput(0, fromCompute(dx, X.dtype()));
  return Status::success();
}

}  // namespace

void registerActivationGradKernels(KernelTable& table) {
  table[static_cast<size_t>(OpKind::ActivationGrad)] = activationGradKernel;
}

}  // namespace dlc::ref
