// The Adam family: Adam and AdamW (torch.optim), ONNX's Adam, RAdam (torch.optim) and LAMB.
#include <cmath>

#include "passes/optimizers/optimizers.h"

namespace dlc::passes::optimizers {
namespace {

// The moment updates every member shares: m' = β₁m + (1 − β₁)g, v' = β₂v + (1 − β₂)g².
std::pair<Value*, Value*> moments(Emitter& e, double b1, double b2, Value* g, Value* m, Value* v) {
  Value* m2 = e.add(e.mulScalar(m, b1), e.mulScalar(g, 1.0 - b1));
  Value* v2 = e.add(e.mulScalar(v, b2), e.mulScalar(e.mul(g, g), 1.0 - b2));
  return {m2, v2};
}

Value* oneMinus(Emitter& e, Value* s) { return e.sub(e.scalarLike(s, 1.0), s); }

}  // namespace

// torch.optim.Adam / AdamW, with bc₁ = 1 − β₁ᵗ and bc₂ = 1 − β₂ᵗ:
//   g ← ±g (+ wd·x unless decoupled); decoupled (AdamW): x ← x·(1 − lr·wd) first;
//   x' = x − (lr/bc₁)·m' / (√v̂/√bc₂ + ε), v̂ = max(vmax, v') with amsgrad, else v'.
// ONNX's Adam (onnx_form): g ← g + wd·x, r = lr·√(1 − β₂ᵀ)/(1 − β₁ᵀ) for T = t − 1 > 0 (r = lr at T = 0),
//   x' = (1 − post)·(x − r·m'/(√v' + ε)).
std::vector<Value*> adam(Emitter& e, const Adam& p, Value* lr, Value* t, Value* x, Value* g, Value* m, Value* v,
                         Value* vmax) {
  if (p.maximize) g = e.neg(g);
  if (p.decoupled) {
    if (p.weight_decay != 0) x = e.mul(x, oneMinus(e, e.mulScalar(lr, p.weight_decay)));
  } else if (p.weight_decay != 0) {
    g = e.add(g, e.mulScalar(x, p.weight_decay));
  }
  auto [m2, v2] = moments(e, p.beta1, p.beta2, g, m, v);
  if (p.onnx_form) {
    Value* T = e.addScalar(t, -1.0);
    Value* r = e.div(e.mul(lr, e.op(OpKind::Sqrt, {oneMinus(e, powScalar(e, p.beta2, T))})), oneMinus(e, powScalar(e, p.beta1, T)));
    r = e.where(e.op(OpKind::Greater, {T, e.scalarLike(T, 0.0)}), r, lr);
    Value* x2 = e.sub(x, e.mul(r, e.div(m2, e.addScalar(e.op(OpKind::Sqrt, {v2}), p.epsilon))));
    if (p.weight_decay_post != 0) x2 = e.mulScalar(x2, 1.0 - p.weight_decay_post);
    return {x2, m2, v2};
  }
  Value* bc1 = oneMinus(e, powScalar(e, p.beta1, t));
  Value* bc2 = oneMinus(e, powScalar(e, p.beta2, t));
  Value* vmax2 = p.amsgrad && vmax ? e.op(OpKind::Max, {vmax, v2}) : nullptr;
  Value* den = e.addScalar(e.div(e.op(OpKind::Sqrt, {vmax2 ? vmax2 : v2}), e.op(OpKind::Sqrt, {bc2})), p.epsilon);
  Value* x2 = e.sub(x, e.mul(e.div(lr, bc1), e.div(m2, den)));
  if (vmax2) return {x2, m2, v2, vmax2};
  return {x2, m2, v2};
}

// torch.optim.RAdam: m̂ = m'/bc₁, ρ∞ = 2/(1 − β₂) − 1, ρₜ = ρ∞ − 2tβ₂ᵗ/bc₂; when ρₜ > 5
//   x' = x − lr·m̂·r·√bc₂/(√v' + ε), r = √((ρₜ − 4)(ρₜ − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρₜ)), else x' = x − lr·m̂.
std::vector<Value*> radam(Emitter& e, const Radam& p, Value* lr, Value* t, Value* x, Value* g, Value* m, Value* v) {
  if (p.maximize) g = e.neg(g);
  if (p.weight_decay != 0) g = e.add(g, e.mulScalar(x, p.weight_decay));
  auto [m2, v2] = moments(e, p.beta1, p.beta2, g, m, v);
  Value* b2t = powScalar(e, p.beta2, t);
  Value* bc1 = oneMinus(e, powScalar(e, p.beta1, t));
  Value* bc2 = oneMinus(e, b2t);
  const double rho_inf = 2.0 / (1.0 - p.beta2) - 1.0;
  Value* rho = e.sub(e.scalarLike(t, rho_inf), e.div(e.mulScalar(e.mul(t, b2t), 2.0), bc2));
  Value* ratio = e.div(e.mul(e.addScalar(rho, -4.0), e.addScalar(rho, -2.0)), e.mulScalar(rho, (rho_inf - 4.0) * (rho_inf - 2.0) / rho_inf));
  Value* rect = e.op(OpKind::Sqrt, {e.op(OpKind::Max, {ratio, e.scalarLike(t, 0.0)})});  // unused where ρₜ ≤ 5
  Value* mhat_lr = e.mul(e.div(m2, bc1), lr);
  Value* adaptive = e.div(e.op(OpKind::Sqrt, {bc2}), e.addScalar(e.op(OpKind::Sqrt, {v2}), p.epsilon));
  Value* rectified = e.mul(e.mul(mhat_lr, rect), adaptive);
  Value* step = e.where(e.op(OpKind::Greater, {rho, e.scalarLike(t, 5.0)}), rectified, mhat_lr);
  return {e.sub(x, step), m2, v2};
}

// LAMB (You et al. 2019): u = m̂/(√v̂ + ε) + wd·x with m̂ = m'/bc₁, v̂ = v'/bc₂; the layer's trust
// ratio ρ = ‖x‖/‖u‖ (1 where either norm is 0); x' = x − lr·ρ·u.
std::vector<Value*> lamb(Emitter& e, const Lamb& p, Value* lr, Value* t, Value* x, Value* g, Value* m, Value* v) {
  if (p.maximize) g = e.neg(g);
  auto [m2, v2] = moments(e, p.beta1, p.beta2, g, m, v);
  Value* mhat = e.div(m2, oneMinus(e, powScalar(e, p.beta1, t)));
  Value* vhat = e.div(v2, oneMinus(e, powScalar(e, p.beta2, t)));
  Value* u = e.div(mhat, e.addScalar(e.op(OpKind::Sqrt, {vhat}), p.epsilon));
  if (p.weight_decay != 0) u = e.add(u, e.mulScalar(x, p.weight_decay));
  Value* wn = l2Norm(e, x);
  Value* un = l2Norm(e, u);
  Value* zero = e.scalarLike(x, 0.0);
  Value* both = e.op(OpKind::And, {e.op(OpKind::Greater, {wn, zero}), e.op(OpKind::Greater, {un, zero})});
  Value* trust = e.where(both, e.div(wn, un), e.scalarLike(x, 1.0));
  return {e.sub(x, e.mul(e.mul(lr, trust), u)), m2, v2};
}

}  // namespace dlc::passes::optimizers
