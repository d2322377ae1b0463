// Maps a runtime DType to its C++ storage type so one templated body serves every dtype.
#pragma once

#include <cstdint>

#include "ir/dtype.h"

namespace dlc {

// Storage wrappers for 16-bit floats so templates can tell them apart from uint16_t.
struct Half {
  uint16_t bits;
};
struct BFloat16 {
  uint16_t bits;
};

// Converts any storage type to/from double for generic kernels.
template <typename T>
inline double toDouble(T v) { return static_cast<double>(v); }
template <>
inline double toDouble<Half>(Half v) { return halfToFloat(v.bits); }
template <>
inline double toDouble<BFloat16>(BFloat16 v) { return bfloat16ToFloat(v.bits); }

template <typename T>
inline T fromDouble(double v) { return static_cast<T>(v); }
template <>
inline Half fromDouble<Half>(double v) { return Half{floatToHalf(static_cast<float>(v))}; }
template <>
inline BFloat16 fromDouble<BFloat16>(double v) { return BFloat16{floatToBFloat16(static_cast<float>(v))}; }
template <>
inline bool fromDouble<bool>(double v) { return v != 0.0; }

}  // namespace dlc

// DLC_DISPATCH_NUMERIC(dtype, T, { body using T }) runs `body` with T bound to the storage type.
// Covers every fixed-size dtype (floats, integers, bool); the default branch runs `on_other`.
#define DLC_DISPATCH_CASE(DT, CT, T, ...) \
  case ::dlc::DType::DT: {                \
    using T = CT;                         \
    __VA_ARGS__;                          \
    break;                                \
  }

#define DLC_DISPATCH_NUMERIC_OR(dtype, on_other, T, ...)         \
  switch (dtype) {                                              \
    DLC_DISPATCH_CASE(F32, float, T, __VA_ARGS__)               \
    DLC_DISPATCH_CASE(F64, double, T, __VA_ARGS__)              \
    DLC_DISPATCH_CASE(F16, ::dlc::Half, T, __VA_ARGS__)         \
    DLC_DISPATCH_CASE(BF16, ::dlc::BFloat16, T, __VA_ARGS__)    \
    DLC_DISPATCH_CASE(I8, int8_t, T, __VA_ARGS__)               \
    DLC_DISPATCH_CASE(U8, uint8_t, T, __VA_ARGS__)              \
    DLC_DISPATCH_CASE(I16, int16_t, T, __VA_ARGS__)             \
    DLC_DISPATCH_CASE(U16, uint16_t, T, __VA_ARGS__)            \
    DLC_DISPATCH_CASE(I32, int32_t, T, __VA_ARGS__)             \
    DLC_DISPATCH_CASE(U32, uint32_t, T, __VA_ARGS__)            \
    DLC_DISPATCH_CASE(I64, int64_t, T, __VA_ARGS__)             \
    DLC_DISPATCH_CASE(U64, uint64_t, T, __VA_ARGS__)            \
    DLC_DISPATCH_CASE(Bool, bool, T, __VA_ARGS__)               \
    default: {                                                  \
      on_other;                                                 \
    }                                                           \
  }
