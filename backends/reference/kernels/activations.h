// Scalar activation formulas shared by the standalone kernels, the RNN gates and the fused
// Conv/MatMul epilogues, so that a fused or recurrent activation computes what the op alone does.
#pragma once

#include <algorithm>
#include <cmath>

namespace dlc::ref::act {

// C is the compute type (float or double; any numeric type for relu). NaN passes through relu, as
// in ONNX's reference (np.maximum), hence `x <= 0 ? 0 : x` and not `x > 0 ? x : 0`.
template <typename C>
inline C relu(C x) {
  return x <= C(0) ? C(0) : x;
}

template <typename C>
inline C leakyRelu(C x, C alpha) {
  return x < C(0) ? alpha * x : x;
}

// 1 / (1 + e^-x), with each branch's exp taken of a non-positive number so it cannot overflow.
template <typename C>
inline C sigmoid(C x) {
  return x >= C(0) ? C(1) / (C(1) + std::exp(-x)) : std::exp(x) / (C(1) + std::exp(x));
}

// log(1 + e^x) without overflow for large x.
template <typename C>
inline C softplus(C x) {
  return x > C(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

template <typename C>
inline C softsign(C x) {
  return x / (C(1) + std::abs(x));
}

// max(0, min(1, αx + β)). The argument order matters for NaN: std::min(a, b) returns a unless
// b < a, so putting the computed value first lets NaN through, as ONNX's np.clip does.
template <typename C>
inline C hardSigmoid(C x, C alpha, C beta) {
  return std::max(std::min(alpha * x + beta, C(1)), C(0));
}

// x * HardSigmoid(x; 1/6, 1/2).
template <typename C>
inline C hardSwish(C x) {
  return x * hardSigmoid(x, C(1) / C(6), C(0.5));
}

// Gelu, erf form: 0.5 x (1 + erf(x / √2)).
template <typename C>
inline C geluErf(C x) {
  return C(0.5) * x * (C(1) + std::erf(x * static_cast<C>(0.70710678118654752440)));
}

}  // namespace dlc::ref::act
