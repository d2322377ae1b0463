// dlc quantize --latency-aware: the measurement and the greedy search (quantize_latency.h).
#include "tools/quantize_latency.h"

#include <algorithm>
#include <chrono>

#include "ir/clone.h"
#include "tools/artifact.h"

namespace dlc::cli {

Expected<double> medianLatencyMs(const Graph& graph, const std::string& target, const std::vector<std::string>& input_shapes,
                                 const std::vector<DataValue>& inputs, int runs) {
  std::unique_ptr<Graph> copy = cloneGraph(graph);
  DLC_ASSIGN_OR_RETURN(auto model, compileForInputs(*copy, target, 2, input_shapes, inputs));
  std::vector<double> times;
  try {
    runtime::Session session(*model);
    for (int i = 0; i < 3 + runs; ++i) {
      auto start = std::chrono::steady_clock::now();
      DLC_ASSIGN_OR_RETURN(auto outputs, runSession(*model, session, inputs));
      auto end = std::chrono::steady_clock::now();
      if (i >= 3) times.push_back(std::chrono::duration<double, std::milli>(end - start).count());
    }
  } catch (const runtime::Error& e) {
    return Status::error(e.what());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

Expected<LatencySearch> searchLatency(const std::vector<LatencyGroup>& groups, double float_ms, double noise,
                                      const std::function<Expected<double>(const std::set<std::string>&)>& measure) {
  LatencySearch s;
  s.ran = true;
  s.float_ms = float_ms;
  DLC_ASSIGN_OR_RETURN(s.quantized_ms, measure({}));
  double best = s.quantized_ms;
  std::set<std::string> kept;
  for (const LatencyGroup& g : groups) {
    std::set<std::string> candidate = kept;
    candidate.insert(g.nodes.begin(), g.nodes.end());
    DLC_ASSIGN_OR_RETURN(double ms, measure(candidate));
    LatencyTrial t{g.name, g.nodes.size(), ms, ms < best * (1.0 - noise)};
    if (t.kept_float) {
      best = ms;
      kept = std::move(candidate);
      s.kept_float.insert(s.kept_float.end(), g.nodes.begin(), g.nodes.end());
    }
    s.trials.push_back(t);
  }
  s.final_ms = best;
  s.float_faster = float_ms < best * (1.0 - noise);
  return s;
}

}  // namespace dlc::cli
