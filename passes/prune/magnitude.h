// Unstructured and N:M pruning of constant weights: which ops are pruned, the masks, and the
// per-layer report. Weights are replaced by copies with the pruned entries set to zero; the graph
// is otherwise unchanged, so it exports and runs as before.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/status.h"

namespace dlc::prune {

enum class Method {
  Magnitude,  // the smallest |w| go, per layer or over all layers at once
  NM,         // in every group of m consecutive weights along the reduction axis, the m - n smallest go
};

struct PruneOptions {
  Method method = Method::Magnitude;
  double sparsity = 0.5;  // magnitude: the fraction of weights set to zero, in [0, 1)
  bool global = false;    // magnitude: one threshold over every pruned layer's weights
  int n = 2, m = 4;       // n:m: n of every m kept
  std::set<std::string> exclude;  // node names (op locations) left dense
};

struct LayerReport {
  std::string node, op_type, weight;
  int64_t weights = 0, zeros = 0;  // after pruning (zeros include weights that were zero before)
  std::string pruned_value;        // the pruned copy's value name in the graph
};

struct SkippedLayer {
  std::string node, op_type, reason;
};

struct PruneResult {
  std::vector<LayerReport> layers;
  std::vector<SkippedLayer> skipped;
};

// Prunes the constant weights of Conv, ConvTranspose, MatMul (2-D B), Gemm, LSTM/GRU/RNN (W and
// R) among the top-level ops of `g`. The reduction axis for n:m: Conv/ConvTranspose weights per
// output channel over (input channels, kernel) flattened; MatMul/Gemm over K; RNN weights over the
// input (W) or hidden (R) size. Magnitude pruning zeroes exactly floor(sparsity · count) weights
// per layer (or over all of them), ties broken by position.
Expected<PruneResult> pruneWeights(Graph& g, const PruneOptions& options);

}  // namespace dlc::prune
