// Trial sizes for graphs with symbolic dims (trials.h).
#include "backends/trials.h"

#include <algorithm>

#include "ir/clone.h"
#include "ir/reinfer.h"

namespace dlc::backends {

bool isStaticTensor(const Value* v) { return v->type().isTensor() && v->type().shape.isStatic(); }

bool opIsStatic(const Op& op) {
  for (int i = 0; i < op.numResults(); ++i)
    if (!isStaticTensor(op.result(i))) return false;
  for (const Value* v : op.operands())
    if (v && !isStaticTensor(v)) return false;
  return true;
}

std::vector<Trial> makeTrials(const Graph& graph) {
  bool all_static = true;
  for (const auto& op : graph.body().ops()) all_static = all_static && opIsStatic(*op);
  if (all_static) return {};
  std::vector<std::string> symbols;
  for (int i = 0; i < graph.body().numArguments(); ++i)
    for (const Dim& d : graph.body().argument(i)->type().shape.dims)
      if (d.isSymbolic() && std::find(symbols.begin(), symbols.end(), d.symbol) == symbols.end()) symbols.push_back(d.symbol);
  std::vector<std::pair<std::string, SymbolSizes>> candidates(3);
  for (size_t i = 0; i < symbols.size(); ++i) {
    candidates[0].second[symbols[i]] = 64 + 32 * static_cast<int64_t>(i);
    candidates[1].second[symbols[i]] = 64;
    candidates[2].second[symbols[i]] = 1;
  }
  candidates[0].first = "at distinct trial sizes";
  candidates[1].first = "with every symbol 64";
  candidates[2].first = "with every symbol 1";
  std::vector<Trial> trials;
  for (size_t c = 0; c < candidates.size(); ++c) {
    if (c == 1 && !trials.empty()) continue;  // the distinct sizes were taken
    Trial t;
    t.what = candidates[c].first;
    t.graph = std::make_unique<Graph>();
    t.graph->opset_imports = graph.opset_imports;
    std::unordered_map<const Value*, Value*> map;
    cloneRegionInto(graph.body(), t.graph->body(), map);
    Region& body = t.graph->body();
    for (int i = 0; i < body.numArguments(); ++i) body.argument(i)->setType(substituteSymbols(body.argument(i)->type(), candidates[c].second));
    if (!reinferTypes(body, candidates[c].second).ok()) continue;  // sizes the model does not take
    for (const auto& op : graph.body().ops())
      if (op->numResults() > 0) t.ops[op.get()] = map.at(op->result(0))->definingOp();
    trials.push_back(std::move(t));
  }
  return trials;
}

}  // namespace dlc::backends
