// Glue between the command line and the pass manager: contexts, default pipelines, -O levels.
#include "tools/pipeline.h"

#include <cstdlib>
#include <iostream>
#include <map>
#include <set>

#include "backends/reference/interpreter.h"
#include "passes/explain.h"

namespace dlc::cli {

Expected<passes::PassContext> makePassContext(const std::string& target, const std::vector<std::string>& input_shapes) {
  passes::PassContext ctx;
  ctx.target = target;
  ctx.evaluate = [](const Op& op, const std::vector<const Tensor*>& inputs) { return ref::evaluateOp(op, inputs); };
  for (const std::string& spec : input_shapes) {
    size_t eq = spec.rfind('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      return Status::error(str("--input-shape expects NAME=1x3x224x224, got '", spec, "'"));
    std::vector<int64_t> dims;
    std::string text = spec.substr(eq + 1);
    size_t pos = 0;
    while (pos <= text.size()) {
      size_t x = text.find('x', pos);
      std::string item = text.substr(pos, x == std::string::npos ? std::string::npos : x - pos);
      char* end = nullptr;
      long long v = std::strtoll(item.c_str(), &end, 10);
      if (item.empty() || *end != '\0' || v < 0)
        return Status::error(str("--input-shape '", spec, "': '", item, "' is not a dimension"));
      dims.push_back(v);
      if (x == std::string::npos) break;
      pos = x + 1;
    }
    ctx.input_shapes[spec.substr(0, eq)] = dims;
  }
  return ctx;
}

Status optimize(Graph& graph, const passes::PassContext& ctx, int opt_level, const passes::PassManagerOptions& options) {
  DLC_ASSIGN_OR_RETURN(auto names, passes::defaultPipeline(ctx.target, opt_level));
  passes::PassManager pm(options);
  DLC_RETURN_IF_ERROR(pm.add(names));
  // DLC_EXPLAIN=1: what recognition left unfused and why, on stderr (as `dlc inspect --unfused`).
  const char* explain = std::getenv("DLC_EXPLAIN");
  if (!explain || std::string(explain) != "1") return pm.run(graph, ctx);
  std::vector<passes::Decline> declines;
  passes::setExplainSink(&declines);
  Status s = pm.run(graph, ctx);
  passes::setExplainSink(nullptr);
  if (s.ok()) std::cerr << passes::unfusedReport(graph, declines);
  return s;
}

Expected<int> parseOptLevel(const std::string& text) {
  if (text.size() == 1 && text[0] >= '0' && text[0] <= '3') return text[0] - '0';
  return Status::error(str("optimization level '", text, "' is not 0, 1, 2 or 3"));
}

void nameValuesAndLayers(Graph& g, const std::function<bool(const Op&)>& is_layer) {
  std::map<std::string, int> counts;
  walkOps(g.body(), [&](const Op* op) { ++counts[op->location()]; });
  int n = 0;
  walkOps(g.body(), [&](const Op* cop) {
    Op* op = const_cast<Op*>(cop);
    if (!is_layer(*op)) return;
    if (!op->location().empty() && counts[op->location()] == 1) return;
    std::string l;
    do l = str(op->location().empty() ? op->name() : op->location(), "_", n++);
    while (counts.count(l));
    counts[l] = 1;
    op->setLocation(l);
  });
  std::set<std::string> used;
  walkOps(g.body(), [&](const Op* op) {
    for (int i = 0; i < op->numResults(); ++i) used.insert(op->result(i)->name());
  });
  int k = 0;
  walkOps(g.body(), [&](const Op* op) {
    for (int i = 0; i < op->numResults(); ++i)
      if (op->result(i)->name().empty()) {
        std::string n;
        do n = str("t", k++);
        while (used.count(n));
        used.insert(n);
        op->result(i)->setName(n);
      }
  });
}


}  // namespace dlc::cli
