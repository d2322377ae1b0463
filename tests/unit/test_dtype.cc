// Unit tests for element types: names, sizes and half/bfloat16 conversions.
#include <gtest/gtest.h>

#include <cmath>

#include "ir/dtype.h"

namespace dlc {
namespace {

TEST(DType, NamesRoundTrip) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I8, DType::U8, DType::I16, DType::U16,
                  DType::I32, DType::U32, DType::I64, DType::U64, DType::Bool, DType::String, DType::I4, DType::U4}) {
    auto back = dtypeFromName(dtypeName(t));
    ASSERT_TRUE(back.has_value()) << dtypeName(t);
    EXPECT_EQ(*back, t);
  }
  EXPECT_FALSE(dtypeFromName("float32").has_value());
}

TEST(DType, StorageBytes) {
  EXPECT_EQ(dtypeStorageBytes(DType::F32, 10), 40u);
  EXPECT_EQ(dtypeStorageBytes(DType::I4, 3), 2u);  // packed two per byte
  EXPECT_EQ(dtypeStorageBytes(DType::BF16, 4), 8u);
}

TEST(DType, HalfConversionsKnownBitPatterns) {
  // Bit patterns from IEEE 754 binary16.
  EXPECT_EQ(floatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(floatToHalf(-2.0f), 0xc000);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7bff);     // largest finite half
  EXPECT_EQ(floatToHalf(1e6f), 0x7c00);         // overflow -> inf
  EXPECT_EQ(floatToHalf(5.9604645e-8f), 0x0001);  // smallest subnormal
  EXPECT_EQ(floatToHalf(1.0009765625f), 0x3c01);  // 1 + 2^-10 exact
  EXPECT_EQ(floatToHalf(1.00048828125f), 0x3c00);  // halfway: ties to even
  EXPECT_FLOAT_EQ(halfToFloat(0x3555), 0.333251953125f);
  EXPECT_TRUE(std::isnan(halfToFloat(0x7e00)));
}

TEST(DType, BFloat16KnownBitPatterns) {
  EXPECT_EQ(floatToBFloat16(1.0f), 0x3f80);
  EXPECT_EQ(floatToBFloat16(3.140625f), 0x4049);
  EXPECT_FLOAT_EQ(bfloat16ToFloat(0xc040), -3.0f);
}

}  // namespace
}  // namespace dlc
