// Canonicalization: each op's own folding patterns (no-op casts, reshapes, slices, pads, ...).
#include <cmath>

#include "ir/constant_value.h"
#include "passes/pass.h"
#include "passes/pattern.h"
#include "passes/simplify_util.h"

namespace dlc::passes {
namespace {

// Replaces op's result 0 by `v` when the graph's outputs allow it; results 1.. must be unused.
bool forwardTo(Op& op, Value* v, Rewriter& rw) {
  for (int i = 1; i < op.numResults(); ++i)
    if (op.result(i)->hasUses()) return false;
  if (!canReplaceValue(op.result(0), v)) return false;
  std::vector<Value*> operands = op.operands();
  const Region* region = op.parent();
  rw.replaceOp(op, {v});
  eraseDeadConstants(operands, region, rw);
  return true;
}

// Forwards when the op provably returns its input 0 unchanged: same dtype and the same fully known
// shape. Holds for ops that keep the element order (Reshape, Flatten, Squeeze, Unsqueeze, Expand,
// Concat of one input): with the shape unchanged they are the identity.
bool forwardIfSameType(Op& op, Rewriter& rw) {
  Value* x = op.operand(0);
  if (!x || !sameKnownTensorType(x->type(), op.result(0)->type())) return false;
  return forwardTo(op, x, rw);
}

// Identity(x) ==> x
class FoldIdentity : public RewritePattern {
 public:
  const char* name() const override { return "fold-identity"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::Identity || !op.operand(0)) return false;
    return forwardTo(op, op.operand(0), rw);
  }
};

// Dropout(x, ratio?, training_mode = absent | false) ==> x   (inference mode; the mask is unused),
// and Dropout(x, ratio = 0, training_mode) ==> x            (nothing is dropped)
class FoldIdentityDropout : public RewritePattern {
 public:
  const char* name() const override { return "fold-inference-dropout"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::Dropout || !op.operand(0) || !isIdentityDropout(op)) return false;
    return forwardTo(op, op.operand(0), rw);
  }
};

// Cast(x : T, to = T) ==> x;   CastLike(x : T, y : T) ==> x
class FoldNoOpCast : public RewritePattern {
 public:
  const char* name() const override { return "fold-noop-cast"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::Cast && op.kind() != OpKind::CastLike) return false;
    Value* x = op.operand(0);
    if (!x || !x->type().isTensor() || x->type().dtype == DType::Undefined) return false;
    if (op.kind() == OpKind::Cast) {
      const Attribute* to = op.attr("to");
      if (!to || op.result(0)->type().dtype != x->type().dtype) return false;
    } else {
      Value* like = op.operand(1);
      if (!like || !like->type().isTensor() || like->type().dtype != x->type().dtype) return false;
    }
    if (op.result(0)->type().dtype != x->type().dtype) return false;
    return forwardTo(op, x, rw);
  }
};

// Reshape(R(x), s) ==> Reshape(x, s)   for R in {Reshape, Flatten, Squeeze, Unsqueeze}: they keep the
// element order, so only the final shape matters. Not when s (with allowzero=0) holds a 0, which
// copies a dim of R(x) that x may not have, or when s is not a constant we can inspect.
class FoldReshapeOfReshape : public RewritePattern {
 public:
  const char* name() const override { return "fold-reshape-of-reshape"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::Reshape) return false;
    Value* inner = op.operand(0);
    Op* r = inner ? inner->definingOp() : nullptr;
    if (!r || (r->kind() != OpKind::Reshape && r->kind() != OpKind::Flatten && r->kind() != OpKind::Squeeze &&
               r->kind() != OpKind::Unsqueeze))
      return false;
    std::optional<std::vector<int64_t>> shape = constantInts(op.operand(1));
    if (!shape) return false;
    if (op.getInt("allowzero", 0) == 0)
      for (int64_t d : *shape)
        if (d == 0) return false;
    Value* x = r->operand(0);
    if (!x) return false;
    auto attrs = op.attrs();
    auto created = rw.create(OpKind::Reshape, {x, op.operand(1)}, {attrs.begin(), attrs.end()}, 1, op.location());
    if (!created.ok()) return false;  // cannot happen for a valid graph; decline rather than fail
    Value* nv = (*created)->result(0);
    if (!canReplaceValue(op.result(0), nv)) {
      rw.eraseOp(**created);
      return false;
    }
    nv->setType(op.result(0)->type());  // same values, so the recorded (possibly finer) type holds
    nv->setName(op.result(0)->name());
    const Region* region = op.parent();
    rw.replaceOp(op, {nv});
    eraseIfDead(r, region, rw);
    return true;
  }
};

// Reshape/Flatten/Squeeze/Unsqueeze(x) ==> x   when the result has x's own (fully known) shape
// Expand(x, s) ==> x                           when broadcasting to s leaves x's shape unchanged
// Concat(x) ==> x                              (a single input)
class FoldShapePreservingNoOp : public RewritePattern {
 public:
  const char* name() const override { return "fold-shape-noop"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    switch (op.kind()) {
      case OpKind::Reshape:
      case OpKind::Flatten:
      case OpKind::Squeeze:
      case OpKind::Unsqueeze:
      case OpKind::Expand:
        return forwardIfSameType(op, rw);
      case OpKind::Concat:
        return op.numOperands() == 1 && forwardIfSameType(op, rw);
      default:
        return false;
    }
  }
};

// Transpose(x, perm = [0, 1, ..., n-1]) ==> x
class FoldIdentityTranspose : public RewritePattern {
 public:
  const char* name() const override { return "fold-identity-transpose"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::Transpose || !op.operand(0)) return false;
    std::optional<std::vector<int64_t>> perm = transposePerm(op);
    if (!perm) return false;
    for (size_t i = 0; i < perm->size(); ++i)
      if ((*perm)[i] != static_cast<int64_t>(i)) return false;
    return forwardTo(op, op.operand(0), rw);
  }
};

// Slice(x, starts, ends, axes?, steps = 1) ==> x   when the result keeps x's static shape: a step-1
// window as long as the axis can only be the whole axis.
class FoldFullSlice : public RewritePattern {
 public:
  const char* name() const override { return "fold-full-slice"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::Slice || !op.operand(0)) return false;
    const Type& xt = op.operand(0)->type();
    if (!xt.isTensor() || !xt.shape.isStatic() || !sameKnownTensorType(xt, op.result(0)->type())) return false;
    if (Value* steps = op.operand(4)) {
      std::optional<std::vector<int64_t>> s = constantInts(steps);
      if (!s) return false;
      for (int64_t step : *s)
        if (step != 1) return false;
    }
    return forwardTo(op, op.operand(0), rw);
  }
};

// Pad(x, pads = [0, ..., 0], value?) ==> x   (any mode: nothing is added)
class FoldZeroPad : public RewritePattern {
 public:
  const char* name() const override { return "fold-zero-pad"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::Pad || !op.operand(0)) return false;
    std::optional<std::vector<int64_t>> pads = constantInts(op.operand(1));
    if (!pads) return false;
    for (int64_t p : *pads)
      if (p != 0) return false;
    const Type& xt = op.operand(0)->type();
    if (!xt.isTensor() || xt.dtype != op.result(0)->type().dtype) return false;
    return forwardTo(op, op.operand(0), rw);
  }
};

// Constant(value_float = f | value_ints = [..] | ...) ==> Constant(value = tensor)
// One spelling for every constant, so later patterns read constants through one attribute.
class NormalizeConstant : public RewritePattern {
 public:
  const char* name() const override { return "normalize-constant"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter&) const override {
    if (op.kind() != OpKind::Constant || op.hasAttr("value") || op.attrs().size() != 1) return false;
    auto value = constantOpValue(op);
    if (!value.ok()) return false;
    std::string old_name = op.attrs().begin()->first;
    op.removeAttr(old_name);
    op.setAttr("value", Attribute::ofTensor(std::move(value).value()));
    return true;
  }
};

// Mul(x, HardSigmoid(x; α = 1/6, β = 1/2)) ==> HardSwish(x)   (either Mul operand order)
// HardSwish(x) = x · max(0, min(1, x/6 + 1/2)) by definition; PyTorch exports nn.Hardswish in this
// spelled-out form below opset 14, and fuse-epilogue can only absorb the single op.
class FoldHardSwish : public RewritePattern {
 public:
  const char* name() const override { return "fold-hardswish"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::Mul || op.numOperands() != 2) return false;
    for (int side = 0; side < 2; ++side) {
      Value* x = op.operand(side);
      Value* gate = op.operand(1 - side);
      Op* hs = producerOf(gate, OpKind::HardSigmoid);
      if (!x || !hs || hs->operand(0) != x || !hasSingleUse(gate)) continue;
      auto near = [](float a, double b) { return std::abs(a - b) <= 1e-6 * std::abs(b); };
      if (!near(hs->getFloat("alpha"), 1.0 / 6.0) || !near(hs->getFloat("beta"), 0.5)) continue;
      if (!sameKnownTensorType(x->type(), op.result(0)->type())) continue;  // no broadcasting
      DLC_ASSIGN_OR_RETURN(Op * swish, rw.create(OpKind::HardSwish, {x}, {}, 1, op.location()));
      if (!canReplaceValue(op.result(0), swish->result(0))) {
        rw.eraseOp(*swish);
        return false;
      }
      swish->result(0)->setName(op.result(0)->name());
      rw.replaceOp(op, {swish->result(0)});
      eraseIfDead(hs, swish->parent(), rw);
      return true;
    }
    return false;
  }
};

class Canonicalize : public Pass {
 public:
  Status run(Graph& graph, const PassContext&) override {
    PatternList patterns;
    patterns.push_back(std::make_unique<NormalizeConstant>());
    patterns.push_back(std::make_unique<FoldIdentity>());
    patterns.push_back(std::make_unique<FoldIdentityDropout>());
    patterns.push_back(std::make_unique<FoldNoOpCast>());
    patterns.push_back(std::make_unique<FoldShapePreservingNoOp>());
    patterns.push_back(std::make_unique<FoldReshapeOfReshape>());
    patterns.push_back(std::make_unique<FoldIdentityTranspose>());
    patterns.push_back(std::make_unique<FoldFullSlice>());
    patterns.push_back(std::make_unique<FoldZeroPad>());
    patterns.push_back(std::make_unique<FoldHardSwish>());
    auto n = applyPatternsGreedily(graph.body(), patterns);
    return n.ok() ? Status::success() : n.status();
  }
};

}  // namespace

std::unique_ptr<Pass> createCanonicalizePass() { return std::make_unique<Canonicalize>(); }

}  // namespace dlc::passes
