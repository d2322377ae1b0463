// Helpers shared by the quantizer's rewrites (insert_qdq.cc, weight_only.cc).
#pragma once

#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"
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

// Value names not yet used in a graph.
class NameSet {
 public:
  explicit NameSet(const Graph& g) {
    for (int i = 0; i < g.body().numArguments(); ++i) used_.insert(g.body().argument(i)->name());
    walkOps(g.body(), [&](const Op* op) {
      for (int i = 0; i < op->numResults(); ++i) used_.insert(op->result(i)->name());
    });
  }
  std::string unique(const std::string& base) {
    std::string n = base;
    for (int k = 2; used_.count(n); ++k) n = str(base, "_", k);
    used_.insert(n);
    return n;
  }

 private:
  std::set<std::string> used_;
};

}  // namespace dlc::quantize
