// Element type names, sizes and half-precision conversions.
#include "ir/dtype.h"

#include <cmath>

namespace dlc {
namespace {
struct DTypeRow {
  DType type;
  const char* name;
  size_t size;
};
constexpr DTypeRow kRows[] = {
    {DType::Undefined, "undef", 0}, {DType::F32, "f32", 4},   {DType::F16, "f16", 2},
    {DType::BF16, "bf16", 2},       {DType::F64, "f64", 8},   {DType::I8, "i8", 1},
    {DType::U8, "u8", 1},           {DType::I16, "i16", 2},   {DType::U16, "u16", 2},
    {DType::I32, "i32", 4},         {DType::U32, "u32", 4},   {DType::I64, "i64", 8},
    {DType::U64, "u64", 8},         {DType::Bool, "bool", 1}, {DType::String, "string", 0},
    {DType::I4, "i4", 0},           {DType::U4, "u4", 0},
};
}  // namespace

const char* dtypeName(DType t) { return kRows[static_cast<int>(t)].name; }

std::optional<DType> dtypeFromName(std::string_view name) {
  for (const auto& row : kRows)
    if (name == row.name && row.type != DType::Undefined) return row.type;
  return std::nullopt;
}

size_t dtypeSize(DType t) { return kRows[static_cast<int>(t)].size; }

size_t dtypeStorageBytes(DType t, int64_t count) {
  if (t == DType::I4 || t == DType::U4) return static_cast<size_t>((count + 1) / 2);
  return dtypeSize(t) * static_cast<size_t>(count);
}

bool isFloat(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::F64;
}
bool isSignedInteger(DType t) {
  return t == DType::I8 || t == DType::I16 || t == DType::I32 || t == DType::I64 || t == DType::I4;
}
bool isInteger(DType t) {
  return isSignedInteger(t) || t == DType::U8 || t == DType::U16 || t == DType::U32 ||
         t == DType::U64 || t == DType::U4;
}

uint16_t floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t absx = x & 0x7fffffffu;
  if (absx > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN
  if (absx >= 0x477ff000u) {  // rounds to >= 65520: overflow to inf
    return static_cast<uint16_t>(sign | 0x7c00u);
  }
  if (absx < 0x38800000u) {  // subnormal half or zero
    // value = absx as float; half subnormal unit is 2^-24.
    float a;
    std::memcpy(&a, &absx, 4);
    float scaled = a * 16777216.0f;  // 2^24
    uint32_t m = static_cast<uint32_t>(std::nearbyint(scaled));  // round-to-even in default mode
    return static_cast<uint16_t>(sign | m);
  }
  uint32_t exp = ((absx >> 23) - 127 + 15) << 10;
  uint32_t mant = absx & 0x7fffffu;
  uint32_t h = exp | (mant >> 13);
  uint32_t rest = mant & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++;
  return static_cast<uint16_t>(sign | h);
}

float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {
      float v = static_cast<float>(mant) / 16777216.0f;  // mant * 2^-24
      std::memcpy(&bits, &v, 4);
      bits |= sign;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace dlc
