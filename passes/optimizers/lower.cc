// Lowers the optimizer ops to their update rules: each dlc *Update op becomes the rule of its name,
// and ONNX's Adam, Adagrad and Momentum (R, T, then groups of n tensors) become the same rules per
// tensor, with T (the updates done so far) as the 1-based step t = T + 1.
#include "passes/optimizers/optimizers.h"

namespace dlc::passes::optimizers {
namespace {

bool flag(const Op& op, const char* name) { return op.getInt(name, 0) != 0; }
double real(const Op& op, const char* name, float fallback) { return op.getFloat(name, fallback); }

// The per-parameter ops: (lr, t, x, g, states...) -> (x', states').
Expected<std::vector<Value*>> lowerUpdate(Op& op, Emitter& e) {
  Value* x = op.operand(2);
  Value* g = op.operand(3);
  Value* lr = e.castLike(op.operand(0), x);
  Value* t = e.castLike(op.operand(1), x);
  auto state = [&](int i) { return op.operand(4 + i); };
  Sgd sgd_params;
  sgd_params.momentum = real(op, "momentum", 0.0f);
  sgd_params.dampening = real(op, "dampening", 0.0f);
  sgd_params.weight_decay = real(op, "weight_decay", 0.0f);
  sgd_params.nesterov = flag(op, "nesterov");
  sgd_params.maximize = flag(op, "maximize");
  switch (op.kind()) {
    case OpKind::SgdUpdate:
      return sgd(e, sgd_params, lr, t, x, g, state(0));
    case OpKind::LarsUpdate: {
      Lars p{sgd_params, real(op, "trust_coefficient", 1e-3f), real(op, "epsilon", 1e-8f)};
      return lars(e, p, lr, t, x, g, state(0));
    }
    case OpKind::AdamUpdate: {
      Adam p;
      p.beta1 = real(op, "beta1", 0.9f);
      p.beta2 = real(op, "beta2", 0.999f);
      p.epsilon = real(op, "epsilon", 1e-8f);
      p.weight_decay = real(op, "weight_decay", 0.0f);
      p.weight_decay_post = real(op, "weight_decay_post", 0.0f);
      p.decoupled = flag(op, "decoupled");
      p.amsgrad = flag(op, "amsgrad");
      p.maximize = flag(op, "maximize");
      std::string variant = op.getString("variant", "torch");
      if (variant != "torch" && variant != "onnx")
        return Status::error(str("AdamUpdate '", op.location(), "': unknown variant '", variant, "' (torch or onnx)"));
      p.onnx_form = variant == "onnx";
      if (p.amsgrad != (op.numOperands() == 7))
        return Status::error(str("AdamUpdate '", op.location(), "': amsgrad needs the vmax state (7 inputs), and only it"));
      return adam(e, p, lr, t, x, g, state(0), state(1), p.amsgrad ? state(2) : nullptr);
    }
    case OpKind::RadamUpdate: {
      Radam p{real(op, "beta1", 0.9f), real(op, "beta2", 0.999f), real(op, "epsilon", 1e-8f), real(op, "weight_decay", 0.0f),
              flag(op, "maximize")};
      return radam(e, p, lr, t, x, g, state(0), state(1));
    }
    case OpKind::LambUpdate: {
      Lamb p{real(op, "beta1", 0.9f), real(op, "beta2", 0.999f), real(op, "epsilon", 1e-6f), real(op, "weight_decay", 0.0f),
             flag(op, "maximize")};
      return lamb(e, p, lr, t, x, g, state(0), state(1));
    }
    case OpKind::RmspropUpdate: {
      Rmsprop p{real(op, "alpha", 0.99f), real(op, "epsilon", 1e-8f), real(op, "weight_decay", 0.0f),
                real(op, "momentum", 0.0f), flag(op, "centered"), flag(op, "maximize")};
      int want = 5 + (p.momentum > 0) + p.centered;
      if (op.numOperands() != want)
        return Status::error(str("RmspropUpdate '", op.location(), "': expects ", want, " inputs (a momentum buffer with "
                                 "momentum > 0, an average when centered), got ", op.numOperands()));
      return rmsprop(e, p, lr, t, x, g, state(0), p.momentum > 0 ? state(1) : nullptr,
                     p.centered ? state(p.momentum > 0 ? 2 : 1) : nullptr);
    }
    case OpKind::AdagradUpdate: {
      Adagrad p{real(op, "lr_decay", 0.0f), real(op, "weight_decay", 0.0f), real(op, "epsilon", 1e-10f), flag(op, "maximize")};
      return adagrad(e, p, lr, t, x, g, state(0));
    }
    default:
      return Status::error(str("internal error: ", op.name(), " is no optimizer"));
  }
}

// ONNX's training ops: inputs R, T, X₁..Xₙ, G₁..Gₙ, then `states` groups; outputs X'…, then each state'….
Expected<std::vector<Value*>> lowerOnnx(Op& op, Emitter& e, int states) {
  int n = (op.numOperands() - 2) / (2 + states);
  if (n < 1 || op.numOperands() != 2 + n * (2 + states) || op.numResults() != n * (1 + states))
    return Status::error(str(op.name(), " '", op.location(), "': expects R, T and ", 2 + states, " equal groups of tensors"));
  std::vector<Value*> out(static_cast<size_t>(op.numResults()));
  for (int k = 0; k < n; ++k) {
    Value* x = op.operand(2 + k);
    Value* g = op.operand(2 + n + k);
    Value* lr = e.castLike(op.operand(0), x);
    Value* t = e.addScalar(e.castLike(op.operand(1), x), 1.0);
    std::vector<Value*> r;
    if (op.kind() == OpKind::Momentum) {
      std::string mode = op.getString("mode", "standard");
      if (mode != "standard" && mode != "nesterov")
        return Status::error(str("Momentum '", op.location(), "': unknown mode '", mode, "'"));
      Sgd p;
      p.momentum = real(op, "alpha", 0.0f);
      p.dampening = 1.0 - real(op, "beta", 0.0f);
      p.weight_decay = real(op, "norm_coefficient", 0.0f);
      p.nesterov = mode == "nesterov";
      r = sgd(e, p, lr, t, x, g, op.operand(2 + 2 * n + k));
    } else if (op.kind() == OpKind::Adagrad) {
      Adagrad p{real(op, "decay_factor", 0.0f), real(op, "norm_coefficient", 0.0f), real(op, "epsilon", 1e-6f), false};
      r = adagrad(e, p, lr, t, x, g, op.operand(2 + 2 * n + k));
    } else {
      Adam p;
      p.onnx_form = true;
      p.beta1 = real(op, "alpha", 0.9f);
      p.beta2 = real(op, "beta", 0.999f);
      p.epsilon = real(op, "epsilon", 1e-6f);
      p.weight_decay = real(op, "norm_coefficient", 0.0f);
      p.weight_decay_post = real(op, "norm_coefficient_post", 0.0f);
      r = adam(e, p, lr, t, x, g, op.operand(2 + 2 * n + k), op.operand(2 + 3 * n + k), nullptr);
    }
    for (int s = 0; s <= states; ++s) out[static_cast<size_t>(s * n + k)] = r[static_cast<size_t>(s)];
  }
  return out;
}

}  // namespace

Expected<bool> lowerOptimizerOp(Op& op) {
  if (op.kind() == OpKind::LookaheadUpdate) {  // (t, x, slow) -> (x', slow')
    Emitter e(*op.parent(), &op, op.location());
    Value* x = op.operand(1);
    Lookahead p{op.getInt("k", 5), op.getFloat("alpha", 0.5f)};
    std::vector<Value*> r = lookahead(e, p, e.castLike(op.operand(0), x), x, op.operand(2));
    if (!e.ok()) return e.status();
    for (int i = 0; i < 2; ++i) {
      r[static_cast<size_t>(i)]->setName(op.result(i)->name());
      op.result(i)->replaceAllUsesWith(r[static_cast<size_t>(i)]);
    }
    op.erase();
    return true;
  }
  int onnx_states = op.kind() == OpKind::Adam ? 2 : (op.kind() == OpKind::Adagrad || op.kind() == OpKind::Momentum) ? 1 : 0;
  switch (op.kind()) {
    case OpKind::Adam: case OpKind::Adagrad: case OpKind::Momentum: case OpKind::SgdUpdate: case OpKind::LarsUpdate:
    case OpKind::AdamUpdate: case OpKind::RadamUpdate: case OpKind::LambUpdate: case OpKind::RmspropUpdate:
    case OpKind::AdagradUpdate: break;
    default: return false;  // not an optimizer: nothing is created
  }
  // Parameters, gradients and states are float tensors (the op table's type constraints allow no
  // other); the scalar arithmetic below has no form for integers or packed types.
  for (int i = 0; i < op.numOperands(); ++i) {
    const Value* v = op.operand(i);
    if (v && v->type().isTensor() && v->type().dtype != DType::Undefined && !isFloat(v->type().dtype) &&
        i != 1)  // input 1 is the step count, often an integer (ONNX's T)
      return Status::error(str(op.name(), " '", op.location(), "': input ", i, " '", v->name(), "' is ",
                               dtypeName(v->type().dtype), "; optimizers update float tensors"));
  }
  Emitter e(*op.parent(), &op, op.location());
  Expected<std::vector<Value*>> lowered = onnx_states ? lowerOnnx(op, e, onnx_states) : lowerUpdate(op, e);
  if (!lowered.ok()) return lowered.status();
  if (!e.ok()) return e.status();
  if (lowered->empty()) return false;
  if (static_cast<int>(lowered->size()) != op.numResults())
    return Status::error(str(op.name(), " '", op.location(), "': has ", op.numResults(), " results, its update gives ",
                             lowered->size(), " (check the state inputs against the attributes)"));
  for (int i = 0; i < op.numResults(); ++i) {
    Value* v = (*lowered)[static_cast<size_t>(i)];
    v->setName(op.result(i)->name());
    op.result(i)->replaceAllUsesWith(v);
  }
  op.erase();
  return true;
}

}  // namespace dlc::passes::optimizers
