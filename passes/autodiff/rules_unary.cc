// Gradient rules of the elementwise unary ops: y = f(x), dx = dy · f'(x). Each rule's derivative is
// in its comment; piecewise definitions take the derivative of the branch PyTorch takes at a kink.
#include <cmath>
#include <limits>
#include <optional>

#include "passes/autodiff/rules.h"

namespace dlc::autodiff {
namespace {

constexpr double kPi = 3.14159265358979323846;

// dx = dy · d, for the rules that only scale the incoming gradient.
void scaleBy(GradContext& c, Value* d) { c.dx[0] = c.mul(c.dy(), d); }

Value* square(GradContext& c, Value* v) { return c.mul(v, v); }

// dx = ActivationGrad(dy, x): the derivatives of the activations backends run as one kernel
// (oneDNN's eltwise backward), with their math at the op (ir/ops.def) and its reference kernel.
void activationGrad(GradContext& c, const char* activation, double alpha = 0, double beta = 0) {
  std::map<std::string, Attribute> attrs{{"activation", Attribute::ofString(activation)}};
  if (alpha != 0) attrs["activation_alpha"] = Attribute::ofFloat(static_cast<float>(alpha));
  if (beta != 0) attrs["activation_beta"] = Attribute::ofFloat(static_cast<float>(beta));
  c.dx[0] = c.op(OpKind::ActivationGrad, {c.dy(), c.x(0)}, attrs);
}

// The value of a constant scalar operand, if it is one.
std::optional<double> constantScalar(Value* v) {
  if (!v || !v->definingOp() || v->definingOp()->kind() != OpKind::Constant) return std::nullopt;
  const Attribute* a = v->definingOp()->attr("value");
  if (!a || a->type != AttrType::Tensor || a->t.numel() != 1) return std::nullopt;
  return a->t.getDouble(0);
}
Value* zero(GradContext& c) { return c.scalarLike(c.x(0), 0.0); }
Value* gt(GradContext& c, Value* a, Value* b) { return c.op(OpKind::Greater, {a, b}); }

}  // namespace

// |x|' = sign(x) (0 at 0, as PyTorch)
void gradAbs(GradContext& c) { scaleBy(c, c.op(OpKind::Sign, {c.x(0)})); }
// acos' = −1/√(1−x²)
void gradAcos(GradContext& c) {
  Value* r = c.op(OpKind::Sqrt, {c.sub(c.scalarLike(c.x(0), 1.0), square(c, c.x(0)))});
  c.dx[0] = c.neg(c.div(c.dy(), r));
}
// acosh' = 1/√(x²−1)
void gradAcosh(GradContext& c) {
  c.dx[0] = c.div(c.dy(), c.op(OpKind::Sqrt, {c.addScalar(square(c, c.x(0)), -1.0)}));
}
// asin' = 1/√(1−x²)
void gradAsin(GradContext& c) {
  c.dx[0] = c.div(c.dy(), c.op(OpKind::Sqrt, {c.sub(c.scalarLike(c.x(0), 1.0), square(c, c.x(0)))}));
}
// asinh' = 1/√(x²+1)
void gradAsinh(GradContext& c) { c.dx[0] = c.div(c.dy(), c.op(OpKind::Sqrt, {c.addScalar(square(c, c.x(0)), 1.0)})); }
// atan' = 1/(1+x²)
void gradAtan(GradContext& c) { c.dx[0] = c.div(c.dy(), c.addScalar(square(c, c.x(0)), 1.0)); }
// atanh' = 1/(1−x²)
void gradAtanh(GradContext& c) { c.dx[0] = c.div(c.dy(), c.sub(c.scalarLike(c.x(0), 1.0), square(c, c.x(0)))); }
// Cast between float types: the gradient is cast back.
void gradCast(GradContext& c) { c.dx[0] = c.castLike(c.dy(), c.x(0)); }
// Floor, Ceil, Round, Sign are piecewise constant: zero almost everywhere.
void gradPiecewiseConstant(GradContext& c) { c.dx[0] = c.zerosLike(c.x(0)); }
// celu(x) = max(0,x) + min(0, α(e^{x/α}−1)): 1 for x > 0, e^{x/α} otherwise
void gradCelu(GradContext& c) {
  double alpha = c.node().getFloat("alpha", 1.0f);
  Value* e = c.op(OpKind::Exp, {c.mulScalar(c.x(0), 1.0 / alpha)});
  c.dx[0] = c.where(gt(c, c.x(0), zero(c)), c.dy(), c.mul(c.dy(), e));
}
// clip(x, lo, hi)' = 1 where lo < x < hi (PyTorch's hardtanh), else 0; lo and hi get no gradient.
// Constant bounds go to ActivationGrad(Clip); others are compared here.
void gradClip(GradContext& c) {
  if (c.needs(1) || c.needs(2)) return c.fail("Clip's min and max get no gradient (make them constants)");
  std::optional<double> lo = c.x(1) ? constantScalar(c.x(1)) : std::optional<double>(-std::numeric_limits<double>::infinity());
  std::optional<double> hi = c.x(2) ? constantScalar(c.x(2)) : std::optional<double>(std::numeric_limits<double>::infinity());
  if (lo && hi && std::isfinite(*lo) && std::isfinite(*hi)) return activationGrad(c, "Clip", *lo, *hi);
  Value* keep = nullptr;
  if (c.x(1)) keep = c.op(OpKind::Greater, {c.x(0), c.x(1)});
  if (c.x(2)) {
    Value* upper = c.op(OpKind::Less, {c.x(0), c.x(2)});
    keep = keep ? c.op(OpKind::And, {keep, upper}) : upper;
  }
  c.dx[0] = keep ? c.where(keep, c.dy(), zero(c)) : c.dy();
}
// cos' = −sin
void gradCos(GradContext& c) { c.dx[0] = c.neg(c.mul(c.dy(), c.op(OpKind::Sin, {c.x(0)}))); }
// cosh' = sinh
void gradCosh(GradContext& c) { scaleBy(c, c.op(OpKind::Sinh, {c.x(0)})); }

// Inference Dropout is the identity. Training: y = x·m/(1−r) with the op's mask m, so dx = dy·m/(1−r);
// the op gains its mask result when it had none.
void gradDropout(GradContext& c) {
  Op& op = c.node();
  Value* training = op.operand(2);
  const Tensor* tm = nullptr;
  if (training && training->definingOp() && training->definingOp()->kind() == OpKind::Constant) {
    const Attribute* a = training->definingOp()->attr("value");
    if (a && a->type == AttrType::Tensor) tm = &a->t;
  }
  if (!training || (tm && tm->numel() == 1 && tm->getDouble(0) == 0)) {
    c.dx[0] = c.dy();
    return;
  }
  if (op.numResults() < 2) op.addResult(Type::tensor(DType::Bool, op.result(0)->type().shape), op.result(0)->name() + ".mask");
  Value* ratio = op.operand(1) ? c.castLike(op.operand(1), c.x(0)) : c.scalarLike(c.x(0), 0.5);
  // 1/(1−r) for r < 1; at r = 1 nothing is kept and the mask is all false.
  Value* one = c.scalarLike(c.x(0), 1.0);
  Value* scale = c.div(one, c.op(OpKind::Max, {c.sub(one, ratio), c.scalarLike(c.x(0), 1e-30)}));
  c.dx[0] = c.where(op.result(1), c.mul(c.dy(), scale), zero(c));
  if (c.needs(1)) c.fail("Dropout's ratio gets no gradient");
}
// elu(x) = x for x > 0, α(eˣ−1) otherwise: ActivationGrad(Elu)
void gradElu(GradContext& c) { activationGrad(c, "Elu", c.node().getFloat("alpha", 1.0f)); }
// erf' = 2/√π · e^{−x²}
void gradErf(GradContext& c) {
  Value* e = c.op(OpKind::Exp, {c.neg(square(c, c.x(0)))});
  scaleBy(c, c.mulScalar(e, 2.0 / std::sqrt(kPi)));
}
// exp' = exp = y
void gradExp(GradContext& c) { scaleBy(c, c.y()); }
// gelu(x) = x·Φ(x) (or its tanh form): ActivationGrad(Gelu / GeluTanh)
void gradGelu(GradContext& c) { activationGrad(c, c.node().getString("approximate", "none") == "tanh" ? "GeluTanh" : "Gelu"); }
// hardsigmoid(x) = max(0, min(1, αx + β)): ActivationGrad(HardSigmoid)
void gradHardSigmoid(GradContext& c) {
  activationGrad(c, "HardSigmoid", c.node().getFloat("alpha", 0.2f), c.node().getFloat("beta", 0.5f));
}
// hardswish(x) = x·min(max(x+3, 0), 6)/6: ActivationGrad(HardSwish)
void gradHardSwish(GradContext& c) { activationGrad(c, "HardSwish"); }
void gradIdentity(GradContext& c) { c.dx[0] = c.dy(); }
// leakyrelu(x) = x for x > 0, αx otherwise: ActivationGrad(LeakyRelu)
void gradLeakyRelu(GradContext& c) { activationGrad(c, "LeakyRelu", c.node().getFloat("alpha", 0.01f)); }
// log' = 1/x
void gradLog(GradContext& c) { c.dx[0] = c.div(c.dy(), c.x(0)); }
void gradNeg(GradContext& c) { c.dx[0] = c.neg(c.dy()); }
// (1/x)' = −1/x² = −y²
void gradReciprocal(GradContext& c) { c.dx[0] = c.neg(c.mul(c.dy(), square(c, c.y()))); }
// relu: ActivationGrad(Relu)
void gradRelu(GradContext& c) { activationGrad(c, "Relu"); }
// selu(x) = γx for x > 0, γα(eˣ−1) otherwise: γ, or y + γα
void gradSelu(GradContext& c) {
  double alpha = c.node().getFloat("alpha", 1.67326319f), gamma = c.node().getFloat("gamma", 1.05070102f);
  c.dx[0] = c.where(gt(c, c.x(0), zero(c)), c.mulScalar(c.dy(), gamma), c.mul(c.dy(), c.addScalar(c.y(), gamma * alpha)));
}
// shrink(x) = x − bias for x > λ, x + bias for x < −λ, 0 between: 1 outside [−λ, λ]
void gradShrink(GradContext& c) {
  double lambd = c.node().getFloat("lambd", 0.5f);
  Value* outside = c.op(OpKind::Or, {gt(c, c.x(0), c.scalarLike(c.x(0), lambd)),
                                     c.op(OpKind::Less, {c.x(0), c.scalarLike(c.x(0), -lambd)})});
  c.dx[0] = c.where(outside, c.dy(), zero(c));
}
// σ: ActivationGrad(Sigmoid)
void gradSigmoid(GradContext& c) { activationGrad(c, "Sigmoid"); }
// sin' = cos
void gradSin(GradContext& c) { scaleBy(c, c.op(OpKind::Cos, {c.x(0)})); }
// sinh' = cosh
void gradSinh(GradContext& c) { scaleBy(c, c.op(OpKind::Cosh, {c.x(0)})); }
// softplus(x) = ln(1 + eˣ): ActivationGrad(Softplus)
void gradSoftplus(GradContext& c) { activationGrad(c, "Softplus"); }
// softsign(x) = x/(1 + |x|): 1/(1 + |x|)²
void gradSoftsign(GradContext& c) {
  Value* d = c.addScalar(c.op(OpKind::Abs, {c.x(0)}), 1.0);
  c.dx[0] = c.div(c.dy(), square(c, d));
}
// √x' = 1/(2y)
void gradSqrt(GradContext& c) { c.dx[0] = c.div(c.dy(), c.mulScalar(c.y(), 2.0)); }
// tan' = 1 + y²
void gradTan(GradContext& c) { scaleBy(c, c.addScalar(square(c, c.y()), 1.0)); }
// tanh: ActivationGrad(Tanh)
void gradTanh(GradContext& c) { activationGrad(c, "Tanh"); }
// thresholdedrelu(x) = x for x > α, else 0
void gradThresholdedRelu(GradContext& c) {
  double alpha = c.node().getFloat("alpha", 1.0f);
  c.dx[0] = c.where(gt(c, c.x(0), c.scalarLike(c.x(0), alpha)), c.dy(), zero(c));
}

}  // namespace dlc::autodiff
