// Shape inference of the tensor ops: constant operands give exact shapes, symbolic dims flow, and
// invalid cases are errors that name the op.
#include <limits>

#include "tests/unit/op_runner.h"

namespace dlc {
namespace {
using testing::i64;

class TensorInfer : public testing::InferTest {};

const Dim N = Dim::sym("N");
Dim S(int64_t v) { return Dim::of(v); }

TEST_F(TensorInfer, ReshapeKeepsSymbolicDims) {
  Value* x = in("x", DType::F32, {N, S(128), S(768)});
  EXPECT_EQ(typeOf(OpKind::Reshape, {x, b.constant(i64({4}, {0, 0, 12, 64}))}), "f32[N,128,12,64]");
  EXPECT_EQ(typeOf(OpKind::Reshape, {x, b.constant(i64({3}, {0, -1, 64}))}), "f32[N,1536,64]");
  EXPECT_EQ(typeOf(OpKind::Reshape, {x, b.constant(i64({2}, {-1, 768}))}), "f32[?,768]");
  Value* y = in("y", DType::F32, {N, S(768)});
  EXPECT_EQ(typeOf(OpKind::Reshape, {y, b.constant(i64({2}, {-1, 768}))}), "f32[N,768]");
  Value* shape = in("s", DType::I64, {S(3)});
  EXPECT_EQ(typeOf(OpKind::Reshape, {x, shape}), "f32[?,?,?]");
  Value* st = in("st", DType::F32, {S(2), S(3)});
  EXPECT_NE(typeOf(OpKind::Reshape, {st, b.constant(i64({1}, {5}))}).find("error: Reshape 't'"), std::string::npos);
}

// torch's `x.view(y.size(1), y.size(0), -1)`: the target is Concat(Unsqueeze(Gather(Shape(y), i)),
// ..., constants), whose entries are y's dims (symbolic ones included); an entry computed otherwise
// (a product) is unknown, and a target that is not such a Concat gives unknown dims.
TEST_F(TensorInfer, ReshapeTargetComputedFromShapes) {
  Value* x = in("x", DType::F32, {N, S(4), S(8)});
  Value* y = in("y", DType::F32, {S(4), N, S(8)});
  auto value = [&](OpKind kind, std::vector<Value*> ops, std::map<std::string, Attribute> attrs = {}) {
    return b.create(kind, std::move(ops), std::move(attrs), 1, "s").value()->result(0);
  };
  Value* shape = value(OpKind::Shape, {y});
  Value* zero = b.constant(i64({1}, {0}));
  auto dimOf = [&](int64_t i) {
    Value* g = value(OpKind::Gather, {shape, b.constant(Tensor::scalar(DType::I64, static_cast<double>(i)))},
                     {{"axis", Attribute::ofInt(0)}});
    return value(OpKind::Unsqueeze, {g, zero});
  };
  Value* minus_one = b.constant(i64({1}, {-1}));
  Value* target = value(OpKind::Concat, {dimOf(1), dimOf(0), minus_one}, {{"axis", Attribute::ofInt(0)}});
  EXPECT_EQ(typeOf(OpKind::Reshape, {x, target}), "f32[N,4,8]");
  Value* product = value(OpKind::Unsqueeze, {value(OpKind::Mul, {value(OpKind::Gather, {shape, b.constant(Tensor::scalar(DType::I64, 0.0))}, {{"axis", Attribute::ofInt(0)}}), b.constant(Tensor::scalar(DType::I64, 8.0))}), zero});
  Value* mixed = value(OpKind::Concat, {dimOf(1), product}, {{"axis", Attribute::ofInt(0)}});
  EXPECT_EQ(typeOf(OpKind::Reshape, {x, mixed}), "f32[N,?]");
}

TEST_F(TensorInfer, ShapeSizeFlattenSqueeze) {
  Value* x = in("x", DType::F32, {N, S(3), S(1)});
  EXPECT_EQ(typeOf(OpKind::Shape, {x}), "i64[3]");
  EXPECT_EQ(typeOf(OpKind::Shape, {x}, {{"start", Attribute::ofInt(1)}, {"end", Attribute::ofInt(-1)}}), "i64[1]");
  EXPECT_EQ(typeOf(OpKind::Size, {x}), "i64[]");
  EXPECT_EQ(typeOf(OpKind::Flatten, {x}), "f32[N,3]");
  EXPECT_EQ(typeOf(OpKind::Flatten, {x}, {{"axis", Attribute::ofInt(2)}}), "f32[?,1]");
  EXPECT_EQ(typeOf(OpKind::Squeeze, {x, b.constant(i64({1}, {2}))}), "f32[N,3]");
  EXPECT_EQ(typeOf(OpKind::Squeeze, {x}), "f32[*]");  // N might be 1
  EXPECT_EQ(typeOf(OpKind::Unsqueeze, {x, b.constant(i64({2}, {0, -1}))}), "f32[1,N,3,1,1]");
  EXPECT_NE(typeOf(OpKind::Squeeze, {x, b.constant(i64({1}, {1}))}).find("error"), std::string::npos);
}

TEST_F(TensorInfer, TransposeConcatSplit) {
  Value* x = in("x", DType::F32, {N, S(12), S(128), S(64)});
  EXPECT_EQ(typeOf(OpKind::Transpose, {x}, {{"perm", Attribute::ofInts({0, 2, 1, 3})}}), "f32[N,128,12,64]");
  EXPECT_EQ(typeOf(OpKind::Transpose, {x}), "f32[64,128,12,N]");
  EXPECT_NE(typeOf(OpKind::Transpose, {x}, {{"perm", Attribute::ofInts({0, 1})}}).find("error"), std::string::npos);
  Value* y = in("y", DType::F32, {N, S(4), S(128), S(64)});
  EXPECT_EQ(typeOf(OpKind::Concat, {x, y}, {{"axis", Attribute::ofInt(1)}}), "f32[N,16,128,64]");
  EXPECT_EQ(typeOf(OpKind::Concat, {x, x}, {{"axis", Attribute::ofInt(0)}}), "f32[?,12,128,64]");
  EXPECT_NE(typeOf(OpKind::Concat, {x, y}, {{"axis", Attribute::ofInt(2)}}).find("error"), std::string::npos);
  EXPECT_EQ(typeOf(OpKind::Split, {x, b.constant(i64({2}, {100, 28}))}, {{"axis", Attribute::ofInt(2)}}, 1, 2),
            "f32[N,12,28,64]");
  EXPECT_EQ(typeOf(OpKind::Split, {x}, {{"axis", Attribute::ofInt(1)}}, 2, 3), "f32[N,4,128,64]");
}

TEST_F(TensorInfer, SliceGatherExpandPadTile) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  Value* x = in("x", DType::F32, {N, S(10), S(5)});
  EXPECT_EQ(typeOf(OpKind::Slice, {x, b.constant(i64({2}, {0, -1})), b.constant(i64({2}, {kMax, -11})),
                                   b.constant(i64({2}, {0, 1})), b.constant(i64({2}, {1, -3}))}),
            "f32[N,4,5]");
  Value* starts = in("starts", DType::I64, {S(1)});
  EXPECT_EQ(typeOf(OpKind::Slice, {x, starts, starts, b.constant(i64({1}, {2}))}), "f32[N,10,?]");
  Value* ids = in("ids", DType::I64, {N, S(7)});
  Value* table = in("table", DType::F32, {S(30522), S(768)});
  EXPECT_EQ(typeOf(OpKind::Gather, {table, ids}), "f32[N,7,768]");
  EXPECT_EQ(typeOf(OpKind::Gather, {x, b.constant(i64({}, {0}))}, {{"axis", Attribute::ofInt(1)}}), "f32[N,5]");
  Value* col = in("col", DType::F32, {S(3), S(1)});
  EXPECT_EQ(typeOf(OpKind::Expand, {col, b.constant(i64({3}, {2, 1, 4}))}), "f32[2,3,4]");
  EXPECT_EQ(typeOf(OpKind::Pad, {x, b.constant(i64({6}, {0, 1, 2, 0, 1, -1}))}), "f32[N,12,6]");
  EXPECT_EQ(typeOf(OpKind::Tile, {x, b.constant(i64({3}, {1, 2, 3}))}), "f32[N,20,15]");
  EXPECT_EQ(typeOf(OpKind::ConstantOfShape, {b.constant(i64({2}, {2, 3}))}), "f32[2,3]");
  EXPECT_EQ(typeOf(OpKind::DepthToSpace, {in("d", DType::F32, {N, S(8), S(2), S(3)})}, {{"blocksize", Attribute::ofInt(2)}}),
            "f32[N,2,4,6]");
}

TEST_F(TensorInfer, IndexingOps) {
  Value* x = in("x", DType::F32, {N, S(5)});
  EXPECT_EQ(typeOf(OpKind::NonZero, {x}), "i64[2,?]");
  EXPECT_EQ(typeOf(OpKind::TopK, {x, b.constant(i64({1}, {3}))}, {}, 1, 2), "i64[N,3]");
  EXPECT_EQ(typeOf(OpKind::Unique, {x}, {{"axis", Attribute::ofInt(1)}}, 2, 4), "i64[5]");
  EXPECT_EQ(typeOf(OpKind::Unique, {x}, {}, 0, 4), "f32[?]");
  Value* ind = in("ind", DType::I64, {N, S(2)});
  EXPECT_EQ(typeOf(OpKind::GatherND, {in("d", DType::F32, {S(4), S(4), S(3)}), ind}), "f32[N,3]");
  EXPECT_EQ(typeOf(OpKind::OneHot, {ind, b.constant(i64({}, {10})), in("v", DType::F32, {S(2)})}), "f32[N,2,10]");
  EXPECT_EQ(typeOf(OpKind::Compress, {x, in("c", DType::Bool, {S(3)})}, {{"axis", Attribute::ofInt(0)}}), "f32[?,5]");
  EXPECT_NE(typeOf(OpKind::Gather, {x, in("fi", DType::F32, {S(2)})}).find("error"), std::string::npos);
}

}  // namespace
}  // namespace dlc
