// Reference kernels for the indexing, scatter and sorting tensor ops (hand-computed / ONNX test data).
#include "tests/unit/op_runner.h"

namespace dlc {
namespace {
using testing::expectTensor;
using testing::f32;
using testing::i64;
using testing::runOp;

Tensor f32Iota(std::vector<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(static_cast<float>(i));
  return f32(std::move(shape), v);
}

TEST(IndexKernels, GatherNegativeIndicesAndErrors) {
  auto r = runOp(OpKind::Gather, {f32Iota({3, 2}), i64({2, 1}, {-1, 0})});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor(r.value()[0], {2, 1, 2}, {4, 5, 0, 1});
  auto a1 = runOp(OpKind::Gather, {f32Iota({2, 3}), i64({}, {2})}, {{"axis", Attribute::ofInt(1)}});
  ASSERT_TRUE(a1.ok());
  expectTensor(a1.value()[0], {2}, {2, 5});
  auto bad = runOp(OpKind::Gather, {f32Iota({3, 2}), i64({1}, {3})});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("out of range"), std::string::npos);
  EXPECT_FALSE(runOp(OpKind::Gather, {f32Iota({3, 2}), i64({1}, {-4})}).ok());
}

TEST(IndexKernels, GatherStrings) {
  Tensor s(DType::String, {3});
  s.strings() = {"x", "y", "z"};
  auto r = runOp(OpKind::Gather, {s, i64({2}, {2, 0})});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value()[0].strings(), (std::vector<std::string>{"z", "x"}));
}

TEST(IndexKernels, GatherElementsAndND) {
  // ONNX test_gather_elements_0: data [[1,2],[3,4]], indices [[0,0],[1,0]], axis 1.
  auto ge = runOp(OpKind::GatherElements, {f32({2, 2}, {1, 2, 3, 4}), i64({2, 2}, {0, 0, 1, 0})},
                  {{"axis", Attribute::ofInt(1)}});
  ASSERT_TRUE(ge.ok());
  expectTensor(ge.value()[0], {2, 2}, {1, 1, 4, 3});
  EXPECT_FALSE(runOp(OpKind::GatherElements, {f32({2, 2}, {1, 2, 3, 4}), i64({1, 1}, {2})}).ok());
  // GatherND: data [[0,1],[2,3]], indices [[1],[0]] -> rows.
  auto nd = runOp(OpKind::GatherND, {f32Iota({2, 2}), i64({2, 1}, {1, 0})});
  ASSERT_TRUE(nd.ok());
  expectTensor(nd.value()[0], {2, 2}, {2, 3, 0, 1});
  // batch_dims=1 (ONNX test_gathernd_example_int32_batch_dim1): data [[[0,1],[2,3]],[[4,5],[6,7]]],
  // indices [[1],[0]] -> [[2,3],[4,5]].
  auto b = runOp(OpKind::GatherND, {f32Iota({2, 2, 2}), i64({2, 1}, {1, 0})}, {{"batch_dims", Attribute::ofInt(1)}});
  ASSERT_TRUE(b.ok()) << b.status().message();
  expectTensor(b.value()[0], {2, 2}, {2, 3, 4, 5});
}

TEST(IndexKernels, ScatterElementsAndND) {
  // ONNX test_scatter_elements_with_axis: data [[1,2,3,4,5]], indices [[1,3]], updates [[1.1,2.1]].
  auto se = runOp(OpKind::ScatterElements, {f32({1, 5}, {1, 2, 3, 4, 5}), i64({1, 2}, {1, 3}), f32({1, 2}, {1.1f, 2.1f})},
                  {{"axis", Attribute::ofInt(1)}});
  ASSERT_TRUE(se.ok()) << se.status().message();
  expectTensor(se.value()[0], {1, 5}, {1, 1.1, 3, 2.1, 5}, 1e-6);
  auto add = runOp(OpKind::ScatterElements, {f32({3}, {1, 1, 1}), i64({3}, {0, 0, -1}), f32({3}, {2, 3, 4})},
                   {{"reduction", Attribute::ofString("add")}});
  ASSERT_TRUE(add.ok());
  expectTensor(add.value()[0], {3}, {6, 1, 5});
  EXPECT_FALSE(runOp(OpKind::ScatterElements, {f32({3}, {1, 1, 1}), i64({1}, {3}), f32({1}, {2})}).ok());
  auto nd = runOp(OpKind::ScatterND, {f32Iota({4}), i64({2, 1}, {1, 3}), f32({2}, {10, 30})},
                  {{"reduction", Attribute::ofString("mul")}});
  ASSERT_TRUE(nd.ok());
  expectTensor(nd.value()[0], {4}, {0, 10, 2, 90});
  auto rows = runOp(OpKind::ScatterND, {f32Iota({2, 2}), i64({1, 1}, {1}), f32({1, 2}, {7, 8})});
  ASSERT_TRUE(rows.ok());
  expectTensor(rows.value()[0], {2, 2}, {0, 1, 7, 8});
}

TEST(IndexKernels, NonZeroOneHotTriluCompress) {
  auto nz = runOp(OpKind::NonZero, {f32({2, 2}, {1, 0, 1, 1})});
  ASSERT_TRUE(nz.ok());
  expectTensor(nz.value()[0], {2, 3}, {0, 1, 1, 0, 0, 1});
  // OneHot: indices [0, -1, 5] with depth 3: -1 wraps to 2, 5 is an all-off row.
  auto oh = runOp(OpKind::OneHot, {i64({3}, {0, -1, 5}), f32({}, {3}), f32({2}, {0, 1})});
  ASSERT_TRUE(oh.ok()) << oh.status().message();
  expectTensor(oh.value()[0], {3, 3}, {1, 0, 0, 0, 0, 1, 0, 0, 0});
  auto oh0 = runOp(OpKind::OneHot, {i64({2}, {1, 0}), i64({}, {2}), i64({2}, {5, 9})}, {{"axis", Attribute::ofInt(0)}});
  ASSERT_TRUE(oh0.ok());
  expectTensor(oh0.value()[0], {2, 2}, {5, 9, 9, 5});
  auto up = runOp(OpKind::Trilu, {f32Iota({3, 3}), i64({}, {1})});
  ASSERT_TRUE(up.ok());
  expectTensor(up.value()[0], {3, 3}, {0, 1, 2, 0, 0, 5, 0, 0, 0});
  auto lo = runOp(OpKind::Trilu, {f32Iota({2, 3}), Tensor()}, {{"upper", Attribute::ofInt(0)}});
  ASSERT_TRUE(lo.ok());
  expectTensor(lo.value()[0], {2, 3}, {0, 0, 0, 3, 4, 0});
  Tensor cond = Tensor::fromVector<uint8_t>(DType::Bool, {3}, {0, 1, 1});
  auto cp = runOp(OpKind::Compress, {f32Iota({3, 2}), cond}, {{"axis", Attribute::ofInt(0)}});
  ASSERT_TRUE(cp.ok());
  expectTensor(cp.value()[0], {2, 2}, {2, 3, 4, 5});
  auto flat = runOp(OpKind::Compress, {f32Iota({3, 2}), cond});
  ASSERT_TRUE(flat.ok());
  expectTensor(flat.value()[0], {2}, {1, 2});
}

TEST(IndexKernels, ReverseSequence) {
  // time_axis 0, batch_axis 1: x[t][b] = 4t + b; lengths [4,3,2,1] (ONNX test_reversesequence_time).
  std::vector<float> v;
  for (int i = 0; i < 16; ++i) v.push_back(static_cast<float>(i));
  auto r = runOp(OpKind::ReverseSequence, {f32({4, 4}, v), i64({4}, {4, 3, 2, 1})},
                 {{"time_axis", Attribute::ofInt(0)}, {"batch_axis", Attribute::ofInt(1)}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor(r.value()[0], {4, 4}, {12, 9, 6, 3, 8, 5, 2, 7, 4, 1, 10, 11, 0, 13, 14, 15});
  EXPECT_FALSE(runOp(OpKind::ReverseSequence, {f32({4, 4}, v), i64({4}, {5, 1, 1, 1})}).ok());
}

TEST(SortKernels, TopKTiesAndSmallest) {
  // Ties keep the smaller index first.
  auto r = runOp(OpKind::TopK, {f32({5}, {1, 3, 3, 2, 3}), i64({1}, {2})}, {}, 2);
  ASSERT_TRUE(r.ok()) << r.status().message();
  expectTensor(r.value()[0], {2}, {3, 3});
  expectTensor(r.value()[1], {2}, {1, 2});
  // ONNX test_top_k_smallest.
  auto s = runOp(OpKind::TopK, {f32({3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 11, 10, 9, 8}), i64({1}, {3})},
                 {{"axis", Attribute::ofInt(1)}, {"largest", Attribute::ofInt(0)}}, 2);
  ASSERT_TRUE(s.ok());
  expectTensor(s.value()[0], {3, 3}, {0, 1, 2, 4, 5, 6, 8, 9, 10});
  expectTensor(s.value()[1], {3, 3}, {0, 1, 2, 0, 1, 2, 3, 2, 1});
  auto a0 = runOp(OpKind::TopK, {f32({3, 2}, {1, 6, 5, 2, 3, 4}), i64({1}, {1})}, {{"axis", Attribute::ofInt(0)}}, 2);
  ASSERT_TRUE(a0.ok());
  expectTensor(a0.value()[0], {1, 2}, {5, 6});
  expectTensor(a0.value()[1], {1, 2}, {1, 0});
  EXPECT_FALSE(runOp(OpKind::TopK, {f32({2}, {1, 2}), i64({1}, {3})}, {}, 2).ok());
}

TEST(SortKernels, UniqueFlatAndAxis) {
  // ONNX test_unique_not_sorted_without_axis.
  auto u = runOp(OpKind::Unique, {f32({6}, {2, 1, 1, 3, 4, 3})}, {{"sorted", Attribute::ofInt(0)}}, 4);
  ASSERT_TRUE(u.ok()) << u.status().message();
  expectTensor(u.value()[0], {4}, {2, 1, 3, 4});
  expectTensor(u.value()[1], {4}, {0, 1, 3, 4});
  expectTensor(u.value()[2], {6}, {0, 1, 1, 2, 3, 2});
  expectTensor(u.value()[3], {4}, {1, 2, 2, 1});
  auto s = runOp(OpKind::Unique, {f32({6}, {2, 1, 1, 3, 4, 3})}, {}, 4);
  ASSERT_TRUE(s.ok());
  expectTensor(s.value()[0], {4}, {1, 2, 3, 4});
  expectTensor(s.value()[1], {4}, {1, 0, 3, 4});
  expectTensor(s.value()[2], {6}, {1, 0, 0, 2, 3, 2});
  expectTensor(s.value()[3], {4}, {2, 1, 2, 1});
  // ONNX test_unique_sorted_with_axis.
  auto a = runOp(OpKind::Unique, {f32({3, 3}, {1, 0, 0, 1, 0, 0, 2, 3, 4})}, {{"axis", Attribute::ofInt(0)}}, 4);
  ASSERT_TRUE(a.ok());
  expectTensor(a.value()[0], {2, 3}, {1, 0, 0, 2, 3, 4});
  expectTensor(a.value()[1], {2}, {0, 2});
  expectTensor(a.value()[2], {3}, {0, 0, 1});
  expectTensor(a.value()[3], {2}, {2, 1});
}

}  // namespace
}  // namespace dlc
