// The backend registry and the helpers all backends share.
#include "backends/backend.h"

#include <algorithm>
#include <set>

#include "ir/printer.h"

namespace dlc::backends {

std::unique_ptr<Backend> makeReferenceBackend();
std::unique_ptr<Backend> makeOnednnBackend();
std::unique_ptr<Backend> makeCpuBackend();

namespace {

const std::vector<std::unique_ptr<Backend>>& registry() {
  static const std::vector<std::unique_ptr<Backend>> backends = [] {
    std::vector<std::unique_ptr<Backend>> b;
    b.push_back(makeReferenceBackend());
    b.push_back(makeOnednnBackend());
    b.push_back(makeCpuBackend());
    return b;
  }();
  return backends;
}

// True when `v` is defined inside `op` (a result of an op nested in one of its regions, or an
// argument of such a region).
bool definedInside(const Value* v, const Op* op) {
  const Region* r = v->definingOp() ? v->definingOp()->parent() : v->argumentOf();
  for (; r; r = r->parentOp() ? r->parentOp()->parent() : nullptr)
    if (r->parentOp() == op) return true;
  return false;
}

void collectCaptures(const Region& region, const Op* op, std::vector<const Value*>& out, std::set<const Value*>& seen) {
  auto consider = [&](const Value* v) {
    if (v && !definedInside(v, op) && seen.insert(v).second) out.push_back(v);
  };
  for (const auto& nested : region.ops()) {
    for (const Value* v : nested->operands()) consider(v);
    for (const Region* sub : nested->regions()) collectCaptures(*sub, op, out, seen);
  }
  for (const Value* v : region.outputs()) consider(v);
}

}  // namespace

std::vector<const Value*> segmentInputs(const std::vector<const Op*>& ops) {
  std::vector<const Value*> inputs;
  std::set<const Value*> seen, defined;
  for (const Op* op : ops) {
    for (const Value* v : op->operands())
      if (v && !defined.count(v) && seen.insert(v).second) inputs.push_back(v);
    for (const Region* r : op->regions()) {
      std::vector<const Value*> captured;
      collectCaptures(*r, op, captured, seen);
      for (const Value* v : captured) {
        if (defined.count(v)) continue;
        inputs.push_back(v);
      }
    }
    for (int i = 0; i < op->numResults(); ++i) defined.insert(op->result(i));
  }
  return inputs;
}

std::vector<const Value*> segmentOutputs(const std::vector<const Op*>& ops) {
  std::set<const Op*> inside(ops.begin(), ops.end());
  std::vector<const Value*> outputs;
  for (const Op* op : ops)
    for (int i = 0; i < op->numResults(); ++i) {
      const Value* v = op->result(i);
      bool escapes = false;  // an unused result (a Dropout mask, say) is not kept
      for (const Use& u : v->uses()) {
        const Op* user = u.user;
        while (user && user->parent() && user->parent()->parentOp()) user = user->parent()->parentOp();
        if (!user || !inside.count(user)) escapes = true;  // a region output use is a graph output
      }
      if (escapes) outputs.push_back(v);
    }
  return outputs;
}

StepCode irStep(const std::string& library, const std::string& kernel, const std::vector<const Op*>& ops) {
  return StepCode{library, kernel, printOpsAsGraph(ops, segmentInputs(ops), segmentOutputs(ops))};
}

const Backend* findBackend(const std::string& name) {
  for (const auto& b : registry())
    if (name == b->name()) return b.get();
  return nullptr;
}

std::vector<std::string> backendNames() {
  std::vector<std::string> names;
  for (const auto& b : registry()) names.push_back(b->name());
  return names;
}

}  // namespace dlc::backends
