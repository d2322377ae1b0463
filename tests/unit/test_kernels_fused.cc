// Tests for the FusedConv and FusedMatMul reference kernels and their shape inference, against
// hand-computed values.
#include <cmath>

#include "tests/unit/op_runner.h"

namespace dlc::testing {
namespace {

Attribute s(const char* v) { return Attribute::ofString(v); }
Attribute f(float v) { return Attribute::ofFloat(v); }

// 1x1 conv, 2 -> 2 channels over a 1x2 image: conv = W·x per pixel.
//   x = [[1, -2], [3, 4]] (channel, pixel), W = [[1, 1], [1, -1]]: conv = [[4, 2], [-2, -6]]
//   + B = [0.5, -10] -> [[4.5, 2.5], [-12, -16]];  + R = [[1, 1], [2, 2]] -> [[5.5, 3.5], [-10, -14]]
TEST(FusedConvKernel, BiasResidualRelu) {
  Tensor x = f32({1, 2, 1, 2}, {1, -2, 3, 4}), w = f32({2, 2, 1, 1}, {1, 1, 1, -1}), b = f32({2}, {0.5f, -10});
  Tensor r = f32({1, 2, 1, 2}, {1, 1, 2, 2});
  auto out = runOp(OpKind::FusedConv, {x, w, b, r}, {{"activation", s("Relu")}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  expectTensor((*out)[0], {1, 2, 1, 2}, {5.5, 3.5, 0, 0});
  auto none = runOp(OpKind::FusedConv, {x, w, b, r});
  ASSERT_TRUE(none.ok()) << none.status().message();
  expectTensor((*none)[0], {1, 2, 1, 2}, {5.5, 3.5, -10, -14});
  // Residual without a bias (absent optional input in the middle): [[5, 3], [0, -4]], LeakyRelu 0.5.
  auto nob = runOp(OpKind::FusedConv, {x, w, Tensor(), r}, {{"activation", s("LeakyRelu")}, {"activation_alpha", f(0.5f)}});
  ASSERT_TRUE(nob.ok()) << nob.status().message();
  expectTensor((*nob)[0], {1, 2, 1, 2}, {5, 3, 0, -2});
}

// A 3x3 conv with padding goes through the same conv code: a ones kernel sums the neighbourhood.
TEST(FusedConvKernel, PaddedConvWithClip) {
  Tensor x = f32({1, 1, 2, 2}, {1, 2, 3, 4}), w = f32({1, 1, 3, 3}, std::vector<float>(9, 1.0f));
  auto out = runOp(OpKind::FusedConv, {x, w},
                   {{"pads", Attribute::ofInts({1, 1, 1, 1})}, {"activation", s("Clip")},
                    {"activation_alpha", f(0)}, {"activation_beta", f(6)}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  expectTensor((*out)[0], {1, 1, 2, 2}, {6, 6, 6, 6});  // every window sums to 10, clipped at 6
}

// Each activation on the values v = conv(x) = x (identity 1x1 weights).
TEST(FusedConvKernel, Activations) {
  const std::vector<float> v = {-3, -0.5f, 0, 0.5f, 3};
  Tensor x = f32({1, 1, 1, 5}, v), w = f32({1, 1, 1, 1}, {1});
  auto check = [&](const char* act, float a, float b, double (*ref)(double)) {
    auto out = runOp(OpKind::FusedConv, {x, w},
                     {{"activation", s(act)}, {"activation_alpha", f(a)}, {"activation_beta", f(b)}});
    ASSERT_TRUE(out.ok()) << act << ": " << out.status().message();
    std::vector<double> want;
    for (float e : v) want.push_back(ref(e));
    expectTensor((*out)[0], {1, 1, 1, 5}, want, 1e-6);
  };
  check("none", 0, 0, [](double t) { return t; });
  check("Sigmoid", 0, 0, [](double t) { return 1 / (1 + std::exp(-t)); });
  check("HardSigmoid", 0.2f, 0.5f, [](double t) { return std::max(0.0, std::min(1.0, 0.2 * t + 0.5)); });
  check("HardSwish", 0, 0, [](double t) { return t * std::max(0.0, std::min(1.0, t / 6 + 0.5)); });
  check("Silu", 0, 0, [](double t) { return t / (1 + std::exp(-t)); });
  check("Gelu", 0, 0, [](double t) { return 0.5 * t * (1 + std::erf(t / std::sqrt(2.0))); });
  check("Tanh", 0, 0, [](double t) { return std::tanh(t); });
  // Hand-computed points: HardSwish(3) = 3, Gelu(0.5) = 0.3457312..., Silu(-3) = -0.1422776...
  auto hs = runOp(OpKind::FusedConv, {x, w}, {{"activation", s("HardSwish")}});
  ASSERT_TRUE(hs.ok());
  EXPECT_NEAR((*hs)[0].getDouble(4), 3.0, 1e-6);
  auto ge = runOp(OpKind::FusedConv, {x, w}, {{"activation", s("Gelu")}});
  ASSERT_TRUE(ge.ok());
  EXPECT_NEAR((*ge)[0].getDouble(3), 0.3457312306, 1e-6);
  auto si = runOp(OpKind::FusedConv, {x, w}, {{"activation", s("Silu")}});
  ASSERT_TRUE(si.ok());
  EXPECT_NEAR((*si)[0].getDouble(0), -0.1422776195, 1e-6);
}

TEST(FusedConvKernel, Errors) {
  Tensor x = f32({1, 1, 1, 2}, {1, 2}), w = f32({1, 1, 1, 1}, {1});
  auto bad = runOp(OpKind::FusedConv, {x, w}, {{"activation", s("Swish")}});
  EXPECT_FALSE(bad.ok());  // unknown activation: an inference error before the kernel runs
  auto badr = runOp(OpKind::FusedConv, {x, w, Tensor(), f32({1, 1, 1, 1}, {1})});
  EXPECT_FALSE(badr.ok());  // a residual of a broadcast shape is rejected
}

// A = [[1, 2], [3, 4]], B = [[1, 0], [1, 1]]: A·B = [[3, 2], [7, 4]]; alpha 2 -> [[6, 4], [14, 8]];
// C = [1, -20] (broadcast over rows) -> [[7, -16], [15, -12]]; R = 1 -> [[8, -15], [16, -11]].
TEST(FusedMatMulKernel, AlphaBiasResidualRelu) {
  Tensor a = f32({2, 2}, {1, 2, 3, 4}), b = f32({2, 2}, {1, 0, 1, 1}), c = f32({2}, {1, -20});
  Tensor r = f32({2, 2}, {1, 1, 1, 1});
  auto out = runOp(OpKind::FusedMatMul, {a, b, c, r}, {{"alpha", f(2)}, {"activation", s("Relu")}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  expectTensor((*out)[0], {2, 2}, {8, 0, 16, 0});
}

// transA/transB swap the last two dims: op(A) = A^T, op(B) = B^T gives A^T·B^T = (B·A)^T.
//   B·A = [[1, 2], [4, 6]] -> transposed [[1, 4], [2, 6]].
TEST(FusedMatMulKernel, Transposes) {
  Tensor a = f32({2, 2}, {1, 2, 3, 4}), b = f32({2, 2}, {1, 0, 1, 1});
  auto out = runOp(OpKind::FusedMatMul, {a, b}, {{"transA", Attribute::ofInt(1)}, {"transB", Attribute::ofInt(1)}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  expectTensor((*out)[0], {2, 2}, {1, 4, 2, 6});
}

// MatMul batching: [2, 1, 2] @ [2, 1] -> [2, 1, 1]; C a scalar; Tanh.
TEST(FusedMatMulKernel, BatchedWithScalarC) {
  Tensor a = f32({2, 1, 2}, {1, 1, 0.5f, -1}), b = f32({2, 1}, {0.25f, 0.25f}), c = f32({}, {0.5f});
  auto out = runOp(OpKind::FusedMatMul, {a, b, c}, {{"activation", s("Tanh")}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  expectTensor((*out)[0], {2, 1, 1}, {std::tanh(1.0), std::tanh(0.375)});
}

TEST(FusedMatMulKernel, Errors) {
  Tensor a = f32({2, 2}, {1, 2, 3, 4}), b = f32({2, 2}, {1, 0, 1, 1});
  EXPECT_FALSE(runOp(OpKind::FusedMatMul, {a, b}, {{"activation", s("Elu")}}).ok());
  EXPECT_FALSE(runOp(OpKind::FusedMatMul, {a, b, f32({3}, {1, 2, 3})}).ok());  // C does not broadcast
  EXPECT_FALSE(runOp(OpKind::FusedMatMul, {a, f32({3, 2}, {1, 2, 3, 4, 5, 6})}).ok());  // inner dims differ
}

}  // namespace
}  // namespace dlc::testing
