// Gradient rules of the broadcasting arithmetic ops. Every operand's gradient is summed back over
// the axes it was broadcast along (Emitter::sumToShape).
#include "passes/autodiff/rules.h"

namespace dlc::autodiff {
namespace {

void setBroadcast(GradContext& c, int i, Value* g) {
  if (c.needs(i)) c.dx[static_cast<size_t>(i)] = c.sumToShape(g, c.x(i));
}

}  // namespace

// a + b: da = dy, db = dy
void gradAdd(GradContext& c) {
  setBroadcast(c, 0, c.dy());
  setBroadcast(c, 1, c.dy());
}
// a − b: da = dy, db = −dy
void gradSub(GradContext& c) {
  setBroadcast(c, 0, c.dy());
  if (c.needs(1)) setBroadcast(c, 1, c.neg(c.dy()));
}
// a·b: da = dy·b, db = dy·a
void gradMul(GradContext& c) {
  if (c.needs(0)) setBroadcast(c, 0, c.mul(c.dy(), c.x(1)));
  if (c.needs(1)) setBroadcast(c, 1, c.mul(c.dy(), c.x(0)));
}
// a/b: da = dy/b, db = −dy·a/b² = −dy·y/b
void gradDiv(GradContext& c) {
  if (c.needs(0)) setBroadcast(c, 0, c.div(c.dy(), c.x(1)));
  if (c.needs(1)) setBroadcast(c, 1, c.neg(c.div(c.mul(c.dy(), c.y()), c.x(1))));
}
// aᵇ: da = dy·b·aᵇ⁻¹ (0 where b = 0), db = dy·y·ln a (0 where a = 0 and b ≥ 0), as PyTorch.
void gradPow(GradContext& c) {
  Value *a = c.x(0), *b = c.x(1);
  if (c.needs(0)) {
    Value* bf = c.castLike(b, a);
    Value* d = c.mul(bf, c.op(OpKind::Pow, {a, c.addScalar(bf, -1.0)}));
    Value* b_zero = c.op(OpKind::Equal, {bf, c.scalarLike(a, 0.0)});
    setBroadcast(c, 0, c.mul(c.dy(), c.where(b_zero, c.scalarLike(a, 0.0), d)));
  }
  if (c.needs(1)) {
    Value* a_zero = c.op(OpKind::Equal, {a, c.scalarLike(a, 0.0)});
    Value* b_nonneg = c.op(OpKind::GreaterOrEqual, {b, c.scalarLike(b, 0.0)});
    Value* d = c.mul(c.y(), c.op(OpKind::Log, {a}));
    d = c.where(c.op(OpKind::And, {a_zero, b_nonneg}), c.scalarLike(a, 0.0), d);
    setBroadcast(c, 1, c.mul(c.dy(), d));
  }
}
// y = max(x₁..xₙ) (or min): dxᵢ = dy·[xᵢ = y] / #{j : xⱼ = y}, ties sharing equally (PyTorch's
// maximum/minimum split a tie between two operands in halves).
void gradMaxMin(GradContext& c) {
  int n = c.node().numOperands();
  if (n == 1) {
    c.dx[0] = c.dy();
    return;
  }
  std::vector<Value*> hits;
  Value* count = nullptr;
  for (int i = 0; i < n; ++i) {
    hits.push_back(c.castLike(c.op(OpKind::Equal, {c.x(i), c.y()}), c.y()));
    count = count ? c.add(count, hits.back()) : hits.back();
  }
  Value* share = c.div(c.dy(), count);
  for (int i = 0; i < n; ++i)
    if (c.needs(i)) setBroadcast(c, i, c.mul(share, hits[static_cast<size_t>(i)]));
}
// y = Σ xᵢ: dxᵢ = dy
void gradSum(GradContext& c) {
  for (int i = 0; i < c.node().numOperands(); ++i) setBroadcast(c, i, c.dy());
}
// y = (1/n) Σ xᵢ: dxᵢ = dy/n
void gradMean(GradContext& c) {
  Value* g = c.mulScalar(c.dy(), 1.0 / c.node().numOperands());
  for (int i = 0; i < c.node().numOperands(); ++i) setBroadcast(c, i, g);
}
// where(cond, a, b): da = dy where cond, db = dy elsewhere; cond is boolean (no gradient)
void gradWhere(GradContext& c) {
  Value* zero = c.scalarLike(c.y(), 0.0);
  if (c.needs(1)) setBroadcast(c, 1, c.where(c.x(0), c.dy(), zero));
  if (c.needs(2)) setBroadcast(c, 2, c.where(c.x(0), zero, c.dy()));
}
// prelu(x, s) = x for x > 0, s·x otherwise: dx = dy or dy·s; ds = dy·x where x ≤ 0 (s broadcasts to x)
void gradPRelu(GradContext& c) {
  Value *x = c.x(0), *s = c.x(1);
  Value* pos = c.op(OpKind::Greater, {x, c.scalarLike(x, 0.0)});
  if (c.needs(0)) c.dx[0] = c.where(pos, c.dy(), c.mul(c.dy(), s));
  if (c.needs(1)) setBroadcast(c, 1, c.where(pos, c.scalarLike(x, 0.0), c.mul(c.dy(), x)));
}

}  // namespace dlc::autodiff
