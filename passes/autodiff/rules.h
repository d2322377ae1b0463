// The gradient rule table's interface: what a rule sees (GradContext), the two kinds of rule, and
// the table built from passes/autodiff/gradients.def.
#pragma once

#include <vector>

#include "ir/graph.h"
#include "passes/emitter.h"

namespace dlc::autodiff {

using passes::Emitter;
using passes::normalizeAxes;

// One op being differentiated: its operands and results, the gradients flowing into its results,
// which operands need a gradient, and an emitter placed where the backward ops go.
class GradContext : public Emitter {
 public:
  GradContext(Op& op, std::vector<Value*> dresults, std::vector<bool> needed, Region& region, Op* before);

  Op& node() { return op_; }  // the op being differentiated
  Value* x(int i) { return op_.operand(i); }  // operand i (null when absent)
  Value* y(int i = 0) { return op_.result(i); }
  // The gradient flowing into result i; null when none does (another result's users only).
  Value* dy(int i = 0) { return i < static_cast<int>(dresults_.size()) ? dresults_[static_cast<size_t>(i)] : nullptr; }
  // dy(i), or zeros of result i's type when no gradient flows into it.
  Value* dyOrZeros(int i);
  // True when operand i needs a gradient (it is float and depends on a differentiated value).
  bool needs(int i) const { return i < static_cast<int>(needed_.size()) && needed_[static_cast<size_t>(i)]; }

  // The rule's answer: one gradient per operand, null where none is needed.
  std::vector<Value*> dx;

 private:
  Op& op_;
  std::vector<Value*> dresults_;
  std::vector<bool> needed_;
};

// A gradient rule: sets ctx.dx[i] for every operand i with ctx.needs(i); failures go to ctx.fail.
using GradRule = void (*)(GradContext& ctx);
// A decomposition: rewrites `op` into ops that have rules, redirects every use of its results and
// erases it, returning true; or declines (false, nothing changed) so that the op's rule applies.
// Used for recurrent layers, dlc's fused ops and training-mode BatchNormalization.
using DecomposeRule = Expected<bool> (*)(Op& op);

struct GradEntry {
  GradRule rule = nullptr;
  DecomposeRule decompose = nullptr;
};

// The op's entry in gradients.def; null when it has none.
const GradEntry* gradEntry(OpKind kind);

// The rule functions named in gradients.def, defined in the rules_<family>.cc files.
#define DLC_GRAD(Name, Fn) void Fn(GradContext& ctx);
#define DLC_GRAD_DECOMPOSE(Name, Fn) Expected<bool> Fn(Op& op);
#include "passes/autodiff/gradients.def"
#undef DLC_GRAD
#undef DLC_GRAD_DECOMPOSE

}  // namespace dlc::autodiff
