// Tests for the native C++ builder API: graph shape, sticky errors, and a run with known weights.
#include <gtest/gtest.h>

#include <cmath>

#include "backends/reference/interpreter.h"
#include "frontend/builder/losses.h"
#include "frontend/builder/model.h"
#include "frontend/builder/training_step.h"
#include "ir/verifier.h"

namespace dlc::builder {
namespace {

TEST(Builder, LinearReluWithKnownWeightsRuns) {
  Model m("tiny");
  Var x = m.input("x", DType::F32, {Dim::sym("N"), Dim::of(2)});
  Var w = m.constant(Tensor::fromVector(DType::F32, {2, 3}, std::vector<float>{1, -1, 2, 0.5f, 3, -4}), "w");
  Var b = m.constant(Tensor::fromVector(DType::F32, {3}, std::vector<float>{0.5f, 0, -1}), "b");
  Var y = relu(add(matmul(x, w), b));
  m.output(y, "y");
  auto g = m.finish();
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_TRUE(verifyGraph(**g).ok());
  // Symbolic batch dim flows to the output type.
  EXPECT_EQ((*g)->body().output(0)->type().toString(), "f32[N,3]");

  // x = [[1, 2], [-1, 1]]:
  //   row 0: [1*1+2*0.5, 1*-1+2*3, 1*2+2*-4] + b = [2.5, 5, -7] -> relu [2.5, 5, 0]
  //   row 1: [-1+0.5, 1+3, -2-4] + b = [0, 4, -7] -> relu [0, 4, 0]
  Tensor in = Tensor::fromVector(DType::F32, {2, 2}, std::vector<float>{1, 2, -1, 1});
  auto out = ref::Interpreter(**g).run({DataValue::ofTensor(in)});
  ASSERT_TRUE(out.ok()) << out.status().message();
  const Tensor& t = (*out)[0].tensor;
  ASSERT_EQ(t.shape(), (std::vector<int64_t>{2, 3}));
  std::vector<float> expected = {2.5f, 5, 0, 0, 4, 0};
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(t.data<float>()[i], expected[static_cast<size_t>(i)]) << i;
}

TEST(Builder, FirstErrorIsStickyAndNamesTheOp) {
  Model m("bad");
  Var x = m.input("x", DType::F32, {Dim::of(4), Dim::of(5)});
  Var w = m.constant(Tensor(DType::F32, {6, 3}), "w");
  Var y = relu(matmul(x, w));  // inner dims 5 vs 6: the MatMul fails, the Relu is skipped
  m.output(y);
  auto g = m.finish();
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("MatMul"), std::string::npos) << g.status().message();
}

TEST(Builder, ModelWithoutOutputsIsAnError) {
  Model m("empty");
  m.input("x", DType::F32, {Dim::of(1)});
  EXPECT_FALSE(m.finish().ok());
}

TEST(Builder, ConvRejectsChannelsNotDivisibleByGroups) {
  Model m("conv");
  Conv2d conv(m, "c", 6, 4, 3, 1, 1, /*groups=*/4);
  EXPECT_FALSE(m.ok());
}

}  // namespace
}  // namespace dlc::builder

namespace dlc::builder {
namespace {

// GroupNorm over [N, C, H, W] = [1, 4, 1, 2] in 2 groups: each group's 4 values normalized by their
// own mean and biased variance (γ = 1, β = 0 initially), as torch.nn.GroupNorm computes it.
TEST(Builder, GroupNormNormalizesEachGroup) {
  Model m("gn");
  Var x = m.input("x", DType::F32, {Dim::sym("N"), Dim::of(4), Dim::of(1), Dim::of(2)});
  m.output(GroupNorm(m, "gn", 2, 4, 0.0f)(x), "y");
  auto g = m.finish();
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ((*g)->body().output(0)->type().toString(), "f32[N,4,1,2]");
  std::vector<float> v{1, 2, 3, 4, -2, 0, 0, 2};
  auto out = ref::Interpreter(**g).run({DataValue::ofTensor(Tensor::fromVector(DType::F32, {1, 4, 1, 2}, v))});
  ASSERT_TRUE(out.ok()) << out.status().message();
  // Group 0 = {1, 2, 3, 4}: mean 2.5, variance 1.25; group 1 = {−2, 0, 0, 2}: mean 0, variance 2.
  const float expected[8] = {-1.5f / std::sqrt(1.25f), -0.5f / std::sqrt(1.25f), 0.5f / std::sqrt(1.25f), 1.5f / std::sqrt(1.25f),
                             -2 / std::sqrt(2.0f), 0, 0, 2 / std::sqrt(2.0f)};
  for (int i = 0; i < 8; ++i) EXPECT_NEAR((*out)[0].tensor.data<float>()[i], expected[i], 1e-6) << i;
}

// RMSNorm over the last dim: rows {3, 4} and {1, -1} have mean squares 12.5 and 1 (ε 0, weight 1).
TEST(Builder, RMSNormScalesEachRow) {
  Model m("rms");
  Var x = m.input("x", DType::F32, {Dim::sym("N"), Dim::of(2)});
  m.output(RMSNorm(m, "norm", 2, 0.0f)(x), "y");
  auto g = m.finish();
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ((*g)->body().output(0)->type().toString(), "f32[N,2]");
  auto out = ref::Interpreter(**g).run({DataValue::ofTensor(Tensor::fromVector(DType::F32, {2, 2}, std::vector<float>{3, 4, 1, -1}))});
  ASSERT_TRUE(out.ok()) << out.status().message();
  const float expected[4] = {3 / std::sqrt(12.5f), 4 / std::sqrt(12.5f), 1, -1};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR((*out)[0].tensor.data<float>()[i], expected[i], 1e-6) << i;
}

TEST(Builder, SequenceLayersGiveBatchFirstShapes) {
  Model m("seq");
  Var x = m.input("x", DType::F32, {Dim::sym("N"), Dim::of(5), Dim::of(3)});
  auto [y, h] = Recurrent(m, "lstm", Recurrent::Cell::Lstm, 3, 4, true)(x);
  Var a = MultiheadAttention(m, "attn", 8, 2)(y, causalMask(m, 5));
  m.output(a, "a");
  m.output(h, "h");
  auto g = m.finish();
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ((*g)->body().output(0)->type().toString(), "f32[N,5,8]");
  EXPECT_EQ((*g)->body().output(1)->type().toString(), "f32[2,N,4]");
  Model bad("bad");
  MultiheadAttention(bad, "attn", 6, 4);
  EXPECT_NE(bad.finish().status().message().find("dim 6 does not split into 4 heads"), std::string::npos);
}

// The "model" loss is the model's own first output, which must be a float scalar.
TEST(Builder, ModelLossIsTheFirstOutputAndMustBeAScalar) {
  Model m("own");
  Var x = m.input("x", DType::F32, {Dim::of(3)});
  Var total = reduceSum(x);
  EXPECT_EQ(loss("model", {total}, Var(), {}).value(), total.value());
  ASSERT_TRUE(lossSignature("model").ok());
  EXPECT_FALSE(lossSignature("model")->target);
  loss("model", {x}, Var(), {});
  EXPECT_NE(m.status().message().find("must be a float scalar; it is f32[3]"), std::string::npos) << m.status().message();
}

}  // namespace
}  // namespace dlc::builder

namespace dlc::builder {
namespace {

// bf16 mixed precision: the training step's MatMul reads bf16 casts of its f32 operands and its
// result goes back to f32 under its own name; the parameters (master weights) stay f32 inputs.
TEST(Builder, Bf16AutocastCastsTheMatMulOnly) {
  Model m("mlp");
  Var x = m.input("x", DType::F32, {Dim::sym("N"), Dim::of(4)});
  m.output(relu(Linear(m, "fc", 4, 3)(x)), "logits");
  auto g = m.finish();
  ASSERT_TRUE(g.ok()) << g.status().message();
  TrainingConfig config;
  config.precision = "bf16";
  auto step = buildTrainingStep(std::move(*g), config);
  ASSERT_TRUE(step.ok()) << step.status().message();
  int bf16_matmuls = 0, f32_matmuls = 0;
  walkOps(step->graph->body(), [&](const Op* op) {
    if (op->kind() != OpKind::MatMul) return;
    const DType dt = op->result(0)->type().dtype;
    bf16_matmuls += dt == DType::BF16;
    f32_matmuls += dt == DType::F32;
    if (dt == DType::BF16)
      for (int i = 0; i < op->numOperands(); ++i) EXPECT_EQ(op->operand(i)->definingOp()->kind(), OpKind::Cast);
  });
  EXPECT_EQ(bf16_matmuls, 1);
  EXPECT_EQ(f32_matmuls, 0);
  for (const StateInfo& s : step->states)
    if (s.kind == StateInfo::Kind::Parameter) EXPECT_EQ(s.initial.dtype(), DType::F32) << s.name;
  config.precision = "fp8";
  Model m2("mlp");
  Var x2 = m2.input("x", DType::F32, {Dim::of(2), Dim::of(4)});
  m2.output(Linear(m2, "fc", 4, 3)(x2), "logits");
  auto bad = buildTrainingStep(std::move(*m2.finish()), config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("precision 'fp8' is not one of f32, bf16"), std::string::npos);
}

}  // namespace
}  // namespace dlc::builder
