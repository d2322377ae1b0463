// Rewrite patterns and the one greedy driver that applies them. A pattern matches at an op and
// either rewrites (through the Rewriter, so the driver sees every change) or declines.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "ir/builder.h"
#include "ir/graph.h"
#include "ir/status.h"

namespace dlc::passes {

class Rewriter {
 public:
  // New ops are created just before `anchor`, in the anchor's region.
  explicit Rewriter(Op& anchor) : builder_(*anchor.parent()) { builder_.setInsertionPoint(&anchor); }

  // Creates an op with inferred result types (see Builder::create).
  Expected<Op*> create(OpKind kind, std::vector<Value*> operands, std::map<std::string, Attribute> attrs = {},
                       int num_results = 1, const std::string& location = {}) {
    return builder_.create(kind, std::move(operands), std::move(attrs), num_results, location);
  }
  Value* constant(Tensor t, const std::string& name = {}) { return builder_.constant(std::move(t), name); }

  // Redirects every use of op's results to `values` (one per result, kept names of graph outputs)
  // and erases the op.
  void replaceOp(Op& op, const std::vector<Value*>& values);
  void eraseOp(Op& op);

  bool changed() const { return changed_; }
  const std::unordered_set<const Op*>& erased() const { return erased_; }

 private:
  Builder builder_;
  bool changed_ = false;
  std::unordered_set<const Op*> erased_;
};

class RewritePattern {
 public:
  virtual ~RewritePattern() = default;
  virtual const char* name() const = 0;
  // Rewrites at `op` and returns true, or declines (returns false, having changed nothing).
  // Errors are only for internal inconsistencies; a pattern that cannot apply declines.
  virtual Expected<bool> matchAndRewrite(Op& op, Rewriter& rewriter) const = 0;
};

using PatternList = std::vector<std::unique_ptr<RewritePattern>>;

// Applies the patterns to every op of the region (nested regions included), repeating sweeps until
// none applies or `max_sweeps` is reached. Returns the number of rewrites.
Expected<int> applyPatternsGreedily(Region& region, const PatternList& patterns, int max_sweeps = 16);

// Small matching helpers shared by patterns.
// The op producing `v`, if it is of `kind` (and v is its result 0).
Op* producerOf(Value* v, OpKind kind);
// The constant tensor `v` holds, if it is produced by a Constant op.
const Tensor* constantValue(const Value* v);
// True when `v` has exactly one use and is not a region output.
bool hasSingleUse(const Value* v);

}  // namespace dlc::passes
