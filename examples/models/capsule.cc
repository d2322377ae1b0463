// A capsule network (Sabour et al. 2017): primary capsules from a strided convolution, squashed
// (v = |s|²/(1 + |s|²) · s/|s|); class capsules from every primary capsule's predictions
// û_{j|i} = W_ij u_i combined by three iterations of dynamic routing (couplings c = softmax_j(b),
// s_j = Σ_i c_ij û_{j|i}, v_j = squash(s_j), b_ij += û_{j|i} · v_j) unrolled in the graph; the class
// is the longest capsule, trained with the margin loss
// Σ_j T_j max(0, 0.9 − |v_j|)² + ½ (1 − T_j) max(0, |v_j| − 0.1)² (the "model" loss).
#include <cmath>

#include "examples/models/example.h"

using namespace dlc;
using namespace dlc::builder;

namespace {

constexpr int64_t kSize = 8, kClasses = 4, kPrimaryTypes = 8, kPrimaryDim = 4, kGrid = 3, kClassDim = 8, kIterations = 3;
constexpr int64_t kPrimary = kPrimaryTypes * kGrid * kGrid;

Var squash(Var s, int64_t axis) {
  Var n2 = reduceSum(mul(s, s), {axis}, true);
  return mul(s, div(n2, mul(add(n2, 1.0), sqrt(add(n2, 1e-9)))));
}

}  // namespace

int main(int argc, char** argv) {
  examples::Example e;
  e.name = "capsule";
  e.summary = "a capsule network with three iterations of dynamic routing and the margin loss";
  e.build = [](Model& m) {
    Var x = m.input("image", DType::F32, {Dim::sym("N"), Dim::of(1), Dim::of(kSize), Dim::of(kSize)});
    Var onehot = m.input("class_onehot", DType::F32, {Dim::sym("N"), Dim::of(kClasses)});
    Var h = relu(Conv2d(m, "conv", 1, 16, 3, 1, 1)(x));
    Var p = Conv2d(m, "primary", 16, kPrimaryTypes * kPrimaryDim, 3, 2, 0)(h);  // [N, 8·4, 3, 3]
    p = reshape(transpose(reshape(p, {0, kPrimaryTypes, kPrimaryDim, kGrid * kGrid}), {0, 1, 3, 2}), {0, kPrimary, kPrimaryDim});
    Var u = squash(p, 2);                                                           // [N, 72, 4]
    Var w = m.parameter("W", {kPrimary, kClasses, kClassDim, kPrimaryDim}, 0.5f);
    Var u_hat = squeeze(matmul(w, reshape(u, {0, kPrimary, 1, kPrimaryDim, 1})), {4});  // [N, 72, 4, 8]
    Var b = mul(reduceSum(u_hat, {3}), 0.0);                                         // [N, 72, 4] zeros
    Var v;
    for (int64_t r = 0; r < kIterations; ++r) {
      Var c = softmax(b, 2);
      v = squash(reduceSum(mul(unsqueeze(c, {3}), u_hat), {1}), 2);                 // [N, 4, 8]
      if (r + 1 < kIterations) b = add(b, reduceSum(mul(u_hat, unsqueeze(v, {1})), {3}));
    }
    Var length = sqrt(add(reduceSum(mul(v, v), {2}), 1e-9));                         // [N, 4]
    Var zero = mul(length, 0.0);
    Var present = maximum(sub(scalarLike(length, 0.9), length), zero);
    Var absent = maximum(sub(length, scalarLike(length, 0.1)), zero);
    Var margin = add(mul(onehot, mul(present, present)), mul(mul(sub(scalarLike(onehot, 1.0), onehot), mul(absent, absent)), 0.5));
    m.output(reduceMean(reduceSum(margin, {1})), "loss");
    m.output(length, "capsule_lengths");
  };
  e.data = [](std::mt19937_64& rng, int64_t samples) {
    Tensor image = examples::normal(rng, {samples, 1, kSize, kSize}, 0.2f);
    Tensor target = examples::classes(rng, {samples}, kClasses), onehot(DType::F32, {samples, kClasses});
    static const int kShape[kClasses][4][2] = {{{0, 0}, {0, 1}, {1, 0}, {1, 1}}, {{0, 0}, {0, 1}, {0, 2}, {0, 2}},
                                                {{0, 0}, {1, 0}, {2, 0}, {2, 0}}, {{0, 0}, {1, 1}, {2, 2}, {2, 2}}};
    std::uniform_int_distribution<int64_t> at(0, kSize - 3);
    for (int64_t s = 0; s < samples; ++s) {
      const int64_t c = target.data<int64_t>()[s], top = at(rng), left = at(rng);
      onehot.data<float>()[s * kClasses + c] = 1.0f;
      for (int k = 0; k < 4; ++k) image.data<float>()[(s * kSize + top + kShape[c][k][0]) * kSize + left + kShape[c][k][1]] = 2.0f;
    }
    return npz::Arrays{{"image", image}, {"class_onehot", onehot}};
  };
  e.config.loss = "model";
  e.config.optimizer.name = "adam";
  e.config.optimizer.lr = 3e-3;
  e.samples = 512;
  e.epochs = 5;
  return examples::runExample(e, argc, argv);
}
