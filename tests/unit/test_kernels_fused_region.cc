// Reference kernels of dlc's fused ops (Gelu, Attention, FusedElementwise) against hand-computed values.
#include <cmath>

#include "tests/unit/op_runner.h"

namespace dlc::testing {
namespace {

TEST(FusedRegionKernels, GeluErfForm) {
  auto out = runOp(OpKind::Gelu, {f32({4}, {-1.0f, 0.0f, 0.5f, 2.0f})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  // 0.5 x (1 + erf(x / √2))
  expectTensor((*out)[0], {4}, {-0.15865525393145707, 0.0, 0.34573123063700656, 1.9544997361036416}, 1e-6);
}

TEST(FusedRegionKernels, GeluTanhForm) {
  auto out = runOp(OpKind::Gelu, {f32({4}, {-1.0f, 0.0f, 0.5f, 2.0f})}, {{"approximate", Attribute::ofString("tanh")}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  // 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))
  expectTensor((*out)[0], {4}, {-0.15880800939172324, 0.0, 0.34571400982514394, 1.954597694087775}, 1e-6);
}

TEST(FusedRegionKernels, GeluRejectsUnknownMode) {
  auto out = runOp(OpKind::Gelu, {f32({1}, {1.0f})}, {{"approximate", Attribute::ofString("fast")}});
  EXPECT_FALSE(out.ok());
}

TEST(FusedRegionKernels, AttentionOneHead) {
  // Q = K = I, scale 1: each row's scores are [1, 0] or [0, 1]; a = e / (e + 1).
  Tensor q = f32({1, 2, 2}, {1, 0, 0, 1});
  Tensor v = f32({1, 2, 2}, {1, 2, 3, 4});
  auto out = runOp(OpKind::Attention, {q, q, v},
                   {{"num_heads", Attribute::ofInt(1)}, {"scale", Attribute::ofFloat(1.0f)}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  const double a = std::exp(1.0) / (std::exp(1.0) + 1.0);
  expectTensor((*out)[0], {1, 2, 2}, {a * 1 + (1 - a) * 3, a * 2 + (1 - a) * 4, (1 - a) * 1 + a * 3, (1 - a) * 2 + a * 4},
               1e-6);
}

TEST(FusedRegionKernels, AttentionTwoHeadsWithMaskAndDefaultScale) {
  // B=1, S=1, T=2, H=2, D=1 (default scale 1/√1). Head 0: q 1, keys [1, 0], values [10, 30];
  // head 1: q 2, keys [1, 3], values [20, 40]. Mask [0, -0.5] is added to both heads' scores.
  Tensor q = f32({1, 1, 2}, {1, 2});
  Tensor k = f32({1, 2, 2}, {1, 1, 0, 3});
  Tensor v = f32({1, 2, 2}, {10, 20, 30, 40});
  Tensor m = f32({1, 1, 1, 2}, {0.0f, -0.5f});
  auto out = runOp(OpKind::Attention, {q, k, v, m}, {{"num_heads", Attribute::ofInt(2)}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  const double p0 = 1.0 / (1.0 + std::exp(-0.5 - 1.0));  // scores [1, -0.5]
  const double p1 = 1.0 / (1.0 + std::exp(5.5 - 2.0));   // scores [2, 5.5]
  expectTensor((*out)[0], {1, 1, 2}, {p0 * 10 + (1 - p0) * 30, p1 * 20 + (1 - p1) * 40}, 1e-5);
}

TEST(FusedRegionKernels, AttentionRejectsIndivisibleHeads) {
  Tensor q = f32({1, 1, 3}, {1, 2, 3});
  Graph g;
  Builder b(g.body());
  Value* x = b.addInput("q", Type::tensor(DType::F32, Shape::of({1, 1, 3})));
  auto op = b.create(OpKind::Attention, {x, x, x}, {{"num_heads", Attribute::ofInt(2)}});
  EXPECT_FALSE(op.ok());  // shape inference: 3 is not divisible by 2
}

TEST(FusedRegionKernels, AttentionInfersSymbolicShapes) {
  Graph g;
  Builder b(g.body());
  Value* q = b.addInput("q", Type::tensor(DType::F32, Shape({Dim::sym("N"), Dim::sym("S"), Dim::of(8)})));
  Value* k = b.addInput("k", Type::tensor(DType::F32, Shape({Dim::sym("N"), Dim::sym("T"), Dim::of(8)})));
  Value* v = b.addInput("v", Type::tensor(DType::F32, Shape({Dim::sym("N"), Dim::sym("T"), Dim::of(12)})));
  auto y = b.create1(OpKind::Attention, {q, k, v}, {{"num_heads", Attribute::ofInt(4)}});
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ((*y)->type().toString(), "f32[N,S,12]");
}

TEST(FusedRegionKernels, FusedElementwiseRunsItsBody) {
  // body(x, y) = (x + y) * x
  Graph g;
  Builder b(g.body());
  const Type t = Type::tensor(DType::F32, Shape::of({3}));
  Value* x = b.addInput("x", t);
  Value* y = b.addInput("y", t);
  auto body = std::make_shared<Region>();
  Builder bb(*body);
  Value* bx = bb.addInput("bx", t);
  Value* by = bb.addInput("by", t);
  auto sum = bb.create1(OpKind::Add, {bx, by});
  ASSERT_TRUE(sum.ok());
  auto prod = bb.create1(OpKind::Mul, {*sum, bx});
  ASSERT_TRUE(prod.ok());
  bb.addOutput(*prod);
  auto fused = b.create1(OpKind::FusedElementwise, {x, y}, {{"body", Attribute::ofGraph(body)}});
  ASSERT_TRUE(fused.ok()) << fused.status().message();
  EXPECT_EQ((*fused)->type().toString(), "f32[3]");
  b.addOutput(*fused);
  ref::Interpreter interp(g);
  auto outs = interp.run({ref::RtValue::ofTensor(f32({3}, {1, 2, 3})), ref::RtValue::ofTensor(f32({3}, {4, 5, -6}))});
  ASSERT_TRUE(outs.ok()) << outs.status().message();
  expectTensor((*outs)[0].tensor, {3}, {5, 14, -9});
}

}  // namespace
}  // namespace dlc::testing
