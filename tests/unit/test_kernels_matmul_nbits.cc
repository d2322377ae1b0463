// MatMulNBits (ONNX Runtime's block-quantized MatMul) on the reference kernel, with expectations
// worked by hand from the op's definition, and its shape inference.
#include "tests/unit/op_runner.h"

namespace dlc::testing {
namespace {

Tensor u8(std::vector<int64_t> shape, std::vector<uint8_t> values) { return Tensor::fromVector(DType::U8, std::move(shape), values); }

std::map<std::string, Attribute> attrs(int64_t k, int64_t n, int64_t bits, int64_t block) {
  return {{"K", Attribute::ofInt(k)}, {"N", Attribute::ofInt(n)}, {"bits", Attribute::ofInt(bits)}, {"block_size", Attribute::ofInt(block)}};
}

// K = 3 in one block of 16 (13 padding codes). Row 0: codes 9 7 15, zero point 8, scale 0.5 ->
// W = 0.5 -0.5 3.5; row 1: codes 0 8 4, zero point 2, scale 0.25 -> W = -0.5 1.5 0.5.
// A = [1 2 3]: Y = [0.5 - 1 + 10.5, -0.5 + 3 + 1.5] = [10, 4], plus bias [1, -1] = [11, 3].
TEST(MatMulNBitsKernel, FourBitsWithPackedZeroPointsAndBias) {
  Tensor b = u8({2, 1, 8}, {9 | 7 << 4, 15, 0, 0, 0, 0, 0, 0, 0 | 8 << 4, 4, 0, 0, 0, 0, 0, 0});
  auto y = runOp(OpKind::MatMulNBits, {f32({1, 3}, {1, 2, 3}), b, f32({2}, {0.5f, 0.25f}), u8({2}, {8, 2}), Tensor(), f32({2}, {1, -1})},
                 attrs(3, 2, 4, 16));
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ((*y)[0].shape(), (std::vector<int64_t>{1, 2}));
  EXPECT_FLOAT_EQ((*y)[0].data<float>()[0], 11.0f);
  EXPECT_FLOAT_EQ((*y)[0].data<float>()[1], 3.0f);
}

// 8 bits, no zero points (128), two blocks of 16 along K = 20 for row 0 with scales 1 and 2:
// codes 129 for k < 16 (W = 1) and 126 after (W = -4). A row of ones gives 16 - 4·4 = 0; the row
// with A[16] = 2 gives 16 - 4·5 = -4. Leading dims [2, 1] of A carry through.
TEST(MatMulNBitsKernel, EightBitsTwoBlocksDefaultZeroPoint) {
  std::vector<uint8_t> codes(32, 128);
  for (int k = 0; k < 16; ++k) codes[k] = 129;
  for (int k = 16; k < 20; ++k) codes[k] = 126;
  std::vector<float> a(40, 1.0f);
  a[16] = 2.0f;
  auto y = runOp(OpKind::MatMulNBits, {f32({2, 1, 20}, a), u8({1, 2, 16}, codes), f32({2}, {1.0f, 2.0f})}, attrs(20, 1, 8, 16));
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ((*y)[0].shape(), (std::vector<int64_t>{2, 1, 1}));
  EXPECT_FLOAT_EQ((*y)[0].data<float>()[0], -4.0f);
  EXPECT_FLOAT_EQ((*y)[0].data<float>()[1], 0.0f);
}

class MatMulNBitsInfer : public InferTest {};

TEST_F(MatMulNBitsInfer, ShapesAndErrors) {
  Value* a = in("a", DType::F32, {Dim::sym("B"), Dim::of(7), Dim::of(20)});
  Value* b = in("b", DType::U8, {Dim::of(5), Dim::of(2), Dim::of(8)});
  Value* s = in("s", DType::F32, {Dim::of(10)});
  EXPECT_EQ(typeOf(OpKind::MatMulNBits, {a, b, s}, attrs(20, 5, 4, 16)), "f32[B,7,5]");
  EXPECT_NE(typeOf(OpKind::MatMulNBits, {a, b, s}, attrs(20, 5, 4, 32)).find("need [5,1,16]"), std::string::npos);
  EXPECT_NE(typeOf(OpKind::MatMulNBits, {a, b, s}, attrs(20, 5, 3, 16)).find("bits=3 is not supported"), std::string::npos);
  EXPECT_NE(typeOf(OpKind::MatMulNBits, {a, b, s}, attrs(20, 5, 4, 24)).find("power of two"), std::string::npos);
  EXPECT_NE(typeOf(OpKind::MatMulNBits, {a, b, s}, attrs(21, 5, 4, 16)).find("last dim is 20 but K is 21"), std::string::npos);
  Value* g_idx = in("g", DType::I32, {Dim::of(20)});
  EXPECT_NE(typeOf(OpKind::MatMulNBits, {a, b, s, nullptr, g_idx}, attrs(20, 5, 4, 16)).find("g_idx"), std::string::npos);
}

}  // namespace
}  // namespace dlc::testing
