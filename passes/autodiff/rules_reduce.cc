// Gradient rules of the reductions: the incoming gradient is broadcast back over the reduced axes
// and scaled by each reduction's derivative; CumSum's adjoint is the cumulative sum the other way.
#include "passes/autodiff/rules.h"
#include "passes/simplify_util.h"

namespace dlc::autodiff {
namespace {

// The reduced axes (normalized) and keepdims of a Reduce* op; false after recording an error.
bool reduction(GradContext& c, std::vector<int64_t>* axes) {
  Op& op = c.node();
  int rank = c.rankOf(c.x(0));
  if (rank < 0) return false;
  if (op.kind() == OpKind::ReduceSum) {
    if (op.operand(1)) {
      auto v = passes::constantInts(op.operand(1));
      if (!v) {
        c.fail("ReduceSum's axes must be a constant to differentiate it");
        return false;
      }
      *axes = *v;
    }
    if (axes->empty() && op.getInt("noop_with_empty_axes", 0) != 0) return true;
  } else {
    *axes = op.getInts("axes");
  }
  if (axes->empty())
    for (int i = 0; i < rank; ++i) axes->push_back(i);
  if (!normalizeAxes(*axes, rank)) {
    c.fail("axes out of range");
    return false;
  }
  return true;
}

// v (shaped like the op's result) broadcast to the input's shape.
Value* backToInput(GradContext& c, Value* v, const std::vector<int64_t>& axes) {
  if (!c.node().getInt("keepdims", 1)) v = c.unsqueeze(v, axes);
  return c.expandLike(v, c.x(0));
}

}  // namespace

// y = Σ x: dx = dy broadcast
void gradReduceSum(GradContext& c) {
  std::vector<int64_t> axes;
  if (!reduction(c, &axes)) return;
  if (axes.empty()) {  // noop_with_empty_axes: the identity
    c.dx[0] = c.dy();
    return;
  }
  c.dx[0] = backToInput(c, c.dy(), axes);
}
// y = Σ x / n: dx = dy/n
void gradReduceMean(GradContext& c) {
  std::vector<int64_t> axes;
  if (!reduction(c, &axes)) return;
  c.dx[0] = c.div(backToInput(c, c.dy(), axes), c.countOf(c.x(0), axes, c.x(0)));
}
// y = max x (or min): dx = dy·[x = y] / #{x = y}, ties sharing equally (PyTorch's amax/amin)
void gradReduceMaxMin(GradContext& c) {
  std::vector<int64_t> axes;
  if (!reduction(c, &axes)) return;
  Value* hit = c.castLike(c.op(OpKind::Equal, {c.x(0), backToInput(c, c.y(), axes)}), c.x(0));
  Value* count = c.reduceSum(hit, axes, /*keepdims=*/true);
  c.dx[0] = c.div(c.mul(hit, backToInput(c, c.dy(), axes)), count);
}
// y = Σ x²: dx = 2x·dy
void gradReduceSumSquare(GradContext& c) {
  std::vector<int64_t> axes;
  if (!reduction(c, &axes)) return;
  c.dx[0] = c.mul(c.mulScalar(c.x(0), 2.0), backToInput(c, c.dy(), axes));
}
// y = Σ |x|: dx = sign(x)·dy
void gradReduceL1(GradContext& c) {
  std::vector<int64_t> axes;
  if (!reduction(c, &axes)) return;
  c.dx[0] = c.mul(c.op(OpKind::Sign, {c.x(0)}), backToInput(c, c.dy(), axes));
}
// y = √Σx²: dx = dy·x/y, and 0 where y = 0 (PyTorch's norm)
void gradReduceL2(GradContext& c) {
  std::vector<int64_t> axes;
  if (!reduction(c, &axes)) return;
  Value* y = backToInput(c, c.y(), axes);
  Value* zero = c.scalarLike(c.x(0), 0.0);
  Value* q = c.div(c.mul(c.x(0), backToInput(c, c.dy(), axes)), y);
  c.dx[0] = c.where(c.op(OpKind::Equal, {y, zero}), zero, q);
}
// y = ln Σ x: dx = dy / Σx = dy / eʸ
void gradReduceLogSum(GradContext& c) {
  std::vector<int64_t> axes;
  if (!reduction(c, &axes)) return;
  c.dx[0] = backToInput(c, c.div(c.dy(), c.op(OpKind::Exp, {c.y()})), axes);
}
// y = ln Σ eˣ: dx = dy·e^{x−y} (the softmax over the reduced axes)
void gradReduceLogSumExp(GradContext& c) {
  std::vector<int64_t> axes;
  if (!reduction(c, &axes)) return;
  Value* p = c.op(OpKind::Exp, {c.sub(c.x(0), backToInput(c, c.y(), axes))});
  c.dx[0] = c.mul(p, backToInput(c, c.dy(), axes));
}
// y = Π x: dx = dy·y/x. Inputs with a zero in a reduced group give NaN/inf there (PyTorch's
// zero-aware formula is not reproduced).
void gradReduceProd(GradContext& c) {
  std::vector<int64_t> axes;
  if (!reduction(c, &axes)) return;
  c.dx[0] = c.div(c.mul(backToInput(c, c.dy(), axes), backToInput(c, c.y(), axes)), c.x(0));
}
// y = cumsum(x) along an axis: dx = cumsum of dy in the opposite direction (same exclusivity)
void gradCumSum(GradContext& c) {
  Op& op = c.node();
  Value* g = c.op(OpKind::CumSum, {c.dy(), op.operand(1)},
                  {{"exclusive", Attribute::ofInt(op.getInt("exclusive", 0))},
                   {"reverse", Attribute::ofInt(op.getInt("reverse", 0) ? 0 : 1)}});
  c.dx[0] = g;
}

}  // namespace dlc::autodiff
