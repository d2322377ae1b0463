// Optimizer steps as dlc *Update ops (their rules: passes/optimizers), with each optimizer's defaults.
#include "frontend/builder/optimizers.h"

namespace dlc::builder {
namespace {

Attribute f(double v) { return Attribute::ofFloat(static_cast<float>(v)); }
Attribute i(bool v) { return Attribute::ofInt(v ? 1 : 0); }

Tensor filled(const Var& like, double v) {
  Tensor t(like.type().dtype, like.type().shape.staticSizes());
  for (int64_t k = 0; k < t.numel(); ++k) t.setDouble(k, v);
  return t;
}

}  // namespace

const std::vector<std::string>& optimizerNames() {
  static const std::vector<std::string> names{"sgd", "adam", "adamw", "rmsprop", "adagrad", "radam", "lamb", "lars", "ranger"};
  return names;
}

Expected<OptimizerOptions> resolveOptimizer(OptimizerOptions o) {
  auto def = [](std::optional<double>& v, double d) {
    if (!v) v = d;
  };
  const std::string& n = o.name;
  if (n == "sgd") {
    def(o.lr, 1e-2);  // torch requires an lr; dlc trains with 0.01 unless told
    def(o.momentum, 0);
    def(o.dampening, 0);
    def(o.weight_decay, 0);
  } else if (n == "adam" || n == "adamw") {
    def(o.lr, 1e-3);
    def(o.beta1, 0.9);
    def(o.beta2, 0.999);
    def(o.epsilon, 1e-8);
    def(o.weight_decay, n == "adamw" ? 1e-2 : 0);
  } else if (n == "rmsprop") {
    def(o.lr, 1e-2);
    def(o.alpha, 0.99);
    def(o.epsilon, 1e-8);
    def(o.weight_decay, 0);
    def(o.momentum, 0);
  } else if (n == "adagrad") {
    def(o.lr, 1e-2);
    def(o.epsilon, 1e-10);
    def(o.weight_decay, 0);
  } else if (n == "radam" || n == "ranger") {
    def(o.lr, 1e-3);
    def(o.beta1, n == "ranger" ? 0.95 : 0.9);
    def(o.beta2, 0.999);
    def(o.epsilon, n == "ranger" ? 1e-5 : 1e-8);
    def(o.weight_decay, 0);
    if (n == "ranger") {
      o.lookahead = true;
      o.lookahead_k = 6;
      o.lookahead_alpha = 0.5;
      if (!o.gradient_centralization) o.gradient_centralization = true;
    }
  } else if (n == "lamb") {
    def(o.lr, 1e-3);
    def(o.beta1, 0.9);
    def(o.beta2, 0.999);
    def(o.epsilon, 1e-6);
    def(o.weight_decay, 1e-2);
  } else if (n == "lars") {
    def(o.lr, 1.0);
    def(o.momentum, 0);
    def(o.dampening, 0);
    def(o.weight_decay, 0);
    def(o.epsilon, 1e-8);
  } else {
    std::string all;
    for (const auto& name : optimizerNames()) all += (all.empty() ? "" : ", ") + name;
    return Status::error(str("unknown optimizer '", n, "' (one of ", all, ")"));
  }
  if (!o.gradient_centralization) o.gradient_centralization = false;
  if (*o.lr <= 0) return Status::error(str("learning rate ", *o.lr, " must be positive"));
  if (o.lookahead && (o.lookahead_k < 1 || o.lookahead_alpha <= 0 || o.lookahead_alpha > 1))
    return Status::error("lookahead needs k >= 1 and alpha in (0, 1]");
  if (o.nesterov && (o.momentum.value_or(0) <= 0 || o.dampening.value_or(0) != 0))
    return Status::error("Nesterov momentum needs a momentum > 0 and zero dampening (as torch.optim.SGD)");
  return o;
}

Var centralizeGradient(Var g) {
  if (!g.valid() || !g.type().shape.ranked || g.type().shape.rank() < 2) return g;
  std::vector<int64_t> axes;
  for (int i = 1; i < g.type().shape.rank(); ++i) axes.push_back(i);
  return sub(g, reduceMean(g, axes, true));
}

ParamStep optimizerStep(const OptimizerOptions& o, Var lr, Var t, Var x, Var g, const std::string& name,
                        const Tensor& x_initial, StateSource& states) {
  Model* m = x.model();
  ParamStep out;
  if (!m || !m->ok()) return out;
  const std::string& n = o.name;
  std::vector<Var> operands{lr, t, x, g};
  std::vector<std::string> state_names;
  auto add = [&](const char* suffix, double init) {
    operands.push_back(states.state(name + suffix, filled(x, init)));
    state_names.push_back(suffix);
  };
  std::map<std::string, Attribute> attrs;
  OpKind kind = OpKind::SgdUpdate;
  if (o.maximize) attrs["maximize"] = i(true);
  if (n == "sgd" || n == "lars") {
    kind = n == "sgd" ? OpKind::SgdUpdate : OpKind::LarsUpdate;
    attrs["momentum"] = f(*o.momentum);
    attrs["dampening"] = f(*o.dampening);
    attrs["weight_decay"] = f(*o.weight_decay);
    attrs["nesterov"] = i(o.nesterov);
    if (n == "lars") {
      attrs["trust_coefficient"] = f(o.trust_coefficient);
      attrs["epsilon"] = f(*o.epsilon);
    }
    if (*o.momentum != 0) add(".momentum_buffer", 0);
  } else if (n == "adam" || n == "adamw") {
    kind = OpKind::AdamUpdate;
    attrs["beta1"] = f(*o.beta1);
    attrs["beta2"] = f(*o.beta2);
    attrs["epsilon"] = f(*o.epsilon);
    attrs["weight_decay"] = f(*o.weight_decay);
    attrs["decoupled"] = i(n == "adamw");
    attrs["amsgrad"] = i(o.amsgrad);
    add(".exp_avg", 0);
    add(".exp_avg_sq", 0);
    if (o.amsgrad) add(".max_exp_avg_sq", 0);
  } else if (n == "rmsprop") {
    kind = OpKind::RmspropUpdate;
    attrs["alpha"] = f(*o.alpha);
    attrs["epsilon"] = f(*o.epsilon);
    attrs["weight_decay"] = f(*o.weight_decay);
    attrs["momentum"] = f(*o.momentum);
    attrs["centered"] = i(o.centered);
    add(".square_avg", 0);
    if (*o.momentum > 0) add(".momentum_buffer", 0);
    if (o.centered) add(".grad_avg", 0);
  } else if (n == "adagrad") {
    kind = OpKind::AdagradUpdate;
    attrs["lr_decay"] = f(o.lr_decay);
    attrs["epsilon"] = f(*o.epsilon);
    attrs["weight_decay"] = f(*o.weight_decay);
    add(".sum", o.initial_accumulator_value);
  } else if (n == "radam" || n == "ranger" || n == "lamb") {
    kind = n == "lamb" ? OpKind::LambUpdate : OpKind::RadamUpdate;
    attrs["beta1"] = f(*o.beta1);
    attrs["beta2"] = f(*o.beta2);
    attrs["epsilon"] = f(*o.epsilon);
    attrs["weight_decay"] = f(*o.weight_decay);
    add(".exp_avg", 0);
    add(".exp_avg_sq", 0);
  } else {
    m->fail(Status::error(str("unknown optimizer '", n, "'")));
    return out;
  }
  std::vector<Var> results = m->op(kind, operands, attrs, 1 + static_cast<int>(state_names.size()));
  if (results.empty()) return out;
  out.next = results[0];
  for (size_t k = 0; k < state_names.size(); ++k) out.states.push_back({operands[4 + k], results[1 + k]});
  if (o.lookahead) {
    Var slow = states.state(name + ".slow", x_initial.clone());  // the slow weights start at the parameter
    std::vector<Var> la = m->op(OpKind::LookaheadUpdate, {t, out.next, slow},
                                {{"k", Attribute::ofInt(o.lookahead_k)}, {"alpha", f(o.lookahead_alpha)}}, 2);
    if (la.size() == 2) {
      out.next = la[0];
      out.states.push_back({slow, la[1]});
    }
  }
  return out;
}

}  // namespace dlc::builder
