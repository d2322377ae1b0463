// The backend registry and the helpers all backends share.
#include "backends/backend.h"

#include <algorithm>
#include <set>

namespace dlc::backends {

std::unique_ptr<Backend> makeReferenceBackend();

namespace {

const std::vector<std::unique_ptr<Backend>>& registry() {
  static const std::vector<std::unique_ptr<Backend>> backends = [] {
    std::vector<std::unique_ptr<Backend>> b;
    b.push_back(makeReferenceBackend());
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

std::vector<const Value*> stepInputs(const Op& op) {
  std::vector<const Value*> inputs;
  std::set<const Value*> seen;
  for (const Value* v : op.operands())
    if (v && seen.insert(v).second) inputs.push_back(v);
  for (const Region* r : op.regions()) collectCaptures(*r, &op, inputs, seen);
  return inputs;
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
