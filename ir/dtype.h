// Element types of IR tensors, their names in the textual IR, sizes and fp16/bf16 conversions.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace dlc {

enum class DType : uint8_t {
  Undefined,
  F32, F16, BF16, F64,
  I8, U8, I16, U16, I32, U32, I64, U64,
  Bool, String,
  I4, U4,  // packed two per byte, low nibble first (weight-only quantization)
};

// Textual name used by the printer/parser: "f32", "i64", "bool", "string", ...
const char* dtypeName(DType t);
std::optional<DType> dtypeFromName(std::string_view name);

// Bytes per element; 0 for String (held out of line) and for the packed 4-bit types.
size_t dtypeSize(DType t);
// Bytes needed for `count` elements of a fixed-size or packed type.
size_t dtypeStorageBytes(DType t, int64_t count);

bool isFloat(DType t);        // f32 f16 bf16 f64
bool isInteger(DType t);      // signed and unsigned integers, including 4-bit
bool isSignedInteger(DType t);

// IEEE half and bfloat16 conversions (round to nearest even).
uint16_t floatToHalf(float f);
float halfToFloat(uint16_t h);
inline uint16_t floatToBFloat16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);  // quiet NaN
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}
inline float bfloat16ToFloat(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace dlc
