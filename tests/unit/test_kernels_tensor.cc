// Reference kernels for the shape/layout tensor ops, with hand-computed (or ONNX test-data) values.
#include <limits>

#include "tests/unit/op_runner.h"

namespace dlc {
namespace {
using testing::expectTensor;
using testing::f32;
using testing::i64;
using testing::runOp;

std::vector<double> iota(int n, double start = 0) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(start + i);
  return v;
}
Tensor f32Iota(std::vector<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(static_cast<float>(i));
  return f32(std::move(shape), v);
}

TEST(TensorKernels, ReshapeWithZeroAndMinusOne) {
  auto r = runOp(OpKind::Reshape, {f32Iota({2, 3, 4}), i64({3}, {0, -1, 2})});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor(r.value()[0], {2, 6, 2}, iota(24));
  // allowzero=1: a 0 entry is a real zero-sized dim.
  auto z = runOp(OpKind::Reshape, {f32({0, 3}, {}), i64({2}, {3, 0})}, {{"allowzero", Attribute::ofInt(1)}});
  ASSERT_TRUE(z.ok()) << z.status().message();
  EXPECT_EQ(z.value()[0].shape(), (std::vector<int64_t>{3, 0}));
  EXPECT_FALSE(runOp(OpKind::Reshape, {f32Iota({2, 3}), i64({2}, {4, -1})}).ok());
  EXPECT_FALSE(runOp(OpKind::Reshape, {f32Iota({2, 3}), i64({2}, {-1, -1})}).ok());
}

TEST(TensorKernels, ReshapeSharesStorage) {
  Tensor x = f32Iota({2, 3});
  auto r = runOp(OpKind::Reshape, {x, i64({1}, {6})});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value()[0].raw(), x.raw());
}

TEST(TensorKernels, FlattenSqueezeUnsqueeze) {
  auto f = runOp(OpKind::Flatten, {f32Iota({2, 3, 4})}, {{"axis", Attribute::ofInt(-1)}});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.value()[0].shape(), (std::vector<int64_t>{6, 4}));
  auto f0 = runOp(OpKind::Flatten, {f32Iota({2, 3})}, {{"axis", Attribute::ofInt(0)}});
  ASSERT_TRUE(f0.ok());
  EXPECT_EQ(f0.value()[0].shape(), (std::vector<int64_t>{1, 6}));
  auto s = runOp(OpKind::Squeeze, {f32Iota({1, 3, 1}), i64({1}, {-1})});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s.value()[0].shape(), (std::vector<int64_t>{1, 3}));
  auto s_all = runOp(OpKind::Squeeze, {f32Iota({1, 3, 1}), Tensor()});
  ASSERT_TRUE(s_all.ok());
  EXPECT_EQ(s_all.value()[0].shape(), (std::vector<int64_t>{3}));
  EXPECT_FALSE(runOp(OpKind::Squeeze, {f32Iota({2, 3}), i64({1}, {0})}).ok());
  auto u = runOp(OpKind::Unsqueeze, {f32Iota({3, 4}), i64({2}, {0, -1})});
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u.value()[0].shape(), (std::vector<int64_t>{1, 3, 4, 1}));
  EXPECT_FALSE(runOp(OpKind::Unsqueeze, {f32Iota({3}), i64({2}, {0, 0})}).ok());
}

TEST(TensorKernels, Transpose) {
  auto r = runOp(OpKind::Transpose, {f32Iota({2, 3})});
  ASSERT_TRUE(r.ok());
  expectTensor(r.value()[0], {3, 2}, {0, 3, 1, 4, 2, 5});
  // [2,3,4] perm (1,0,2): rows of 4 stay contiguous.
  auto p = runOp(OpKind::Transpose, {f32Iota({2, 3, 4})}, {{"perm", Attribute::ofInts({1, 0, 2})}});
  ASSERT_TRUE(p.ok());
  expectTensor(p.value()[0], {3, 2, 4},
               {0, 1, 2, 3, 12, 13, 14, 15, 4, 5, 6, 7, 16, 17, 18, 19, 8, 9, 10, 11, 20, 21, 22, 23});
  EXPECT_FALSE(runOp(OpKind::Transpose, {f32Iota({2, 3})}, {{"perm", Attribute::ofInts({0, 0})}}).ok());
}

TEST(TensorKernels, TransposeStrings) {
  Tensor s(DType::String, {2, 2});
  s.strings() = {"a", "b", "c", "d"};
  auto r = runOp(OpKind::Transpose, {s});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value()[0].strings(), (std::vector<std::string>{"a", "c", "b", "d"}));
}

TEST(TensorKernels, ConcatAndSplit) {
  auto c = runOp(OpKind::Concat, {f32Iota({2, 2}), f32({2, 1}, {10, 11})}, {{"axis", Attribute::ofInt(-1)}});
  ASSERT_TRUE(c.ok());
  expectTensor(c.value()[0], {2, 3}, {0, 1, 10, 2, 3, 11});
  EXPECT_FALSE(runOp(OpKind::Concat, {f32Iota({2, 2}), f32Iota({3, 1})}, {{"axis", Attribute::ofInt(1)}}).ok());
  auto s = runOp(OpKind::Split, {f32Iota({2, 3}), i64({2}, {1, 2})}, {{"axis", Attribute::ofInt(1)}}, 2);
  ASSERT_TRUE(s.ok());
  expectTensor(s.value()[0], {2, 1}, {0, 3});
  expectTensor(s.value()[1], {2, 2}, {1, 2, 4, 5});
  auto e = runOp(OpKind::Split, {f32Iota({6}), Tensor()}, {}, 3);
  ASSERT_TRUE(e.ok());
  expectTensor(e.value()[2], {2}, {4, 5});
  EXPECT_FALSE(runOp(OpKind::Split, {f32Iota({6}), i64({2}, {1, 2})}, {}, 2).ok());
}

TEST(TensorKernels, SliceBasicAndClamping) {
  // x[0:2, 1:1000] of a 3x4: ends are clamped.
  auto r = runOp(OpKind::Slice, {f32Iota({3, 4}), i64({2}, {0, 1}), i64({2}, {2, 1000})});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor(r.value()[0], {2, 3}, {1, 2, 3, 5, 6, 7});
  // Start past the end gives an empty dim.
  auto e = runOp(OpKind::Slice, {f32Iota({3, 4}), i64({1}, {10}), i64({1}, {20}), i64({1}, {1})});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e.value()[0].shape(), (std::vector<int64_t>{3, 0}));
}

TEST(TensorKernels, SliceNegativeSteps) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  // x[::-1] of [0..5)
  auto r = runOp(OpKind::Slice, {f32Iota({5}), i64({1}, {-1}), i64({1}, {kMin}), i64({1}, {0}), i64({1}, {-1})});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor(r.value()[0], {5}, {4, 3, 2, 1, 0});
  // x[3:0:-2, ...] of 4x2 -> rows 3, 1
  auto s = runOp(OpKind::Slice, {f32Iota({4, 2}), i64({1}, {3}), i64({1}, {0}), i64({1}, {0}), i64({1}, {-2})});
  ASSERT_TRUE(s.ok());
  expectTensor(s.value()[0], {2, 2}, {6, 7, 2, 3});
  // Negative steps on inner dims too: x[::-1, ::-2] of a 3x4.
  auto both = runOp(OpKind::Slice, {f32Iota({3, 4}), i64({2}, {-1, -1}), i64({2}, {kMin, kMin}), Tensor(), i64({2}, {-1, -2})});
  ASSERT_TRUE(both.ok()) << both.status().message();
  expectTensor(both.value()[0], {3, 2}, {11, 9, 7, 5, 3, 1});
  EXPECT_FALSE(runOp(OpKind::Slice, {f32Iota({4}), i64({1}, {0}), i64({1}, {4}), i64({1}, {0}), i64({1}, {0})}).ok());
}

TEST(TensorKernels, ShapeSizeExpandConstantOfShape) {
  auto s = runOp(OpKind::Shape, {f32Iota({2, 3, 4})}, {{"start", Attribute::ofInt(-2)}});
  ASSERT_TRUE(s.ok());
  expectTensor(s.value()[0], {2}, {3, 4});
  auto n = runOp(OpKind::Size, {f32Iota({2, 3, 4})});
  ASSERT_TRUE(n.ok());
  expectTensor(n.value()[0], {}, {24});
  auto e = runOp(OpKind::Expand, {f32({3, 1}, {1, 2, 3}), i64({3}, {2, 1, 2})});
  ASSERT_TRUE(e.ok());
  expectTensor(e.value()[0], {2, 3, 2}, {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3});
  EXPECT_FALSE(runOp(OpKind::Expand, {f32Iota({3}), i64({1}, {2})}).ok());
  auto c = runOp(OpKind::ConstantOfShape, {i64({2}, {2, 2})}, {{"value", Attribute::ofTensor(i64({1}, {7}))}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.value()[0].dtype(), DType::I64);
  expectTensor(c.value()[0], {2, 2}, {7, 7, 7, 7});
}

TEST(TensorKernels, PadModes) {
  Tensor x = f32({3}, {1, 2, 3});
  auto c = runOp(OpKind::Pad, {x, i64({2}, {2, 1}), f32({}, {9})});
  ASSERT_TRUE(c.ok()) << c.status().message();
  expectTensor(c.value()[0], {6}, {9, 9, 1, 2, 3, 9});
  auto r = runOp(OpKind::Pad, {x, i64({2}, {2, 2}), Tensor()}, {{"mode", Attribute::ofString("reflect")}});
  ASSERT_TRUE(r.ok());
  expectTensor(r.value()[0], {7}, {3, 2, 1, 2, 3, 2, 1});
  auto e = runOp(OpKind::Pad, {x, i64({2}, {1, 2}), Tensor()}, {{"mode", Attribute::ofString("edge")}});
  ASSERT_TRUE(e.ok());
  expectTensor(e.value()[0], {6}, {1, 1, 2, 3, 3, 3});
  // Negative pads crop.
  auto n = runOp(OpKind::Pad, {f32Iota({2, 3}), i64({4}, {0, -1, 1, 0}), Tensor()});
  ASSERT_TRUE(n.ok());
  expectTensor(n.value()[0], {3, 2}, {1, 2, 4, 5, 0, 0});
}

TEST(TensorKernels, Tile) {
  auto r = runOp(OpKind::Tile, {f32({2, 2}, {1, 2, 3, 4}), i64({2}, {2, 1})});
  ASSERT_TRUE(r.ok());
  expectTensor(r.value()[0], {4, 2}, {1, 2, 3, 4, 1, 2, 3, 4});
  auto c = runOp(OpKind::Tile, {f32({2}, {1, 2}), i64({1}, {3})});
  ASSERT_TRUE(c.ok());
  expectTensor(c.value()[0], {6}, {1, 2, 1, 2, 1, 2});
}

TEST(TensorKernels, DepthToSpaceAndBack) {
  // ONNX test_depthtospace_crd_mode_example, first output row checked by hand.
  std::vector<float> v;
  for (int c = 0; c < 8; ++c)
    for (int i = 0; i < 6; ++i) v.push_back(static_cast<float>(c * 9 + (i / 3) * 3 + i % 3));
  Tensor x = f32({1, 8, 2, 3}, v);
  auto crd = runOp(OpKind::DepthToSpace, {x}, {{"blocksize", Attribute::ofInt(2)}, {"mode", Attribute::ofString("CRD")}});
  ASSERT_TRUE(crd.ok());
  ASSERT_EQ(crd.value()[0].shape(), (std::vector<int64_t>{1, 2, 4, 6}));
  std::vector<double> row0{0, 9, 1, 10, 2, 11}, row1{18, 27, 19, 28, 20, 29};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(crd.value()[0].getDouble(i), row0[static_cast<size_t>(i)]);
    EXPECT_EQ(crd.value()[0].getDouble(6 + i), row1[static_cast<size_t>(i)]);
  }
  // DCR DepthToSpace followed by SpaceToDepth is the identity.
  auto dcr = runOp(OpKind::DepthToSpace, {x}, {{"blocksize", Attribute::ofInt(2)}});
  ASSERT_TRUE(dcr.ok());
  auto back = runOp(OpKind::SpaceToDepth, {dcr.value()[0]}, {{"blocksize", Attribute::ofInt(2)}});
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back.value()[0].shape(), x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(back.value()[0].getDouble(i), x.getDouble(i));
  // DCR on [1,4,1,1]: channel c goes to (c/2, c%2).
  auto small = runOp(OpKind::DepthToSpace, {f32({1, 4, 1, 1}, {1, 2, 3, 4})}, {{"blocksize", Attribute::ofInt(2)}});
  ASSERT_TRUE(small.ok());
  expectTensor(small.value()[0], {1, 1, 2, 2}, {1, 2, 3, 4});
}

TEST(TensorKernels, LayoutOpsOnBoolAndF16) {
  Tensor b = Tensor::fromVector<uint8_t>(DType::Bool, {2, 2}, {1, 0, 0, 1});
  auto t = runOp(OpKind::Transpose, {b});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.value()[0].dtype(), DType::Bool);
  expectTensor(t.value()[0], {2, 2}, {1, 0, 0, 1});
  Tensor h(DType::F16, {3});
  for (int i = 0; i < 3; ++i) h.setDouble(i, i + 0.5);
  auto c = runOp(OpKind::Concat, {h, h}, {{"axis", Attribute::ofInt(0)}});
  ASSERT_TRUE(c.ok());
  expectTensor(c.value()[0], {6}, {0.5, 1.5, 2.5, 0.5, 1.5, 2.5});
}

}  // namespace
}  // namespace dlc
