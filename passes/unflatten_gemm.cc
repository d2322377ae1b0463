// Gemm between a flatten and an unflatten (torch's `linear(x.view(S * B, E)).view(S, B, N)`, the
// out-projection of nn.MultiheadAttention's export) rewritten as a MatMul on the unflattened value,
// so the projection reads the attention output in place and its transposes can cancel.
#include "passes/pass.h"
#include "passes/pattern.h"
#include "passes/shape_expr.h"

namespace dlc::passes {
namespace {

int rankOf(const Value* v) {
  return v && v->type().isTensor() && v->type().shape.ranked ? v->type().shape.rank() : -1;
}

// Reshape(Gemm(Reshape(y, [M, K]), W, c), [d0, .., d_{r-2}, N])  ==>  MatMul(y, W') [+ c]
// for y : [d0, .., d_{r-2}, K] (r >= 3), W' = W (or Transpose(W) with transB), alpha = beta = 1,
// c absent or of rank <= 1: row m of the flattened matrix is y's row at the same position in
// memory order, Gemm multiplies each row alone, and the outer reshape puts the rows back where the
// inner one took them (M = d0·…·d_{r-2} follows from the element counts, as y's last dim is K).
class UnflattenGemmPattern : public RewritePattern {
 public:
  const char* name() const override { return "unflatten-gemm"; }
  Expected<bool> matchAndRewrite(Op& out, Rewriter& rw) const override {
    if (out.kind() != OpKind::Reshape || out.getInt("allowzero", 0) != 0) return false;
    Op* gemm = producerOf(out.operand(0), OpKind::Gemm);
    if (!gemm || !hasSingleUse(gemm->result()) || gemm->getInt("transA", 0) != 0) return false;
    if (gemm->getFloat("alpha", 1.0f) != 1.0f || (gemm->operand(2) && gemm->getFloat("beta", 1.0f) != 1.0f)) return false;
    Op* flat = producerOf(gemm->operand(0), OpKind::Reshape);
    if (!flat || !hasSingleUse(flat->result())) return false;
    Value* y = flat->operand(0);
    Value* w = gemm->operand(1);
    Value* c = gemm->operand(2);
    const int r = rankOf(y);
    if (r < 3 || rankOf(w) != 2 || (c && rankOf(c) > 1) || y->type().dtype != w->type().dtype) return false;
    const Dim& k = y->type().shape.dims.back();
    const Type& ft = flat->result()->type();
    if (!k.isStatic() || rankOf(flat->result()) != 2 || !(ft.shape.dims[1] == k)) return false;
    const bool trans_b = gemm->getInt("transB", 0) != 0;
    const Dim& wk = w->type().shape.dims[trans_b ? 1 : 0];
    const Dim& n = w->type().shape.dims[trans_b ? 0 : 1];
    if (!(wk == k) || !n.isStatic()) return false;
    auto target = evalScaled(out.operand(1));
    if (!target || static_cast<int>(target->size()) != r) return false;
    int inferred = 0;
    for (int i = 0; i < r; ++i) {
      const Scaled& e = (*target)[static_cast<size_t>(i)];
      if (!known(e.dim) && !e.src) {  // -1: the one dim left once the others match
        ++inferred;
        continue;
      }
      const bool ok = i < r - 1 ? entryIsDimOf(e, y, i, 1) : entryIs(e, n, 1);
      if (!ok || (e.dim.isStatic() && e.dim.value == 0)) return false;
    }
    if (inferred > 1) return false;
    Value* wt = w;
    if (trans_b) {
      DLC_ASSIGN_OR_RETURN(Op* t, rw.create(OpKind::Transpose, {w}, {{"perm", Attribute::ofInts({1, 0})}}, 1,
                                            gemm->location()));
      wt = t->result();
    }
    DLC_ASSIGN_OR_RETURN(Op* mm, rw.create(OpKind::MatMul, {y, wt}, {}, 1, gemm->location()));
    Value* result = mm->result();
    if (c) {
      DLC_ASSIGN_OR_RETURN(Op* add, rw.create(OpKind::Add, {result, c}, {}, 1, gemm->location()));
      result = add->result();
    }
    rw.replaceOp(out, {result});
    rw.eraseOp(*gemm);
    rw.eraseOp(*flat);
    return true;
  }
};

class UnflattenGemm : public Pass {
 public:
  Status run(Graph& graph, const PassContext&) override {
    PatternList patterns;
    patterns.push_back(std::make_unique<UnflattenGemmPattern>());
    auto n = applyPatternsGreedily(graph.body(), patterns);
    return n.ok() ? Status::success() : n.status();
  }
};

}  // namespace

std::unique_ptr<Pass> createUnflattenGemmPass() { return std::make_unique<UnflattenGemm>(); }

}  // namespace dlc::passes
