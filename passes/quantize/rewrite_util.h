// Helpers shared by the quantizer's rewrites (insert_qdq.cc, weight_only.cc).
#pragma once

#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "passes/name_set.h"
#include "passes/pattern.h"

namespace dlc::quantize {

inline const Tensor* floatConstant(const Value* v) {
  const Tensor* t = passes::constantValue(v);
  return t && t->dtype() == DType::F32 ? t : nullptr;
}

// 10·log10(Σw² / Σ(w - deq)²): the weight's signal-to-quantization-noise ratio, +inf when exact.
inline double sqnrDb(const Tensor& w, const std::vector<double>& deq) {
  double signal = 0, noise = 0;
  for (int64_t i = 0; i < w.numel(); ++i) {
    double v = w.getDouble(i), e = v - deq[static_cast<size_t>(i)];
    signal += v * v;
    noise += e * e;
  }
  if (noise == 0) return std::numeric_limits<double>::infinity();
  return 10 * std::log10(signal / noise);
}

// The constant weight of a planned MatMul (B [K, N]) or Gemm (B, [N, K] when transB) as W [K, N],
// or as its transpose [N, K] when `n_major`.
inline Tensor linearWeight(const Op& op, bool n_major) {
  const Tensor& b = *floatConstant(op.operand(1));
  const bool trans_b = op.kind() == OpKind::Gemm && op.getInt("transB", 0) != 0;
  if (trans_b == n_major) return b;
  const int64_t rows = b.dim(0), cols = b.dim(1);
  Tensor t(DType::F32, {cols, rows});
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) t.data<float>()[c * rows + r] = b.data<float>()[r * cols + c];
  return t;
}

// beta·C of a Gemm with a constant C (an undefined tensor otherwise).
inline Tensor scaledGemmBias(const Op& op) {
  if (op.kind() != OpKind::Gemm || op.numOperands() < 3 || !op.operand(2)) return Tensor();
  Tensor c = *floatConstant(op.operand(2));
  const double beta = op.getFloat("beta", 1.0f);
  for (int64_t i = 0; i < c.numel(); ++i) c.setDouble(i, c.getDouble(i) * beta);
  return c;
}

// True when `w` converts to the half type `half` without overflowing to infinity.
inline bool fitsHalf(const Tensor& w, DType half) {
  Tensor back = w.castTo(half).castTo(DType::F32);
  for (int64_t k = 0; k < w.numel(); ++k)
    if (!std::isfinite(back.getDouble(k)) && std::isfinite(w.getDouble(k))) return false;
  return true;
}

using passes::NameSet;  // passes/name_set.h

}  // namespace dlc::quantize
