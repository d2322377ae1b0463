// Per-element adaptive step sizes: RMSprop and Adagrad (torch.optim; ONNX's Adagrad is the same rule).
#include "passes/optimizers/optimizers.h"

namespace dlc::passes::optimizers {

// torch.optim.RMSprop: g ← ±g + wd·x; sq' = α·sq + (1 − α)g²; centered: avg' = α·avg + (1 − α)g and
// a = √(sq' − avg'²) + ε, else a = √sq' + ε; with momentum buf' = μ·buf + g/a and x' = x − lr·buf',
// else x' = x − lr·g/a.
std::vector<Value*> rmsprop(Emitter& e, const Rmsprop& p, Value* lr, Value* t, Value* x, Value* g, Value* sq, Value* buf,
                            Value* avg) {
  if (p.maximize) g = e.neg(g);
  if (p.weight_decay != 0) g = e.add(g, e.mulScalar(x, p.weight_decay));
  Value* sq2 = e.add(e.mulScalar(sq, p.alpha), e.mulScalar(e.mul(g, g), 1.0 - p.alpha));
  Value* avg2 = nullptr;
  Value* a;
  if (p.centered && avg) {
    avg2 = e.add(e.mulScalar(avg, p.alpha), e.mulScalar(g, 1.0 - p.alpha));
    a = e.addScalar(e.op(OpKind::Sqrt, {e.sub(sq2, e.mul(avg2, avg2))}), p.epsilon);
  } else {
    a = e.addScalar(e.op(OpKind::Sqrt, {sq2}), p.epsilon);
  }
  std::vector<Value*> out;
  if (p.momentum > 0 && buf) {
    Value* buf2 = e.add(e.mulScalar(buf, p.momentum), e.div(g, a));
    out = {e.sub(x, e.mul(lr, buf2)), sq2, buf2};
  } else {
    out = {e.sub(x, e.mul(lr, e.div(g, a))), sq2};
  }
  if (avg2) out.push_back(avg2);
  return out;
}

// torch.optim.Adagrad (and ONNX's Adagrad with T = t − 1): g ← ±g + wd·x; lr' = lr/(1 + (t − 1)·decay);
// sum' = sum + g²; x' = x − lr'·g/(√sum' + ε).
std::vector<Value*> adagrad(Emitter& e, const Adagrad& p, Value* lr, Value* t, Value* x, Value* g, Value* sum) {
  if (p.maximize) g = e.neg(g);
  if (p.weight_decay != 0) g = e.add(g, e.mulScalar(x, p.weight_decay));
  Value* clr = e.div(lr, e.addScalar(e.mulScalar(e.addScalar(t, -1.0), p.lr_decay), 1.0));
  Value* sum2 = e.add(sum, e.mul(g, g));
  return {e.sub(x, e.mul(clr, e.div(g, e.addScalar(e.op(OpKind::Sqrt, {sum2}), p.epsilon)))), sum2};
}

}  // namespace dlc::passes::optimizers
