// fuse-epilogue: turns Conv, Gemm and MatMul into FusedConv / FusedMatMul and absorbs the bias Add,
// residual Add and activation that follow, so Y = act(op + bias + residual) is one kernel.
#include <cfloat>
#include <vector>

#include "passes/pass.h"
#include "passes/pattern.h"

namespace dlc::passes {
namespace {

bool isFloatValue(const Value* v) { return v && v->type().isTensor() && isFloat(v->type().dtype); }

// Operands (X/A, W/B, bias, residual; null when absent) and attributes of a fused op being rebuilt.
struct FusedParts {
  std::vector<Value*> operands;
  std::map<std::string, Attribute> attrs;
};

// The fused op producing `v` when it may take more epilogue (v is its only result and has one
// use, and no activation has been fused yet, since every later step must come before it).
Op* fusedProducer(Value* v) {
  Op* f = producerOf(v, OpKind::FusedConv);
  if (!f) f = producerOf(v, OpKind::FusedMatMul);
  if (!f || f->getString("activation", "none") != "none") return nullptr;
  return f;
}

FusedParts partsOf(const Op& f) {
  FusedParts p{{f.operand(0), f.operand(1), f.operand(2), f.operand(3)}, f.attrs()};
  return p;
}

// Creates the fused op of `kind` from `p` at `anchor`, which it replaces (taking its result's name);
// then erases `dead`, the ops absorbed into it, users first.
Expected<bool> emit(Rewriter& rw, Op& anchor, OpKind kind, FusedParts p, const std::string& location,
                    const std::vector<Op*>& dead) {
  while (!p.operands.empty() && !p.operands.back()) p.operands.pop_back();
  DLC_ASSIGN_OR_RETURN(Op* op, rw.create(kind, std::move(p.operands), std::move(p.attrs), 1, location));
  op->result()->setName(anchor.result()->name());
  rw.replaceOp(anchor, {op->result()});
  for (Op* d : dead) rw.eraseOp(*d);
  return true;
}

// Conv(X, W, B?)  ==>  FusedConv(X, W, B?) with activation none.
class ConvToFused : public RewritePattern {
 public:
  const char* name() const override { return "conv-to-fused"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if (op.kind() != OpKind::Conv || !isFloatValue(op.operand(0))) return false;
    return emit(rw, op, OpKind::FusedConv, {op.operands(), op.attrs()}, op.location(), {});
  }
};

// MatMul(A, B)  ==>  FusedMatMul(A, B).
// Gemm(A, B, C) = alpha·op(A)·op(B) + beta·C  ==>  FusedMatMul(A, B, beta·C) with alpha, transA,
// transB; beta·C is folded into a new constant when beta ∉ {0, 1} (a non-constant C declines).
class MatMulToFused : public RewritePattern {
 public:
  const char* name() const override { return "matmul-to-fused"; }
  Expected<bool> matchAndRewrite(Op& op, Rewriter& rw) const override {
    if ((op.kind() != OpKind::MatMul && op.kind() != OpKind::Gemm) || !isFloatValue(op.operand(0))) return false;
    FusedParts p{{op.operand(0), op.operand(1)}, {}};
    if (op.kind() == OpKind::Gemm) {
      for (const char* a : {"alpha", "transA", "transB"})
        if (op.hasAttr(a)) p.attrs[a] = *op.attr(a);
      const double beta = op.getFloat("beta", 1.0f);
      Value* c = op.operand(2);
      if (c && beta != 0.0) {
        if (beta != 1.0) {
          const Tensor* ct = constantValue(c);
          if (!ct) return false;
          Tensor scaled(ct->dtype(), ct->shape());
          for (int64_t i = 0; i < ct->numel(); ++i) scaled.setDouble(i, beta * ct->getDouble(i));
          c = rw.constant(std::move(scaled), c->name() + "_beta");
        }
        p.operands.push_back(c);
      }
    }
    return emit(rw, op, OpKind::FusedMatMul, std::move(p), op.location(), {});
  }
};

// The values of `c` along output axis `axis` (n of them) when `c` broadcasts to a rank-`rank`
// output only along that axis (every other dim 1); a one-element `c` gives n copies.
bool alongAxis(const Tensor& c, int rank, int axis, int64_t n, std::vector<double>* out) {
  if (c.rank() > rank || c.dtype() == DType::String) return false;
  for (int j = 0; j < c.rank(); ++j) {
    int aligned = rank - c.rank() + j;
    if (c.dim(j) != 1 && (aligned != axis || c.dim(j) != n)) return false;
  }
  out->resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) (*out)[static_cast<size_t>(i)] = c.getDouble(c.numel() == 1 ? 0 : i);
  return true;
}

// FusedConv(X, W, B) + c, c constant along channel axis 1  ==>  FusedConv(X, W, B + c)
// FusedMatMul(A, B, C) + c, c constant along the last axis  ==>  FusedMatMul(A, B, C + c)
// Valid with a residual already fused (no activation yet): op + B + R + c = op + (B + c) + R.
class AbsorbBiasAdd : public RewritePattern {
 public:
  const char* name() const override { return "absorb-bias-add"; }
  Expected<bool> matchAndRewrite(Op& add, Rewriter& rw) const override {
    if (add.kind() != OpKind::Add) return false;
    for (int i = 0; i < 2; ++i) {
      Value* y = add.operand(i);
      Op* f = fusedProducer(y);
      const Tensor* c = constantValue(add.operand(1 - i));
      if (!f || !c || !hasSingleUse(y) || add.result()->type() != y->type()) continue;
      const Shape& s = y->type().shape;
      if (!s.ranked || s.rank() < 1) continue;
      const int axis = f->kind() == OpKind::FusedConv ? 1 : s.rank() - 1;
      if (axis >= s.rank() || !s.dims[static_cast<size_t>(axis)].isStatic()) continue;
      const int64_t n = s.dims[static_cast<size_t>(axis)].value;
      std::vector<double> sum, old;
      if (!alongAxis(*c, s.rank(), axis, n, &sum)) continue;
      if (Value* b = f->operand(2)) {
        const Tensor* bt = constantValue(b);
        // FusedConv's B is already [M]; FusedMatMul's C must itself lie along the last axis.
        if (!bt || !alongAxis(*bt, f->kind() == OpKind::FusedConv ? 1 : s.rank(),
                              f->kind() == OpKind::FusedConv ? 0 : axis, n, &old))
          continue;
        for (size_t k = 0; k < sum.size(); ++k) sum[k] += old[k];
      }
      Tensor bias(y->type().dtype, {n});
      for (int64_t k = 0; k < n; ++k) bias.setDouble(k, sum[static_cast<size_t>(k)]);
      FusedParts p = partsOf(*f);
      p.operands[2] = rw.constant(std::move(bias), add.result()->name() + "_bias");
      return emit(rw, add, f->kind(), std::move(p), f->location(), {f});
    }
    return false;
  }
};

// True when `s` names every dim (static or symbolic), so equal shapes are really equal.
bool fullyKnown(const Shape& s) {
  if (!s.ranked) return false;
  for (const Dim& d : s.dims)
    if (!d.isStatic() && !d.isSymbolic()) return false;
  return true;
}

// Fused(...) + r, r of exactly the result's shape  ==>  Fused(..., R = r)
// Only one residual, and only before any activation: act(op + B) + r is not act(op + B + r).
class AbsorbResidualAdd : public RewritePattern {
 public:
  const char* name() const override { return "absorb-residual-add"; }
  Expected<bool> matchAndRewrite(Op& add, Rewriter& rw) const override {
    if (add.kind() != OpKind::Add) return false;
    for (int i = 0; i < 2; ++i) {
      Value* y = add.operand(i);
      Value* r = add.operand(1 - i);
      Op* f = fusedProducer(y);
      if (!f || f->operand(3) || !hasSingleUse(y) || !r || r == y) continue;
      if (r->type() != y->type() || add.result()->type() != y->type() || !fullyKnown(y->type().shape)) continue;
      FusedParts p = partsOf(*f);
      p.operands[3] = r;
      return emit(rw, add, f->kind(), std::move(p), f->location(), {f});
    }
    return false;
  }
};

// The scalar value of an optional constant operand; `fallback` when absent.
bool scalarOperand(const Op& op, int i, double fallback, double* out) {
  *out = fallback;
  if (!op.operand(i)) return true;
  const Tensor* t = constantValue(op.operand(i));
  if (!t || t->numel() != 1 || t->dtype() == DType::String) return false;
  *out = t->getDouble(0);
  return true;
}

// act(Fused(...))  ==>  Fused(...) with activation = act, for
//   Relu, LeakyRelu(α), Clip(min, max) (α = min, β = max; Relu6 = Clip(0, 6)), Sigmoid,
//   HardSigmoid(α, β), HardSwish, Gelu (erf form), Tanh.
class AbsorbActivation : public RewritePattern {
 public:
  const char* name() const override { return "absorb-activation"; }
  Expected<bool> matchAndRewrite(Op& act, Rewriter& rw) const override {
    std::string name;
    double alpha = 0, beta = 0;
    switch (act.kind()) {
      case OpKind::Relu: name = "Relu"; break;
      case OpKind::Sigmoid: name = "Sigmoid"; break;
      case OpKind::HardSwish: name = "HardSwish"; break;
      case OpKind::Tanh: name = "Tanh"; break;
      case OpKind::LeakyRelu:
        name = "LeakyRelu";
        alpha = act.getFloat("alpha", 0.01f);
        break;
      case OpKind::HardSigmoid:
        name = "HardSigmoid";
        alpha = act.getFloat("alpha", 0.2f);
        beta = act.getFloat("beta", 0.5f);
        break;
      case OpKind::Gelu:
        if (act.getString("approximate", "none") != "none") return false;
        name = "Gelu";
        break;
      case OpKind::Clip:
        if (!scalarOperand(act, 1, -FLT_MAX, &alpha) || !scalarOperand(act, 2, FLT_MAX, &beta)) return false;
        name = "Clip";
        break;
      default: return false;
    }
    Value* y = act.operand(0);
    Op* f = fusedProducer(y);
    if (!f || !hasSingleUse(y) || act.result()->type() != y->type()) return false;
    FusedParts p = partsOf(*f);
    p.attrs["activation"] = Attribute::ofString(name);
    if (alpha != 0) p.attrs["activation_alpha"] = Attribute::ofFloat(static_cast<float>(alpha));
    if (beta != 0) p.attrs["activation_beta"] = Attribute::ofFloat(static_cast<float>(beta));
    return emit(rw, act, f->kind(), std::move(p), f->location(), {f});
  }
};

// Fused(...) · Sigmoid(Fused(...)), either operand order  ==>  Fused(...) with activation Silu.
class AbsorbSilu : public RewritePattern {
 public:
  const char* name() const override { return "absorb-silu"; }
  Expected<bool> matchAndRewrite(Op& mul, Rewriter& rw) const override {
    if (mul.kind() != OpKind::Mul) return false;
    for (int i = 0; i < 2; ++i) {
      Value* y = mul.operand(i);
      Op* sig = producerOf(mul.operand(1 - i), OpKind::Sigmoid);
      Op* f = fusedProducer(y);
      if (!f || !sig || sig->operand(0) != y || !hasSingleUse(sig->result())) continue;
      if (y->uses().size() != 2 || mul.result()->type() != y->type()) continue;
      bool other_users = false;
      for (const Use& u : y->uses()) other_users |= u.user != &mul && u.user != sig;
      if (other_users) continue;
      FusedParts p = partsOf(*f);
      p.attrs["activation"] = Attribute::ofString("Silu");
      return emit(rw, mul, f->kind(), std::move(p), f->location(), {sig, f});
    }
    return false;
  }
};

class FuseEpilogue : public Pass {
 public:
  Status run(Graph& graph, const PassContext&) override {
    PatternList patterns;
    patterns.push_back(std::make_unique<ConvToFused>());
    patterns.push_back(std::make_unique<MatMulToFused>());
    patterns.push_back(std::make_unique<AbsorbBiasAdd>());
    patterns.push_back(std::make_unique<AbsorbResidualAdd>());
    patterns.push_back(std::make_unique<AbsorbActivation>());
    patterns.push_back(std::make_unique<AbsorbSilu>());
    return applyPatternsGreedily(graph.body(), patterns).status();
  }
};

}  // namespace

std::unique_ptr<Pass> createFuseEpiloguePass() { return std::make_unique<FuseEpilogue>(); }

}  // namespace dlc::passes
