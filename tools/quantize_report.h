// `dlc quantize`'s result as the command passes it around, and its --report JSON.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"
#include "passes/quantize/insert_qdq.h"
#include "tools/quantize_latency.h"

namespace dlc::cli {

// The float graph quantized with `options` (its own plan) from the statistics gathered earlier.
struct Quantized {
  std::unique_ptr<Graph> graph;
  quantize::QuantPlan plan;
  quantize::QuantizeResult result;
};
// What the --max-accuracy-drop search did.
struct BoundedSearch {
  bool ran = false;
  double bound = 0;
  int evaluations = 0;
  std::vector<std::string> kept_float;  // node names, most harmful first
  std::vector<std::pair<std::string, double>> ranking;  // node, output SQNR (dB) with only it quantized
  bool met = false;
};

// The --report JSON: per-layer weight SQNR, activation ranges, what stayed float and why,
// output SQNR, accuracies, the bound search, the latency search and sizes.
std::string reportJson(const std::string& model, const Quantized& q, const quantize::QuantizeOptions& options,
                       int64_t samples, double output_sqnr, double acc_float, double acc_quant, bool have_acc,
                       const BoundedSearch& bounded, const LatencySearch& latency, const std::string& target);

}  // namespace dlc::cli
