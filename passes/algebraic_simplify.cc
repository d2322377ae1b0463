// Algebraic simplification: exact identities such as x*1, x+0, x/1, Pow(x, 1), Neg(Neg(x)).
#include "passes/pass.h"
#include "passes/pattern.h"
#include "passes/simplify_util.h"

namespace dlc::passes {
namespace {

// True when the constant `c` broadcasts against `x` without changing x's shape: c's rank is at
// most x's, and each of c's (right-aligned) dims is 1 or equal to x's static dim. Together with the
// result type being x's type, dropping the constant then leaves every element of x in place.
bool broadcastsInto(const Value* c, const Value* x, const Value* result) {
  std::optional<Tensor> t = constantTensor(c);
  const Type& xt = x->type();
  if (!t || !xt.isTensor() || !xt.shape.ranked || t->rank() > xt.shape.rank()) return false;
  if (!sameKnownTensorType(xt, result->type())) return false;
  int off = xt.shape.rank() - t->rank();
  for (int i = 0; i < t->rank(); ++i) {
    const Dim& d = xt.shape.dims[static_cast<size_t>(off + i)];
    if (t->dim(i) != 1 && !(d.isStatic() && d.value == t->dim(i))) return false;
  }
  return true;
}

// Op(x, c) ==> x  (and Op(c, x) ==> x when `either_side`) for c a splat of `identity`:
//   x + 0, 0 + x, x - 0, x * 1, 1 * x, x / 1, Pow(x, 1), And(x, true), Or(x, false), Xor(x, false).
// Exact for every x, NaN and inf included; the one caveat is x + (+0.0) at x = -0.0, which gives
// +0.0 (equal under ==, only the sign bit of a zero differs), as every graph optimizer folds it.
// x * 0 is not folded: NaN * 0 and inf * 0 are NaN.
class DropIdentityOperand : public RewritePattern {
 public:
  DropIdentityOperand(OpKind kind, double identity, bool either_side)
      : kind_(kind), identity_(identity), either_side_(either_side) {}
  const char* name() const override { return "drop-identity-operand"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != kind_ || op.numOperands() != 2 || !op.operand(0) || !op.operand(1)) return false;
    for (int c = 1; c >= (either_side_ ? 0 : 1); --c) {
      Value* cv = op.operand(c);
      Value* x = op.operand(1 - c);
      if (!isSplatOf(cv, identity_) || !broadcastsInto(cv, x, op.result(0))) continue;
      if (!canReplaceValue(op.result(0), x)) return false;
      const Region* region = op.parent();
      rw.replaceOp(op, {x});
      eraseIfDead(cv->definingOp(), region, rw);
      return true;
    }
    return false;
  }

 private:
  OpKind kind_;
  double identity_;
  bool either_side_;
};

// Pow(x, 2) ==> Mul(x, x)   (x*x is the correctly rounded square, as pow's result is)
class PowTwoToMul : public RewritePattern {
 public:
  const char* name() const override { return "pow-two-to-mul"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::Pow || !op.operand(0) || !isSplatOf(op.operand(1), 2.0)) return false;
    Value* x = op.operand(0);
    if (!isFloat(x->type().dtype) && !isInteger(x->type().dtype)) return false;
    if (!broadcastsInto(op.operand(1), x, op.result(0))) return false;
    auto mul = rw.create(OpKind::Mul, {x, x}, {}, 1, op.location());
    if (!mul.ok()) return false;
    Value* nv = (*mul)->result(0);
    nv->setType(op.result(0)->type());
    nv->setName(op.result(0)->name());
    Op* exponent = op.operand(1)->definingOp();
    const Region* region = op.parent();
    rw.replaceOp(op, {nv});
    eraseIfDead(exponent, region, rw);
    return true;
  }
};

// Neg(Neg(x)) ==> x
class DoubleNegation : public RewritePattern {
 public:
  const char* name() const override { return "double-negation"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::Neg) return false;
    Op* inner = producerOf(op.operand(0), OpKind::Neg);
    if (!inner || !inner->operand(0)) return false;
    Value* x = inner->operand(0);
    if (!canReplaceValue(op.result(0), x)) return false;
    const Region* region = op.parent();
    rw.replaceOp(op, {x});
    eraseIfDead(inner, region, rw);
    return true;
  }
};

class AlgebraicSimplify : public Pass {
 public:
  Status run(Graph& graph, const PassContext&) override {
    PatternList p;
    p.push_back(std::make_unique<DropIdentityOperand>(OpKind::Add, 0.0, true));
    p.push_back(std::make_unique<DropIdentityOperand>(OpKind::Sub, 0.0, false));
    p.push_back(std::make_unique<DropIdentityOperand>(OpKind::Mul, 1.0, true));
    p.push_back(std::make_unique<DropIdentityOperand>(OpKind::Div, 1.0, false));
    p.push_back(std::make_unique<DropIdentityOperand>(OpKind::Pow, 1.0, false));
    p.push_back(std::make_unique<DropIdentityOperand>(OpKind::And, 1.0, true));
    p.push_back(std::make_unique<DropIdentityOperand>(OpKind::Or, 0.0, true));
    p.push_back(std::make_unique<DropIdentityOperand>(OpKind::Xor, 0.0, true));
    p.push_back(std::make_unique<PowTwoToMul>());
    p.push_back(std::make_unique<DoubleNegation>());
    auto n = applyPatternsGreedily(graph.body(), p);
    return n.ok() ? Status::success() : n.status();
  }
};

}  // namespace

std::unique_ptr<Pass> createAlgebraicSimplifyPass() { return std::make_unique<AlgebraicSimplify>(); }

}  // namespace dlc::passes
