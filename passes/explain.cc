// Collects recognition declines and reports what stayed unfused (see explain.h).
#include "passes/explain.h"

#include <map>
#include <set>
#include <sstream>

namespace dlc::passes {
namespace {
thread_local std::vector<Decline>* t_sink = nullptr;

bool isRecognitionPart(OpKind k) {
  switch (k) {
    case OpKind::Softmax:
    case OpKind::ReduceMean:
    case OpKind::Erf:
    case OpKind::Tanh:
    case OpKind::Pow:
    case OpKind::Sqrt:
    case OpKind::Reciprocal: return true;
    default: return false;
  }
}
}  // namespace

void setExplainSink(std::vector<Decline>* sink) { t_sink = sink; }

// An op's location, or (textual IR without locations) its first result's name.
std::string whereOf(const Op& op) {
  if (!op.location().empty() || op.numResults() == 0) return op.location();
  return "%" + op.result(0)->name();
}

void explainDecline(const Op& anchor, const char* pattern, const std::string& reason) {
  if (!t_sink) return;
  t_sink->push_back({pattern, anchor.name(), whereOf(anchor), reason});
}

std::string unfusedReport(const Graph& graph, const std::vector<Decline>& declines) {
  std::vector<const Op*> left;
  std::set<std::pair<std::string, std::string>> live;  // (kind, location) of every op left
  walkOps(graph.body(), [&](const Op* op) {
    live.insert({op->name(), whereOf(*op)});
    if (isRecognitionPart(op->kind())) left.push_back(op);
  });
  // The last reason per (pattern, anchor), for anchors still in the graph (a pattern may decline
  // in one sweep and apply in the next, once types are more precise).
  std::map<std::pair<std::string, std::string>, const Decline*> last;
  std::vector<std::pair<std::string, std::string>> order;
  for (const Decline& d : declines) {
    if (!live.count({d.op, d.location})) continue;
    auto key = std::make_pair(d.pattern, d.op + " '" + d.location + "'");
    if (!last.count(key)) order.push_back(key);
    last[key] = &d;
  }
  if (left.empty() && order.empty()) return "";
  std::ostringstream out;
  out << "unfused: " << left.size() << " op(s) that LayerNorm/GELU/attention recognition looks for remain\n";
  for (const Op* op : left) out << "  " << op->name() << " '" << whereOf(*op) << "'\n";
  if (!order.empty()) out << "declined:\n";
  for (const auto& key : order) out << "  " << key.first << " at " << key.second << ": " << last[key]->reason << "\n";
  return out.str();
}

}  // namespace dlc::passes
