// Gradient rules of the elementwise unary ops: y = f(x), dx = dy · f'(x). Each rule's derivative is
// in its comment; piecewise definitions take the derivative of the branch PyTorch takes at a kink.
#include <cmath>

#include "passes/autodiff/rules.h"

namespace dlc::autodiff {
namespace {

constexpr double kPi = 3.14159265358979323846;

// dx = dy · d, for the rules that only scale the incoming gradient.
void scaleBy(GradContext& c, Value* d) { c.dx[0] = c.mul(c.dy(), d); }

Value* square(GradContext& c, Value* v) { return c.mul(v, v); }
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
// clip(x, lo, hi)' = 1 where lo ≤ x ≤ hi (PyTorch's clamp), else 0. lo and hi get no gradient.
void gradClip(GradContext& c) {
  Value* keep = nullptr;
  if (c.x(1)) keep = c.op(OpKind::GreaterOrEqual, {c.x(0), c.x(1)});
  if (c.x(2)) {
    Value* upper = c.op(OpKind::LessOrEqual, {c.x(0), c.x(2)});
    keep = keep ? c.op(OpKind::And, {keep, upper}) : upper;
  }
  c.dx[0] = keep ? c.where(keep, c.dy(), zero(c)) : c.dy();
  if (c.needs(1) || c.needs(2)) c.fail("Clip's min and max get no gradient (make them constants)");
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
// elu(x) = x for x > 0, α(eˣ−1) otherwise: 1, or y + α
void gradElu(GradContext& c) {
  double alpha = c.node().getFloat("alpha", 1.0f);
  c.dx[0] = c.where(gt(c, c.x(0), zero(c)), c.dy(), c.mul(c.dy(), c.addScalar(c.y(), alpha)));
}
// erf' = 2/√π · e^{−x²}
void gradErf(GradContext& c) {
  Value* e = c.op(OpKind::Exp, {c.neg(square(c, c.x(0)))});
  scaleBy(c, c.mulScalar(e, 2.0 / std::sqrt(kPi)));
}
// exp' = exp = y
void gradExp(GradContext& c) { scaleBy(c, c.y()); }
// gelu(x) = x·Φ(x): Φ(x) + x·φ(x), φ(x) = e^{−x²/2}/√(2π). The tanh form
// 0.5x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³): 0.5(1 + t) + 0.5x(1 − t²)·√(2/π)(1 + 3·0.044715x²).
void gradGelu(GradContext& c) {
  Value* x = c.x(0);
  if (c.node().getString("approximate", "none") == "tanh") {
    const double k = std::sqrt(2.0 / kPi);
    Value* x2 = square(c, x);
    Value* u = c.mulScalar(c.mul(x, c.addScalar(c.mulScalar(x2, 0.044715), 1.0)), k);
    Value* t = c.op(OpKind::Tanh, {u});
    Value* du = c.mulScalar(c.addScalar(c.mulScalar(x2, 3 * 0.044715), 1.0), k);
    Value* left = c.mulScalar(c.addScalar(t, 1.0), 0.5);
    Value* right = c.mul(c.mulScalar(x, 0.5), c.mul(c.sub(c.scalarLike(x, 1.0), square(c, t)), du));
    scaleBy(c, c.add(left, right));
    return;
  }
  Value* cdf = c.mulScalar(c.addScalar(c.op(OpKind::Erf, {c.mulScalar(x, 1.0 / std::sqrt(2.0))}), 1.0), 0.5);
  Value* pdf = c.mulScalar(c.op(OpKind::Exp, {c.mulScalar(square(c, x), -0.5)}), 1.0 / std::sqrt(2.0 * kPi));
  scaleBy(c, c.add(cdf, c.mul(x, pdf)));
}
// hardsigmoid(x) = max(0, min(1, αx + β)): α inside (0, 1), else 0
void gradHardSigmoid(GradContext& c) {
  double alpha = c.node().getFloat("alpha", 0.2f), beta = c.node().getFloat("beta", 0.5f);
  Value* z = c.addScalar(c.mulScalar(c.x(0), alpha), beta);
  Value* inside = c.op(OpKind::And, {gt(c, z, zero(c)), c.op(OpKind::Less, {z, c.scalarLike(z, 1.0)})});
  c.dx[0] = c.where(inside, c.mulScalar(c.dy(), alpha), zero(c));
}
// hardswish(x) = x·min(max(x+3, 0), 6)/6: 0 for x < −3, x/3 + 1/2 for x ≤ 3, 1 above (PyTorch's branches)
void gradHardSwish(GradContext& c) {
  Value* x = c.x(0);
  Value* mid = c.addScalar(c.mulScalar(x, 1.0 / 3.0), 0.5);
  Value* d = c.where(c.op(OpKind::Less, {x, c.scalarLike(x, -3.0)}), zero(c),
                     c.where(c.op(OpKind::LessOrEqual, {x, c.scalarLike(x, 3.0)}), mid, c.scalarLike(x, 1.0)));
  scaleBy(c, d);
}
void gradIdentity(GradContext& c) { c.dx[0] = c.dy(); }
// leakyrelu(x) = x for x > 0, αx otherwise
void gradLeakyRelu(GradContext& c) {
  double alpha = c.node().getFloat("alpha", 0.01f);
  c.dx[0] = c.where(gt(c, c.x(0), zero(c)), c.dy(), c.mulScalar(c.dy(), alpha));
}
// log' = 1/x
void gradLog(GradContext& c) { c.dx[0] = c.div(c.dy(), c.x(0)); }
void gradNeg(GradContext& c) { c.dx[0] = c.neg(c.dy()); }
// (1/x)' = −1/x² = −y²
void gradReciprocal(GradContext& c) { c.dx[0] = c.neg(c.mul(c.dy(), square(c, c.y()))); }
// relu' = 1 for x > 0, else 0
void gradRelu(GradContext& c) { c.dx[0] = c.where(gt(c, c.x(0), zero(c)), c.dy(), zero(c)); }
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
// σ' = y(1 − y)
void gradSigmoid(GradContext& c) { scaleBy(c, c.mul(c.y(), c.sub(c.scalarLike(c.y(), 1.0), c.y()))); }
// sin' = cos
void gradSin(GradContext& c) { scaleBy(c, c.op(OpKind::Cos, {c.x(0)})); }
// sinh' = cosh
void gradSinh(GradContext& c) { scaleBy(c, c.op(OpKind::Cosh, {c.x(0)})); }
// softplus(x) = ln(1 + eˣ): σ(x)
void gradSoftplus(GradContext& c) { scaleBy(c, c.op(OpKind::Sigmoid, {c.x(0)})); }
// softsign(x) = x/(1 + |x|): 1/(1 + |x|)²
void gradSoftsign(GradContext& c) {
  Value* d = c.addScalar(c.op(OpKind::Abs, {c.x(0)}), 1.0);
  c.dx[0] = c.div(c.dy(), square(c, d));
}
// √x' = 1/(2y)
void gradSqrt(GradContext& c) { c.dx[0] = c.div(c.dy(), c.mulScalar(c.y(), 2.0)); }
// tan' = 1 + y²
void gradTan(GradContext& c) { scaleBy(c, c.addScalar(square(c, c.y()), 1.0)); }
// tanh' = 1 − y²
void gradTanh(GradContext& c) { scaleBy(c, c.sub(c.scalarLike(c.y(), 1.0), square(c, c.y()))); }
// thresholdedrelu(x) = x for x > α, else 0
void gradThresholdedRelu(GradContext& c) {
  double alpha = c.node().getFloat("alpha", 1.0f);
  c.dx[0] = c.where(gt(c, c.x(0), c.scalarLike(c.x(0), alpha)), c.dy(), zero(c));
}

}  // namespace dlc::autodiff
