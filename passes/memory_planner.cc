// Greedy-by-size memory planning (the TFLite/XNNPACK scheme): compute each intermediate's live
// range in op order, let elementwise ops write over an input that dies there, then place buffers
// largest first at the lowest offset that no overlapping live buffer occupies.
#include "passes/memory_planner.h"

#include <algorithm>
#include <unordered_map>

namespace dlc::passes {
namespace {

int64_t alignUp(int64_t n) { return (n + MemoryPlan::kAlignment - 1) / MemoryPlan::kAlignment * MemoryPlan::kAlignment; }

// Bytes of a tensor value with a static shape, or -1.
int64_t staticBytes(const Value* v) {
  const Type& t = v->type();
  if (!t.isTensor() || !t.shape.isStatic() || t.dtype == DType::String || t.dtype == DType::Undefined) return -1;
  return static_cast<int64_t>(dtypeStorageBytes(t.dtype, t.shape.numElements()));
}

bool isGraphOutput(const Value* v) {
  for (const Use& u : v->uses())
    if (!u.user && u.region && !u.region->parentOp()) return true;
  return false;
}

// Index of the top-level op that contains `user` (itself or an ancestor).
const Op* topLevel(const Region& body, const Op* user) {
  while (user && user->parent() != &body) user = user->parent()->parentOp();
  return user;
}

}  // namespace

MemoryPlan planMemory(const Graph& graph, const std::function<bool(const Value*)>& include,
                      const std::function<int(const Op*)>& step_of) {
  MemoryPlan plan;
  const Region& body = graph.body();
  std::unordered_map<const Op*, int> index;
  std::unordered_map<int, int> ops_at;  // how many ops share a time
  int n = 0;
  for (const auto& op : body.ops()) {
    index[op.get()] = step_of ? step_of(op.get()) : n;
    ++n;
    ops_at[index[op.get()]]++;
  }

  // Live ranges.
  std::vector<const Value*> order;  // planned values in definition order
  for (const auto& op : body.ops()) {
    if (op->kind() == OpKind::Constant) {
      for (int r = 0; r < op->numResults(); ++r)
        if (const Attribute* a = op->attr("value"); a && a->type == AttrType::Tensor)
          plan.weights_bytes += static_cast<int64_t>(a->t.nbytes());
      continue;
    }
    for (int r = 0; r < op->numResults(); ++r) {
      const Value* v = op->result(r);
      if (isGraphOutput(v)) continue;  // outputs belong to the caller
      if (include && !include(v)) continue;
      int64_t bytes = staticBytes(v);
      if (bytes < 0) {
        plan.dynamic_values.push_back(v);
        continue;
      }
      MemoryPlan::Slot slot;
      slot.size = alignUp(std::max<int64_t>(bytes, 1));
      slot.first = slot.last = index[op.get()];
      for (const Use& u : v->uses())
        if (const Op* top = u.user ? topLevel(body, u.user) : nullptr) slot.last = std::max(slot.last, index[top]);
      plan.slots[v] = slot;
      plan.intermediate_bytes += bytes;
      order.push_back(v);
    }
  }

  // In place: an elementwise op's result may take over an operand's buffer of the same size when
  // that operand dies at this op. (Kernels of such ops read each element before writing it.)
  std::unordered_map<const Value*, const Value*> root;  // value -> value whose buffer it uses
  for (const Value* v : order) {
    const Op* op = v->definingOp();
    if (!op->info().has(kElementwise) || op->numResults() != 1 || ops_at[index[op]] != 1) continue;
    for (const Value* in : op->operands()) {
      auto it = plan.slots.find(in);
      if (!in || it == plan.slots.end() || it->second.last != index[op]) continue;
      if (in->type().dtype != v->type().dtype || it->second.size != plan.slots[v].size) continue;
      if (root.count(in) && plan.slots[root[in]].last > index[op]) continue;  // buffer already taken over
      const Value* owner = root.count(in) ? root[in] : in;
      plan.slots[v].shares_with = in;
      plan.slots[owner].last = std::max(plan.slots[owner].last, plan.slots[v].last);
      root[v] = owner;
      plan.in_place++;
      break;
    }
  }

  // Place owners largest first; each sharing value inherits its owner's offset.
  std::vector<const Value*> owners;
  for (const Value* v : order)
    if (!root.count(v)) owners.push_back(v);
  std::stable_sort(owners.begin(), owners.end(),
                   [&](const Value* a, const Value* b) { return plan.slots[a].size > plan.slots[b].size; });
  std::vector<const Value*> placed;
  for (const Value* v : owners) {
    MemoryPlan::Slot& s = plan.slots[v];
    std::vector<std::pair<int64_t, int64_t>> busy;  // [offset, end) of overlapping live buffers
    for (const Value* p : placed) {
      const MemoryPlan::Slot& q = plan.slots[p];
      if (q.first <= s.last && s.first <= q.last) busy.emplace_back(q.offset, q.offset + q.size);
    }
    std::sort(busy.begin(), busy.end());
    int64_t offset = 0;
    for (const auto& [b, e] : busy) {
      if (offset + s.size <= b) break;
      offset = std::max(offset, e);
    }
    s.offset = offset;
    plan.arena_bytes = std::max(plan.arena_bytes, offset + s.size);
    placed.push_back(v);
  }
  for (const Value* v : order)
    if (root.count(v)) plan.slots[v].offset = plan.slots[root[v]].offset;
  return plan;
}

Status checkMemoryPlan(const Graph& graph, const MemoryPlan& plan) {
  std::vector<std::pair<const Value*, MemoryPlan::Slot>> slots(plan.slots.begin(), plan.slots.end());
  auto shares = [&](const Value* a, const Value* b) {
    // True when one value's buffer chain leads to the other's.
    for (const Value* x = a; x;) {
      if (x == b) return true;
      auto it = plan.slots.find(x);
      x = it == plan.slots.end() ? nullptr : it->second.shares_with;
    }
    return false;
  };
  for (size_t i = 0; i < slots.size(); ++i) {
    const auto& [v, s] = slots[i];
    if (s.offset % MemoryPlan::kAlignment != 0 || s.offset < 0 || s.offset + s.size > plan.arena_bytes)
      return Status::error(str("memory plan: value '", v->name(), "' is misaligned or outside the arena"));
    for (size_t j = i + 1; j < slots.size(); ++j) {
      const auto& [w, t] = slots[j];
      bool live_together = s.first <= t.last && t.first <= s.last;
      bool bytes_overlap = s.offset < t.offset + t.size && t.offset < s.offset + s.size;
      if (live_together && bytes_overlap && !shares(v, w) && !shares(w, v))
        return Status::error(str("memory plan: values '", v->name(), "' and '", w->name(),
                                 "' are live together but share bytes"));
    }
  }
  (void)graph;
  return Status::success();
}

}  // namespace dlc::passes
