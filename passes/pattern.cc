// The greedy pattern driver and the rewriter it hands to patterns.
#include "passes/pattern.h"

namespace dlc::passes {

void Rewriter::replaceOp(Op& op, const std::vector<Value*>& values) {
  for (int i = 0; i < op.numResults() && i < static_cast<int>(values.size()); ++i) {
    Value* old = op.result(i);
    Value* repl = values[static_cast<size_t>(i)];
    // A graph output keeps its public name on the value that now produces it.
    bool is_output = false;
    for (const Use& u : old->uses()) is_output |= u.user == nullptr;
    if (is_output && repl->definingOp()) repl->setName(old->name());
    old->replaceAllUsesWith(repl);
  }
  eraseOp(op);
}

void Rewriter::eraseOp(Op& op) {
  erased_.insert(&op);
  changed_ = true;
  op.erase();
}

namespace {

Expected<int> sweep(Region& region, const PatternList& patterns) {
  int rewrites = 0;
  std::vector<Op*> ops;
  for (const auto& op : region.ops()) ops.push_back(op.get());
  std::unordered_set<const Op*> erased;
  for (Op* op : ops) {
    if (erased.count(op)) continue;
    for (Region* sub : op->regions()) {
      DLC_ASSIGN_OR_RETURN(int n, sweep(*sub, patterns));
      rewrites += n;
    }
    for (const auto& pattern : patterns) {
      Rewriter rw(*op);
      DLC_ASSIGN_OR_RETURN(bool applied, pattern->matchAndRewrite(*op, rw));
      erased.insert(rw.erased().begin(), rw.erased().end());
      if (applied) {
        ++rewrites;
        break;  // the op may be gone; later sweeps revisit whatever replaced it
      }
    }
  }
  return rewrites;
}

}  // namespace

Expected<int> applyPatternsGreedily(Region& region, const PatternList& patterns, int max_sweeps) {
  int total = 0;
  for (int i = 0; i < max_sweeps; ++i) {
    DLC_ASSIGN_OR_RETURN(int n, sweep(region, patterns));
    total += n;
    if (n == 0) break;
  }
  return total;
}

Op* producerOf(Value* v, OpKind kind) {
  if (!v || !v->definingOp() || v->definingOp()->kind() != kind || v->index() != 0) return nullptr;
  return v->definingOp();
}

const Tensor* constantValue(const Value* v) {
  if (!v || !v->definingOp() || v->definingOp()->kind() != OpKind::Constant) return nullptr;
  const Attribute* a = v->definingOp()->attr("value");
  return a && a->type == AttrType::Tensor && a->t.defined() ? &a->t : nullptr;
}

bool hasSingleUse(const Value* v) { return v->uses().size() == 1 && v->uses()[0].user != nullptr; }

}  // namespace dlc::passes
