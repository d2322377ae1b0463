// dlc quantize --latency-aware: which groups of quantized layers to keep in float because the
// model runs faster that way on the target, measured rather than modelled. Layers are grouped by
// what decides their int8 cost (op kind, depthwise or 1x1, whether a Quantize/Dequantize reorder
// surrounds them); each group is tried in float, in order, and kept so when the whole model gets
// faster by more than the timing noise.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "ir/data_value.h"
#include "ir/graph.h"
#include "ir/status.h"

namespace dlc::quantize {
struct QuantPlan;
}

namespace dlc::cli {

struct LatencyGroup {
  std::string name;                // "depthwise Conv, reorders around it"
  std::vector<std::string> nodes;  // op locations
};

struct LatencyTrial {
  std::string group;
  size_t nodes = 0;
  double ms = 0;        // the model with this group (and those kept before) in float
  bool kept_float = false;
};

struct LatencySearch {
  bool ran = false;
  double float_ms = 0, quantized_ms = 0, final_ms = 0;  // float model, all quantized, chosen
  std::vector<LatencyTrial> trials;
  std::vector<std::string> kept_float;  // nodes
  bool float_faster = false;            // even the best quantized model is slower than float
};

// The planned ops of `g` (plan made on it) grouped for searchLatency: by kind (a Conv depthwise,
// 1x1 or other; MatMul; Gemm) and by whether reorders surround them; groups with reorders first.
std::vector<LatencyGroup> latencyGroups(const Graph& g, const quantize::QuantPlan& plan);

// Median milliseconds of `runs` runs (after 3 warm-up runs) of `graph` compiled for `target` with
// its inputs' shapes fixed by `inputs`.
Expected<double> medianLatencyMs(const Graph& graph, const std::string& target, const std::vector<std::string>& input_shapes,
                                 const std::vector<DataValue>& inputs, int runs);

// Greedy over `groups`: `measure(extra float nodes)` times the quantized model with those nodes in
// float; a group is kept in float when that is faster than the best so far by more than
// `noise` (a fraction). `float_ms` is the float model's time.
// `on_trial` (optional) hears each trial as it ends, for a progress line per trial.
Expected<LatencySearch> searchLatency(const std::vector<LatencyGroup>& groups, double float_ms, double noise,
                                      const std::function<Expected<double>(const std::set<std::string>&)>& measure,
                                      const std::function<void(const LatencyTrial&)>& on_trial = {});

}  // namespace dlc::cli
