// Gradient rules of the pools: windowed pools go to their dlc gradient ops (MaxPoolGrad,
// AveragePoolGrad, which recompute the windows from X), global pools broadcast dY back.
#include "passes/autodiff/rules.h"

namespace dlc::autodiff {
namespace {

// The op's explicitly set attributes that the gradient op also has.
std::map<std::string, Attribute> sharedAttrs(const Op& op, OpKind grad) {
  std::map<std::string, Attribute> out;
  const OpInfo& info = opInfo(grad);
  for (const auto& [name, a] : op.attrs())
    if (info.findAttr(name)) out[name] = a;
  return out;
}

std::vector<int64_t> spatialAxes(GradContext& c, Value* x) {
  std::vector<int64_t> axes;
  int r = c.rankOf(x);
  for (int i = 2; i < r; ++i) axes.push_back(i);
  return axes;
}

}  // namespace

// Y = max over each window: the window's dY goes to its first maximal element (as PyTorch's
// max_pool backward on CPU).
void gradMaxPool(GradContext& c) {
  c.dx[0] = c.op(OpKind::MaxPoolGrad, {c.dy(), c.x(0)}, sharedAttrs(c.node(), OpKind::MaxPoolGrad));
}
// Y = mean over each window: every element the mean counted gets dY/count.
void gradAveragePool(GradContext& c) {
  c.dx[0] = c.op(OpKind::AveragePoolGrad, {c.dy(), c.x(0)}, sharedAttrs(c.node(), OpKind::AveragePoolGrad));
}
// Y = mean over the spatial dims: dX = dY/(H·W) broadcast.
void gradGlobalAveragePool(GradContext& c) {
  std::vector<int64_t> axes = spatialAxes(c, c.x(0));
  c.dx[0] = c.div(c.expandLike(c.dy(), c.x(0)), c.countOf(c.x(0), axes, c.x(0)));
}
// Y = max over the spatial dims: dX = dY·[X = Y] / #{X = Y} (ties share, as ReduceMax).
void gradGlobalMaxPool(GradContext& c) {
  std::vector<int64_t> axes = spatialAxes(c, c.x(0));
  Value* hit = c.castLike(c.op(OpKind::Equal, {c.x(0), c.expandLike(c.y(), c.x(0))}), c.x(0));
  c.dx[0] = c.div(c.mul(hit, c.expandLike(c.dy(), c.x(0))), c.reduceSum(hit, axes, /*keepdims=*/true));
}

}  // namespace dlc::autodiff
