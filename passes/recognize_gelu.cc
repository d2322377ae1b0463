// Recognizes GELU written out with Erf or Tanh (as PyTorch exports it) and replaces it with dlc Gelu.
#include <cmath>

#include "passes/pass.h"
#include "passes/pattern.h"

namespace dlc::passes {
namespace {

// True when `v` is a constant whose elements all lie within relative 1e-6 of `x`.
bool isNear(const Value* v, double x) {
  const Tensor* t = constantValue(v);
  if (!t || t->numel() == 0 || !isFloat(t->dtype())) return false;
  for (int64_t i = 0; i < t->numel(); ++i)
    if (std::abs(t->getDouble(i) - x) > 1e-6 * std::abs(x)) return false;
  return true;
}

// The leaves of the product tree rooted at `v`: single-use Mul results are expanded (the root always).
void mulLeaves(Value* v, bool root, std::vector<Value*>* out) {
  Op* m = producerOf(v, OpKind::Mul);
  if (m && (root || hasSingleUse(v)) && out->size() < 8) {
    mulLeaves(m->operand(0), false, out);
    mulLeaves(m->operand(1), false, out);
    return;
  }
  out->push_back(v);
}

// Splits the three leaves {x, 0.5, Add(f(arg), 1)} of a GELU product (in any order; x may itself be
// an Add); returns f's op and sets *x, or returns null.
Op* splitGeluProduct(const std::vector<Value*>& leaves, OpKind f, Value** x) {
  if (leaves.size() != 3) return nullptr;
  for (size_t a = 0; a < 3; ++a) {
    Op* add_op = producerOf(leaves[a], OpKind::Add);
    if (!add_op || !hasSingleUse(leaves[a])) continue;
    Op* fop = nullptr;
    for (int i = 0; i < 2 && !fop; ++i) {
      Op* cand = producerOf(add_op->operand(i), f);
      if (cand && isNear(add_op->operand(1 - i), 1.0) && hasSingleUse(cand->result())) fop = cand;
    }
    if (!fop) continue;
    const size_t o1 = (a + 1) % 3, o2 = (a + 2) % 3;
    if (isNear(leaves[o1], 0.5)) *x = leaves[o2];
    else if (isNear(leaves[o2], 0.5)) *x = leaves[o1];
    else continue;
    return fop;
  }
  return nullptr;
}

// `v` == x·c: Mul(x, c) or Mul(c, x) with c ≈ `c`, or Div(x, 1/c); single use.
bool isScaled(Value* v, Value* x, double c) {
  if (!hasSingleUse(v)) return false;
  if (Op* m = producerOf(v, OpKind::Mul))
    return (m->operand(0) == x && isNear(m->operand(1), c)) || (m->operand(1) == x && isNear(m->operand(0), c));
  if (Op* d = producerOf(v, OpKind::Div)) return d->operand(0) == x && isNear(d->operand(1), 1.0 / c);
  return false;
}

// `v` == x + 0.044715·x³ where x³ is Pow(x, 3) or x·x·x; single-use intermediates.
bool isCubicTerm(Value* v, Value* x) {
  Op* add = producerOf(v, OpKind::Add);
  if (!add || !hasSingleUse(v)) return false;
  for (int i = 0; i < 2; ++i) {
    if (add->operand(i) != x) continue;
    Value* t = add->operand(1 - i);
    if (!hasSingleUse(t) || !producerOf(t, OpKind::Mul)) return false;
    std::vector<Value*> leaves;
    mulLeaves(t, true, &leaves);
    int coef = 0, xs = 0, pow3 = 0;
    for (Value* l : leaves) {
      Op* p = producerOf(l, OpKind::Pow);
      if (isNear(l, 0.044715)) ++coef;
      else if (l == x) ++xs;
      else if (p && p->operand(0) == x && isNear(p->operand(1), 3.0) && hasSingleUse(l)) ++pow3;
      else return false;
    }
    return coef == 1 && ((pow3 == 1 && xs == 0) || (pow3 == 0 && xs == 3));
  }
  return false;
}

// Mul tree of {x, 0.5, 1 + erf(x / √2)}  ==>  Gelu(x)
// Mul tree of {x, 0.5, 1 + tanh(√(2/π) (x + 0.044715 x³))}  ==>  Gelu(x, approximate=tanh)
class GeluPattern : public RewritePattern {
 public:
  const char* name() const override { return "gelu"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::Mul || !op.result()->type().isTensor() || !isFloat(op.result()->type().dtype))
      return false;
    std::vector<Value*> leaves;
    mulLeaves(op.result(), true, &leaves);
    Value* x = nullptr;
    std::string mode;
    if (Op* erf = splitGeluProduct(leaves, OpKind::Erf, &x)) {
      if (!isScaled(erf->operand(0), x, 1.0 / std::sqrt(2.0))) return false;
      mode = "none";
    } else if (Op* tanh_op = splitGeluProduct(leaves, OpKind::Tanh, &x)) {
      Op* m = producerOf(tanh_op->operand(0), OpKind::Mul);
      if (!m || !hasSingleUse(tanh_op->operand(0))) return false;
      bool ok = false;
      for (int i = 0; i < 2 && !ok; ++i)
        ok = isNear(m->operand(i), 0.7978845608028654 /* √(2/π) */) && isCubicTerm(m->operand(1 - i), x);
      if (!ok) return false;
      mode = "tanh";
    } else {
      return false;
    }
    if (x->type() != op.result()->type()) return false;  // x must not broadcast up
    std::map<std::string, Attribute> attrs;
    if (mode == "tanh") attrs["approximate"] = Attribute::ofString("tanh");
    DLC_ASSIGN_OR_RETURN(Op* gelu, rw.create(OpKind::Gelu, {x}, attrs, 1, op.location()));
    rw.replaceOp(op, {gelu->result()});
    return true;
  }
};

class RecognizeGelu : public Pass {
 public:
  Status run(Graph& graph, const PassContext&) override {
    PatternList patterns;
    patterns.push_back(std::make_unique<GeluPattern>());
    DLC_ASSIGN_OR_RETURN(int n, applyPatternsGreedily(graph.body(), patterns));
    (void)n;
    return Status::success();
  }
};

}  // namespace

std::unique_ptr<Pass> createRecognizeGeluPass() { return std::make_unique<RecognizeGelu>(); }

}  // namespace dlc::passes
