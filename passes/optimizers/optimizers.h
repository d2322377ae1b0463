// The optimizer update rules, once each: emitted as elementwise IR for dlc's per-parameter *Update
// ops and for ONNX's training ops (Adam, Adagrad, Momentum), which are the same rules with other
// parameter names. Every function takes lr and t (the 1-based step) as scalars of x's dtype and
// returns the new parameter followed by the new states.
#pragma once

#include <vector>

#include "ir/graph.h"
#include "passes/emitter.h"

namespace dlc::passes::optimizers {

struct Sgd {
  double momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false, maximize = false;
  // The first step's momentum buffer takes the whole gradient (torch's buf = g; ONNX's beta = 1).
};
// -> x', v' (v' only with momentum)
std::vector<Value*> sgd(Emitter& e, const Sgd& p, Value* lr, Value* t, Value* x, Value* g, Value* v);

struct Lars {
  Sgd sgd;
  double trust_coefficient = 1e-3, epsilon = 1e-8;
};
std::vector<Value*> lars(Emitter& e, const Lars& p, Value* lr, Value* t, Value* x, Value* g, Value* v);

struct Adam {
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weight_decay = 0, weight_decay_post = 0;
  bool decoupled = false, amsgrad = false, maximize = false;
  bool onnx_form = false;  // ONNX's Adam: bias correction from t − 1, ε outside it, post decay
};
// -> x', m', v'[, vmax']
std::vector<Value*> adam(Emitter& e, const Adam& p, Value* lr, Value* t, Value* x, Value* g, Value* m, Value* v,
                         Value* vmax);

struct Radam {
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weight_decay = 0;
  bool maximize = false;
};
std::vector<Value*> radam(Emitter& e, const Radam& p, Value* lr, Value* t, Value* x, Value* g, Value* m, Value* v);

struct Lamb {
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-6, weight_decay = 0;
  bool maximize = false;
};
std::vector<Value*> lamb(Emitter& e, const Lamb& p, Value* lr, Value* t, Value* x, Value* g, Value* m, Value* v);

struct Rmsprop {
  double alpha = 0.99, epsilon = 1e-8, weight_decay = 0, momentum = 0;
  bool centered = false, maximize = false;
};
// -> x', sq'[, buf'][, avg']
std::vector<Value*> rmsprop(Emitter& e, const Rmsprop& p, Value* lr, Value* t, Value* x, Value* g, Value* sq, Value* buf,
                            Value* avg);

struct Adagrad {
  double lr_decay = 0, weight_decay = 0, epsilon = 1e-10;
  bool maximize = false;
};
std::vector<Value*> adagrad(Emitter& e, const Adagrad& p, Value* lr, Value* t, Value* x, Value* g, Value* sum);

struct Lookahead {
  int64_t k = 5;
  double alpha = 0.5;
};
// x: the inner optimizer's new parameter -> x', slow'
std::vector<Value*> lookahead(Emitter& e, const Lookahead& p, Value* t, Value* x, Value* slow);

// Lowers `op` (one of the *Update ops, or ONNX's Adam, Adagrad or Momentum) to the rules above in
// place; false when `op` is not an optimizer op.
Expected<bool> lowerOptimizerOp(Op& op);

// Helpers shared by the rule files.
Value* l2Norm(Emitter& e, Value* v);  // ‖v‖₂ as a scalar
Value* powScalar(Emitter& e, double base, Value* t);  // base^t for a scalar t

}  // namespace dlc::passes::optimizers
