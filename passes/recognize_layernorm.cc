// Recognizes LayerNorm written out with ReduceMean/Sub/Pow/Sqrt/Div and replaces it with LayerNormalization.
#include <algorithm>

#include "passes/pass.h"
#include "passes/pattern.h"
#include "passes/simplify_util.h"

namespace dlc::passes {
namespace {

// The number k of trailing axes a keepdims ReduceMean over `x` averages (its axes are exactly the
// last k of x's rank), or 0 when it is not such a reduction.
int trailingAxes(const Op& mean, const Value* x) {
  if (mean.kind() != OpKind::ReduceMean || mean.operand(0) != x || mean.getInt("keepdims", 1) != 1) return 0;
  const Shape& s = x->type().shape;
  if (!x->type().isTensor() || !s.ranked || s.rank() == 0) return 0;
  const int r = s.rank();
  std::vector<int64_t> axes = mean.getInts("axes");
  if (axes.empty()) return r;  // no axes: every axis
  for (int64_t& a : axes) {
    if (a < -r || a >= r) return 0;
    if (a < 0) a += r;
  }
  std::sort(axes.begin(), axes.end());
  const int k = static_cast<int>(axes.size());
  for (int i = 0; i < k; ++i)
    if (axes[static_cast<size_t>(i)] != r - k + i) return 0;
  return k;
}

// True when a Mul/Add operand `p` applied to the normalized value only scales/shifts it per position
// of the last k dims (LayerNormalization's Scale/B): rank <= k, each dim 1 or equal to x's.
bool isPerPosition(const Value* p, const Value* x, int k) {
  const Type& t = p->type();
  if (!t.isTensor() || t.dtype != x->type().dtype || !t.shape.ranked || t.shape.rank() > k) return false;
  const auto& xd = x->type().shape.dims;
  const int off = static_cast<int>(xd.size()) - t.shape.rank();
  for (int i = 0; i < t.shape.rank(); ++i) {
    const Dim& d = t.shape.dims[static_cast<size_t>(i)];
    const Dim& e = xd[static_cast<size_t>(off + i)];
    if (!(d.isStatic() && d.value == 1) && !(d == e && (d.isStatic() || d.isSymbolic()))) return false;
  }
  return true;
}

// The operand of binary `op` other than `v` (null when v is not an operand, or is both).
Value* otherOperand(const Op& op, const Value* v) {
  if (op.operand(0) == v && op.operand(1) != v) return op.operand(1);
  if (op.operand(1) == v && op.operand(0) != v) return op.operand(0);
  return nullptr;
}

// True when `v` is available at `anchor` (new ops go just before it): an argument, a value of an
// enclosing region, or the result of an op earlier in the anchor's region.
bool availableAt(const Value* v, const Op& anchor) {
  const Op* def = v->definingOp();
  if (!def || def->parent() != anchor.parent()) return true;
  for (const auto& op : anchor.parent()->ops()) {
    if (op.get() == def) return true;
    if (op.get() == &anchor) return false;
  }
  return false;
}

// The single user of `v` if it is of `kind`.
Op* singleUser(Value* v, OpKind kind) {
  if (!hasSingleUse(v)) return nullptr;
  Op* u = v->uses()[0].user;
  return u->kind() == kind ? u : nullptr;
}

// m = ReduceMean(x, last k axes); d = x - m; v = ReduceMean(d², same axes);
// y = d / Sqrt(v + ε); [y·γ [+ β]]  ==>  LayerNormalization(x, γ (1 if absent), β?, axis=-k, epsilon=ε)
class LayerNormPattern : public RewritePattern {
 public:
  const char* name() const override { return "layernorm"; }
  Expected<bool> matchAndRewrite(Op& div, Rewriter& rw) const override {
    if (div.kind() != OpKind::Div) return false;
    Op* sub = producerOf(div.operand(0), OpKind::Sub);
    Op* sqrt = producerOf(div.operand(1), OpKind::Sqrt);
    if (!sub || !sqrt || !hasSingleUse(sqrt->result())) return false;
    Value* x = sub->operand(0);
    if (!x->type().isTensor() || !isFloat(x->type().dtype) || div.result()->type() != x->type()) return false;
    Op* mean = producerOf(sub->operand(1), OpKind::ReduceMean);
    const int k = mean ? trailingAxes(*mean, x) : 0;
    if (k == 0 || !hasSingleUse(mean->result())) return false;
    // d is used twice: by the squaring and by the Div.
    Value* d = sub->result();
    if (d->uses().size() != 2) return false;
    Op* add_eps = producerOf(sqrt->operand(0), OpKind::Add);
    if (!add_eps || !hasSingleUse(add_eps->result())) return false;
    Value* var = nullptr;
    Value* eps_v = nullptr;
    for (int i = 0; i < 2 && !var; ++i)
      if (producerOf(add_eps->operand(i), OpKind::ReduceMean) && constantValue(add_eps->operand(1 - i))) {
        var = add_eps->operand(i);
        eps_v = add_eps->operand(1 - i);
      }
    if (!var || !hasSingleUse(var)) return false;
    const Tensor* eps_t = constantValue(eps_v);
    if (eps_t->numel() != 1 || !isFloat(eps_t->dtype())) return false;
    Op* var_mean = var->definingOp();
    if (!var_mean->operand(0) || !hasSingleUse(var_mean->operand(0))) return false;
    Op* sq = var_mean->operand(0)->definingOp();
    if (!sq) return false;
    const bool is_pow = sq->kind() == OpKind::Pow && sq->operand(0) == d && isSplatOf(sq->operand(1), 2.0);
    const bool is_mul = sq->kind() == OpKind::Mul && sq->operand(0) == d && sq->operand(1) == d;
    if (!is_pow && !is_mul) return false;
    if (trailingAxes(*var_mean, sq->result()) != k) return false;
    for (const Use& u : d->uses())
      if (u.user != sq && u.user != &div) return false;
    // Optional affine tail: y·γ then + β (γ and β per normalized position).
    Op* last = &div;
    Value* gamma = nullptr;
    Value* beta = nullptr;
    if (Op* mul = singleUser(div.result(), OpKind::Mul)) {
      Value* g = otherOperand(*mul, div.result());
      if (g && isPerPosition(g, x, k) && availableAt(g, div) && mul->result()->type() == x->type()) {
        gamma = g;
        last = mul;
        if (Op* add = singleUser(mul->result(), OpKind::Add)) {
          Value* b = otherOperand(*add, mul->result());
          if (b && isPerPosition(b, x, k) && availableAt(b, div) && add->result()->type() == x->type()) {
            beta = b;
            last = add;
          }
        }
      }
    }
    if (!gamma) gamma = rw.constant(Tensor::scalar(x->type().dtype, 1.0).reshaped({1}));
    std::vector<Value*> operands = {x, gamma};
    if (beta) operands.push_back(beta);
    std::map<std::string, Attribute> attrs = {{"axis", Attribute::ofInt(-k)},
                                              {"epsilon", Attribute::ofFloat(static_cast<float>(eps_t->getDouble(0)))}};
    DLC_ASSIGN_OR_RETURN(Op* ln, rw.create(OpKind::LayerNormalization, operands, attrs, 1, last->location()));
    // The replaced chain is dead once `last` is: erase it users-first.
    std::vector<Op*> chain;
    if (last != &div) {
      Op* mul = div.result()->uses()[0].user;
      if (last != mul) chain.push_back(last);
      chain.push_back(mul);
    }
    rw.replaceOp(*(chain.empty() ? &div : chain.front()), {ln->result()});
    for (size_t i = 1; i < chain.size(); ++i) rw.eraseOp(*chain[i]);
    if (!chain.empty()) rw.eraseOp(div);
    for (Op* dead : {sqrt, add_eps, var_mean, sq, sub, mean}) rw.eraseOp(*dead);
    return true;
  }
};

class RecognizeLayerNorm : public Pass {
 public:
  Status run(Graph& graph, const PassContext&) override {
    PatternList patterns;
    patterns.push_back(std::make_unique<LayerNormPattern>());
    DLC_ASSIGN_OR_RETURN(int n, applyPatternsGreedily(graph.body(), patterns));
    (void)n;
    return Status::success();
  }
};

}  // namespace

std::unique_ptr<Pass> createRecognizeLayerNormPass() { return std::make_unique<RecognizeLayerNorm>(); }

}  // namespace dlc::passes
