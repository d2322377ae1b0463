// The autodiff pass itself: rule coverage, errors, gradients of inner values and of unrelated ones.
#include "passes/autodiff/rules.h"
#include "tests/unit/gradient_check.h"

namespace dlc::testing {
namespace {

// Every op of passes/autodiff/gradients.def is differentiated by at least one finite-difference case.
TEST(Autodiff, EveryRuleHasAFiniteDifferenceCase) {
  checkedGradientOps().clear();
  for (const GradCaseDef& d : gradCases()) {
    GradCase c;
    d.build(c);
  }
  std::string missing;
  for (int k = 0; k < kNumOpKinds; ++k)
    if (autodiff::gradEntry(static_cast<OpKind>(k)) && !checkedGradientOps().count(static_cast<OpKind>(k)))
      missing += str(" ", opName(static_cast<OpKind>(k)));
  EXPECT_EQ(missing, "") << "ops with a gradient rule but no case";
}

// Every op on the path without a rule is named in one error, with its location.
TEST(Autodiff, OpsWithoutRulesAreListedAtOnce) {
  GradCase c;
  Value* x = c.input({3, 3});
  Value* d = c.op1(OpKind::Det, {x});
  Value* e = c.op1(OpKind::Einsum, {x}, {{"equation", Attribute::ofString("ij->i")}});
  Value* y = c.op1(OpKind::Add, {c.op1(OpKind::ReduceSum, {e}, {{"keepdims", Attribute::ofInt(0)}}), d});
  auto g = autodiff::gradients(y, nullptr, {x});
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("Det 'Det_0'"), std::string::npos) << g.status().message();
  EXPECT_NE(g.status().message().find("Einsum 'Einsum_1'"), std::string::npos) << g.status().message();
}

// Ops off the path need no rule; a value y does not depend on gets zeros.
TEST(Autodiff, OnlyThePathNeedsRules) {
  GradCase c;
  Value* x = c.input({2, 2});
  Value* other = c.input({2, 2});
  c.op1(OpKind::Det, {other});  // not on the path
  Value* y = c.op1(OpKind::ReduceSum, {c.op1(OpKind::Mul, {x, x})}, {{"keepdims", Attribute::ofInt(0)}});
  auto g = autodiff::gradients(y, nullptr, {x, other});
  ASSERT_TRUE(g.ok()) << g.status().message();
  c.builder().addOutput((*g)[0]);
  c.builder().addOutput((*g)[1]);
  Tensor xv = Tensor::fromVector(DType::F64, {2, 2}, std::vector<double>{1, 2, 3, 4});
  Tensor ov(DType::F64, {2, 2});
  auto out = ref::Interpreter(c.graph()).run({DataValue::ofTensor(xv), DataValue::ofTensor(ov)});
  ASSERT_TRUE(out.ok()) << out.status().message();
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ((*out)[0].tensor.getDouble(i), 2 * xv.getDouble(i));
    EXPECT_EQ((*out)[1].tensor.getDouble(i), 0.0);
  }
}

// Gradients with respect to an inner activation (Grad-CAM's): for h = 3x and L = Σ sin(h),
// dL/dh = cos(h) and dL/dx = 3·dL/dh, both from one call.
TEST(Autodiff, GradientOfAnInnerValue) {
  GradCase c;
  Value* x = c.input({5});
  Value* h = c.op1(OpKind::Mul, {x, c.scalar(3)});
  Value* y = c.op1(OpKind::ReduceSum, {c.op1(OpKind::Sin, {h})}, {{"keepdims", Attribute::ofInt(0)}});
  auto g = autodiff::gradients(y, nullptr, {h, x});
  ASSERT_TRUE(g.ok()) << g.status().message();
  c.builder().addOutput((*g)[0]);
  c.builder().addOutput((*g)[1]);
  Tensor xv = Tensor::fromVector(DType::F64, {5}, std::vector<double>{-1, -0.5, 0, 0.5, 1});
  auto out = ref::Interpreter(c.graph()).run({DataValue::ofTensor(xv)});
  ASSERT_TRUE(out.ok()) << out.status().message();
  for (int i = 0; i < 5; ++i) {
    EXPECT_NEAR((*out)[0].tensor.getDouble(i), std::cos(3 * xv.getDouble(i)), 1e-12);
    EXPECT_NEAR((*out)[1].tensor.getDouble(i), 3 * std::cos(3 * xv.getDouble(i)), 1e-12);
  }
}

// StopGradient is a constant to autodiff (torch's detach): for L = Σ x · sg(x) + sg(x)², dL/dx = x;
// lower-gradients removes it, and the unfuse pass too (ONNX has no such op).
TEST(Autodiff, StopGradientIsAConstant) {
  GradCase c;
  Value* x = c.input({4});
  Value* sg = c.op1(OpKind::StopGradient, {x});
  Value* y = c.op1(OpKind::ReduceSum, {c.op1(OpKind::Add, {c.op1(OpKind::Mul, {x, sg}), c.op1(OpKind::Mul, {sg, sg})})},
                   {{"keepdims", Attribute::ofInt(0)}});
  auto g = autodiff::gradients(y, nullptr, {x});
  ASSERT_TRUE(g.ok()) << g.status().message();
  c.builder().addOutput((*g)[0]);
  Tensor xv = Tensor::fromVector(DType::F64, {4}, std::vector<double>{-2, -0.5, 1, 3});
  auto out = ref::Interpreter(c.graph()).run({DataValue::ofTensor(xv)});
  ASSERT_TRUE(out.ok()) << out.status().message();
  for (int i = 0; i < 4; ++i) EXPECT_EQ((*out)[0].tensor.getDouble(i), xv.getDouble(i));
  // Nothing differentiated through it: no rule needed even for an op without one behind it.
  GradCase d;
  Value* x2 = d.input({3, 3});
  Value* det = d.op1(OpKind::StopGradient, {d.op1(OpKind::Det, {x2})});
  Value* y2 = d.op1(OpKind::Add, {d.op1(OpKind::ReduceSum, {x2}, {{"keepdims", Attribute::ofInt(0)}}), det});
  EXPECT_TRUE(autodiff::gradients(y2, nullptr, {x2}).ok());
}

TEST(Autodiff, RejectsNonFloatAndForeignValues) {
  GradCase c;
  Value* x = c.input({2});
  Value* idx = c.addInput(Tensor::fromVector(DType::I64, {2}, std::vector<int64_t>{0, 1}));
  Value* y = c.op1(OpKind::ReduceSum, {x}, {{"keepdims", Attribute::ofInt(0)}});
  auto g = autodiff::gradients(y, nullptr, {idx});
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("not a float tensor"), std::string::npos) << g.status().message();
  Graph other;
  Value* foreign = Builder(other.body()).addInput("z", Type::tensor(DType::F64, Shape::of({2})));
  g = autodiff::gradients(y, nullptr, {foreign});
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("not a value of the region"), std::string::npos) << g.status().message();
}

}  // namespace
}  // namespace dlc::testing
