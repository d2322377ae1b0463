// Transpose/reshape cleanup: composes transposes, cancels layout-preserving ones against reshapes,
// sinks transposes below unary elementwise ops and hoists them above row-wise ops so that pairs meet.
#include "passes/pass.h"
#include "passes/pattern.h"
#include "passes/simplify_util.h"

namespace dlc::passes {
namespace {

bool isIdentityPerm(const std::vector<int64_t>& perm) {
  for (size_t i = 0; i < perm.size(); ++i)
    if (perm[i] != static_cast<int64_t>(i)) return false;
  return true;
}

// True when Transpose(x : in, perm) keeps x's elements in memory order, i.e. it is a reshape: the
// axes that are not statically 1 stay in increasing order.
bool keepsMemoryOrder(const Type& in, const std::vector<int64_t>& perm) {
  if (!in.isTensor() || !in.shape.ranked || in.shape.rank() != static_cast<int>(perm.size())) return false;
  int64_t last = -1;
  for (int64_t a : perm) {
    if (a < 0 || a >= in.shape.rank()) return false;
    const Dim& d = in.shape.dims[static_cast<size_t>(a)];
    if (d.isStatic() && d.value == 1) continue;
    if (a < last) return false;
    last = a;
  }
  return true;
}

bool isViewOp(const Op* op) {
  return op && (op->kind() == OpKind::Reshape || op->kind() == OpKind::Flatten || op->kind() == OpKind::Squeeze ||
                op->kind() == OpKind::Unsqueeze);
}

// Replaces `op` by `x` when x already has op's (fully known) type, else by Reshape(x, shape)
// where `shape` is a constant operand or, when null, op's static result shape. Declines when
// neither is possible.
bool replaceByReshapeOf(Op& op, Value* x, Value* shape, const std::map<std::string, Attribute>& attrs,
                        Rewriter& rw) {
  Value* out = op.result(0);
  std::vector<Value*> operands = op.operands();
  const Region* region = op.parent();
  if (sameKnownTensorType(x->type(), out->type())) {
    if (!canReplaceValue(out, x)) return false;
    rw.replaceOp(op, {x});
    eraseDeadConstants(operands, region, rw);
    return true;
  }
  if (!shape) {
    if (!out->type().isTensor() || !out->type().shape.isStatic()) return false;
    std::vector<int64_t> dims = out->type().shape.staticSizes();
    shape = rw.constant(Tensor::fromVector<int64_t>(DType::I64, {static_cast<int64_t>(dims.size())}, dims));
  }
  auto reshape = rw.create(OpKind::Reshape, {x, shape}, attrs, 1, op.location());
  if (!reshape.ok()) return false;  // unreachable for a valid graph; the dead shape goes with dce
  Value* nv = (*reshape)->result(0);
  nv->setType(out->type());  // the same values as before, so the recorded type still holds
  nv->setName(out->name());
  rw.replaceOp(op, {nv});
  eraseDeadConstants(operands, region, rw);
  return true;
}

// Transpose(Transpose(x, p1), p2) ==> Transpose(x, q),  q[i] = p1[p2[i]]   (==> x when q is the
// identity): result dim i is inner dim p2[i], which is x's dim p1[p2[i]].
class ComposeTransposes : public RewritePattern {
 public:
  const char* name() const override { return "compose-transposes"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::Transpose) return false;
    Op* inner = producerOf(op.operand(0), OpKind::Transpose);
    if (!inner || !inner->operand(0)) return false;
    auto p1 = transposePerm(*inner);
    auto p2 = transposePerm(op);
    if (!p1 || !p2 || p1->size() != p2->size()) return false;
    std::vector<int64_t> q;
    for (int64_t a : *p2) {
      if (a < 0 || a >= static_cast<int64_t>(p1->size())) return false;
      q.push_back((*p1)[static_cast<size_t>(a)]);
    }
    Value* x = inner->operand(0);
    const Region* region = op.parent();
    if (isIdentityPerm(q)) {
      if (!canReplaceValue(op.result(0), x)) return false;
      rw.replaceOp(op, {x});
    } else {
      auto t = rw.create(OpKind::Transpose, {x}, {{"perm", Attribute::ofInts(q)}}, 1, op.location());
      if (!t.ok()) return false;
      (*t)->result(0)->setType(op.result(0)->type());
      (*t)->result(0)->setName(op.result(0)->name());
      rw.replaceOp(op, {(*t)->result(0)});
    }
    eraseIfDead(inner, region, rw);
    return true;
  }
};

// Reshape(V(x), s) ==> Reshape(x, s)   for V a Transpose that keeps x's memory order (it only
// moves size-1 dims) or a Reshape/Flatten/Squeeze/Unsqueeze: V(x) reads x's elements in order, so
// only the final shape matters. s must be a constant without 0 entries (with allowzero=0 a 0
// copies a dim of V(x), which x may not have). ==> x when the reshape restores x's own type.
class ReshapeOfView : public RewritePattern {
 public:
  const char* name() const override { return "reshape-of-view"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::Reshape || !op.operand(0)) return false;
    Op* v = op.operand(0)->definingOp();
    if (!v || !v->operand(0)) return false;
    if (v->kind() == OpKind::Transpose) {
      auto perm = transposePerm(*v);
      if (!perm || !keepsMemoryOrder(v->operand(0)->type(), *perm)) return false;
    } else if (!isViewOp(v)) {
      return false;
    }
    auto shape = constantInts(op.operand(1));
    if (!shape) return false;
    if (op.getInt("allowzero", 0) == 0)
      for (int64_t d : *shape)
        if (d == 0) return false;
    const Region* region = op.parent();
    if (!replaceByReshapeOf(op, v->operand(0), op.operand(1), op.attrs(), rw)) return false;
    eraseIfDead(v, region, rw);
    return true;
  }
};

// Transpose(R(x), p) ==> Reshape(x, shape of the result)   for R a Reshape/Flatten/Squeeze/
// Unsqueeze and a transpose that keeps R(x)'s memory order: both are views of x's elements in
// order, so only the final (static) shape matters. ==> x when that shape is x's own.
class TransposeOfReshape : public RewritePattern {
 public:
  const char* name() const override { return "transpose-of-reshape"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::Transpose || !op.operand(0)) return false;
    Op* r = op.operand(0)->definingOp();
    if (!isViewOp(r) || !r->operand(0)) return false;
    auto perm = transposePerm(op);
    if (!perm || !keepsMemoryOrder(op.operand(0)->type(), *perm)) return false;
    const Region* region = op.parent();
    if (!replaceByReshapeOf(op, r->operand(0), nullptr, {}, rw)) return false;
    eraseIfDead(r, region, rw);
    return true;
  }
};

// U(Transpose(x, p)) ==> Transpose(U(x), p)   for U elementwise with one input: U acts on each
// element alone, so it commutes with moving elements. Only when the transpose has no other use,
// so no work is duplicated; it lets transposes travel down to meet and cancel their inverses.
class SinkTransposeBelowUnary : public RewritePattern {
 public:
  const char* name() const override { return "sink-transpose-below-unary"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (!op.info().has(kElementwise) || op.numOperands() != 1 || op.numResults() != 1) return false;
    if (op.info().has(kSideEffects) || !op.regions().empty()) return false;
    Op* t = producerOf(op.operand(0), OpKind::Transpose);
    if (!t || !t->operand(0) || !hasSingleUse(t->result(0))) return false;
    Value* x = t->operand(0);
    auto u = rw.create(op.kind(), {x}, op.attrs(), 1, op.location());
    if (!u.ok()) return false;
    auto nt = rw.create(OpKind::Transpose, {(*u)->result(0)}, t->attrs(), 1, t->location());
    if (!nt.ok()) {
      rw.eraseOp(**u);
      return false;
    }
    (*nt)->result(0)->setType(op.result(0)->type());
    (*nt)->result(0)->setName(op.result(0)->name());
    rw.replaceOp(op, {(*nt)->result(0)});
    rw.eraseOp(*t);  // its only user is gone
    return true;
  }
};

int rankOf(const Value* v) {
  return v && v->type().isTensor() && v->type().shape.ranked ? v->type().shape.rank() : -1;
}

// The operand index of binary `op` that carries the rows when the other operand has rank <= 1
// (a bias or scale broadcast along the last axis only), or -1.
int rowOperand(const Op& op) {
  if (op.kind() != OpKind::Add && op.kind() != OpKind::Mul) return -1;
  const int r = rankOf(op.result(0));
  for (int i = 0; i < 2; ++i) {
    const int other = rankOf(op.operand(1 - i));
    if (rankOf(op.operand(i)) == r && other >= 0 && other <= 1) return i;
  }
  return -1;
}

// True when `v` is a Transpose's result, or reaches one through single-use row-wise ops (MatMul by a
// rank-2 matrix, Add/Mul of a rank <= 1 operand): a transpose hoisted above them meets it.
bool reachesTranspose(Value* v, int depth = 0) {
  if (!v || depth > 6) return false;
  if (producerOf(v, OpKind::Transpose)) return true;
  if (!hasSingleUse(v) || !v->definingOp() || v->index() != 0) return false;
  Op* op = v->definingOp();
  if (op->kind() == OpKind::MatMul && rankOf(op->operand(1)) == 2 && rankOf(op->operand(0)) == rankOf(v))
    return reachesTranspose(op->operand(0), depth + 1);
  const int i = rowOperand(*op);
  return i >= 0 && reachesTranspose(op->operand(i), depth + 1);
}

// Transpose(MatMul(a, W), q) ==> MatMul(Transpose(a, q), W)   (W of rank 2)
// Transpose(a ⊕ b, q)        ==> Transpose(a, q) ⊕ b           (⊕ Add or Mul, b of rank <= 1)
// for q keeping the last axis in place: each op maps every row (the last axis) alone, so it
// commutes with moving rows. Only when `a` reaches another Transpose that the hoisted one then
// composes with (torch's seq-first attention: Transpose(x) -> in-projection -> Transpose back).
class HoistTransposeAboveRowwise : public RewritePattern {
 public:
  const char* name() const override { return "hoist-transpose-above-rowwise"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::Transpose || !op.operand(0) || !hasSingleUse(op.operand(0))) return false;
    auto perm = transposePerm(op);
    const int r = rankOf(op.operand(0));
    if (!perm || r < 2 || static_cast<int>(perm->size()) != r || perm->back() != r - 1) return false;
    Op* inner = op.operand(0)->definingOp();
    if (!inner || op.operand(0)->index() != 0) return false;
    int row = -1;
    if (inner->kind() == OpKind::MatMul) {
      if (rankOf(inner->operand(1)) != 2 || rankOf(inner->operand(0)) != r) return false;
      row = 0;
    } else {
      row = rowOperand(*inner);
    }
    if (row < 0 || !reachesTranspose(inner->operand(row))) return false;
    auto t = rw.create(OpKind::Transpose, {inner->operand(row)}, {{"perm", Attribute::ofInts(*perm)}}, 1, op.location());
    if (!t.ok()) return false;
    std::vector<Value*> operands = inner->operands();
    operands[static_cast<size_t>(row)] = (*t)->result(0);
    auto moved = rw.create(inner->kind(), operands, inner->attrs(), 1, inner->location());
    if (!moved.ok()) {
      rw.eraseOp(**t);
      return false;
    }
    (*moved)->result(0)->setName(op.result(0)->name());
    rw.replaceOp(op, {(*moved)->result(0)});
    rw.eraseOp(*inner);  // its only user is gone
    return true;
  }
};

class TransposeReshape : public Pass {
 public:
  Status run(Graph& graph, const PassContext&) override {
    PatternList p;
    p.push_back(std::make_unique<ComposeTransposes>());
    p.push_back(std::make_unique<ReshapeOfView>());
    p.push_back(std::make_unique<TransposeOfReshape>());
    p.push_back(std::make_unique<SinkTransposeBelowUnary>());
    p.push_back(std::make_unique<HoistTransposeAboveRowwise>());
    auto n = applyPatternsGreedily(graph.body(), p);
    return n.ok() ? Status::success() : n.status();
  }
};

}  // namespace

std::unique_ptr<Pass> createTransposeReshapePass() { return std::make_unique<TransposeReshape>(); }

}  // namespace dlc::passes
