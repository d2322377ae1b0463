// SGD with momentum (torch.optim.SGD, ONNX's Momentum), LARS, and Lookahead: the update rules.
#include "passes/optimizers/optimizers.h"

namespace dlc::passes::optimizers {
namespace {

// g with maximize (ascent) and L2 weight decay applied: g ← ±g + wd·x
Value* regularized(Emitter& e, bool maximize, double wd, Value* x, Value* g) {
  if (maximize) g = e.neg(g);
  return wd != 0 ? e.add(g, e.mulScalar(x, wd)) : g;
}

// The momentum part of SGD once g is final:
//   v' = μ·v + c·g with c = 1 on the first step and 1 − dampening after (torch starts the buffer at
//   g; ONNX's Momentum scales its first step by 1 too), d = g + μ·v' (Nesterov) or v', x' = x − lr·d.
// Without a buffer (torch's momentum 0) x' = x − lr·g.
std::vector<Value*> momentumStep(Emitter& e, const Sgd& p, Value* lr, Value* t, Value* x, Value* g, Value* v) {
  if (!v) return {e.sub(x, e.mul(lr, g))};
  Value* first = e.op(OpKind::Equal, {t, e.scalarLike(t, 1.0)});
  Value* c = e.where(first, e.scalarLike(x, 1.0), e.scalarLike(x, 1.0 - p.dampening));
  Value* v2 = e.add(e.mulScalar(v, p.momentum), e.mul(c, g));
  Value* d = p.nesterov ? e.add(g, e.mulScalar(v2, p.momentum)) : v2;
  return {e.sub(x, e.mul(lr, d)), v2};
}

}  // namespace

// torch.optim.SGD: g ← ±g + wd·x, then the momentum step.
std::vector<Value*> sgd(Emitter& e, const Sgd& p, Value* lr, Value* t, Value* x, Value* g, Value* v) {
  return momentumStep(e, p, lr, t, x, regularized(e, p.maximize, p.weight_decay, x, g), v);
}

// LARS (You et al. 2017, as timm's Lars with the trust ratio always applied):
//   ρ = η·‖x‖ / (‖g‖ + wd·‖x‖ + ε), and 1 where ‖x‖ = 0 or ‖g‖ = 0;  g ← (g + wd·x)·ρ; then SGD momentum.
std::vector<Value*> lars(Emitter& e, const Lars& p, Value* lr, Value* t, Value* x, Value* g, Value* v) {
  if (p.sgd.maximize) g = e.neg(g);
  Value* wn = l2Norm(e, x);
  Value* gn = l2Norm(e, g);
  Value* zero = e.scalarLike(x, 0.0);
  Value* one = e.scalarLike(x, 1.0);
  Value* trust = e.div(e.mulScalar(wn, p.trust_coefficient), e.addScalar(e.add(gn, e.mulScalar(wn, p.sgd.weight_decay)), p.epsilon));
  trust = e.where(e.op(OpKind::Greater, {wn, zero}), e.where(e.op(OpKind::Greater, {gn, zero}), trust, one), one);
  Value* gd = p.sgd.weight_decay != 0 ? e.add(g, e.mulScalar(x, p.sgd.weight_decay)) : g;
  Sgd inner = p.sgd;
  inner.weight_decay = 0;
  inner.maximize = false;
  return momentumStep(e, inner, lr, t, x, e.mul(gd, trust), v);
}

// Lookahead (Zhang et al. 2019) around any optimizer whose new parameter is x: every k steps the
// slow weights move toward it, slow' = slow + α(x − slow), and the parameter restarts from them.
std::vector<Value*> lookahead(Emitter& e, const Lookahead& p, Value* t, Value* x, Value* slow) {
  Value* phase = e.op(OpKind::Mod, {t, e.scalarLike(t, static_cast<double>(p.k))}, {{"fmod", Attribute::ofInt(1)}});
  Value* sync = e.op(OpKind::Equal, {phase, e.scalarLike(t, 0.0)});
  Value* moved = e.add(slow, e.mulScalar(e.sub(x, slow), p.alpha));
  Value* slow2 = e.where(sync, moved, slow);
  return {e.where(sync, slow2, x), slow2};
}

Value* l2Norm(Emitter& e, Value* v) {
  return e.op(OpKind::Sqrt, {e.op(OpKind::ReduceSumSquare, {v}, {{"keepdims", Attribute::ofInt(0)}})});
}

Value* powScalar(Emitter& e, double base, Value* t) { return e.op(OpKind::Pow, {e.scalarLike(t, base), t}); }

}  // namespace dlc::passes::optimizers
