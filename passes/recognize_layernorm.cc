// Recognizes LayerNorm written out with elementwise ops and reductions (the forms exporters
// write) and replaces it with LayerNormalization; RMSNorm (LLaMA's, T5's) likewise with
// RMSNormalization.
#include <algorithm>

#include "passes/explain.h"
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
  return u && u->kind() == kind ? u : nullptr;
}

// Single-use producer of `v` of `kind`.
Op* soleProducer(Value* v, OpKind kind) {
  Op* op = producerOf(v, kind);
  return op && hasSingleUse(v) ? op : nullptr;
}

// The scalar float value of a one-element constant.
std::optional<double> scalarOf(const Value* v) {
  const Tensor* t = constantValue(v);
  if (!t || t->numel() != 1 || !isFloat(t->dtype())) return std::nullopt;
  return t->getDouble(0);
}

// True when every use of `v` is by one of `users` (a value squared as Mul(v, v) is used twice).
bool usedOnlyBy(const Value* v, std::initializer_list<const Op*> users) {
  for (const Use& u : v->uses())
    if (std::find(users.begin(), users.end(), u.user) == users.end()) return false;
  return true;
}

// e = ReduceMean(d·d or d², the last k axes) + ε, every intermediate single-use: the variance of x
// (d = x - mean) plus epsilon.
struct VariancePlusEps {
  Op* add = nullptr;
  Op* var_mean = nullptr;
  Op* square = nullptr;
  double eps = 0;
};
std::optional<VariancePlusEps> matchVariancePlusEps(Value* e, Value* d, int k) {
  VariancePlusEps m;
  m.add = soleProducer(e, OpKind::Add);
  if (!m.add) return std::nullopt;
  for (int i = 0; i < 2 && !m.var_mean; ++i)
    if (auto eps = scalarOf(m.add->operand(1 - i)); eps && *eps >= 0) {
      m.var_mean = soleProducer(m.add->operand(i), OpKind::ReduceMean);
      m.eps = *eps;
    }
  if (!m.var_mean || !m.var_mean->operand(0) || !hasSingleUse(m.var_mean->operand(0))) return std::nullopt;
  m.square = m.var_mean->operand(0)->definingOp();
  if (!m.square) return std::nullopt;
  const bool is_pow = m.square->kind() == OpKind::Pow && m.square->operand(0) == d && isSplatOf(m.square->operand(1), 2.0);
  const bool is_mul = m.square->kind() == OpKind::Mul && m.square->operand(0) == d && m.square->operand(1) == d;
  if ((!is_pow && !is_mul) || trailingAxes(*m.var_mean, m.square->result()) != k) return std::nullopt;
  return m;
}

// 1/sqrt(e) written as Reciprocal(Sqrt(e)), Div(1, Sqrt(e)) or Pow(e, -0.5): the ops users-first
// and e; nullopt otherwise.
// `shared`: r itself may have several uses (the scale-shift form uses it twice).
std::optional<std::pair<std::vector<Op*>, Value*>> matchRsqrt(Value* r, bool shared = false) {
  auto top = [&](OpKind kind) { return shared ? producerOf(r, kind) : soleProducer(r, kind); };
  if (Op* rec = top(OpKind::Reciprocal)) {
    if (Op* sq = soleProducer(rec->operand(0), OpKind::Sqrt)) return std::make_pair(std::vector<Op*>{rec, sq}, sq->operand(0));
  }
  if (Op* div = top(OpKind::Div); div && isSplatOf(div->operand(0), 1.0)) {
    if (Op* sq = soleProducer(div->operand(1), OpKind::Sqrt)) return std::make_pair(std::vector<Op*>{div, sq}, sq->operand(0));
  }
  if (Op* pw = top(OpKind::Pow); pw && isSplatOf(pw->operand(1), -0.5))
    return std::make_pair(std::vector<Op*>{pw}, pw->operand(0));
  return std::nullopt;
}

// Erases `ops` in order (each must be dead once the ones before it are gone).
void eraseAll(const std::vector<Op*>& ops, Rewriter& rw) {
  for (Op* op : ops) rw.eraseOp(*op);
}

Expected<Value*> createLayerNorm(Rewriter& rw, Value* x, Value* gamma, Value* beta, int k, double eps,
                                 const std::string& location) {
  if (!gamma) gamma = rw.constant(Tensor::scalar(x->type().dtype, 1.0).reshaped({1}));
  std::vector<Value*> operands = {x, gamma};
  if (beta) operands.push_back(beta);
  std::map<std::string, Attribute> attrs = {{"axis", Attribute::ofInt(-k)},
                                            {"epsilon", Attribute::ofFloat(static_cast<float>(eps))}};
  DLC_ASSIGN_OR_RETURN(Op* ln, rw.create(OpKind::LayerNormalization, operands, attrs, 1, location));
  return ln->result();
}

// m = ReduceMean(x, last k axes); d = x - m; v = ReduceMean(d·d or d², same axes);
// y = d / Sqrt(v + ε)  or  d · 1/Sqrt(v + ε)  (Reciprocal, 1/·, or Pow(v + ε, -0.5));
// [y·γ [+ β]]  ==>  LayerNormalization(x, γ (1 if absent), β?, axis=-k, epsilon=ε)
// (torch's nn.LayerNorm below opset 17, Hugging Face's hand-written norms, T5-style rsqrt forms).
class LayerNormPattern : public RewritePattern {
 public:
  const char* name() const override { return "layernorm"; }
  Expected<bool> matchAndRewrite(Op& norm, Rewriter& rw) const override {
    if (norm.kind() != OpKind::Div && norm.kind() != OpKind::Mul) return false;
    // The centered value d = x - mean and the (reciprocal) standard deviation.
    std::vector<Op*> std_ops;
    Value* e = nullptr;
    Op* sub = nullptr;
    if (norm.kind() == OpKind::Div) {
      sub = producerOf(norm.operand(0), OpKind::Sub);
      Op* sqrt = soleProducer(norm.operand(1), OpKind::Sqrt);
      if (!sub || !sqrt) return false;
      std_ops = {sqrt};
      e = sqrt->operand(0);
    } else {
      for (int i = 0; i < 2 && !e; ++i) {
        Op* s = producerOf(norm.operand(i), OpKind::Sub);
        if (!s) continue;
        if (auto rs = matchRsqrt(norm.operand(1 - i))) {
          sub = s;
          std_ops = rs->first;
          e = rs->second;
        }
      }
      if (!e) return false;
    }
    // (a - b) over a square root: say why it is not a LayerNorm.
    auto decline = [&](const char* why) {
      explainDecline(norm, "layernorm", why);
      return false;
    };
    Value* x = sub->operand(0);
    if (!x->type().isTensor() || !isFloat(x->type().dtype) || norm.result()->type() != x->type())
      return decline("the normalized value's type is not x's (float, same shape)");
    Op* mean = soleProducer(sub->operand(1), OpKind::ReduceMean);
    const int k = mean ? trailingAxes(*mean, x) : 0;
    if (k == 0) return decline("x - m: m is not a single-use keepdims ReduceMean of x over its trailing axes");
    Value* d = sub->result();
    auto var = matchVariancePlusEps(e, d, k);
    if (!var)
      return decline("the root is not of ReduceMean((x - m)², the same axes) + a constant epsilon, each used once");
    if (!usedOnlyBy(d, {var->square, &norm})) return decline("x - m has users outside the normalization");
    // Optional affine tail: y·γ then + β (γ and β per normalized position).
    std::vector<Op*> tail;
    Value* gamma = nullptr;
    Value* beta = nullptr;
    if (Op* mul = singleUser(norm.result(), OpKind::Mul)) {
      Value* g = otherOperand(*mul, norm.result());
      if (g && isPerPosition(g, x, k) && availableAt(g, norm) && mul->result()->type() == x->type()) {
        gamma = g;
        tail.push_back(mul);
        if (Op* add = singleUser(mul->result(), OpKind::Add)) {
          Value* b = otherOperand(*add, mul->result());
          if (b && isPerPosition(b, x, k) && availableAt(b, norm) && add->result()->type() == x->type()) {
            beta = b;
            tail.insert(tail.begin(), add);
          }
        }
      }
    }
    Op& last = tail.empty() ? norm : *tail.front();
    DLC_ASSIGN_OR_RETURN(Value* ln, createLayerNorm(rw, x, gamma, beta, k, var->eps, last.location()));
    rw.replaceOp(last, {ln});
    std::vector<Op*> dead(tail.begin() + (tail.empty() ? 0 : 1), tail.end());
    if (!tail.empty()) dead.push_back(&norm);
    dead.insert(dead.end(), std_ops.begin(), std_ops.end());
    dead.insert(dead.end(), {var->add, var->var_mean, var->square, sub, mean});
    eraseAll(dead, rw);
    return true;
  }
};

// TensorFlow/Keras' LayerNormalization as tf2onnx writes it (tf.nn.batch_normalization's form):
// m = ReduceMean(x); v = ReduceMean((x - m)²); s = γ · 1/Sqrt(v + ε);
// y = x·s + (β - m·s)  ==>  LayerNormalization(x, γ, β, axis=-k, epsilon=ε)
// (x·s - m·s = (x - m)·s, so this is the same normalization, rounded differently).
class ScaleShiftLayerNormPattern : public RewritePattern {
 public:
  const char* name() const override { return "layernorm-scale-shift"; }
  Expected<bool> matchAndRewrite(Op& add, Rewriter& rw) const override {
    if (add.kind() != OpKind::Add) return false;
    for (int i = 0; i < 2; ++i) {
      Op* xs = soleProducer(add.operand(i), OpKind::Mul);
      Op* shift = soleProducer(add.operand(1 - i), OpKind::Sub);
      if (!xs || !shift) continue;
      Op* ms = soleProducer(shift->operand(1), OpKind::Mul);
      if (!ms) continue;
      Value* beta = shift->operand(0);
      // x·s and m·s share s (either operand order in both).
      for (int a = 0; a < 2; ++a)
        for (int b = 0; b < 2; ++b) {
          Value* x = xs->operand(a);
          Value* s = xs->operand(1 - a);
          if (ms->operand(1 - b) != s) continue;
          Op* mean = producerOf(ms->operand(b), OpKind::ReduceMean);
          if (mean && tryRewrite(add, x, s, beta, *mean, {xs, shift, ms}, rw)) return true;
        }
    }
    return false;
  }

 private:
  static bool tryRewrite(Op& add, Value* x, Value* s, Value* beta, Op& mean, std::vector<Op*> dead, Rewriter& rw) {
    if (!x->type().isTensor() || !isFloat(x->type().dtype) || add.result()->type() != x->type()) return false;
    const int k = trailingAxes(mean, x);
    if (k == 0 || s->uses().size() != 2 || mean.result()->uses().size() != 2) return false;
    // s = γ·r or r, r = 1/sqrt(v + ε).
    Value* gamma = nullptr;
    std::vector<Op*> s_ops;
    std::optional<std::pair<std::vector<Op*>, Value*>> rs;
    if (Op* g = producerOf(s, OpKind::Mul)) {
      for (int i = 0; i < 2 && !rs; ++i)
        if ((rs = matchRsqrt(g->operand(i)))) gamma = g->operand(1 - i);
      if (rs) s_ops.push_back(g);
    }
    if (!rs) rs = matchRsqrt(s, /*shared=*/true);
    if (!rs) return false;
    if ((gamma && (!isPerPosition(gamma, x, k) || !availableAt(gamma, add))) || !isPerPosition(beta, x, k) ||
        !availableAt(beta, add))
      return false;
    // v's centered value d = x - m is used only by the squaring.
    Value* e = rs->second;
    Op* var_add = producerOf(e, OpKind::Add);
    Op* var_mean = nullptr;
    for (int i = 0; var_add && i < 2 && !var_mean; ++i) var_mean = producerOf(var_add->operand(i), OpKind::ReduceMean);
    Value* sq_in = var_mean && var_mean->operand(0) ? var_mean->operand(0) : nullptr;
    Op* square = sq_in ? sq_in->definingOp() : nullptr;
    Op* sub = square ? producerOf(square->operand(0), OpKind::Sub) : nullptr;
    if (!sub || sub->operand(0) != x || sub->operand(1) != mean.result()) return false;
    auto var = matchVariancePlusEps(e, sub->result(), k);
    if (!var || !usedOnlyBy(sub->result(), {var->square})) return false;
    for (const Use& u : mean.result()->uses())
      if (u.user != sub && u.user != dead[2]) return false;
    auto ln = createLayerNorm(rw, x, gamma, beta, k, var->eps, add.location());
    if (!ln.ok()) return false;
    rw.replaceOp(add, {*ln});
    dead.insert(dead.end(), s_ops.begin(), s_ops.end());
    dead.insert(dead.end(), rs->first.begin(), rs->first.end());
    dead.insert(dead.end(), {var->add, var->var_mean, var->square, sub, &mean});
    eraseAll(dead, rw);
    return true;
  }
};

// True when `a` and `b` are one tensor type as far as both know: same dtype and rank, dims equal
// where neither is unknown (an import may know a graph output's dims that inference inside has
// lost, "?" against "seq").
bool sameTypeAsKnown(const Type& a, const Type& b) {
  if (!a.isTensor() || !b.isTensor() || a.dtype != b.dtype || !a.shape.ranked || !b.shape.ranked || a.shape.rank() != b.shape.rank())
    return false;
  for (size_t i = 0; i < a.shape.dims.size(); ++i) {
    const Dim &d = a.shape.dims[i], &e = b.shape.dims[i];
    const bool unknown = (!d.isStatic() && !d.isSymbolic()) || (!e.isStatic() && !e.isSymbolic());
    if (!unknown && d != e) return false;
  }
  return true;
}

// True when `v` is x - ReduceMean(x) (a centered value: LayerNorm's, left to LayerNormPattern).
bool isCentered(Value* v) {
  const Op* sub = producerOf(v, OpKind::Sub);
  const Op* mean = sub ? producerOf(sub->operand(1), OpKind::ReduceMean) : nullptr;
  return mean && mean->operand(0) == sub->operand(0);
}

// ms = ReduceMean(x·x or x², the last k axes); y = x / Sqrt(ms + ε)  or  x · 1/Sqrt(ms + ε)
// (Reciprocal, 1/·, or Pow(ms + ε, -0.5)); [y·γ]  ==>  RMSNormalization(x, γ (1 if absent),
// axis=-k, epsilon=ε) (LLaMA's and T5's RMSNorm as torch exports them, either operand order).
class RmsNormPattern : public RewritePattern {
 public:
  const char* name() const override { return "rms-norm"; }
  Expected<bool> matchAndRewrite(Op& norm, Rewriter& rw) const override {
    if (norm.kind() != OpKind::Div && norm.kind() != OpKind::Mul) return false;
    // x and e = ms + ε under the root.
    std::vector<Op*> std_ops;
    Value* x = nullptr;
    Value* e = nullptr;
    if (norm.kind() == OpKind::Div) {
      Op* sqrt = soleProducer(norm.operand(1), OpKind::Sqrt);
      if (!sqrt) return false;
      x = norm.operand(0);
      std_ops = {sqrt};
      e = sqrt->operand(0);
    } else {
      for (int i = 0; i < 2 && !e; ++i)
        if (auto rs = matchRsqrt(norm.operand(1 - i))) {
          x = norm.operand(i);
          std_ops = rs->first;
          e = rs->second;
        }
      if (!e) return false;
    }
    if (!x->type().isTensor() || !isFloat(x->type().dtype) || !sameTypeAsKnown(norm.result()->type(), x->type())) return false;
    if (isCentered(x)) return false;  // a LayerNorm's (x - m) / sqrt(var + ε)
    std::optional<VariancePlusEps> ms;
    int k = 0;
    for (int c = 1; c <= x->type().shape.rank() && !ms; ++c)
      if ((ms = matchVariancePlusEps(e, x, c))) k = c;
    if (!ms) {
      if (producerOf(e, OpKind::Add)) explainDecline(norm, "rms-norm", "the root is not of ReduceMean(x², trailing axes) + a constant epsilon, each used once");
      return false;
    }
    // Optional scale: y·γ (γ per normalized position).
    Op* tail = nullptr;
    Value* gamma = nullptr;
    if (Op* mul = singleUser(norm.result(), OpKind::Mul)) {
      Value* g = otherOperand(*mul, norm.result());
      if (g && isPerPosition(g, x, k) && availableAt(g, norm) && sameTypeAsKnown(mul->result()->type(), x->type())) {
        gamma = g;
        tail = mul;
      }
    }
    if (!gamma) gamma = rw.constant(Tensor::scalar(x->type().dtype, 1.0).reshaped({1}));
    Op& last = tail ? *tail : norm;
    std::map<std::string, Attribute> attrs = {{"axis", Attribute::ofInt(-k)}, {"epsilon", Attribute::ofFloat(static_cast<float>(ms->eps))}};
    DLC_ASSIGN_OR_RETURN(Op* rms, rw.create(OpKind::RMSNormalization, {x, gamma}, attrs, 1, last.location()));
    rw.replaceOp(last, {rms->result()});
    std::vector<Op*> dead;
    if (tail) dead.push_back(&norm);
    dead.insert(dead.end(), std_ops.begin(), std_ops.end());
    dead.insert(dead.end(), {ms->add, ms->var_mean, ms->square});
    eraseAll(dead, rw);
    return true;
  }
};

class RecognizeLayerNorm : public Pass {
 public:
  Status run(Graph& graph, const PassContext&) override {
    PatternList patterns;
    patterns.push_back(std::make_unique<LayerNormPattern>());
    patterns.push_back(std::make_unique<ScaleShiftLayerNormPattern>());
    patterns.push_back(std::make_unique<RmsNormPattern>());
    DLC_ASSIGN_OR_RETURN(int n, applyPatternsGreedily(graph.body(), patterns));
    (void)n;
    return Status::success();
  }
};

}  // namespace

std::unique_ptr<Pass> createRecognizeLayerNormPass() { return std::make_unique<RecognizeLayerNorm>(); }

}  // namespace dlc::passes
