// Gradient rules of the normalizations and softmaxes. Statistics are recomputed from X with
// ReduceMean where a rule needs them, so the forward ops stay as they are.
#include "passes/autodiff/rules.h"

namespace dlc::autodiff {
namespace {

// A per-channel vector [C] reshaped to broadcast against X [N, C, spatial...].
Value* perChannel(Emitter& e, Value* v, int rank) {
  std::vector<int64_t> axes;
  for (int i = 2; i < rank; ++i) axes.push_back(i - 1);
  return e.unsqueeze(v, axes);
}

std::vector<int64_t> allBut(int rank, int keep) {
  std::vector<int64_t> axes;
  for (int i = 0; i < rank; ++i)
    if (i != keep) axes.push_back(i);
  return axes;
}

// Shared by LayerNorm and InstanceNorm: x̂ = (x − μ)·r over `axes`, r = 1/√(σ² + ε), and for g the
// gradient with respect to x̂ (dY·γ): dX = r·(g − mean(g) − x̂·mean(g·x̂)).
struct Normalized {
  Value *xhat = nullptr, *r = nullptr;
};
Normalized normalize(Emitter& e, Value* x, const std::vector<int64_t>& axes, double eps) {
  Value* mean = e.reduceMean(x, axes, true);
  Value* xc = e.sub(x, mean);
  Value* var = e.reduceMean(e.mul(xc, xc), axes, true);
  Value* r = e.op(OpKind::Reciprocal, {e.op(OpKind::Sqrt, {e.addScalar(var, eps)})});
  return {e.mul(xc, r), r};
}
Value* normalizedInputGrad(Emitter& e, Value* g, const Normalized& n, const std::vector<int64_t>& axes) {
  Value* mg = e.reduceMean(g, axes, true);
  Value* mgx = e.reduceMean(e.mul(g, n.xhat), axes, true);
  return e.mul(n.r, e.sub(e.sub(g, mg), e.mul(n.xhat, mgx)));
}

}  // namespace

// Training-mode BatchNormalization becomes its batch statistics written out (mean and population
// variance over every axis but 1, as ONNX defines it), so the gradient flows through them:
//   μ = mean(x), σ² = mean((x − μ)²), y = (x − μ)/√(σ² + ε)·γ + β,
//   running_mean' = running_mean·m + μ·(1 − m), running_var' = running_var·m + σ²·(1 − m).
Expected<bool> decomposeTrainingBatchNorm(Op& op) {
  if (op.getInt("training_mode", 0) == 0) return false;
  Emitter e(*op.parent(), &op, op.location());
  Value* x = op.operand(0);
  int rank = e.rankOf(x);
  if (rank < 2) return e.ok() ? Status::error(str("BatchNormalization '", op.location(), "': X must have rank >= 2")) : e.status();
  std::vector<int64_t> axes = allBut(rank, 1);
  const double eps = op.getFloat("epsilon", 1e-5f), m = op.getFloat("momentum", 0.9f);
  Value* mean = e.reduceMean(x, axes, true);
  Value* xc = e.sub(x, mean);
  Value* var = e.reduceMean(e.mul(xc, xc), axes, true);
  Value* inv = e.op(OpKind::Reciprocal, {e.op(OpKind::Sqrt, {e.addScalar(var, eps)})});
  Value* y = e.add(e.mul(e.mul(xc, inv), perChannel(e, op.operand(1), rank)), perChannel(e, op.operand(2), rank));
  std::vector<Value*> results{y};
  if (op.numResults() > 1) {
    Value* mean_c = e.reshapeLike(mean, op.operand(3));
    Value* var_c = e.reshapeLike(var, op.operand(4));
    results.push_back(e.add(e.mulScalar(op.operand(3), m), e.mulScalar(mean_c, 1.0 - m)));
    if (op.numResults() > 2) results.push_back(e.add(e.mulScalar(op.operand(4), m), e.mulScalar(var_c, 1.0 - m)));
  }
  if (!e.ok()) return e.status();
  for (int i = 0; i < op.numResults(); ++i) {
    results[static_cast<size_t>(i)]->setName(op.result(i)->name());
    op.result(i)->replaceAllUsesWith(results[static_cast<size_t>(i)]);
  }
  op.erase();
  return true;
}

// Inference BatchNormalization: y = (x − μ)·s + β with s = γ/√(σ² + ε) per channel:
//   dx = dy·s, dγ = Σ dy·(x − μ)/√(σ² + ε), dβ = Σ dy, dμ = −Σ dy·s, dσ² = −½ Σ dy·(x − μ)·γ·(σ² + ε)^−3/2.
void gradBatchNormInference(GradContext& c) {
  Value *x = c.x(0), *dy = c.dy();
  int rank = c.rankOf(x);
  if (rank < 2) return;
  const double eps = c.node().getFloat("epsilon", 1e-5f);
  std::vector<int64_t> axes = allBut(rank, 1);
  Value* gamma = perChannel(c, c.x(1), rank);
  Value* xc = c.sub(x, perChannel(c, c.x(3), rank));
  Value* var_eps = c.addScalar(perChannel(c, c.x(4), rank), eps);
  Value* inv = c.op(OpKind::Reciprocal, {c.op(OpKind::Sqrt, {var_eps})});
  Value* s = c.mul(gamma, inv);
  auto perChannelSum = [&](Value* v) { return c.reshapeLike(c.reduceSum(v, axes, false), c.x(1)); };
  if (c.needs(0)) c.dx[0] = c.mul(dy, s);
  if (c.needs(1)) c.dx[1] = perChannelSum(c.mul(dy, c.mul(xc, inv)));
  if (c.needs(2)) c.dx[2] = perChannelSum(dy);
  if (c.needs(3)) c.dx[3] = c.neg(perChannelSum(c.mul(dy, s)));
  if (c.needs(4)) {
    Value* d = c.mul(c.mul(dy, xc), c.mul(gamma, c.div(inv, var_eps)));  // (σ² + ε)^−3/2 = r/(σ² + ε)
    c.dx[4] = c.mulScalar(perChannelSum(d), -0.5);
  }
}

// BatchNormTraining(X, γ, β) -> (Y, mean, var): dX, dγ, dβ from BatchNormTrainingGrad. Gradients
// flowing into the batch statistics themselves (the running-statistics updates carry none to a
// loss, but a graph may use them) add, per element, dmean/n (mean = Σx/n) and dvar·2(x − mean)/n
// (var = Σ(x − mean)²/n).
void gradBatchNormTraining(GradContext& c) {
  Value *x = c.x(0), *mean = c.y(1), *var = c.y(2);
  int rank = c.rankOf(x);
  if (rank < 2) return;
  std::vector<Value*> g = c.ops(OpKind::BatchNormTrainingGrad, {c.dyOrZeros(0), x, c.x(1), mean, var},
                                {{"epsilon", Attribute::ofFloat(c.node().getFloat("epsilon", 1e-5f))}}, 3);
  Value* dx = g[0];
  if (c.dy(1) || c.dy(2)) {
    std::vector<int64_t> axes = allBut(rank, 1);
    Value* n = c.countOf(x, axes, x);
    if (c.dy(1)) dx = c.add(dx, c.div(perChannel(c, c.dy(1), rank), n));
    if (c.dy(2)) {
      Value* centered = c.sub(x, perChannel(c, mean, rank));
      dx = c.add(dx, c.div(c.mul(c.mulScalar(centered, 2.0), perChannel(c, c.dy(2), rank)), n));
    }
  }
  if (c.needs(0)) c.dx[0] = dx;
  if (c.needs(1)) c.dx[1] = g[1];
  if (c.needs(2)) c.dx[2] = g[2];
}

// LayerNormalization over axes [axis, rank): y = x̂·γ + β. dX from the shared formula with g = dy·γ,
// dγ = Σ dy·x̂ and dβ = Σ dy over the leading axes. The optional Mean/InvStdDev results get no gradient.
void gradLayerNorm(GradContext& c) {
  Value *x = c.x(0), *dy = c.dy();
  int rank = c.rankOf(x);
  if (rank < 1) return;
  if (c.dy(1) || c.dy(2)) {
    c.fail("LayerNormalization's Mean and InvStdDev results get no gradient");
    return;
  }
  int64_t axis = c.node().getInt("axis", -1);
  if (axis < 0) axis += rank;
  std::vector<int64_t> axes;
  for (int64_t i = axis; i < rank; ++i) axes.push_back(i);
  Normalized n = normalize(c, x, axes, c.node().getFloat("epsilon", 1e-5f));
  if (c.needs(0)) c.dx[0] = normalizedInputGrad(c, c.mul(dy, c.x(1)), n, axes);
  if (c.needs(1)) c.dx[1] = c.sumToShape(c.mul(dy, n.xhat), c.x(1));
  if (c.needs(2)) c.dx[2] = c.sumToShape(dy, c.x(2));
}

// InstanceNormalization: per (n, c) over the spatial axes, y = x̂·γ_c + β_c; the shared formula with
// g = dy·γ, dγ = Σ dy·x̂ and dβ = Σ dy over every axis but the channel.
void gradInstanceNorm(GradContext& c) {
  Value *x = c.x(0), *dy = c.dy();
  int rank = c.rankOf(x);
  if (rank < 3) {
    if (c.ok()) c.fail("X must be [N,C,spatial...]");
    return;
  }
  std::vector<int64_t> spatial;
  for (int i = 2; i < rank; ++i) spatial.push_back(i);
  Normalized n = normalize(c, x, spatial, c.node().getFloat("epsilon", 1e-5f));
  std::vector<int64_t> axes = allBut(rank, 1);
  auto perChannelSum = [&](Value* v, Value* like) { return c.reshapeLike(c.reduceSum(v, axes, false), like); };
  if (c.needs(0)) c.dx[0] = normalizedInputGrad(c, c.mul(dy, perChannel(c, c.x(1), rank)), n, spatial);
  if (c.needs(1)) c.dx[1] = perChannelSum(c.mul(dy, n.xhat), c.x(1));
  if (c.needs(2)) c.dx[2] = perChannelSum(dy, c.x(2));
}

// y = softmax(x) along axis: dx = y·(dy − Σ dy·y)
void gradSoftmax(GradContext& c) {
  Value *y = c.y(), *dy = c.dy();
  std::vector<int64_t> axis{c.node().getInt("axis", -1)};
  if (!normalizeAxes(axis, c.rankOf(y))) return c.fail("axis out of range");
  c.dx[0] = c.mul(y, c.sub(dy, c.reduceSum(c.mul(dy, y), axis, true)));
}
// y = log softmax(x) along axis: dx = dy − eʸ·Σ dy
void gradLogSoftmax(GradContext& c) {
  Value *y = c.y(), *dy = c.dy();
  std::vector<int64_t> axis{c.node().getInt("axis", -1)};
  if (!normalizeAxes(axis, c.rankOf(y))) return c.fail("axis out of range");
  c.dx[0] = c.sub(dy, c.mul(c.op(OpKind::Exp, {y}), c.reduceSum(dy, axis, true)));
}

}  // namespace dlc::autodiff
