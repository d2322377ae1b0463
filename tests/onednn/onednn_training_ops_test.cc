// The oneDNN lowerings of the training ops against the reference kernels: the convolution weight
// gradient (groups, strides, dilation, padding, with and without the bias gradient), the pool
// gradients, the activation gradients and sum/mean reductions. Every step must run on oneDNN.
#include "tests/common/backend_case.h"

namespace dlc::testing {
namespace {

struct Case : BackendCase {
  explicit Case(uint32_t seed) : BackendCase("onednn", seed) {}
};

Attribute ints(std::vector<int64_t> v) { return Attribute::ofInts(std::move(v)); }

TEST(OnednnTrainingOps, ConvGradWeight) {
  for (uint32_t seed = 1; seed <= 24; ++seed) {
    Case c(seed);
    int64_t group = c.pick(0, 2) == 0 ? 2 : 1, ch = group * c.pick(1, 6), oc = group * c.pick(1, 7);
    int64_t k = c.pick(1, 3), s = c.pick(1, 2), d = c.pick(1, 2), p = c.pick(0, 1), h = c.pick(k * d + 1, 14), w = c.pick(k * d, 13);
    if (seed % 6 == 0) group = ch = oc = 8;  // depthwise
    int64_t oh = (h + 2 * p - (k - 1) * d - 1) / s + 1, ow = (w + 2 * p - (k - 1) * d - 1) / s + 1;
    Value* x = c.input({c.pick(1, 3), ch, h, w});
    Value* dy = c.input({x->type().shape.dims[0].value, oc, oh, ow});
    bool bias = c.coin();
    Op* op = c.op(OpKind::ConvGradWeight, {x, dy},
                  {{"kernel_shape", ints({k, k})}, {"strides", ints({s, s})}, {"dilations", ints({d, d})}, {"pads", ints({p, p, p, p})},
                   {"group", Attribute::ofInt(group)}},
                  bias ? 2 : 1);
    for (int r = 0; r < op->numResults(); ++r) c.output(op->result(r));
    c.check(str("ConvGradWeight seed ", seed, " g", group, " k", k, " s", s, " d", d, " p", p, bias ? " +bias" : ""), 1e-4);
  }
}

// Inputs smaller than the kernel (resnet's last stages on 32x32 images), where the lowering crops
// the kernel to the taps that meet the input and pads X explicitly.
TEST(OnednnTrainingOps, ConvGradWeightSmallInputs) {
  struct Geometry {
    int64_t h, w, k, s, p, d, group;
  };
  const Geometry cases[] = {{1, 1, 3, 1, 1, 1, 1}, {2, 2, 3, 1, 1, 1, 1}, {2, 2, 3, 2, 1, 1, 1}, {1, 3, 3, 1, 1, 1, 2},
                            {3, 3, 5, 1, 2, 1, 1}, {2, 2, 3, 1, 2, 2, 1}, {1, 1, 3, 2, 1, 1, 8}, {4, 4, 3, 2, 1, 1, 1},
                            {1, 2, 5, 1, 2, 1, 1}, {3, 1, 7, 2, 3, 1, 1}};
  uint32_t seed = 100;
  for (const Geometry& g : cases) {
    Case c(++seed);
    int64_t ch = g.group == 8 ? 8 : 8 * g.group, oc = g.group == 8 ? 8 : 16;
    int64_t kext = (g.k - 1) * g.d + 1;
    int64_t oh = (g.h + 2 * g.p - kext) / g.s + 1, ow = (g.w + 2 * g.p - kext) / g.s + 1;
    Value* x = c.input({3, ch, g.h, g.w});
    Value* dy = c.input({3, oc, oh, ow});
    bool bias = seed % 2 == 0;
    Op* op = c.op(OpKind::ConvGradWeight, {x, dy},
                  {{"kernel_shape", ints({g.k, g.k})}, {"strides", ints({g.s, g.s})}, {"dilations", ints({g.d, g.d})},
                   {"pads", ints({g.p, g.p, g.p, g.p})}, {"group", Attribute::ofInt(g.group)}},
                  bias ? 2 : 1);
    for (int r = 0; r < op->numResults(); ++r) c.output(op->result(r));
    c.check(str("ConvGradWeight ", g.h, "x", g.w, " k", g.k, " s", g.s, " p", g.p, " d", g.d, " g", g.group), 1e-4);
  }
}

TEST(OnednnTrainingOps, PoolGradients) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    Case c(seed);
    bool max = seed % 2 == 0;
    int64_t k = c.pick(2, 3), s = c.pick(1, 2), p = k == 3 ? c.pick(0, 1) : 0, ceil = c.pick(0, 1);
    int64_t h = c.pick(5, 13), w = c.pick(5, 12), n = c.pick(1, 2), ch = c.pick(1, 19);
    std::map<std::string, Attribute> attrs{{"kernel_shape", ints({k, k})}, {"strides", ints({s, s})},
                                           {"pads", ints({p, p, p, p})}, {"ceil_mode", Attribute::ofInt(ceil)}};
    if (!max) attrs["count_include_pad"] = Attribute::ofInt(ceil ? 0 : c.pick(0, 1));
    // dY's shape is the forward pool's: take it from a forward op built first.
    Value* x = c.input({n, ch, h, w});
    Value* fwd = c.op1(max ? OpKind::MaxPool : OpKind::AveragePool, {x}, attrs);
    Value* dy = c.input(fwd->type().shape.staticSizes());
    c.output(fwd);
    c.output(c.op1(max ? OpKind::MaxPoolGrad : OpKind::AveragePoolGrad, {dy, x}, attrs));
    c.check(str(max ? "MaxPoolGrad" : "AveragePoolGrad", " seed ", seed, " k", k, " s", s, " p", p, ceil ? " ceil" : ""));
  }
}

TEST(OnednnTrainingOps, ActivationGradients) {
  const std::pair<const char*, std::pair<float, float>> kinds[] = {
      {"Relu", {0, 0}}, {"LeakyRelu", {0.1f, 0}}, {"Elu", {0.8f, 0}}, {"Sigmoid", {0, 0}}, {"Tanh", {0, 0}},
      {"Gelu", {0, 0}}, {"GeluTanh", {0, 0}}, {"HardSwish", {0, 0}}, {"Clip", {-0.5f, 0.6f}}, {"Softplus", {0, 0}}};
  uint32_t seed = 0;
  for (const auto& [name, ab] : kinds) {
    Case c(++seed);
    std::vector<int64_t> shape = seed % 2 ? std::vector<int64_t>{3, 5, 7, 6} : std::vector<int64_t>{4, 33};
    Value* x = c.input(shape, -4, 4);
    Value* dy = c.input(shape);
    c.output(c.op1(OpKind::ActivationGrad, {dy, x},
                   {{"activation", Attribute::ofString(name)}, {"activation_alpha", Attribute::ofFloat(ab.first)},
                    {"activation_beta", Attribute::ofFloat(ab.second)}}));
    c.check(str("ActivationGrad ", name), 1e-5);
  }
}

TEST(OnednnTrainingOps, BatchNormTraining) {
  for (uint32_t seed = 1; seed <= 8; ++seed) {
    Case c(seed);
    std::vector<int64_t> shape = seed % 3 == 0 ? std::vector<int64_t>{c.pick(2, 9), c.pick(1, 17)}
                                               : std::vector<int64_t>{c.pick(1, 4), c.pick(1, 20), c.pick(1, 9), c.pick(1, 8)};
    int64_t ch = shape[1];
    Value* x = c.input(shape, -2, 3);
    Op* fwd = c.op(OpKind::BatchNormTraining, {x, c.weight({ch}), c.weight({ch})}, {{"epsilon", Attribute::ofFloat(1e-3f)}}, 3);
    Op* bwd = c.op(OpKind::BatchNormTrainingGrad, {c.input(shape), x, c.weight({ch}), fwd->result(1), fwd->result(2)},
                   {{"epsilon", Attribute::ofFloat(1e-3f)}}, 3);
    for (int r = 0; r < 3; ++r) {
      c.output(fwd->result(r));
      c.output(bwd->result(r));
    }
    c.check(str("BatchNormTraining and its gradient, seed ", seed, " ", Shape::of(shape).toString()), 1e-4);
  }
}

TEST(OnednnTrainingOps, Reductions) {
  const std::vector<std::pair<std::vector<int64_t>, int>> cases = {
      {{0, 2, 3}, 0}, {{0, 2, 3}, 1}, {{2, 3}, 1}, {{1}, 0}, {{0}, 1}, {{3}, 0}, {{0, 1, 2, 3}, 0}, {{1, 3}, 1}};
  uint32_t seed = 0;
  for (const auto& [axes, keep] : cases)
    for (OpKind kind : {OpKind::ReduceSum, OpKind::ReduceMean}) {
      Case c(++seed);
      Value* x = c.input({4, 6, 9, 7});
      std::map<std::string, Attribute> attrs{{"keepdims", Attribute::ofInt(keep)}};
      std::vector<Value*> operands{x};
      if (kind == OpKind::ReduceSum) operands.push_back(c.ints(axes));
      else attrs["axes"] = ints(axes);
      c.output(c.op1(kind, operands, attrs));
      c.check(str(opName(kind), " axes ", Shape::of(axes).toString(), " keepdims ", keep), 1e-5);
    }
}

}  // namespace
}  // namespace dlc::testing
