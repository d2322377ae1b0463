// dlc quantize --latency-aware: the measurement and the greedy search (quantize_latency.h).
#include "tools/quantize_latency.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "ir/clone.h"
#include "passes/quantize/insert_qdq.h"
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
                                      const std::function<Expected<double>(const std::set<std::string>&)>& measure,
                                      const std::function<void(const LatencyTrial&)>& on_trial) {
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
    if (on_trial) on_trial(t);
    s.trials.push_back(t);
  }
  s.final_ms = best;
  s.float_faster = float_ms < best * (1.0 - noise);
  return s;
}

// The planned ops of `g` grouped by what decides their quantized cost: kind (a Conv depthwise,
// 1x1 or other) and whether reorders surround them (their input comes from, and their output goes
// to, float ops only, so a Quantize before and a Dequantize after run just for them). Groups with
// reorders come first, larger groups first within each half.
std::vector<LatencyGroup> latencyGroups(const Graph& g, const quantize::QuantPlan& plan) {
  std::set<const Value*> outputs;
  std::set<const Op*> planned;
  for (const auto& p : plan.ops) {
    outputs.insert(p.output);
    planned.insert(p.op);
  }
  auto fedByQuantized = [&](const Value* v) {  // back through value-moving ops
    for (int hops = 0; v && hops < 64; ++hops) {
      if (outputs.count(v)) return true;
      const Op* def = v->definingOp();
      if (!def || !quantize::movesValues(*def) || def->numOperands() == 0) return false;
      v = def->operand(0);
    }
    return false;
  };
  std::function<bool(const Value*, int)> readByQuantizedOnly = [&](const Value* v, int depth) {
    if (depth > 64 || v->uses().empty()) return false;
    for (const auto& use : v->uses()) {
      const Op* user = use.user;
      if (!user) return false;  // a graph output: the caller reads it in float
      if (planned.count(user) && user->operand(0) == v) continue;
      if (!quantize::movesValues(*user) || !readByQuantizedOnly(user->result(0), depth + 1)) return false;
    }
    return true;
  };
  std::map<std::string, LatencyGroup> by_name;
  for (const auto& p : plan.ops) {
    std::string kind = p.op->name();
    if (p.op->kind() == OpKind::Conv) {
      const Type& x = p.op->operand(0)->type();
      const int64_t group = p.op->getInt("group", 1);
      std::vector<int64_t> k = p.op->getInts("kernel_shape");
      if (k.empty() && p.op->operand(1)->type().shape.isStatic())
        for (size_t d = 2; d < p.op->operand(1)->type().shape.dims.size(); ++d) k.push_back(p.op->operand(1)->type().shape.dims[d].value);
      const bool depthwise = group > 1 && x.shape.ranked && x.shape.rank() > 1 && x.shape.dims[1].isStatic() && x.shape.dims[1].value == group;
      const bool pointwise = !k.empty() && std::all_of(k.begin(), k.end(), [](int64_t v) { return v == 1; });
      kind = depthwise ? "depthwise Conv" : pointwise ? "1x1 Conv" : "Conv";
    }
    const bool island = !fedByQuantized(p.input) && !readByQuantizedOnly(p.output, 0);
    LatencyGroup& grp = by_name[str(island ? "0" : "1", kind)];
    grp.name = str(kind, island ? " with a reorder on each side" : " next to other quantized ops");
    grp.nodes.push_back(p.op->location());
  }
  std::vector<std::pair<std::string, LatencyGroup>> sorted(by_name.begin(), by_name.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    if (a.first[0] != b.first[0]) return a.first[0] < b.first[0];
    return a.second.nodes.size() > b.second.nodes.size();
  });
  std::vector<LatencyGroup> groups;
  for (auto& [key, grp] : sorted) groups.push_back(std::move(grp));
  return groups;
}

}  // namespace dlc::cli
